import { describe, expect, test } from "vitest";
import type { LastRestart } from "../api/types.ts";
import { participants } from "./decide.ts";
import type { MemberMode, Observed, PodObservation } from "./observe.ts";
import { decideRoll, type Roll, type RollContext } from "./roll.ts";
import { observation, podObservation } from "../../test/fixtures/observed.ts";

const NOW = new Date("2026-06-01T12:00:00.000Z");
const NEW = "zk-new";
const OLD = "zk-old";
const members = participants(3);

interface MemberSetup {
  revision?: string;
  mode?: MemberMode;
  ready?: boolean;
  zxid?: string;
  pod?: Partial<PodObservation>;
}

/**
 * An ensemble of 3 members: by default every member on the old revision, member 1 the leader,
 * all serving and in sync (zxid 0x100000010, 2 synced followers).
 */
function ensemble(
  setup: Record<number, MemberSetup> = {},
  o: { syncedFollowers?: number | null; generation?: number; observedGeneration?: number } = {},
): Observed {
  const modes = new Map<number, MemberMode>();
  const zxids = new Map<number, string>();
  const pods: PodObservation[] = [];
  for (const m of members) {
    const s = setup[m.id] ?? {};
    const mode = s.mode ?? (m.id === 1 ? "leader" : "follower");
    modes.set(m.id, mode);
    if (mode !== "down") zxids.set(m.id, s.zxid ?? "0x100000010");
    pods.push(
      podObservation(m.id, { revision: s.revision ?? OLD, ready: s.ready ?? mode !== "down", ...s.pod }),
    );
  }
  return observation({
    statefulSet: {
      metadata: { generation: o.generation ?? 2 },
      spec: { replicas: 3 },
      status: { updateRevision: NEW, observedGeneration: o.observedGeneration ?? 2 },
    },
    pods,
    modes,
    sync: { zxids, syncedFollowers: o.syncedFollowers === undefined ? 2 : o.syncedFollowers },
  });
}

const context = (o: Partial<RollContext> = {}): RollContext => ({
  lastRestart: null,
  slot: "held",
  now: NOW,
  memberReadyTimeoutMs: 600_000,
  ...o,
});

/** A restart of `pod` recorded `ago` ms before NOW, for the new revision. */
const restartedAgo = (pod: string, uid: string, ago: number): LastRestart => ({
  pod,
  uid,
  revision: NEW,
  at: new Date(NOW.getTime() - ago).toISOString(),
});

/** The pods a restart step takes, or the state when it takes none. */
function taken(roll: Roll): string {
  return roll.state === "restart"
    ? `restart ${roll.targets.map((t) => `${t.pod}:${t.role}`).join(",")}`
    : roll.state;
}

describe("decideRoll", () => {
  test.each<{
    what: string;
    observed: Observed;
    ctx?: Partial<RollContext>;
    expected: string;
    message?: RegExp;
  }>([
    {
      what: "every member on the update revision → nothing to do",
      observed: ensemble({ 1: { revision: NEW }, 2: { revision: NEW }, 3: { revision: NEW } }),
      expected: "current",
    },
    {
      what: "the StatefulSet controller has not seen the new template yet → nothing yet",
      observed: ensemble({}, { generation: 3, observedGeneration: 2 }),
      expected: "current",
    },
    {
      what: "all outdated → a follower first, the highest ordinal",
      observed: ensemble(),
      expected: "restart zk-2:follower",
      message: /^restarting zk-2 \(follower\) \(0 of 3 members updated\)$/,
    },
    {
      what: "one outdated follower left → that follower",
      observed: ensemble({ 1: { revision: NEW }, 2: { revision: OLD }, 3: { revision: NEW } }),
      expected: "restart zk-1:follower",
    },
    {
      what: "only the leader outdated → the leader, last",
      observed: ensemble({ 1: { revision: OLD }, 2: { revision: NEW }, 3: { revision: NEW } }),
      expected: "restart zk-0:leader",
      message: /2 of 3 members updated/,
    },
    {
      what: "the leader is not known (its sidecar did not answer) → wait, never guess",
      observed: ensemble({ 1: { mode: "follower" } }),
      expected: "waiting",
      message: /the leader is not known/,
    },
    {
      what: "an outdated member down → it goes first (restarting it costs no quorum)",
      observed: ensemble({ 2: { mode: "down" } }),
      expected: "restart zk-1:down",
    },
    {
      what: "an up-to-date member down while others are outdated → wait for it",
      observed: ensemble({ 3: { revision: NEW, mode: "down" } }),
      expected: "waiting",
      message: /^waiting for zk-2 to serve before restarting zk-1/,
    },
    {
      what: "a follower behind the leader's epoch → wait until it catches up",
      observed: ensemble({ 3: { revision: NEW, zxid: "0xf00000010" }, 1: { zxid: "0x1000000010" } }),
      expected: "waiting",
      message: /waiting for zk-2 to catch up with the leader/,
    },
    {
      what: "the leader counts fewer synced followers than serve → wait",
      observed: ensemble({}, { syncedFollowers: 1 }),
      expected: "waiting",
      message: /count 2 synced followers \(it reports 1\)/,
    },
    {
      what: "no synced-followers count from the leader → wait",
      observed: ensemble({}, { syncedFollowers: null }),
      expected: "waiting",
    },
    {
      what: "a down member to restart: the leader needs only the others synced",
      observed: ensemble({ 3: { mode: "down" } }, { syncedFollowers: 1 }),
      expected: "restart zk-2:down",
    },
    {
      what: "another cluster holds the only roll slot → queued",
      observed: ensemble(),
      ctx: { slot: "taken" },
      expected: "queued",
    },
    {
      what: "the last restarted pod has not gone yet (same uid) → wait for it to stop",
      observed: ensemble({ 3: { pod: { deleting: true } } }),
      ctx: { lastRestart: restartedAgo("zk-2", "uid-3", 2_000) },
      expected: "waiting",
      message: /^waiting for zk-2 to stop/,
    },
    {
      what: "the last restarted member back but not serving yet → wait, even though others are outdated",
      observed: ensemble({ 3: { revision: NEW, mode: "down", pod: { uid: "uid-3b" } } }),
      ctx: { lastRestart: restartedAgo("zk-2", "uid-3", 20_000) },
      expected: "waiting",
      message: /^waiting for zk-2 to rejoin and sync with the leader \(1 of 3 members updated\)$/,
    },
    {
      what: "the last restarted member back and synced → the next one",
      observed: ensemble({ 3: { revision: NEW, pod: { uid: "uid-3b" } } }),
      ctx: { lastRestart: restartedAgo("zk-2", "uid-3", 20_000) },
      expected: "restart zk-1:follower",
    },
    {
      what: "the last restarted member cannot start its image → halted at once, naming the pod and the kubelet's reason",
      observed: ensemble({
        3: {
          revision: NEW,
          mode: "down",
          pod: {
            uid: "uid-3b",
            failure: {
              container: "zookeeper",
              reason: "ErrImageNeverPull",
              message: 'Container image "zk:missing" is not present with pull policy of Never',
            },
          },
        },
      }),
      ctx: { lastRestart: restartedAgo("zk-2", "uid-3", 5_000) },
      expected: "halted",
      message:
        /^the roll halted: zk-2 did not come back after its restart; container zookeeper: ErrImageNeverPull: Container image "zk:missing"/,
    },
    {
      what: "the last restarted member not serving past the deadline → halted",
      observed: ensemble({ 3: { revision: NEW, mode: "down", pod: { uid: "uid-3b" } } }),
      ctx: { lastRestart: restartedAgo("zk-2", "uid-3", 700_000) },
      expected: "halted",
      message: /zk-2 is not ready \(phase Running\) 700 s after its restart \(deadline 600 s\)/,
    },
    {
      what: "halted, then the spec is corrected (a new revision): the failed member goes first",
      observed: ensemble({
        3: {
          revision: "zk-bad",
          mode: "down",
          pod: {
            uid: "uid-3b",
            failure: { container: "zookeeper", reason: "ErrImageNeverPull", message: "" },
          },
        },
      }),
      ctx: { lastRestart: { ...restartedAgo("zk-2", "uid-3", 60_000), revision: "zk-bad" } },
      expected: "restart zk-2:down",
    },
    {
      what: "nothing serves at all (a new ensemble that never formed) → every outdated member at once",
      observed: ensemble({ 1: { mode: "down" }, 2: { mode: "down" }, 3: { mode: "down" } }),
      expected: "restart zk-0:down,zk-1:down,zk-2:down",
      message: /together: no member serves/,
    },
    {
      what: "nothing serves and every member was restarted together → nothing to wait for",
      observed: ensemble({
        1: { revision: NEW, mode: "down", pod: { uid: "uid-1b" } },
        2: { revision: NEW, mode: "down", pod: { uid: "uid-2b" } },
        3: { revision: NEW, mode: "down", pod: { uid: "uid-3b" } },
      }),
      ctx: { lastRestart: restartedAgo("zk-2", "uid-3", 20_000) },
      expected: "current",
    },
    {
      what: "no sidecar answered but pods are ready → wait (the ensemble may serve)",
      observed: { ...ensemble(), modes: new Map() },
      expected: "waiting",
      message: /the leader is not known/,
    },
    {
      what: "the restart annotation changed the template (a new revision): every member rolls, followers first",
      observed: ensemble({ 1: { revision: NEW }, 2: { revision: OLD }, 3: { revision: OLD } }),
      expected: "restart zk-2:follower",
    },
  ])("$what", ({ observed, ctx, expected, message }) => {
    const roll = decideRoll(members, observed, context(ctx));
    expect(taken(roll)).toBe(expected);
    if (message) expect("message" in roll ? roll.message : "").toMatch(message);
  });

  test("the pods it restarts carry their uid, the eviction's precondition", () => {
    const roll = decideRoll(members, ensemble(), context());
    expect(roll).toMatchObject({
      state: "restart",
      revision: NEW,
      targets: [{ pod: "zk-2", uid: "uid-3", id: 3 }],
    });
  });
});
