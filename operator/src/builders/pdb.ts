// NAME PodDisruptionBudget: voluntary disruptions (drains) may take at most maxUnavailable members,
// and never more than the members the ensemble actually has can lose while keeping quorum. The
// schema checks spec.disruptionBudget against spec.replicas, but the ensemble may not have those
// members yet: with replicas 3 -> 5 and maxUnavailable 2, a drain must still take only 1 of 3.
import type { V1PodDisruptionBudget } from "@kubernetes/client-node";
import { maxUnavailableLimit, type ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, childNames, selectorLabels } from "./labels.ts";

export function buildPodDisruptionBudget(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  /** Voting members the ensemble has now (its committed membership, not spec.replicas). */
  members: number,
): V1PodDisruptionBudget {
  const name = cluster.metadata.name ?? "";
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: childMetadata(cluster, childNames(name).pdb),
    spec: {
      maxUnavailable: Math.min(spec.disruptionBudget.maxUnavailable, maxUnavailableLimit(members)),
      selector: { matchLabels: selectorLabels(name) },
      // A member that is not ready serves nobody: evicting it (a crash-looping pod on a node being
      // drained, or the roll repairing a member it halted on) costs no quorum.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  };
}
