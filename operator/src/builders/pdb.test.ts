import { expect, test } from "vitest";
import { buildPodDisruptionBudget } from "./pdb.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";

test.each([
  ["default", {}, 3, 1],
  ["five servers, two at a time", { replicas: 5, disruptionBudget: { maxUnavailable: 2 } }, 5, 2],
  ["one server", { replicas: 1 }, 1, 1],
  // spec.replicas 5 allows 2, but the ensemble still has 3 members: a drain may take only 1.
  ["replicas 3 -> 5 not yet done", { replicas: 5, disruptionBudget: { maxUnavailable: 2 } }, 3, 1],
  ["seven members, budget 2", { replicas: 7, disruptionBudget: { maxUnavailable: 2 } }, 7, 2],
])("PDB: %s", (_, spec, members, maxUnavailable) => {
  const cluster = testCluster(spec);
  const pdb = buildPodDisruptionBudget(cluster, resolvedFor(cluster), members);
  expect(pdb.apiVersion).toBe("policy/v1");
  expect(pdb.metadata).toEqual({
    name: "zk",
    namespace: "prod",
    labels: LABELS_OF_ZK,
    ownerReferences: [OWNER],
  });
  expect(pdb.spec).toEqual({
    maxUnavailable,
    selector: {
      matchLabels: {
        "app.kubernetes.io/name": "zookeeper",
        "app.kubernetes.io/instance": "zk",
        "app.kubernetes.io/component": "server",
      },
    },
    unhealthyPodEvictionPolicy: "AlwaysAllow",
  });
});
