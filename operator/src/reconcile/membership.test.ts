import { describe, expect, test } from "vitest";
import type { Member } from "../../../sidecar/src/contract.ts";
import { observation, podObservation } from "../../test/fixtures/observed.ts";
import { JOINING_ANNOTATION } from "../builders/labels.ts";
import { participants } from "./decide.ts";
import { decideMembership, desiredMembers, type MembershipPlan } from "./membership.ts";
import type { MemberMode, Observed, PodObservation } from "./observe.ts";

const VERSION = "100000000";
const observer = (id: number): Member => ({ id, role: "observer" });

interface Ensemble {
  /** The committed config's members; null: no member reported one. */
  committed: Member[] | null;
  /** Pods by id, with overrides; every listed pod runs unless it says otherwise. */
  pods: number[];
  podOverrides?: Record<number, Partial<PodObservation>>;
  stsReplicas: number;
  /** Members whose sidecar reports them serving (the first is the leader); default: every pod. */
  serving?: number[];
  /** Members whose zxid is far behind the leader's. */
  behind?: number[];
  /** The leader's synced voting followers; default: every committed participant but the leader. */
  syncedFollowers?: number;
  joining?: number | null;
  membersFile?: Member[];
}

function observe(e: Ensemble): Observed {
  const serving = e.serving ?? e.pods;
  const modes = new Map<number, MemberMode>();
  for (const id of e.pods) {
    const role = e.committed?.find((m) => m.id === id)?.role ?? "participant";
    modes.set(
      id,
      !serving.includes(id)
        ? "down"
        : id === serving[0]
          ? "leader"
          : role === "observer"
            ? "observer"
            : "follower",
    );
  }
  const voters = (e.committed ?? []).filter((m) => m.role === "participant" && serving.includes(m.id));
  return observation({
    statefulSet: {
      metadata: e.joining ? { annotations: { [JOINING_ANNOTATION]: String(e.joining) } } : {},
      spec: { replicas: e.stsReplicas },
    },
    membersFile: { version: VERSION, members: e.membersFile ?? e.committed ?? [] },
    markers: { initializedAt: "2026-01-01T00:00:00Z", rejoinEmpty: [], joining: e.joining ?? null },
    adminPassword: "p",
    pods: e.pods.map((id) => podObservation(id, { ready: serving.includes(id), ...e.podOverrides?.[id] })),
    ensemble:
      e.committed === null
        ? { source: "none" }
        : { source: "zookeeper", configVersion: VERSION, members: e.committed },
    modes,
    sync: {
      zxids: new Map(serving.map((id) => [id, e.behind?.includes(id) ? "0x100000001" : "0x100100000"])),
      syncedFollowers: e.syncedFollowers ?? Math.max(0, voters.length - 1),
    },
  });
}

function decide(replicas: number, e: Ensemble, observers = 0): MembershipPlan {
  const o = observe(e);
  return decideMembership("zk", desiredMembers(replicas, observers), o, {
    members: o.membersFile?.members ?? [],
    version: VERSION,
  });
}

/** The plan in one line: the scale state, what the ConfigMap publishes, the StatefulSet's size. */
function summary(p: MembershipPlan): string {
  const s = p.scale;
  const what =
    s.state === "grow" || s.state === "add"
      ? `${s.state} ${s.joiner.id}:${s.joiner.role}`
      : s.state === "remove"
        ? `remove ${s.member.id}`
        : s.state === "shrink"
          ? `shrink ${s.replicas}`
          : s.state;
  const members = p.members.map((m) => `${m.id}${m.role === "observer" ? "o" : ""}`).join(",");
  return `${what} | members ${members}${p.joining ? ` joining ${p.joining}` : ""} | sts ${p.statefulSetReplicas}`;
}

describe("decideMembership: one step toward the spec from the committed config", () => {
  test.each<[string, number, Ensemble, string]>([
    [
      "fresh: healthy, as wanted",
      3,
      { committed: participants(3), pods: [1, 2, 3], stsReplicas: 3 },
      "steady | members 1,2,3 | sts 3",
    ],
    [
      "one member down, nothing to change",
      3,
      { committed: participants(3), pods: [1, 2, 3], serving: [1, 2], stsReplicas: 3 },
      "steady | members 1,2,3 | sts 3",
    ],
    // Scale up 3 → 5, each stage of adding server 4.
    [
      "up, first: the joiner's pod is created; the ConfigMap lists it and names it joining",
      5,
      { committed: participants(3), pods: [1, 2, 3], stsReplicas: 3 },
      "grow 4:participant | members 1,2,3,4 joining 4 | sts 4",
    ],
    [
      "up, pod created but not serving yet: wait",
      5,
      { committed: participants(3), pods: [1, 2, 3, 4], serving: [1, 2, 3], stsReplicas: 4, joining: 4 },
      "waiting | members 1,2,3,4 joining 4 | sts 4",
    ],
    [
      "up, pod serving but behind the leader: wait",
      5,
      { committed: participants(3), pods: [1, 2, 3, 4], behind: [4], stsReplicas: 4, joining: 4 },
      "waiting | members 1,2,3,4 joining 4 | sts 4",
    ],
    [
      "up, synced as a non-voting follower: reconfig -add",
      5,
      { committed: participants(3), pods: [1, 2, 3, 4], stsReplicas: 4, joining: 4 },
      "add 4:participant | members 1,2,3,4 joining 4 | sts 4",
    ],
    [
      "up, added and committed, the leader does not count it synced yet: wait before the next",
      5,
      { committed: participants(4), pods: [1, 2, 3, 4], stsReplicas: 4, joining: 4, syncedFollowers: 2 },
      "waiting | members 1,2,3,4 | sts 4",
    ],
    [
      "up, added and synced: the next joiner's pod",
      5,
      { committed: participants(4), pods: [1, 2, 3, 4], stsReplicas: 4, joining: 4 },
      "grow 5:participant | members 1,2,3,4,5 joining 5 | sts 5",
    ],
    [
      "up, done",
      5,
      { committed: participants(5), pods: [1, 2, 3, 4, 5], stsReplicas: 5, joining: 5 },
      "steady | members 1,2,3,4,5 | sts 5",
    ],
    // Scale down 5 → 3, each stage of removing server 5.
    [
      "down, first: reconfig -remove the highest id; the StatefulSet keeps its pod",
      3,
      { committed: participants(5), pods: [1, 2, 3, 4, 5], stsReplicas: 5 },
      "remove 5 | members 1,2,3,4,5 | sts 5",
    ],
    [
      "down, removed and committed (or the operator restarted between): shrink",
      3,
      { committed: participants(4), pods: [1, 2, 3, 4, 5], stsReplicas: 5 },
      "shrink 4 | members 1,2,3,4 | sts 4",
    ],
    [
      "down, shrunk: the next removal",
      3,
      { committed: participants(4), pods: [1, 2, 3, 4], stsReplicas: 4 },
      "remove 4 | members 1,2,3,4 | sts 4",
    ],
    [
      "down, a member down: refused, nothing changes",
      3,
      { committed: participants(5), pods: [1, 2, 3, 4, 5], serving: [1, 2, 3, 5], stsReplicas: 5 },
      "refused | members 1,2,3,4,5 | sts 5",
    ],
    [
      "down, a member not caught up: wait",
      3,
      { committed: participants(5), pods: [1, 2, 3, 4, 5], behind: [2], stsReplicas: 5 },
      "waiting | members 1,2,3,4,5 | sts 5",
    ],
    [
      "down, the member to remove is itself down: it may go",
      3,
      { committed: participants(5), pods: [1, 2, 3, 4, 5], serving: [1, 2, 3, 4], stsReplicas: 5 },
      "remove 5 | members 1,2,3,4,5 | sts 5",
    ],
    [
      "quorum lost: no leader, so nothing is removed",
      3,
      { committed: participants(5), pods: [1, 2, 3, 4, 5], serving: [], stsReplicas: 5 },
      "refused | members 1,2,3,4,5 | sts 5",
    ],
    [
      "up while a member is down: refused, no pod is created",
      5,
      { committed: participants(3), pods: [1, 2, 3], serving: [1, 2], stsReplicas: 3 },
      "refused | members 1,2,3 | sts 3",
    ],
    [
      "up while a member is down, joiner already started: it is kept as it is",
      5,
      { committed: participants(3), pods: [1, 2, 3, 4], serving: [1, 2, 4], stsReplicas: 4, joining: 4 },
      "refused | members 1,2,3,4 joining 4 | sts 4",
    ],
    // Drift and interrupted steps.
    [
      "the ConfigMap hand-edited to 5 members: the committed 3 are published again",
      3,
      { committed: participants(3), pods: [1, 2, 3], stsReplicas: 3, membersFile: participants(5) },
      "steady | members 1,2,3 | sts 3",
    ],
    [
      "an interrupted scale-up no longer wanted: the joiner's pod goes, it was never added",
      3,
      { committed: participants(3), pods: [1, 2, 3, 4], stsReplicas: 4, joining: 4 },
      "shrink 3 | members 1,2,3 | sts 3",
    ],
    [
      "a committed member without a pod (the StatefulSet shrunk by hand): the pod comes back",
      5,
      { committed: participants(5), pods: [1, 2, 3], stsReplicas: 3 },
      "steady | members 1,2,3,4,5 | sts 5",
    ],
    [
      "a pod at the joiner's ordinal from before the join (no joining marker): recreated first",
      5,
      { committed: participants(3), pods: [1, 2, 3, 4], stsReplicas: 4 },
      "shrink 3 | members 1,2,3 | sts 3",
    ],
    [
      "no committed config known: keep what runs, change nothing",
      5,
      { committed: null, pods: [1, 2, 3], serving: [], stsReplicas: 3, membersFile: participants(3) },
      "waiting | members 1,2,3 | sts 3",
    ],
  ])("%s", (_what, replicas, ensemble, expected) => {
    expect(summary(decide(replicas, ensemble))).toBe(expected);
  });

  test.each<[string, number, number, Ensemble, string]>([
    [
      "observers join after the participants, as observers",
      3,
      2,
      { committed: participants(3), pods: [1, 2, 3], stsReplicas: 3 },
      "grow 4:observer | members 1,2,3,4o joining 4 | sts 4",
    ],
    [
      "an observer synced as an observer is added",
      3,
      2,
      {
        committed: participants(3),
        pods: [1, 2, 3, 4],
        stsReplicas: 4,
        joining: 4,
        membersFile: [...participants(3), observer(4)],
      },
      "add 4:observer | members 1,2,3,4o joining 4 | sts 4",
    ],
    [
      "observers removed from the highest id",
      3,
      0,
      { committed: [...participants(3), observer(4), observer(5)], pods: [1, 2, 3, 4, 5], stsReplicas: 5 },
      "remove 5 | members 1,2,3,4o,5o | sts 5",
    ],
    [
      "an observer that must vote leaves first (highest id first), then joins again",
      4,
      0,
      { committed: [...participants(3), observer(4)], pods: [1, 2, 3, 4], stsReplicas: 4 },
      "remove 4 | members 1,2,3,4o | sts 4",
    ],
  ])("%s", (_what, replicas, observers, ensemble, expected) => {
    expect(summary(decide(replicas, ensemble, observers))).toBe(expected);
  });

  test("messages say who and why", () => {
    const refused = decide(3, {
      committed: participants(5),
      pods: [1, 2, 3, 4, 5],
      serving: [1, 2, 3, 5],
      stsReplicas: 5,
    }).scale;
    expect(refused).toMatchObject({ state: "refused" });
    expect(refused.state === "refused" && refused.message).toBe(
      "waiting for zk-3 to serve: server 5 (participant) (zk-4) is removed only while every other member serves and is in sync with the leader, so that the new configuration keeps a ready majority",
    );
    const joining = decide(5, {
      committed: participants(3),
      pods: [1, 2, 3, 4],
      serving: [1, 2, 3],
      stsReplicas: 4,
      joining: 4,
      podOverrides: {
        4: { failure: { container: "zookeeper", reason: "CrashLoopBackOff", message: "back-off" } },
      },
    }).scale;
    expect(joining.state === "waiting" && joining.message).toBe(
      "waiting for zk-3 (server 4 (participant)) to sync with the leader as a non-voting member (container zookeeper: CrashLoopBackOff: back-off)",
    );
  });

  test("right after its own reconfig, a pass waits for the members to report the new version instead of deciding the step again", () => {
    const o = observe({ committed: participants(5), pods: [1, 2, 3, 4, 5], stsReplicas: 5 });
    const plan = decideMembership(
      "zk",
      desiredMembers(3, 0),
      o,
      { members: participants(5), version: VERSION },
      "100000009",
    );
    expect(summary(plan)).toBe("waiting | members 1,2,3,4,5 | sts 5");
    expect(plan.scale.state === "waiting" && plan.scale.message).toBe(
      "waiting for the members to report config version 100000009, committed a moment ago (they report 100000000)",
    );
    // Once they do (or with an older log entry), the next step is decided as usual.
    const again = decideMembership(
      "zk",
      desiredMembers(3, 0),
      o,
      { members: participants(5), version: VERSION },
      VERSION,
    );
    expect(summary(again)).toBe("remove 5 | members 1,2,3,4,5 | sts 5");
  });

  test("never removes the last voter", () => {
    const plan = decide(
      1,
      { committed: [{ id: 1, role: "participant" }, observer(2)], pods: [1, 2], stsReplicas: 2 },
      0,
    );
    expect(summary(plan)).toBe("remove 2 | members 1,2o | sts 2");
    const last = decideMembership(
      "zk",
      [observer(1)],
      observe({ committed: participants(1), pods: [1], stsReplicas: 1 }),
      {
        members: participants(1),
        version: VERSION,
      },
    );
    expect(last.scale).toMatchObject({ state: "refused" });
  });
});
