import { expect, test } from "vitest";
import type { ZooKeeperClusterSpec } from "../api/types.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";
import { buildNetworkPolicy } from "./network-policy.ts";

const MEMBERS = {
  podSelector: {
    matchLabels: {
      "app.kubernetes.io/name": "zookeeper",
      "app.kubernetes.io/instance": "zk",
      "app.kubernetes.io/component": "server",
    },
  },
};
const build = (spec: ZooKeeperClusterSpec, operatorNamespace: string | null = "zk-operator") => {
  const cluster = testCluster({ networkPolicy: { enabled: true }, ...spec });
  return buildNetworkPolicy(cluster, resolvedFor(cluster), operatorNamespace);
};

test("defaults: members reach each other on every port, the namespace the client port, the operator its ports, anyone the metrics", () => {
  const np = build({});
  expect(np.apiVersion).toBe("networking.k8s.io/v1");
  expect(np.metadata).toEqual({
    name: "zk",
    namespace: "prod",
    labels: LABELS_OF_ZK,
    ownerReferences: [OWNER],
  });
  expect(np.spec.podSelector).toEqual(MEMBERS.podSelector);
  expect(np.spec.policyTypes).toEqual(["Ingress"]);
  expect(np.spec.ingress).toEqual([
    // Quorum (2888) and election (3888) only here: no other pod can join, vote or read the log.
    { from: [MEMBERS] },
    { from: [{ podSelector: {} }], ports: [{ protocol: "TCP", port: 2181 }] },
    {
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "zk-operator" } } }],
      ports: [
        { protocol: "TCP", port: 2181 },
        { protocol: "TCP", port: 8081 },
      ],
    },
    {
      from: [{ namespaceSelector: {} }],
      ports: [
        { protocol: "TCP", port: 7000 },
        { protocol: "TCP", port: 8081 },
      ],
    },
  ]);
});

test("the user's peers, the secure client port with client TLS, no metrics rule without metrics, no operator rule outside a cluster", () => {
  const kafka = {
    namespaceSelector: { matchLabels: { team: "kafka" } },
    podSelector: { matchLabels: { app: "broker" } },
  };
  const np = build(
    {
      networkPolicy: { enabled: true, clients: [kafka] },
      tls: { client: { secretName: "c" } },
      metrics: { enabled: false },
    },
    null,
  );
  expect(np.spec.ingress).toEqual([
    { from: [MEMBERS] },
    { from: [kafka], ports: [{ protocol: "TCP", port: 2281 }] },
  ]);
  const scraped = build({
    networkPolicy: { enabled: true, metrics: [{ namespaceSelector: { matchLabels: { x: "y" } } }] },
  });
  expect(scraped.spec.ingress.at(-1)?.from).toEqual([{ namespaceSelector: { matchLabels: { x: "y" } } }]);
});
