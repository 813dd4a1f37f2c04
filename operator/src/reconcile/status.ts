// computeStatus: the cluster's status from what one pass observed and did. Pure.
//
// Conditions (each with a reason and a message a person can act on):
//   Available   — a quorum of members is ready (clients can be served).
//   Progressing — the operator is changing something or waiting for members; False with a reason
//                 when it is done, refusing, paused, or the spec is invalid.
//   Degraded    — something needs a person: an invalid spec, members that are not ready.
// lastTransitionTime changes only when a condition's status changes, so an unchanged cluster
// produces an identical status and no write.
import { PORTS } from "../../../sidecar/src/contract.ts";
import { childNames } from "../build/labels.ts";
import type {
  ClusterCondition,
  ConditionStatus,
  ConditionType,
  MemberStatus,
  ZooKeeperCluster,
  ZooKeeperClusterStatus,
} from "../api/types.ts";
import type { Step } from "./decide.ts";
import type { Observed } from "./observe.ts";
import { canonicalJson } from "./diff.ts";

export interface StatusInput {
  cluster: ZooKeeperCluster;
  observed: Observed;
  /** null when the spec is invalid. */
  step: Step | null;
  invalid: { reason: string; message: string } | null;
  /** Children created or changed in this pass, as `Kind/name`. */
  changed: string[];
  clusterDomain: string;
  now: Date;
}

export function quorumSize(members: number): number {
  return Math.floor(members / 2) + 1;
}

export function computeStatus(input: StatusInput): ZooKeeperClusterStatus {
  const { cluster, observed, step, invalid, changed } = input;
  const name = cluster.metadata.name ?? "";
  const namespace = cluster.metadata.namespace ?? "";
  const memberList = step?.members ?? observed.membersFile?.members ?? [];
  const podsById = new Map(observed.pods.map((p) => [p.id, p]));
  const modes = observed.modes;

  const members: MemberStatus[] = memberList.map((m) => {
    const pod = podsById.get(m.id);
    const ready = pod?.ready === true && !pod.deleting;
    // The mode its sidecar reported; a member whose sidecar was not asked or did not answer is
    // unknown when its pod is ready (it serves, but in which role is not known), else down.
    const role = modes?.get(m.id) ?? (ready ? "unknown" : "down");
    return { id: m.id, pod: `${name}-${m.id - 1}`, role, ready };
  });
  const total = members.length;
  const ready = members.filter((m) => m.ready).length;
  const quorum = quorumSize(total);
  const leader = members.find((m) => m.role === "leader")?.pod;
  const tags = [
    ...new Set(observed.pods.map((p) => imageTag(p.image)).filter((t): t is string => t !== null)),
  ];

  const conds: Omit<ClusterCondition, "lastTransitionTime">[] = [];
  // Available
  if (total === 0) {
    conds.push({
      type: "Available",
      status: "False",
      reason: "NoMembers",
      message: "the ensemble has no members yet",
    });
  } else if (ready >= quorum) {
    conds.push({
      type: "Available",
      status: "True",
      reason: "QuorumReady",
      message: `${ready} of ${total} members are ready (a quorum is ${quorum})`,
    });
  } else {
    conds.push({
      type: "Available",
      status: "False",
      reason: "QuorumNotReady",
      message: `${ready} of ${total} members are ready; a quorum needs ${quorum}`,
    });
  }
  // Progressing
  if (invalid) {
    conds.push({ type: "Progressing", status: "False", reason: invalid.reason, message: invalid.message });
  } else if (step?.type === "Paused") {
    conds.push({
      type: "Progressing",
      status: "False",
      reason: "Paused",
      message: "spec.paused is true: the operator reports status and changes nothing",
    });
  } else if (step?.blocked) {
    conds.push({
      type: "Progressing",
      status: "False",
      reason: step.blocked.reason,
      message: step.blocked.message,
    });
  } else if (ready < total) {
    // The same answer on the pass that creates the children and on the ones after it, so a new
    // cluster costs one status write, not one per pass.
    conds.push({
      type: "Progressing",
      status: "True",
      reason: "WaitingForMembers",
      message: `${ready} of ${total} members are ready`,
    });
  } else if (changed.length > 0) {
    conds.push({
      type: "Progressing",
      status: "True",
      reason: "Reconciling",
      message: `updated ${[...changed].sort().join(", ")}`,
    });
  } else {
    conds.push({
      type: "Progressing",
      status: "False",
      reason: "UpToDate",
      message: "every child matches the spec and every member is ready",
    });
  }
  // Degraded
  if (invalid) {
    conds.push({ type: "Degraded", status: "True", reason: invalid.reason, message: invalid.message });
  } else if (total > 0 && ready < total && (ready >= quorum || wasAvailable(cluster))) {
    const down = members.filter((m) => !m.ready).map((m) => m.pod);
    conds.push({
      type: "Degraded",
      status: "True",
      reason: "MembersNotReady",
      message: `not ready: ${down.join(", ")}`,
    });
  } else if (total > 0 && ready < quorum) {
    // A new ensemble that has not formed yet is progressing, not degraded.
    conds.push({
      type: "Degraded",
      status: "False",
      reason: "NotYetAvailable",
      message: "the ensemble has not formed a quorum yet",
    });
  } else {
    conds.push({ type: "Degraded", status: "False", reason: "AsExpected", message: "no problem found" });
  }

  const status: ZooKeeperClusterStatus = {
    observedGeneration: cluster.metadata.generation ?? 0,
    replicas: total,
    readyReplicas: ready,
    members,
    conditions: mergeConditions(
      cluster.status?.conditions ?? [],
      conds,
      input.now,
      cluster.metadata.generation,
    ),
    connectionString: `${childNames(name).client}.${namespace}.svc.${input.clusterDomain}:${PORTS.client}`,
  };
  if (leader) status.leader = leader;
  if (observed.ensemble.source === "zookeeper")
    status.ensembleConfigVersion = observed.ensemble.configVersion;
  else if (step && step.membersVersion !== "0") status.ensembleConfigVersion = step.membersVersion;
  if (tags.length > 0) status.version = tags.sort().join(",");
  return status;
}

/** The ensemble was available before (or is degraded already): a member down now is a degradation. */
function wasAvailable(cluster: ZooKeeperCluster): boolean {
  const conds = cluster.status?.conditions ?? [];
  return conds.some(
    (c) =>
      (c.type === "Available" && c.status === "True") ||
      (c.type === "Degraded" && c.reason === "MembersNotReady"),
  );
}

/** Keeps each condition's lastTransitionTime unless its status changed. */
export function mergeConditions(
  previous: ClusterCondition[],
  next: Omit<ClusterCondition, "lastTransitionTime">[],
  now: Date,
  generation: number | undefined,
): ClusterCondition[] {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return next.map((c) => {
    const prev = previous.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : stamp;
    return {
      ...c,
      lastTransitionTime,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

/** `repo/name:tag@sha256:...` → `tag`; null for an image without a tag. */
export function imageTag(image: string | null): string | null {
  if (!image) return null;
  const noDigest = image.split("@")[0] ?? "";
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(colon + 1) : null;
}

export function conditionOf(
  status: ZooKeeperClusterStatus | undefined,
  type: ConditionType,
): ConditionStatus | undefined {
  return status?.conditions?.find((c) => c.type === type)?.status;
}

/** Equal statuses need no write. */
export function sameStatus(a: ZooKeeperClusterStatus | undefined, b: ZooKeeperClusterStatus): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b);
}
