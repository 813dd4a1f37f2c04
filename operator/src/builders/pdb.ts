// NAME PodDisruptionBudget: voluntary disruptions (drains) may take at most maxUnavailable members.
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, childNames, selectorLabels } from "./labels.ts";

export function buildPodDisruptionBudget(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
): V1PodDisruptionBudget {
  const name = cluster.metadata.name ?? "";
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: childMetadata(cluster, childNames(name).pdb),
    spec: {
      maxUnavailable: spec.disruptionBudget.maxUnavailable,
      selector: { matchLabels: selectorLabels(name) },
    },
  };
}
