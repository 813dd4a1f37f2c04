// decideStep: the one pure decision of a reconcile pass: which membership the children are built
// for, what the ConfigMap records about the ensemble's life (initialized, members re-added on an
// empty volume, the server joining now), and what (if anything) the operator refuses. Exactly
// one step per pass. It bootstraps an ensemble, changes its membership one server at a time
// (membership.ts), and rolls pod-template changes one member at a time (roll.ts); a pass that
// changes membership restarts nothing.
// `members` is what the builders render, `blocked` is what the status reports.
import type { Member } from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { LastRestart } from "../api/types.ts";
import type { Observed } from "./observe.ts";
import { decideMembership, desiredMembers, type Scale } from "./membership.ts";
import { decideRoll, type Roll, type RollSlot } from "./roll.ts";

export type StepType = "Bootstrap" | "Keep" | "Paused";

/** Why a step refuses something; each is a reason of the Progressing condition. */
export type BlockReason = "AdminSecretMissing" | "VolumesLost";

export interface Step {
  type: StepType;
  /** The membership new pods bootstrap from (the ConfigMap's members): committed, plus a joiner. */
  members: Member[];
  /** The members file version to render: the committed config's ("0" before any reconfiguration). */
  membersVersion: string;
  /** The server being added now (in `members`, not yet committed), null when none. */
  joining: number | null;
  /** Pods the StatefulSet runs (ordinals 0..n-1). */
  statefulSetReplicas: number;
  /** The membership step: a reconfiguration to send, the StatefulSet to grow or shrink, or why not (membership.ts). */
  scale: Scale;
  /** What the step refuses, the most urgent when there are several; reported in the status and an Event. */
  blocked: { reason: BlockReason; message: string } | null;
  /**
   * The admin Secret: keep the existing password, create one for a new ensemble, or none: a
   * Secret lost under running servers is never replaced silently (their super digest is the old
   * password's).
   */
  adminSecret: "existing" | "create" | "missing";
  /** When the ensemble first reached quorum (recorded in the ConfigMap and status); null before. */
  initializedAt: string | null;
  /** Server ids the ConfigMap lets start on an empty data volume (CONFIGMAP_KEYS.rejoinEmpty). */
  rejoinEmpty: number[];
  /** The rolling restart: which member to restart now, or why none (roll.ts). */
  roll: Roll;
}

/** What decideStep needs besides the spec and the observation. */
export interface DecideContext {
  /** The cluster's name: its pods are NAME-ordinal. */
  clusterName: string;
  /** status.initializedAt as last written (survives a deleted ConfigMap). */
  recordedInitializedAt: string | null;
  /** Ids a person asked to re-add on an empty volume (annotation REJOIN_EMPTY_ANNOTATION). */
  rejoinRequested: number[];
  now: Date;
  /** status.lastRestart as last written: the member restarted last. */
  lastRestart: LastRestart | null;
  /** Whether this cluster may roll now (at most N clusters roll at once). */
  rollSlot: RollSlot;
  /** How long a restarted member may take to serve and sync before the roll halts. */
  memberReadyTimeoutMs: number;
  /** The committed version this process's last reconfiguration of the cluster produced (membership.ts). */
  sentConfigVersion?: string | null;
}

/** A person's override, for after a majority of volumes is lost (docs/operations.md "Lost volumes"). */
export const REJOIN_EMPTY_ANNOTATION = "zookeeper.ensemble.dev/rejoin-empty";

export function participants(n: number): Member[] {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, role: "participant" as const }));
}

export function decideStep(spec: ResolvedSpec, observed: Observed, context: DecideContext): Step {
  const desired = desiredMembers(spec.replicas, spec.observers);
  const current = currentMembership(observed);
  const adminSecret =
    observed.adminPassword !== null ? "existing" : ensembleExists(observed) ? "missing" : "create";
  const steady = { state: "steady" } as const;
  // Paused: nothing is built, so no members are invented for an ensemble that does not exist.
  if (spec.paused) {
    const members = current?.members ?? [];
    return {
      type: "Paused",
      members,
      membersVersion: current?.version ?? "0",
      joining: null,
      statefulSetReplicas: observed.statefulSet?.spec?.replicas ?? 0,
      scale: steady,
      initializedAt: decideInitializedAt(observed, members, context),
      rejoinEmpty: observed.markers.rejoinEmpty,
      adminSecret,
      roll: { state: "current" },
      blocked: null,
    };
  }
  // No ensemble yet: the spec's members, all pods start together (Parallel).
  const plan =
    current === null
      ? {
          members: desired,
          membersVersion: "0",
          joining: null,
          statefulSetReplicas: desired.length,
          scale: steady,
        }
      : decideMembership(context.clusterName, desired, observed, current, context.sentConfigVersion ?? null);
  const initializedAt = decideInitializedAt(observed, plan.members, context);
  const rejoin = decideRejoinEmpty(observed, plan.members, initializedAt, context.rejoinRequested);
  const base = {
    ...plan,
    initializedAt,
    rejoinEmpty: rejoin.allowed,
    adminSecret,
    roll: { state: "current" },
  } as const;
  if (current === null) return { ...base, type: "Bootstrap", blocked: null };
  const blocked = decideBlocked(rejoin.lost, initializedAt, adminSecret);
  // What blocks a pass holds every change of membership and every restart.
  if (blocked !== null) return { ...base, ...holdMembership(observed, plan), type: "Keep", blocked };
  // A pass that changes membership restarts nothing; while a step waits, the roll may go on (it
  // restarts a joiner that cannot start, or a member down, first).
  const acting =
    plan.scale.state !== "steady" && plan.scale.state !== "waiting" && plan.scale.state !== "refused";
  const roll = acting
    ? base.roll
    : decideRoll(plan.members, observed, {
        lastRestart: context.lastRestart,
        slot: context.rollSlot,
        now: context.now,
        memberReadyTimeoutMs: context.memberReadyTimeoutMs,
      });
  return { ...base, type: "Keep", blocked: null, roll };
}

/** The plan with every membership action held: the StatefulSet keeps its size, the ConfigMap its joiner. */
function holdMembership(
  observed: Observed,
  plan: Pick<Step, "members" | "membersVersion" | "statefulSetReplicas">,
): Pick<Step, "members" | "joining" | "statefulSetReplicas" | "scale"> {
  const joining = observed.markers.joining;
  const joiner = joining !== null ? observed.membersFile?.members.find((m) => m.id === joining) : undefined;
  return {
    members:
      joiner && !plan.members.some((m) => m.id === joiner.id) ? [...plan.members, joiner] : plan.members,
    joining: joiner ? joiner.id : null,
    statefulSetReplicas: observed.statefulSet?.spec?.replicas ?? plan.statefulSetReplicas,
    scale: { state: "steady" },
  };
}

function decideBlocked(
  lost: string[],
  initializedAt: string | null,
  adminSecret: Step["adminSecret"],
): Step["blocked"] {
  if (adminSecret === "missing") {
    return {
      reason: "AdminSecretMissing",
      message:
        'the admin Secret is gone while the ensemble runs; its servers check the super digest of the old password, so the operator does not generate a new one. Recreate the Secret with the old password, or with a new one and restart every server (docs/operations.md, "Admin Secret lost")',
    };
  }
  if (lost.length > 0) {
    return {
      reason: "VolumesLost",
      message: `${lost.join(", ")} found an empty data volume, but the ensemble was initialized at ${initializedAt ?? "?"} and too few other members serve for them to resync safely; starting them would risk an empty ensemble that loses every write. Restore the volumes, or re-add them on purpose (docs/operations.md, "Lost volumes")`,
    };
  }
  return null;
}

function ensembleExists(observed: Observed): boolean {
  return observed.statefulSet !== null || observed.pods.length > 0;
}

/** A quorum of `n` voting members. */
export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The recorded time, else now if a quorum of members is ready now (readiness is serving in a
 * quorum), else null: the ensemble has never formed and empty volumes are expected.
 */
function decideInitializedAt(observed: Observed, members: Member[], context: DecideContext): string | null {
  const recorded = observed.markers.initializedAt ?? context.recordedInitializedAt;
  if (recorded !== null) return recorded;
  const voters = new Set(members.filter((m) => m.role === "participant").map((m) => m.id));
  const ready = observed.pods.filter((p) => voters.has(p.id) && p.ready && !p.deleting).length;
  return voters.size > 0 && ready >= quorumOf(voters.size)
    ? context.now.toISOString().replace(/\.\d{3}Z$/, "Z")
    : null;
}

/**
 * Which members may start on an empty data volume. A member whose init refused one is re-added
 * when the other voting members serve a quorum without it (it then resyncs from the leader), or
 * when a person asked for it; otherwise it is lost and reported. An id stays allowed until its
 * server serves again.
 */
function decideRejoinEmpty(
  observed: Observed,
  members: Member[],
  initializedAt: string | null,
  requested: number[],
): { allowed: number[]; lost: string[] } {
  if (initializedAt === null) return { allowed: [], lost: [] };
  const ids = new Set(members.map((m) => m.id));
  const voters = members.filter((m) => m.role === "participant").map((m) => m.id);
  const serving = (id: number): boolean => {
    const mode = observed.modes?.get(id);
    return mode === "leader" || mode === "follower" || mode === "observer";
  };
  const allowed = new Set(observed.markers.rejoinEmpty.filter((id) => ids.has(id) && !serving(id)));
  const lost: string[] = [];
  for (const pod of observed.pods) {
    if (!pod.emptyDataRefused || !ids.has(pod.id) || allowed.has(pod.id)) continue;
    const othersServing = voters.filter((id) => id !== pod.id && serving(id)).length;
    if (othersServing >= quorumOf(voters.length) || requested.includes(pod.id)) allowed.add(pod.id);
    else lost.push(pod.name);
  }
  return { allowed: [...allowed].sort((a, b) => a - b), lost };
}

/**
 * The membership we already run, from the most reliable source we have: the committed ensemble
 * config, else the members file we wrote, else the StatefulSet's size (its ConfigMap was deleted).
 * null when no ensemble was ever created.
 */
export function currentMembership(observed: Observed): { members: Member[]; version: string } | null {
  if (observed.ensemble.source === "zookeeper") {
    return { members: observed.ensemble.members, version: observed.ensemble.configVersion };
  }
  if (observed.membersFile)
    return { members: observed.membersFile.members, version: observed.membersFile.version };
  const size = observed.statefulSet?.spec?.replicas;
  if (observed.statefulSet && size !== undefined && size > 0)
    return { members: participants(size), version: "0" };
  return null;
}
