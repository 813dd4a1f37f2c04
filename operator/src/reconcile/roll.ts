// decideRoll: which member, if any, this pass restarts so that every member runs the
// StatefulSet's current pod template (the StatefulSet is OnDelete: nothing else restarts them).
// Pure. The rules, each from an outage elsewhere (docs/operations.md "Rolling restarts"):
//
//   - one member at a time: the member restarted last (status.lastRestart) must be back, serving
//     and in sync before another is touched; a roll never takes a second member away;
//   - a member is restarted only when every other member serves and is in sync with the leader
//     (the leader's zk_synced_followers and each member's zxid), so the restart costs no quorum;
//   - members that are down first (restarting them costs nothing), then followers, the leader
//     last: one election per roll, not one per member;
//   - a restarted member that does not come back (an image that cannot be pulled, a crash loop)
//     halts the roll until the spec changes; nothing else is taken away meanwhile;
//   - at most a configured number of clusters roll at once (an operator upgrade that changes the
//     sidecar image must not restart every ensemble together): the rest are queued.
import type { Member } from "../../../sidecar/src/contract.ts";
import type { LastRestart } from "../api/types.ts";
import { ensembleView, whyNotNow, type EnsembleView } from "./ensemble-view.ts";
import type { Observed, PodObservation } from "./observe.ts";

/** This cluster's place among the clusters that may roll at once (runtime/roll-slots.ts). */
export type RollSlot = "held" | "free" | "taken";

/** The limit on clusters rolling at once, as a pass sees and takes it. */
export interface RollSlots {
  state(key: string): RollSlot;
  acquire(key: string): void;
  release(key: string): void;
}

export interface RollContext {
  /** status.lastRestart: the member restarted last, null when none is recorded. */
  lastRestart: LastRestart | null;
  slot: RollSlot;
  now: Date;
  /** How long a restarted member may take to serve and sync before the roll halts. */
  memberReadyTimeoutMs: number;
}

export interface RestartTarget {
  pod: string;
  /** The pod's uid: the eviction's precondition, so a replacement is never evicted by mistake. */
  uid: string;
  id: number;
  /** Why it goes now: down members first, then followers and observers, the leader last. */
  role: "down" | "follower" | "observer" | "leader";
}

/** How far the roll is, for the status message: members running the update revision. */
interface Progress {
  updated: number;
  total: number;
}

export type Roll =
  /** Every member runs the current template (or the StatefulSet controller has not caught up yet). */
  | { state: "current" }
  /** Restart these members now (one, or every member when none serves: nothing is lost). */
  | ({ state: "restart"; targets: RestartTarget[]; revision: string; message: string } & Progress)
  /** Members are outdated, but the last restart or the ensemble's sync is not there yet. */
  | ({ state: "waiting"; message: string } & Progress)
  /** Members are outdated, but other clusters hold every roll slot. */
  | ({ state: "queued"; message: string } & Progress)
  /** The member restarted last did not come back; nothing else is restarted until the spec changes. */
  | ({ state: "halted"; pod: string; message: string } & Progress);

/** What a pass did about the roll: the members it evicted, or the eviction the API server refused. */
export interface RollOutcome {
  restarted: LastRestart[];
  evictionRefused: { pod: string; message: string } | null;
}

export function decideRoll(members: readonly Member[], observed: Observed, ctx: RollContext): Roll {
  const sts = observed.statefulSet;
  const revision = sts?.status?.updateRevision;
  // Until the StatefulSet controller has seen our last template change, updateRevision is the old
  // one: comparing against it would find nothing to do, or worse, the wrong thing.
  const generation = sts?.metadata?.generation;
  if (!sts || !revision || (generation !== undefined && sts.status?.observedGeneration !== generation))
    return { state: "current" };

  const pods = new Map(observed.pods.map((p) => [p.id, p]));
  const view = ensembleView(members, observed, pods);
  const progress: Progress = {
    updated: members.filter((m) => pods.get(m.id)?.revision === revision).length,
    total: members.length,
  };
  const of = `(${progress.updated} of ${progress.total} members updated)`;

  // Nothing serves at all (a new ensemble that never formed, or one whose pods cannot start):
  // no restart can take anything away, and no restarted member can come back alone.
  const nothingServes = members.every((m) => !view.serving(m.id) && pods.get(m.id)?.ready !== true);
  const last = lastRestartSettling(ctx, revision, pods, view);
  if (last?.halted) return { state: "halted", pod: last.pod, message: last.message, ...progress };
  const settling = nothingServes ? null : last;

  const outdated = members.filter((m) => {
    const p = pods.get(m.id);
    return p !== undefined && !p.deleting && p.revision !== null && p.revision !== revision;
  });
  if (outdated.length === 0 && settling === null) return { state: "current" };
  if (settling !== null) return { state: "waiting", message: `${settling.message} ${of}`, ...progress };
  if (ctx.slot === "taken") {
    return {
      state: "queued",
      message: `${outdated.length} of ${members.length} members run an older pod template; waiting for other clusters' rolls to finish (the operator rolls a limited number of clusters at a time)`,
      ...progress,
    };
  }

  const restartTarget = (m: Member): RestartTarget => {
    const pod = pods.get(m.id) as PodObservation;
    const mode = view.mode(m.id);
    const role = mode === "leader" || mode === "follower" || mode === "observer" ? mode : "down";
    return { pod: pod.name, uid: pod.uid, id: m.id, role };
  };

  if (view.leader === null) {
    // Nothing serves: restarting every outdated member at once loses nothing, and waiting for
    // one to come back first would wait forever.
    if (nothingServes) {
      const targets = outdated.map(restartTarget);
      return {
        state: "restart",
        targets,
        revision,
        message: `restarting ${targets.map((t) => t.pod).join(", ")} together: no member serves, so none can be lost ${of}`,
        ...progress,
      };
    }
    return {
      state: "waiting",
      message: `the leader is not known (its sidecar has not answered); the roll restarts the leader last, so it waits ${of}`,
      ...progress,
    };
  }

  // Down first, then followers and observers, the leader last; the highest ordinal first in each,
  // as the StatefulSet controller would.
  const rank = (m: Member): number => (!view.serving(m.id) ? 0 : m.id === view.leader ? 2 : 1);
  const target = [...outdated].sort((a, b) => rank(a) - rank(b) || b.id - a.id)[0] as Member;

  const blocker = whyNotNow(target, members, view);
  if (blocker !== null)
    return {
      state: "waiting",
      message: `${blocker} before restarting ${view.podName(target.id)} ${of}`,
      ...progress,
    };
  const t = restartTarget(target);
  return {
    state: "restart",
    targets: [t],
    revision,
    message: `restarting ${t.pod} (${t.role}) ${of}`,
    ...progress,
  };
}

/**
 * The member restarted last, while it is not back: waiting for it, or halted when it will not
 * come back. null when it is back, or when the spec has changed since (then it is simply a
 * member that is down or outdated, and goes first).
 */
function lastRestartSettling(
  ctx: RollContext,
  revision: string,
  pods: ReadonlyMap<number, PodObservation>,
  view: EnsembleView,
): { halted: boolean; pod: string; message: string } | null {
  const last = ctx.lastRestart;
  if (last === null || last.revision !== revision) return null;
  const pod = [...pods.values()].find((p) => p.name === last.pod);
  if (pod?.uid === last.uid)
    return { halted: false, pod: last.pod, message: `waiting for ${last.pod} to stop` };
  if (pod !== undefined && view.caughtUp(pod.id)) return null;
  if (pod?.failure) {
    const f = pod.failure;
    return {
      halted: true,
      pod: last.pod,
      message: `the roll halted: ${last.pod} did not come back after its restart; container ${f.container}: ${f.reason}${f.message ? `: ${f.message}` : ""}. No other member is restarted; correct the spec to resume (docs/operations.md "Rolling restarts")`,
    };
  }
  const elapsed = ctx.now.getTime() - Date.parse(last.at);
  if (elapsed > ctx.memberReadyTimeoutMs) {
    const state =
      pod === undefined
        ? "has no pod"
        : pod.ready
          ? "is ready but not in sync with the leader"
          : `is not ready (phase ${pod.phase})`;
    return {
      halted: true,
      pod: last.pod,
      message: `the roll halted: ${last.pod} ${state} ${Math.round(elapsed / 1000)} s after its restart (deadline ${Math.round(ctx.memberReadyTimeoutMs / 1000)} s). No other member is restarted; correct the spec to resume (docs/operations.md "Rolling restarts")`,
    };
  }
  return {
    halted: false,
    pod: last.pod,
    message: `waiting for ${last.pod} to rejoin and sync with the leader`,
  };
}
