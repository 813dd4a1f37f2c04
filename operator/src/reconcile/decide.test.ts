import { describe, expect, test } from "vitest";
import { resolveSpec, type ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { decideStep, participants } from "./decide.ts";
import type { Observed } from "./observe.ts";

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

function observed(o: Partial<Observed> = {}): Observed {
  return {
    children: new Map(),
    statefulSet: null,
    membersFile: null,
    adminPassword: null,
    pods: [],
    ensemble: { source: "none" },
    modes: null,
    ...o,
  };
}

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
      observed: observed({ statefulSet: { spec: { replicas: 3 } } }),
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
    expect(decideStep(spec(s), o)).toEqual(expected);
  });

  test("a replicas change after bootstrap keeps the ensemble and says why", () => {
    const step = decideStep(
      spec({ replicas: 5 }),
      observed({ membersFile: { version: "0", members: participants(3) } }),
    );
    expect(step.type).toBe("Keep");
    expect(step.members).toEqual(participants(3));
    expect(step.blocked?.reason).toBe("ScalingNotSupported");
    expect(step.blocked?.message).toContain("spec.replicas is 5 but the ensemble has 3 members");
  });
});
