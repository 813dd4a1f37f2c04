import { describe, expect, test } from "vitest";
import { buildClientService, clientConnectionString } from "./client-service.ts";
import { buildHeadlessService } from "./headless-service.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";

const selector = {
  "app.kubernetes.io/name": "zookeeper",
  "app.kubernetes.io/instance": "zk",
  "app.kubernetes.io/component": "server",
};

describe("headless Service", () => {
  test.each([
    ["metrics on", {}, ["client:2181", "quorum:2888", "election:3888", "metrics:7000"]],
    ["metrics off", { metrics: { enabled: false } }, ["client:2181", "quorum:2888", "election:3888"]],
    [
      "metrics on another port",
      { metrics: { port: 9000 } },
      ["client:2181", "quorum:2888", "election:3888", "metrics:9000"],
    ],
    [
      "client TLS",
      { tls: { client: { secretName: "t" } } },
      ["client-tls:2281", "quorum:2888", "election:3888", "metrics:7000"],
    ],
  ] as const)("%s", (_, spec, ports) => {
    const cluster = testCluster(spec);
    const svc = buildHeadlessService(cluster, resolvedFor(cluster));
    expect(svc.metadata).toEqual({
      name: "zk-headless",
      namespace: "prod",
      labels: LABELS_OF_ZK,
      ownerReferences: [OWNER],
    });
    expect(svc.spec?.clusterIP).toBe("None");
    // Not negotiable (DESIGN.md): peers must find each other before they are ready.
    expect(svc.spec?.publishNotReadyAddresses).toBe(true);
    expect(svc.spec?.selector).toEqual(selector);
    expect(svc.spec?.ports?.map((p) => `${p.name}:${p.port}`)).toEqual(ports);
    expect(svc.spec?.ports?.every((p) => p.targetPort === p.port && p.protocol === "TCP")).toBe(true);
  });
});

describe("client Service", () => {
  test.each([
    ["default", {}, "ClusterIP", undefined],
    [
      "a load balancer with annotations",
      { service: { type: "LoadBalancer", annotations: { "lb/internal": "true" } } },
      "LoadBalancer",
      { "lb/internal": "true" },
    ],
    ["a node port", { service: { type: "NodePort" } }, "NodePort", undefined],
  ] as const)("%s", (_, spec, type, annotations) => {
    const cluster = testCluster(spec);
    const svc = buildClientService(cluster, resolvedFor(cluster));
    expect(svc.metadata?.name).toBe("zk-client");
    expect(svc.metadata?.annotations).toEqual(annotations);
    expect(svc.metadata?.ownerReferences).toEqual([OWNER]);
    expect(svc.spec?.type).toBe(type);
    expect(svc.spec?.selector).toEqual(selector);
    expect(svc.spec?.ports).toEqual([{ name: "client", port: 2181, targetPort: 2181, protocol: "TCP" }]);
    expect(svc.spec?.publishNotReadyAddresses).toBeUndefined();
  });

  test("client TLS: only the secure port; the plain one serves the sidecar on loopback", () => {
    const cluster = testCluster({ tls: { client: { secretName: "t" } } });
    expect(buildClientService(cluster, resolvedFor(cluster)).spec?.ports).toEqual([
      { name: "client-tls", port: 2281, targetPort: 2281, protocol: "TCP" },
    ]);
    expect(clientConnectionString(cluster)).toBe("zk-client.prod.svc.cluster.local:2281");
  });

  test("connection string", () => {
    expect(clientConnectionString(testCluster())).toBe("zk-client.prod.svc.cluster.local:2181");
    expect(clientConnectionString(testCluster(), "corp.example")).toBe(
      "zk-client.prod.svc.corp.example:2181",
    );
  });
});
