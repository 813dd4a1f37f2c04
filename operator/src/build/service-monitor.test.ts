import { expect, test } from "vitest";
import { buildServiceMonitor } from "./service-monitor.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "./test-fixtures.ts";

test.each([
  ["defaults", {}, "30s", LABELS_OF_ZK],
  [
    "interval and labels from the spec",
    { metrics: { serviceMonitor: { enabled: true, interval: "10s", labels: { release: "prom" } } } },
    "10s",
    { release: "prom", ...LABELS_OF_ZK },
  ],
])("ServiceMonitor: %s", (_, spec, interval, labels) => {
  const cluster = testCluster(spec);
  const sm = buildServiceMonitor(cluster, resolvedFor(cluster));
  expect(sm.metadata).toEqual({ name: "zk", namespace: "prod", labels, ownerReferences: [OWNER] });
  expect(sm.spec).toEqual({
    selector: {
      matchLabels: {
        "app.kubernetes.io/name": "zookeeper",
        "app.kubernetes.io/instance": "zk",
        "app.kubernetes.io/component": "server",
      },
    },
    namespaceSelector: { matchNames: ["prod"] },
    endpoints: [{ port: "metrics", path: "/metrics", interval }],
  });
});
