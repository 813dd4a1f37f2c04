// Inputs shared by the builder tests.
import { resolveSpec, type ResolvedSpec } from "../api/resolve.ts";
import { API_VERSION, KIND, type ZooKeeperCluster, type ZooKeeperClusterSpec } from "../api/types.ts";

export function testCluster(spec: ZooKeeperClusterSpec = {}, name = "zk"): ZooKeeperCluster {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: "prod", uid: "6f1c-uid", generation: 1 },
    spec,
  };
}

export function resolvedFor(cluster: ZooKeeperCluster): ResolvedSpec {
  const r = resolveSpec(cluster);
  if (!r.ok) throw new Error(`test spec is invalid: ${r.message}`);
  return r.spec;
}

export const OWNER = {
  apiVersion: "zookeeper.ensemble.dev/v1alpha1",
  kind: "ZooKeeperCluster",
  name: "zk",
  uid: "6f1c-uid",
  controller: true,
  blockOwnerDeletion: true,
};

export const LABELS_OF_ZK = {
  "app.kubernetes.io/name": "zookeeper",
  "app.kubernetes.io/instance": "zk",
  "app.kubernetes.io/component": "server",
  "app.kubernetes.io/managed-by": "zk-operator",
};
