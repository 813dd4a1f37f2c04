// decideMembership: the one membership step a pass takes toward the spec, through ZooKeeper's
// dynamic reconfiguration, one server at a time. Pure. The rules (docs/operations.md "Scaling"),
// each from an outage elsewhere:
//
//   - the membership decided on is the ensemble's committed config (the leader's `conf`, through
//     its sidecar), never the operator's ConfigMap: that is only what a new pod bootstraps from,
//     and an edit of it is drift that the pass restores;
//   - servers leave from the highest id and join at the next one, because a StatefulSet grows and
//     shrinks only at its end; a server whose role must change leaves and joins again;
//   - scale up by one: grow the StatefulSet by one pod, which starts from the committed members
//     plus itself (never two joiners at once) and syncs as a non-voting follower; only then
//     `reconfig -add` it; the next step waits until the leader counts it synced;
//   - scale down by one: `reconfig -remove` the highest id, then a quorum write, and only when
//     the removal is committed shrink the StatefulSet (its pod runs on as a non-voter meanwhile);
//   - a reconfiguration is sent only when every other member serves and is in sync with the
//     leader: the new configuration then has a ready majority, and nothing is lost if the leader
//     changes hands. A member that is down makes the step a refusal that says who and why;
//   - anything an interrupted step left is finished or undone by the same rules: a pod beyond
//     the committed members goes (the StatefulSet shrinks to them), a member without a pod gets
//     it back, a joiner that is no longer wanted is never added.
import type { Member } from "../../../sidecar/src/contract.ts";
import { JOINING_ANNOTATION } from "../builders/labels.ts";
import { ensembleView, whyNotNow, type EnsembleView } from "./ensemble-view.ts";
import type { Observed, PodObservation } from "./observe.ts";

/** The membership the spec asks for: participants 1..replicas, then observers. */
export function desiredMembers(replicas: number, observers: number): Member[] {
  return Array.from({ length: replicas + observers }, (_, i) => ({
    id: i + 1,
    role: i < replicas ? ("participant" as const) : ("observer" as const),
  }));
}

export type Scale =
  /** The committed members are the desired ones and the StatefulSet runs exactly them. */
  | { state: "steady" }
  /** Create the joiner's pod (the StatefulSet grows to its ordinal); it syncs as a non-voter. */
  | { state: "grow"; joiner: Member; message: string }
  /** The joiner has synced: `reconfig -add` it, conditional on the committed version. */
  | { state: "add"; joiner: Member; fromVersion: string; message: string }
  /** `reconfig -remove` the highest id, conditional on the committed version. */
  | { state: "remove"; member: Member; fromVersion: string; message: string }
  /** The committed config no longer lists the pods beyond `replicas`: the StatefulSet shrinks. */
  | { state: "shrink"; replicas: number; removed: string[]; message: string }
  /** A step is under way (a joiner starting or syncing, a member catching up); nothing to send yet. */
  | { state: "waiting"; message: string }
  /** The next step would risk the quorum now (a member down or not in sync); says who and why. */
  | { state: "refused"; message: string };

/** What a pass did about membership: the reconfiguration it sent, and how it ended. */
export type ReconfigOutcome =
  { state: "none" } | { state: "committed"; version: string } | { state: "refused"; message: string };

export interface MembershipPlan {
  /** What the ConfigMap publishes for new pods: the committed members, plus the joiner. */
  members: Member[];
  /** Their config version: the committed one ("0" before the ensemble ever answered). */
  membersVersion: string;
  /** The server being added now (CONFIGMAP_KEYS.joining), null when none. */
  joining: number | null;
  /** The StatefulSet's size: one pod per member up to the highest id (and the joiner). */
  statefulSetReplicas: number;
  scale: Scale;
}

const maxId = (members: readonly Member[]): number => Math.max(0, ...members.map((m) => m.id));
const describe = (m: Member): string => `server ${m.id} (${m.role})`;

/**
 * The step toward `desired` from the ensemble's committed config. `current` is what the pass
 * would keep when the committed config is not known (no member answered): then nothing changes.
 */
export function decideMembership(
  clusterName: string,
  desired: readonly Member[],
  observed: Observed,
  current: { members: Member[]; version: string },
  /**
   * The committed version this process's last reconfiguration of the cluster produced, null when
   * none: the sidecars' answers lag a commit by up to a second, and a step must never be decided
   * again on the config from before it.
   */
  sentVersion: string | null = null,
): MembershipPlan {
  const stsReplicas = observed.statefulSet?.spec?.replicas;
  // Which joiner the StatefulSet grew for: read from the StatefulSet itself, so that its size and
  // its joiner are seen together (the ConfigMap's `joining` may reach the cache later or earlier).
  const joiningMarker = joiningOf(observed);
  if (observed.ensemble.source !== "zookeeper") {
    const differs = !sameMembers(current.members, desired);
    return keepWhatRuns(current, joiningMarker, stsReplicas, differs ? NO_COMMITTED_CONFIG : null);
  }
  const version = observed.ensemble.configVersion;
  if (sentVersion !== null && BigInt(`0x${version}`) < BigInt(`0x${sentVersion}`)) {
    const wait = `waiting for the members to report config version ${sentVersion}, committed a moment ago (they report ${version})`;
    return keepWhatRuns(current, joiningMarker, stsReplicas, wait);
  }
  const committed = observed.ensemble.members.map((m) => ({ id: m.id, role: m.role }));
  const pods = new Map(observed.pods.map((p) => [p.id, p]));
  const s: Situation = {
    committed,
    version,
    view: ensembleView(committed, observed, pods),
    pods,
    stsReplicas,
    joiningMarker,
    podName: (id) => `${clusterName}-${id - 1}`,
  };
  const inDesired = (m: Member): boolean => desired.some((d) => d.id === m.id && d.role === m.role);
  const extra = committed.some((m) => !inDesired(m));
  const joiner = extra ? undefined : desired.find((d) => !committed.some((c) => c.id === d.id));
  return (
    shrinkBeyondCommitted(s, joiner) ??
    (extra ? removeHighest(s) : joiner !== undefined ? addNext(s, joiner) : steady(s))
  );
}

/** What every step reads: the committed config, what the members say, the pods, the StatefulSet. */
interface Situation {
  committed: Member[];
  version: string;
  view: EnsembleView;
  pods: ReadonlyMap<number, PodObservation>;
  stsReplicas: number | undefined;
  /** The joiner the StatefulSet grew for (JOINING_ANNOTATION), null when none. */
  joiningMarker: number | null;
  podName: (id: number) => string;
}

const NO_COMMITTED_CONFIG =
  "no member reports the committed ensemble config (none serves, or their sidecars do not answer); membership changes wait for it";

/** Without a committed config to decide on, no step is safe: keep what runs, a joiner's pod too. */
function keepWhatRuns(
  current: { members: Member[]; version: string },
  joiningMarker: number | null,
  stsReplicas: number | undefined,
  wait: string | null,
): MembershipPlan {
  return {
    members: current.members,
    membersVersion: current.version,
    joining: joiningMarker,
    statefulSetReplicas: stsReplicas ?? maxId(current.members),
    scale: wait === null ? { state: "steady" } : { state: "waiting", message: wait },
  };
}

/** The plan that publishes the committed members and runs a pod for each. */
function committedPlan(
  s: Situation,
  statefulSetReplicas = maxId(s.committed),
): Omit<MembershipPlan, "scale"> {
  return { members: s.committed, membersVersion: s.version, joining: null, statefulSetReplicas };
}

function steady(s: Situation): MembershipPlan {
  return { ...committedPlan(s), scale: { state: "steady" } };
}

/**
 * Pods beyond the committed members go first (a server removed a moment ago, a joiner no longer
 * wanted, a pod at the joiner's ordinal from before this join): only the joiner whose pod the
 * StatefulSet grew for stays. null when there are none; a member without a pod gets it back then.
 */
function shrinkBeyondCommitted(s: Situation, joiner: Member | undefined): MembershipPlan | null {
  const keep = Math.max(
    maxId(s.committed),
    joiner !== undefined && s.joiningMarker === joiner.id ? joiner.id : 0,
  );
  if ((s.stsReplicas ?? keep) <= keep) return null;
  const removed = [...s.pods.values()].filter((p) => p.id > keep).map((p) => p.name);
  const restarted =
    joiner !== undefined && keep < joiner.id
      ? `; ${s.podName(joiner.id)} starts again, clean, to join as ${describe(joiner)}`
      : "";
  return {
    ...committedPlan(s, keep),
    scale: {
      state: "shrink",
      replicas: keep,
      removed,
      message: `shrinking the StatefulSet to ${keep} pods: the committed config (version ${s.version}) does not list ${removed.length > 0 ? removed.join(", ") : `ordinals ${keep} and above`}${restarted}`,
    },
  };
}

/**
 * A committed member that is not wanted (or not in its wanted role) leaves, from the highest id,
 * because only the StatefulSet's last pod can go; its pod stays until the removal is committed.
 */
function removeHighest(s: Situation): MembershipPlan {
  const target = s.committed.reduce((a, b) => (b.id > a.id ? b : a));
  const plan = committedPlan(s, Math.max(s.stsReplicas ?? 0, maxId(s.committed)));
  if (!s.committed.some((m) => m.role === "participant" && m.id !== target.id)) {
    return {
      ...plan,
      scale: {
        state: "refused",
        message: `removing ${describe(target)} would leave the ensemble without a voting member; spec.replicas must be at least 1`,
      },
    };
  }
  const blocker = whyNotNow(target, s.committed, s.view);
  if (blocker !== null) {
    // Down members make it a refusal; a member still catching up is a wait.
    const down = s.committed.some((m) => m.id !== target.id && !s.view.serving(m.id));
    const text = `${blocker}: ${describe(target)} (${s.podName(target.id)}) is removed only while every other member serves and is in sync with the leader, so that the new configuration keeps a ready majority`;
    return {
      ...plan,
      scale: down ? { state: "refused", message: text } : { state: "waiting", message: text },
    };
  }
  return {
    ...plan,
    scale: {
      state: "remove",
      member: target,
      fromVersion: s.version,
      message: `removing ${describe(target)} (${s.podName(target.id)}) from the ensemble (config version ${s.version})`,
    },
  };
}

/**
 * The lowest wanted id the committed config lacks joins next, one at a time: its pod is created,
 * syncs as a non-voting follower, and only then is it added; the next one waits until the leader
 * counts it synced.
 */
function addNext(s: Situation, joiner: Member): MembershipPlan {
  const plan: Omit<MembershipPlan, "scale"> = {
    members: [...s.committed, joiner],
    membersVersion: s.version,
    joining: joiner.id,
    statefulSetReplicas: Math.max(maxId(s.committed), joiner.id),
  };
  // The leader does not count a non-voting joiner among its synced followers.
  const asNonVoter = { ...joiner, role: "observer" as const };
  const blocker = whyNotNow(asNonVoter, [...s.committed, asNonVoter], s.view);
  const pod = s.pods.get(joiner.id);
  const started = s.joiningMarker === joiner.id;
  if (blocker !== null && s.committed.some((m) => !s.view.serving(m.id))) {
    // Nothing new starts while a member is down; a joiner already started stays as it is.
    return {
      ...plan,
      members: started ? plan.members : s.committed,
      joining: started ? joiner.id : null,
      statefulSetReplicas: Math.max(s.stsReplicas ?? 0, maxId(s.committed)),
      scale: {
        state: "refused",
        message: `${blocker}: ${describe(joiner)} is added only while every member serves, so that the new configuration has a ready majority`,
      },
    };
  }
  if (pod?.deleting) {
    return {
      ...plan,
      scale: { state: "waiting", message: `waiting for ${pod.name}, from before this join, to go` },
    };
  }
  if (pod === undefined || (s.stsReplicas ?? 0) < joiner.id) {
    // The next joiner starts only once the last one has been counted in sync by the leader.
    if (blocker !== null && !started)
      return {
        ...committedPlan(s),
        scale: { state: "waiting", message: `${blocker} before ${describe(joiner)} joins` },
      };
    return {
      ...plan,
      scale: {
        state: "grow",
        joiner,
        message: `creating ${s.podName(joiner.id)} to join as ${describe(joiner)}; it syncs with the leader before it is added`,
      },
    };
  }
  if (!s.view.caughtUp(joiner.id)) {
    const why = pod.failure
      ? `container ${pod.failure.container}: ${pod.failure.reason}${pod.failure.message ? `: ${pod.failure.message}` : ""}`
      : s.view.serving(joiner.id)
        ? "catching up with the leader"
        : "starting";
    return {
      ...plan,
      scale: {
        state: "waiting",
        message: `waiting for ${pod.name} (${describe(joiner)}) to sync with the leader as a non-voting member (${why})`,
      },
    };
  }
  if (blocker !== null) {
    return { ...plan, scale: { state: "waiting", message: `${blocker} before adding ${describe(joiner)}` } };
  }
  return {
    ...plan,
    scale: {
      state: "add",
      joiner,
      fromVersion: s.version,
      message: `adding ${describe(joiner)} (${pod.name}), which has synced with the leader (config version ${s.version})`,
    },
  };
}

function joiningOf(observed: Observed): number | null {
  const text = observed.statefulSet?.metadata?.annotations?.[JOINING_ANNOTATION];
  const id = Number(text);
  return text !== undefined && Number.isInteger(id) && id > 0 ? id : null;
}

/** A membership as one comparable string, `1:participant,2:observer`, in id order. */
export function membersKey(members: readonly { id: number; role: string }[]): string {
  return [...members]
    .sort((a, b) => a.id - b.id)
    .map((m) => `${m.id}:${m.role}`)
    .join(",");
}

function sameMembers(a: readonly Member[], b: readonly Member[]): boolean {
  return membersKey(a) === membersKey(b);
}
