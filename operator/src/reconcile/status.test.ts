import { describe, expect, test } from "vitest";
import type { ZooKeeperCluster, ZooKeeperClusterStatus } from "../api/types.ts";
import { participants, type Step } from "./decide.ts";
import type { Observed, PodObservation } from "./observe.ts";
import { observation, podObservation } from "../../test/fixtures/observed.ts";
import {
  computeStatus,
  imageVersion,
  mergeConditions,
  quorumSize,
  sameStatus,
  type StatusInput,
} from "./status.ts";

const cluster: ZooKeeperCluster = {
  apiVersion: "zookeeper.ensemble.dev/v1alpha1",
  kind: "ZooKeeperCluster",
  metadata: { name: "zk", namespace: "ns", uid: "u", generation: 4 },
  spec: { replicas: 3 },
};

function pod(id: number, ready: boolean): PodObservation {
  return podObservation(id, {
    ready,
    phase: ready ? "Running" : "Pending",
    image: "zookeeper:3.9.4",
    ip: ready ? `10.0.0.${id}` : null,
  });
}

function observed(pods: PodObservation[]): Observed {
  return observation({
    statefulSet: { spec: { replicas: 3 } },
    membersFile: { version: "0", members: participants(3) },
    adminPassword: "p",
    pods,
  });
}

const keep: Step = {
  type: "Keep",
  members: participants(3),
  membersVersion: "0",
  joining: null,
  statefulSetReplicas: 3,
  scale: { state: "steady" },
  blocked: null,
  adminSecret: "existing",
  initializedAt: null,
  rejoinEmpty: [],
  roll: { state: "current" },
};
const now = new Date("2026-01-01T00:00:00.000Z");

function conditions(
  pods: PodObservation[],
  step: Step | null = keep,
  invalid: StatusInput["invalid"] = null,
) {
  const s = computeStatus({
    cluster,
    observed: observed(pods),
    step,
    invalid,
    changed: [],
    clusterDomain: "cluster.local",
    now,
  });
  return Object.fromEntries((s.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
}

describe("computeStatus", () => {
  test.each([
    {
      ready: [true, true, true],
      expected: {
        Available: "True/QuorumReady",
        Progressing: "False/UpToDate",
        Degraded: "False/AsExpected",
      },
    },
    {
      ready: [true, true, false],
      expected: {
        Available: "True/QuorumReady",
        Progressing: "True/WaitingForMembers",
        Degraded: "True/MembersNotReady",
      },
    },
    {
      ready: [true, false, false],
      expected: {
        Available: "False/QuorumNotReady",
        Progressing: "True/WaitingForMembers",
        Degraded: "False/NotYetAvailable",
      },
    },
  ])("ready $ready → $expected", ({ ready, expected }) => {
    expect(conditions(ready.map((r, i) => pod(i + 1, r)))).toEqual(expected);
  });

  test("quorum lost after the ensemble was available: Degraded", () => {
    const previously = {
      ...cluster,
      status: {
        conditions: [
          {
            type: "Available" as const,
            status: "True" as const,
            reason: "QuorumReady",
            message: "",
            lastTransitionTime: "t",
          },
        ],
      },
    };
    const s = computeStatus({
      cluster: previously,
      observed: observed([pod(1, true)]),
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    expect(s.conditions?.find((c) => c.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "MembersNotReady",
    });
  });

  test("the pass that creates the children reports what the next pass will (one status write)", () => {
    const bootstrap: Step = { ...keep, type: "Bootstrap" };
    const first = computeStatus({
      cluster,
      observed: observed([]),
      step: bootstrap,
      invalid: null,
      changed: ["StatefulSet/zk"],
      clusterDomain: "cluster.local",
      now,
    });
    const second = computeStatus({
      cluster: { ...cluster, status: first },
      observed: observed([pod(1, false)]),
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    expect(first.conditions).toEqual(second.conditions);
  });

  test("an invalid spec: Progressing=False and Degraded=True with the reason", () => {
    expect(conditions([], null, { reason: "InvalidSpec", message: "bad" })).toMatchObject({
      Progressing: "False/InvalidSpec",
      Degraded: "True/InvalidSpec",
    });
  });

  test("a refused step: Progressing=False with its reason", () => {
    const blocked: Step = { ...keep, blocked: { reason: "VolumesLost", message: "m" } };
    expect(conditions([pod(1, true), pod(2, true), pod(3, true)], blocked).Progressing).toBe(
      "False/VolumesLost",
    );
  });

  test("membership: a step under way is Progressing=True/Scaling, a refused one False/ScalingRefused", () => {
    const all = [pod(1, true), pod(2, true), pod(3, true)];
    const growing: Step = {
      ...keep,
      members: participants(4),
      joining: 4,
      statefulSetReplicas: 4,
      scale: { state: "grow", joiner: { id: 4, role: "participant" }, message: "creating zk-3" },
    };
    expect(conditions(all, growing).Progressing).toBe("True/Scaling");
    const refused: Step = { ...keep, scale: { state: "refused", message: "waiting for zk-2 to serve" } };
    expect(conditions(all, refused).Progressing).toBe("False/ScalingRefused");
  });

  test("status.members: the committed members with role, mode and synced; a joiner is not one yet", () => {
    const o = observation({
      ...observed([pod(1, true), pod(2, true), pod(3, true), pod(4, true)]),
      ensemble: {
        source: "zookeeper",
        configVersion: "100000002",
        members: [...participants(2), { id: 3, role: "observer" }],
      },
      modes: new Map([
        [1, "leader"],
        [2, "follower"],
        [3, "observer"],
        [4, "follower"],
      ] as const),
      sync: {
        zxids: new Map([
          [1, "0x100000009"],
          [2, "0x100000009"],
          [3, "0x0"],
          [4, "0x100000009"],
        ]),
        syncedFollowers: 1,
      },
    });
    const step: Step = {
      ...keep,
      members: [...participants(2), { id: 3, role: "observer" }, { id: 4, role: "participant" }],
      joining: 4,
    };
    const s = computeStatus({
      cluster,
      observed: o,
      step,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    expect(s.members).toEqual([
      { id: 1, pod: "zk-0", role: "participant", mode: "leader", ready: true, synced: true },
      { id: 2, pod: "zk-1", role: "participant", mode: "follower", ready: true, synced: true },
      { id: 3, pod: "zk-2", role: "observer", mode: "observer", ready: true, synced: false },
    ]);
    expect(s.replicas).toBe(3);
    expect(s.ensembleConfigVersion).toBe("100000002");
  });

  test("members on an older pod template: upToDate, updatedReplicas, and Progressing says so", () => {
    const o = observed([
      { ...pod(1, true), revision: "zk-new" },
      { ...pod(2, true), revision: "zk-old" },
      { ...pod(3, true), revision: "zk-old" },
    ]);
    const s = computeStatus({
      cluster,
      observed: { ...o, statefulSet: { spec: { replicas: 3 }, status: { updateRevision: "zk-new" } } },
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    expect(s.members?.map((m) => m.upToDate)).toEqual([true, false, false]);
    expect(s.updatedReplicas).toBe(1);
    // The StatefulSet controller has the new template but the roll has not decided yet.
    expect(s.conditions?.find((c) => c.type === "Progressing")).toMatchObject({
      status: "True",
      reason: "RollingRestart",
      message: "2 members run an older pod template and will be restarted: zk-1, zk-2",
    });
  });

  describe("a rolling restart", () => {
    const progress = { updated: 1, total: 3 };
    const restarted = { pod: "zk-1", uid: "uid-2", revision: "zk-new", at: "2026-01-01T00:00:00Z" };
    const statusOf = (
      roll: Step["roll"],
      pods: PodObservation[],
      outcome: StatusInput["roll"] = { restarted: [], evictionRefused: null },
      lastRestart: StatusInput["lastRestart"] = outcome.restarted.at(-1) ?? null,
    ) =>
      computeStatus({
        cluster,
        lastRestart,
        observed: observed(pods),
        step: { ...keep, roll },
        invalid: null,
        changed: [],
        roll: outcome,
        clusterDomain: "cluster.local",
        now,
      });
    const cond = (s: ZooKeeperClusterStatus, type: string) => s.conditions?.find((c) => c.type === type);

    test("restarting a member: Progressing=True RollingRestart with the roll's message; lastRestart recorded", () => {
      const s = statusOf(
        {
          state: "restart",
          targets: [],
          revision: "zk-new",
          message: "restarting zk-1 (follower) (1 of 3 members updated)",
          ...progress,
        },
        [pod(1, true), pod(2, true), pod(3, true)],
        { restarted: [restarted], evictionRefused: null },
      );
      expect(cond(s, "Progressing")).toMatchObject({
        status: "True",
        reason: "RollingRestart",
        message: "restarting zk-1 (follower) (1 of 3 members updated)",
      });
      expect(s.lastRestart).toEqual(restarted);
    });

    test("the restarted member down: not Degraded, the roll says why it waits; lastRestart kept", () => {
      const s = statusOf(
        {
          state: "waiting",
          message: "waiting for zk-1 to rejoin and sync with the leader (2 of 3 members updated)",
          ...progress,
        },
        [pod(1, true), pod(2, false), pod(3, true)],
        undefined,
        restarted,
      );
      expect(cond(s, "Degraded")).toMatchObject({ status: "False", reason: "RollingRestart" });
      expect(cond(s, "Progressing")).toMatchObject({ status: "True", reason: "RollingRestart" });
      expect(s.lastRestart).toEqual(restarted);
    });

    test("another member down during the roll: Degraded MembersNotReady", () => {
      const s = statusOf(
        { state: "waiting", message: "waiting", ...progress },
        [pod(1, false), pod(2, true), pod(3, true)],
        undefined,
        restarted,
      );
      expect(cond(s, "Degraded")).toMatchObject({ status: "True", reason: "MembersNotReady" });
    });

    test("halted: Progressing=False and Degraded=True RollHalted with the roll's message", () => {
      const message =
        "the roll halted: zk-1 did not come back after its restart; container zookeeper: ErrImageNeverPull";
      const s = statusOf({ state: "halted", pod: "zk-1", message, ...progress }, [
        pod(1, true),
        pod(2, false),
        pod(3, true),
      ]);
      expect(cond(s, "Progressing")).toMatchObject({ status: "False", reason: "RollHalted", message });
      expect(cond(s, "Degraded")).toMatchObject({ status: "True", reason: "RollHalted", message });
    });

    test("queued behind other clusters: Progressing=True RollQueued", () => {
      const s = statusOf({ state: "queued", message: "waiting for other clusters' rolls", ...progress }, [
        pod(1, true),
        pod(2, true),
        pod(3, true),
      ]);
      expect(cond(s, "Progressing")).toMatchObject({ status: "True", reason: "RollQueued" });
    });

    test("an eviction the API server refused: the roll says so and tries again", () => {
      const s = statusOf(
        { state: "restart", targets: [], revision: "zk-new", message: "restarting zk-1", ...progress },
        [pod(1, true), pod(2, true), pod(3, true)],
        {
          restarted: [],
          evictionRefused: {
            pod: "zk-1",
            message: "Cannot evict pod as it would violate the pod's disruption budget.",
          },
        },
      );
      expect(cond(s, "Progressing")?.message).toBe(
        "the API server refused to evict zk-1 (a PodDisruptionBudget?): Cannot evict pod as it would violate the pod's disruption budget.; the roll tries again (1 of 3 members updated)",
      );
    });
  });

  test("a child the API server refused: Progressing=False and Degraded=True with its answer", () => {
    const s = computeStatus({
      cluster,
      observed: observed([pod(1, true), pod(2, true), pod(3, true)]),
      step: keep,
      invalid: null,
      applyError: {
        child: "StatefulSet/zk",
        message: 'admission webhook "deny.example.com" denied the request',
      },
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    for (const type of ["Progressing", "Degraded"]) {
      expect(s.conditions?.find((c) => c.type === type)).toMatchObject({
        reason: "ApplyFailed",
        message: 'StatefulSet/zk: admission webhook "deny.example.com" denied the request',
      });
    }
  });

  test("a lost admin Secret or lost volumes degrade the cluster; a scaling refusal does not", () => {
    const degraded = (blocked: Step["blocked"]) =>
      computeStatus({
        cluster,
        observed: observed([pod(1, true), pod(2, true), pod(3, true)]),
        step: { ...keep, blocked },
        invalid: null,
        changed: [],
        clusterDomain: "cluster.local",
        now,
      }).conditions?.find((c) => c.type === "Degraded");
    expect(degraded({ reason: "AdminSecretMissing", message: "m" })).toMatchObject({
      status: "True",
      reason: "AdminSecretMissing",
    });
    expect(degraded({ reason: "VolumesLost", message: "m" })).toMatchObject({
      status: "True",
      reason: "VolumesLost",
    });
  });

  test("initializedAt: from the step, else kept from the last status", () => {
    const base = {
      observed: observed([pod(1, true)]),
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    };
    expect(
      computeStatus({ ...base, cluster, step: { ...keep, initializedAt: "2026-01-01T00:00:00Z" } })
        .initializedAt,
    ).toBe("2026-01-01T00:00:00Z");
    const recorded = { ...cluster, status: { initializedAt: "2025-01-01T00:00:00Z" } };
    expect(computeStatus({ ...base, cluster: recorded, step: null }).initializedAt).toBe(
      "2025-01-01T00:00:00Z",
    );
  });

  test("members, counts, version and connection string", () => {
    const s = computeStatus({
      cluster,
      observed: observed([pod(1, true), pod(2, false)]),
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "example.local",
      now,
    });
    expect(s).toMatchObject({
      observedGeneration: 4,
      replicas: 3,
      readyReplicas: 1,
      version: "3.9.4",
      connectionString: "zk-client.ns.svc.example.local:2181",
      members: [
        { id: 1, pod: "zk-0", role: "participant", mode: "unknown", ready: true, synced: false },
        { id: 2, pod: "zk-1", role: "participant", mode: "down", ready: false, synced: false },
        { id: 3, pod: "zk-2", role: "participant", mode: "down", ready: false, synced: false },
      ],
    });
    expect(s.leader).toBeUndefined();
  });

  test("members' modes come from their sidecars; the leader is the one that says so", () => {
    const s = computeStatus({
      cluster,
      observed: {
        ...observed([pod(1, true), pod(2, true), pod(3, true)]),
        // Member 3's sidecar did not answer: ready, but its role is not known.
        modes: new Map([
          [1, "follower"],
          [2, "leader"],
        ]),
      },
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    expect(s.members?.map((m) => m.mode)).toEqual(["follower", "leader", "unknown"]);
    expect(s.leader).toBe("zk-1");
  });

  test("a ready pod whose server serves no quorum is down, not a follower", () => {
    const s = computeStatus({
      cluster,
      observed: { ...observed([pod(1, true), pod(2, false)]), modes: new Map([[1, "down"]]) },
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
      now,
    });
    expect(s.members?.map((m) => m.mode)).toEqual(["down", "down", "down"]);
    expect(s.leader).toBeUndefined();
  });

  test("the same observation gives the same status (no write on a no-op pass)", () => {
    const input = {
      cluster,
      observed: observed([pod(1, true)]),
      step: keep,
      invalid: null,
      changed: [],
      clusterDomain: "cluster.local",
    };
    const first = computeStatus({ ...input, now });
    const again = computeStatus({
      ...input,
      cluster: { ...cluster, status: first },
      now: new Date("2026-02-02T00:00:00Z"),
    });
    expect(sameStatus(first, again)).toBe(true);
  });
});

describe("mergeConditions", () => {
  test("keeps lastTransitionTime while the status stays, moves it when the status changes", () => {
    const prev = [
      {
        type: "Available" as const,
        status: "False" as const,
        reason: "A",
        message: "m",
        lastTransitionTime: "2025-01-01T00:00:00Z",
      },
    ];
    const same = mergeConditions(
      prev,
      [{ type: "Available", status: "False", reason: "B", message: "n" }],
      now,
      1,
    );
    expect(same[0]?.lastTransitionTime).toBe("2025-01-01T00:00:00Z");
    const changed = mergeConditions(
      prev,
      [{ type: "Available", status: "True", reason: "C", message: "o" }],
      now,
      1,
    );
    expect(changed[0]?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
  });
});

test.each([
  ["docker.io/library/zookeeper:3.9.4", "3.9.4"],
  ["zookeeper:3.8", "3.8"],
  ["zookeeper", "latest"],
  ["registry.local:5000/zk/zookeeper:3.9.4-jre17", "3.9.4-jre17"],
  ["registry.local:5000/zookeeper", "latest"],
  ["zookeeper:3.9.4@sha256:0123456789abcdef0123456789abcdef", "3.9.4"],
  ["zookeeper@sha256:0123456789abcdef0123456789abcdef", "sha256:0123456789ab"],
])("imageVersion(%s) = %s", (image, version) => {
  expect(imageVersion(image)).toBe(version);
});

test.each([
  [1, 1],
  [3, 2],
  [4, 3],
  [5, 3],
])("quorum of %i is %i", (n, q) => {
  expect(quorumSize(n)).toBe(q);
});
