import { describe, expect, test } from "vitest";
import { resolveSpec, type ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { decideStep, participants, type DecideContext } from "./decide.ts";
import { observation, podObservation } from "../../test/fixtures/observed.ts";

const NOW = new Date("2026-06-01T12:00:00.000Z");
const context: DecideContext = {
  clusterName: "zk",
  recordedInitializedAt: null,
  rejoinRequested: [],
  now: NOW,
  lastRestart: null,
  rollSlot: "held",
  memberReadyTimeoutMs: 600_000,
};

function spec(s: object): ResolvedSpec {
  const cluster: ZooKeeperCluster = {
    apiVersion: "zookeeper.ensemble.dev/v1alpha1",
    kind: "ZooKeeperCluster",
    metadata: { name: "zk", namespace: "ns", uid: "u" },
    spec: s,
  };
  const r = resolveSpec(cluster);
  if (!r.ok) throw new Error(r.message);
  return r.spec;
}

const pod = podObservation;
const observed = observation;

describe("decideStep", () => {
  test.each([
    {
      what: "nothing exists yet → bootstrap members 1..N",
      spec: { replicas: 3 },
      observed: observed(),
      expected: { type: "Bootstrap", members: participants(3), membersVersion: "0", blocked: null },
    },
    {
      what: "members file present → keep it",
      spec: { replicas: 3 },
      observed: observed({ membersFile: { version: "100000003", members: participants(3) } }),
      expected: { type: "Keep", members: participants(3), membersVersion: "100000003", blocked: null },
    },
    {
      what: "ConfigMap deleted, StatefulSet present → keep the StatefulSet's size",
      spec: { replicas: 3 },
      observed: observed({ statefulSet: { spec: { replicas: 3 } }, adminPassword: "p" }),
      expected: { type: "Keep", members: participants(3), membersVersion: "0", blocked: null },
    },
    {
      what: "the committed config wins over the members file",
      spec: { replicas: 3 },
      observed: observed({
        membersFile: { version: "0", members: participants(5) },
        ensemble: {
          source: "zookeeper",
          configVersion: "200000001",
          members: participants(3),
        },
      }),
      expected: { type: "Keep", members: participants(3), membersVersion: "200000001", blocked: null },
    },
    {
      what: "paused → change nothing",
      spec: { replicas: 3, paused: true },
      observed: observed(),
      expected: { type: "Paused", members: [], membersVersion: "0", blocked: null },
    },
  ])("$what", ({ spec: s, observed: o, expected }) => {
    expect(decideStep(spec(s), o, context)).toMatchObject(expected);
  });

  describe("the roll is part of the step", () => {
    const outdated = observed({
      statefulSet: { spec: { replicas: 3 }, status: { updateRevision: "new" } },
      membersFile: { version: "0", members: participants(3) },
      adminPassword: "p",
      pods: [1, 2, 3].map((id) => pod(id, { revision: "old" })),
      modes: new Map([
        [1, "leader"],
        [2, "follower"],
        [3, "follower"],
      ]),
      sync: {
        zxids: new Map([1, 2, 3].map((id) => [id, "0x100000001"])),
        syncedFollowers: 2,
      },
    });

    test("outdated members in a healthy ensemble → a follower is restarted", () => {
      expect(decideStep(spec({ replicas: 3 }), outdated, context).roll).toMatchObject({
        state: "restart",
        targets: [{ pod: "zk-2", role: "follower" }],
      });
    });

    test("paused → no roll: a roll stops between members", () => {
      const step = decideStep(spec({ replicas: 3, paused: true }), outdated, context);
      expect(step.type).toBe("Paused");
      expect(step.roll).toEqual({ state: "current" });
    });

    test("blocked (the admin Secret lost) → no roll", () => {
      const step = decideStep(spec({ replicas: 3 }), { ...outdated, adminPassword: null }, context);
      expect(step.blocked?.reason).toBe("AdminSecretMissing");
      expect(step.roll).toEqual({ state: "current" });
    });
  });

  test("a replicas change without a committed config to decide on keeps the ensemble and says why", () => {
    const step = decideStep(
      spec({ replicas: 5 }),
      observed({
        membersFile: { version: "0", members: participants(3) },
        adminPassword: "p",
        statefulSet: { spec: { replicas: 3 } },
      }),
      context,
    );
    expect(step.type).toBe("Keep");
    expect(step.members).toEqual(participants(3));
    expect(step.statefulSetReplicas).toBe(3);
    expect(step.scale).toMatchObject({ state: "waiting" });
    expect(step.scale.state === "waiting" && step.scale.message).toContain(
      "no member reports the committed ensemble config",
    );
  });

  describe("membership and the roll share the pass", () => {
    const serving = {
      statefulSet: { spec: { replicas: 3 }, status: { updateRevision: "new" } },
      adminPassword: "p",
      ensemble: { source: "zookeeper", configVersion: "100000000", members: participants(3) } as const,
      pods: [1, 2, 3].map((id) => pod(id, { revision: "old" })),
      modes: new Map([
        [1, "leader"],
        [2, "follower"],
        [3, "follower"],
      ] as const),
      sync: { zxids: new Map([1, 2, 3].map((id) => [id, "0x100000001"])), syncedFollowers: 2 },
    };

    test("a pass that grows the ensemble restarts nothing", () => {
      const step = decideStep(spec({ replicas: 5 }), observed(serving), context);
      expect(step.scale).toMatchObject({ state: "grow", joiner: { id: 4, role: "participant" } });
      expect(step.members.map((m) => m.id)).toEqual([1, 2, 3, 4]);
      expect(step.joining).toBe(4);
      expect(step.statefulSetReplicas).toBe(4);
      expect(step.roll).toEqual({ state: "current" });
    });

    test("a blocked pass holds membership too: the StatefulSet keeps its size", () => {
      const step = decideStep(spec({ replicas: 5 }), observed({ ...serving, adminPassword: null }), context);
      expect(step.blocked?.reason).toBe("AdminSecretMissing");
      expect(step.scale).toEqual({ state: "steady" });
      expect(step.statefulSetReplicas).toBe(3);
      expect(step.joining).toBeNull();
    });

    test("bootstrap publishes participants, then observers", () => {
      const step = decideStep(spec({ replicas: 3, observers: 2 }), observed(), context);
      expect(step.type).toBe("Bootstrap");
      expect(step.members).toEqual([
        ...participants(3),
        { id: 4, role: "observer" },
        { id: 5, role: "observer" },
      ]);
      expect(step.statefulSetReplicas).toBe(5);
    });
  });
});

describe("the admin Secret", () => {
  test.each([
    ["a new ensemble creates it", observed(), "create", null],
    [
      "an existing one is kept",
      observed({ adminPassword: "p", statefulSet: { spec: { replicas: 3 } } }),
      "existing",
      null,
    ],
    [
      "lost under a running ensemble: never replaced, and said why",
      observed({ statefulSet: { spec: { replicas: 3 } }, pods: [pod(1)] }),
      "missing",
      "AdminSecretMissing",
    ],
  ] as const)("%s", (_, o, adminSecret, reason) => {
    const step = decideStep(spec({ replicas: 3 }), o, context);
    expect(step.adminSecret).toBe(adminSecret);
    expect(step.blocked?.reason ?? null).toBe(reason);
  });
});

describe("initialized", () => {
  const members = { version: "0", members: participants(3) };
  test.each([
    [
      "not before a quorum is ready",
      observed({ membersFile: members, pods: [pod(1), pod(2, { ready: false })] }),
      {},
      null,
    ],
    [
      "now, when a quorum is ready",
      observed({ membersFile: members, pods: [pod(1), pod(2)] }),
      {},
      "2026-06-01T12:00:00Z",
    ],
    [
      "the ConfigMap's time wins",
      observed({
        membersFile: members,
        markers: { initializedAt: "2026-01-01T00:00:00Z", rejoinEmpty: [], joining: null },
      }),
      {},
      "2026-01-01T00:00:00Z",
    ],
    [
      "the status's time when the ConfigMap lost it",
      observed({ membersFile: members }),
      { recordedInitializedAt: "2026-02-02T00:00:00Z" },
      "2026-02-02T00:00:00Z",
    ],
  ] as const)("%s", (_, o, ctx, expected) => {
    expect(decideStep(spec({ replicas: 3 }), o, { ...context, ...ctx }).initializedAt).toBe(expected);
  });
});

describe("members on an empty volume", () => {
  const base = {
    membersFile: { version: "0", members: participants(3) },
    adminPassword: "p",
    statefulSet: { spec: { replicas: 3 } },
  };
  const markers = { initializedAt: "2026-01-01T00:00:00Z", rejoinEmpty: [], joining: null };
  const serving = (...ids: number[]) =>
    new Map(ids.map((id) => [id, id === ids[0] ? "leader" : "follower"] as const));

  test("one lost while the other two serve a quorum: re-added empty, it resyncs from the leader", () => {
    const step = decideStep(
      spec({ replicas: 3 }),
      observed({
        ...base,
        markers,
        pods: [pod(1), pod(2, { ready: false, emptyDataRefused: true }), pod(3)],
        modes: serving(1, 3),
      }),
      context,
    );
    expect(step.rejoinEmpty).toEqual([2]);
    expect(step.blocked).toBeNull();
  });

  // Two members found empty volumes; the survivor is down too (nothing serves).
  const majorityLost = observed({
    ...base,
    markers,
    pods: [
      pod(1, { ready: false }),
      pod(2, { ready: false, emptyDataRefused: true }),
      pod(3, { ready: false, emptyDataRefused: true }),
    ],
    modes: new Map(),
  });

  test("a majority lost while the survivor is down: refused, never a new empty ensemble", () => {
    const step = decideStep(spec({ replicas: 3 }), majorityLost, context);
    expect(step.rejoinEmpty).toEqual([]);
    expect(step.blocked?.reason).toBe("VolumesLost");
    expect(step.blocked?.message).toContain("zk-1, zk-2 found an empty data volume");
    expect(step.blocked?.message).toContain("docs/operations.md");
  });

  test("a person's annotation re-adds them on purpose", () => {
    const step = decideStep(spec({ replicas: 3 }), majorityLost, { ...context, rejoinRequested: [2, 3] });
    expect(step.rejoinEmpty).toEqual([2, 3]);
    expect(step.blocked).toBeNull();
  });

  test("an allowed member stays allowed until it serves, then the list is emptied", () => {
    const waiting = observed({
      ...base,
      markers: { ...markers, rejoinEmpty: [2] },
      pods: [pod(1), pod(2, { ready: false }), pod(3)],
      modes: serving(1, 3),
    });
    expect(decideStep(spec({ replicas: 3 }), waiting, context).rejoinEmpty).toEqual([2]);
    const back = observed({
      ...base,
      markers: { ...markers, rejoinEmpty: [2] },
      pods: [pod(1), pod(2), pod(3)],
      modes: serving(1, 2, 3),
    });
    expect(decideStep(spec({ replicas: 3 }), back, context).rejoinEmpty).toEqual([]);
  });

  test("a new ensemble never refuses or re-adds anything", () => {
    const step = decideStep(
      spec({ replicas: 3 }),
      observed({ pods: [pod(1, { emptyDataRefused: true })] }),
      context,
    );
    expect(step.rejoinEmpty).toEqual([]);
    expect(step.blocked).toBeNull();
  });
});
