import { expect, test } from "vitest";
import { buildPodDisruptionBudget } from "./pdb.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";

test.each([
  ["default", {}, 1],
  ["five servers, two at a time", { replicas: 5, disruptionBudget: { maxUnavailable: 2 } }, 2],
  ["one server", { replicas: 1 }, 1],
])("PDB: %s", (_, spec, maxUnavailable) => {
  const cluster = testCluster(spec);
  const pdb = buildPodDisruptionBudget(cluster, resolvedFor(cluster));
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
  });
});
