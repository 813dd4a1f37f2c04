// computeStatus: the cluster's status from what one pass observed and did. Pure.
//
// Conditions (each with a reason from CONDITION_REASONS and a message a person can act on):
//   Available   — a quorum of members is ready (clients can be served).
//   Progressing — the operator is changing something or waiting for members; False with a reason
//                 when it is done, refusing, paused, or the spec is invalid.
//   Degraded    — something needs a person: an invalid spec, members that are not ready.
// lastTransitionTime changes only when a condition's status changes, so an unchanged cluster
// produces an identical status and no write.
import { clientConnectionString } from "../builders/client-service.ts";
import type {
  LastRestart,
  ClusterCondition,
  ConditionStatus,
  ConditionType,
  MemberStatus,
  ZooKeeperCluster,
  ZooKeeperClusterStatus,
} from "../api/types.ts";
import type { ResolveReason } from "../api/resolve.ts";
import type { Step } from "./decide.ts";
import type { RollOutcome } from "./roll.ts";
import { ensembleView } from "./ensemble-view.ts";
import type { ReconfigOutcome } from "./membership.ts";
import type { Observed } from "./observe.ts";
import { canonicalJson } from "./diff.ts";

/**
 * Every reason each condition can carry, with the status it goes with and what it means.
 * computeStatus sets no other (the types hold it to this table), and `npm run generate` lists
 * the table in docs/operator.md, so the docs cannot drift from the code.
 */
export const CONDITION_REASONS = {
  Available: {
    QuorumReady: { status: "True", when: "a quorum of members is ready: clients can be served" },
    QuorumNotReady: { status: "False", when: "fewer members are ready than a quorum needs" },
    NoMembers: { status: "False", when: "the ensemble has no members yet" },
  },
  Progressing: {
    WaitingForMembers: { status: "True", when: "members are not ready yet (new pods, or pods coming back)" },
    Reconciling: { status: "True", when: "this pass created or updated children" },
    UpToDate: {
      status: "False",
      when: "every child matches the spec, every member is ready and runs the current pod template",
    },
    RollingRestart: {
      status: "True",
      when: "members run an older pod template and are restarted one at a time, leader last; the message names the member and the progress",
    },
    RollQueued: {
      status: "True",
      when: "members run an older pod template, but other clusters are rolling and the operator rolls a limited number at a time",
    },
    RollHalted: {
      status: "False",
      when: "a restarted member did not come back (the message names the pod and the kubelet's reason); no other member is restarted until the spec changes",
    },
    ApplyFailed: {
      status: "False",
      when: "the API server refused a child object; the message is its answer",
    },
    AdminSecretMissing: {
      status: "False",
      when: "the admin Secret is gone under running servers; the operator does not replace it silently",
    },
    VolumesLost: {
      status: "False",
      when: "members found empty data volumes in an initialized ensemble and cannot resync safely",
    },
    Paused: { status: "False", when: "`spec.paused` is true: status is reported, nothing is changed" },
    Scaling: {
      status: "True",
      when: "the committed members differ from the spec: one server is added or removed at a time through ZooKeeper's dynamic reconfiguration; the message names the step, or what it waits for",
    },
    ScalingRefused: {
      status: "False",
      when: "the next membership step would risk the quorum (a member is down or not in sync); the message says who, and the step proceeds by itself once that changes",
    },
    ReconfigRefused: {
      status: "False",
      when: "ZooKeeper refused the last reconfiguration (the message is its answer); the next pass reads the committed config again and decides anew",
    },
    InvalidSpec: { status: "False", when: "the spec fails a check the schema cannot express" },
  },
  Degraded: {
    MembersNotReady: { status: "True", when: "members of an ensemble that was available are not ready" },
    InvalidSpec: { status: "True", when: "the spec fails a check the schema cannot express" },
    ApplyFailed: {
      status: "True",
      when: "the API server refused a child object (a webhook, a quota, a field)",
    },
    AdminSecretMissing: { status: "True", when: "the admin Secret is gone under running servers" },
    VolumesLost: { status: "True", when: "members found empty data volumes and cannot resync safely" },
    RollHalted: {
      status: "True",
      when: "a restarted member did not come back; the roll stopped and keeps the other members serving",
    },
    RollingRestart: {
      status: "False",
      when: "the only member that is not ready is the one the roll restarted, within its deadline",
    },
    NotYetAvailable: { status: "False", when: "a new ensemble has not formed a quorum yet" },
    AsExpected: { status: "False", when: "no problem found" },
  },
} as const satisfies Record<ConditionType, Record<string, { status: ConditionStatus; when: string }>>;

type ReasonOf<T extends ConditionType> = keyof (typeof CONDITION_REASONS)[T] & string;

/** A condition from the table: its status follows from its reason. */
function condition<T extends ConditionType>(
  type: T,
  reason: ReasonOf<T>,
  message: string,
): Omit<ClusterCondition, "lastTransitionTime"> {
  const reasons: Record<string, { status: ConditionStatus }> = CONDITION_REASONS[type];
  return { type, status: reasons[reason]?.status ?? "Unknown", reason, message };
}

export interface StatusInput {
  cluster: ZooKeeperCluster;
  observed: Observed;
  /** null when the spec is invalid. */
  step: Step | null;
  invalid: { reason: ResolveReason; message: string } | null;
  /** The API server's answer when it refused a child in this pass. */
  applyError?: { child: string; message: string } | null;
  /** Children created or changed in this pass, as `Kind/name`. */
  changed: string[];
  /** What the pass did about the roll (members evicted, an eviction refused). */
  roll?: RollOutcome;
  /** The reconfiguration the pass sent, and how it ended. */
  reconfig?: ReconfigOutcome;
  /** The member restarted last (this pass's, else the one recorded before), shown as status.lastRestart. */
  lastRestart?: LastRestart | null;
  clusterDomain: string;
  now: Date;
}

export function quorumSize(members: number): number {
  return Math.floor(members / 2) + 1;
}

export function computeStatus(input: StatusInput): ZooKeeperClusterStatus {
  const { cluster, observed, step, invalid, changed, applyError } = input;
  const name = cluster.metadata.name ?? "";
  // The committed members: a server joining now is not one until ZooKeeper has added it.
  const memberList = (step?.members ?? observed.membersFile?.members ?? []).filter(
    (m) => m.id !== (step?.joining ?? observed.markers.joining),
  );
  const podsById = new Map(observed.pods.map((p) => [p.id, p]));
  const modes = observed.modes;
  const updateRevision = observed.statefulSet?.status?.updateRevision;
  const view = ensembleView(memberList, observed, podsById);

  const members: MemberStatus[] = memberList.map((m) => {
    const pod = podsById.get(m.id);
    const ready = pod?.ready === true && !pod.deleting;
    // The mode its sidecar reported; a member whose sidecar was not asked or did not answer is
    // unknown when its pod is ready (it serves, but in which role is not known), else down.
    const mode = modes?.get(m.id) ?? (ready ? "unknown" : "down");
    const member: MemberStatus = {
      id: m.id,
      pod: `${name}-${m.id - 1}`,
      role: m.role,
      mode,
      ready,
      synced: view.caughtUp(m.id),
    };
    if (pod?.revision && updateRevision) member.upToDate = pod.revision === updateRevision;
    return member;
  });
  const outdated = members.filter((m) => m.upToDate === false).map((m) => m.pod);
  const total = members.length;
  const ready = members.filter((m) => m.ready).length;
  const quorum = quorumSize(total);
  const leader = members.find((m) => m.mode === "leader")?.pod;
  const scale = step?.scale;
  const roll = step?.roll;
  const lastRestart = input.lastRestart ?? null;
  // The members the roll has taken down on purpose: the one restarted last, and this pass's.
  const restarting = new Set([
    ...(lastRestart ? [lastRestart.pod] : []),
    ...(input.roll?.restarted.map((r) => r.pod) ?? []),
  ]);
  const tags = [...new Set(observed.pods.flatMap((p) => (p.image === null ? [] : [imageVersion(p.image)])))];

  const conds: Omit<ClusterCondition, "lastTransitionTime">[] = [];
  // Available
  if (total === 0) {
    conds.push(condition("Available", "NoMembers", "the ensemble has no members yet"));
  } else if (ready >= quorum) {
    conds.push(
      condition("Available", "QuorumReady", `${ready} of ${total} members are ready (a quorum is ${quorum})`),
    );
  } else {
    conds.push(
      condition(
        "Available",
        "QuorumNotReady",
        `${ready} of ${total} members are ready; a quorum needs ${quorum}`,
      ),
    );
  }
  // Progressing
  if (invalid) {
    conds.push(condition("Progressing", invalid.reason, invalid.message));
  } else if (step?.type === "Paused") {
    conds.push(
      condition(
        "Progressing",
        "Paused",
        "spec.paused is true: the operator reports status and changes nothing",
      ),
    );
  } else if (applyError) {
    conds.push(condition("Progressing", "ApplyFailed", `${applyError.child}: ${applyError.message}`));
  } else if (step?.blocked) {
    conds.push(condition("Progressing", step.blocked.reason, step.blocked.message));
  } else if (input.reconfig?.state === "refused") {
    conds.push(condition("Progressing", "ReconfigRefused", input.reconfig.message));
  } else if (scale?.state === "refused") {
    conds.push(condition("Progressing", "ScalingRefused", scale.message));
  } else if (roll?.state === "halted") {
    conds.push(condition("Progressing", "RollHalted", roll.message));
  } else if (input.roll?.evictionRefused && roll && roll.state !== "current") {
    const r = input.roll.evictionRefused;
    conds.push(
      condition(
        "Progressing",
        "RollingRestart",
        `the API server refused to evict ${r.pod} (a PodDisruptionBudget?): ${r.message}; the roll tries again (${roll.updated} of ${roll.total} members updated)`,
      ),
    );
  } else if (roll?.state === "queued") {
    conds.push(condition("Progressing", "RollQueued", roll.message));
  } else if (roll?.state === "restart" || roll?.state === "waiting") {
    conds.push(condition("Progressing", "RollingRestart", roll.message));
  } else if (scale && scale.state !== "steady") {
    const done =
      input.reconfig?.state === "committed" ? ` (committed: config version ${input.reconfig.version})` : "";
    conds.push(condition("Progressing", "Scaling", `${scale.message}${done}`));
  } else if (ready < total) {
    // The same answer on the pass that creates the children and on the ones after it, so a new
    // cluster costs one status write, not one per pass.
    conds.push(condition("Progressing", "WaitingForMembers", `${ready} of ${total} members are ready`));
  } else if (changed.length > 0) {
    conds.push(condition("Progressing", "Reconciling", `updated ${[...changed].sort().join(", ")}`));
  } else if (outdated.length > 0) {
    // The StatefulSet controller has not caught up with a new template yet; the roll starts next.
    const members_ = outdated.length === 1 ? "member runs" : "members run";
    conds.push(
      condition(
        "Progressing",
        "RollingRestart",
        `${outdated.length} ${members_} an older pod template and will be restarted: ${outdated.join(", ")}`,
      ),
    );
  } else {
    conds.push(
      condition("Progressing", "UpToDate", "every child matches the spec and every member is ready"),
    );
  }
  // Degraded
  if (invalid) {
    conds.push(condition("Degraded", invalid.reason, invalid.message));
  } else if (applyError) {
    conds.push(condition("Degraded", "ApplyFailed", `${applyError.child}: ${applyError.message}`));
  } else if (step?.blocked?.reason === "AdminSecretMissing" || step?.blocked?.reason === "VolumesLost") {
    conds.push(condition("Degraded", step.blocked.reason, step.blocked.message));
  } else if (roll?.state === "halted") {
    conds.push(condition("Degraded", "RollHalted", roll.message));
  } else if (
    (roll?.state === "restart" || roll?.state === "waiting") &&
    ready < total &&
    members.every((m) => m.ready || restarting.has(m.pod))
  ) {
    const down = members.filter((m) => !m.ready).map((m) => m.pod);
    conds.push(
      condition("Degraded", "RollingRestart", `${down.join(", ")} restarting in the roll; the others serve`),
    );
  } else if (total > 0 && ready < total && (ready >= quorum || wasAvailable(cluster))) {
    const down = members.filter((m) => !m.ready).map((m) => m.pod);
    conds.push(condition("Degraded", "MembersNotReady", `not ready: ${down.join(", ")}`));
  } else if (total > 0 && ready < quorum) {
    // A new ensemble that has not formed yet is progressing, not degraded.
    conds.push(condition("Degraded", "NotYetAvailable", "the ensemble has not formed a quorum yet"));
  } else {
    conds.push(condition("Degraded", "AsExpected", "no problem found"));
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
    connectionString: clientConnectionString(cluster, input.clusterDomain),
  };
  if (updateRevision && members.some((m) => m.upToDate !== undefined))
    status.updatedReplicas = members.filter((m) => m.upToDate === true).length;
  if (leader) status.leader = leader;
  const initializedAt = step?.initializedAt ?? cluster.status?.initializedAt;
  if (initializedAt) status.initializedAt = initializedAt;
  if (lastRestart) status.lastRestart = lastRestart;
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

/** The tag of an image reference ("zookeeper:3.9.4" → "3.9.4"), the digest when pinned by digest, "latest" without either. */
export function imageVersion(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) {
    const digest = image.slice(at + 1);
    const tagged = imageVersion(image.slice(0, at));
    return tagged === "latest" ? digest.slice(0, 19) : tagged;
  }
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  return colon >= 0 ? image.slice(colon + 1) : "latest";
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
