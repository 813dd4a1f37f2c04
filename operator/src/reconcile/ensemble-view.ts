// What the sidecars and the pods say about each member, read the same way by every rule that
// takes a member away or changes the membership (roll.ts, membership.ts): who leads, who serves,
// who has caught up with the leader, and why a member may not be taken away yet. Pure.
import type { Member } from "../../../sidecar/src/contract.ts";
import type { MemberMode, Observed, PodObservation } from "./observe.ts";

/**
 * How far behind the leader (in transactions of the same epoch) a member may be and still count
 * as caught up. Both zxids come from /status answers that may be up to a second apart, so this
 * allows for a second of heavy writes; a member of an older epoch never counts.
 */
export const MAX_ZXID_LAG = 50_000n;

/** What the sidecars and the pods say about each member, read the same way by every rule. */
export interface EnsembleView {
  leader: number | null;
  /** The member's pod name (NAME-ordinal). */
  podName: (id: number) => string;
  mode: (id: number) => MemberMode | undefined;
  /** Serving in the quorum, and its pod is ready and staying. */
  serving: (id: number) => boolean;
  /** Serving, in the leader's epoch, and at most MAX_ZXID_LAG behind it. */
  caughtUp: (id: number) => boolean;
  syncedFollowers: number | null;
}

export function ensembleView(
  members: readonly Member[],
  observed: Observed,
  pods: ReadonlyMap<number, PodObservation>,
): EnsembleView {
  const mode = (id: number): MemberMode | undefined => observed.modes?.get(id);
  const serving = (id: number): boolean => {
    const m = mode(id);
    const pod = pods.get(id);
    return (m === "leader" || m === "follower" || m === "observer") && pod?.ready === true && !pod.deleting;
  };
  const leaders = members.filter((m) => mode(m.id) === "leader" && serving(m.id));
  const leader = leaders.length === 1 ? (leaders[0]?.id ?? null) : null;
  const zxid = (id: number): bigint | null => {
    const text = observed.sync?.zxids.get(id);
    return text === undefined || !/^0x[0-9a-f]+$/i.test(text) ? null : BigInt(text);
  };
  return {
    leader,
    podName: (id) => pods.get(id)?.name ?? `member ${id}`,
    mode,
    serving,
    caughtUp: (id) => {
      if (!serving(id) || leader === null) return false;
      if (id === leader) return true;
      const [mine, theirs] = [zxid(id), zxid(leader)];
      if (mine === null || theirs === null) return false;
      return mine >> 32n === theirs >> 32n && theirs - mine <= MAX_ZXID_LAG;
    },
    syncedFollowers: observed.sync?.syncedFollowers ?? null,
  };
}

/**
 * Why `target` may not be taken away yet (restarted, or removed from the ensemble): another member
 * not serving or not in sync, or the leader counting too few synced followers; null when it may.
 */
export function whyNotNow(target: Member, members: readonly Member[], view: EnsembleView): string | null {
  const others = members.filter((m) => m.id !== target.id);
  const name = view.podName;
  const down = others.filter((m) => !view.serving(m.id));
  if (down.length > 0) return `waiting for ${down.map((m) => name(m.id)).join(", ")} to serve`;
  const behind = others.filter((m) => !view.caughtUp(m.id));
  if (behind.length > 0)
    return `waiting for ${behind.map((m) => name(m.id)).join(", ")} to catch up with the leader`;
  // The leader's own count: every voting follower other than the target (when it is down) synced.
  const voters = members.filter((m) => m.role === "participant");
  const needed = voters.filter(
    (m) => m.id !== view.leader && !(m.id === target.id && !view.serving(target.id)),
  ).length;
  const synced = view.syncedFollowers;
  if (synced === null || synced < needed)
    return `waiting for the leader to count ${needed} synced followers (it reports ${synced ?? "none"})`;
  return null;
}
