import { expect, test } from "vitest";
import { CLUSTER_RESOURCE } from "./api/types.ts";
import {
  LEADER_ELECTION_PERMISSIONS,
  OPERATOR_PERMISSIONS,
  apiGroupOf,
  buildLeaderElectionRules,
  buildOperatorRules,
} from "./rbac.ts";
import { RESOURCES } from "./api/objects.ts";

test("every kind the operator reads or writes has a rule, the Lease only in the leader-election Role", () => {
  const covered = new Set(OPERATOR_PERMISSIONS.map((p) => p.type.kind));
  const expected = new Set([CLUSTER_RESOURCE.kind, ...Object.keys(RESOURCES)]);
  expected.delete("Lease");
  expect(covered).toEqual(expected);
  expect(LEADER_ELECTION_PERMISSIONS.create.type).toBe(RESOURCES.Lease);
  expect(LEADER_ELECTION_PERMISSIONS.own.type).toBe(RESOURCES.Lease);
});

test("rules name API groups and resources as RBAC does", () => {
  expect(apiGroupOf(RESOURCES.ConfigMap)).toBe("");
  expect(apiGroupOf(RESOURCES.StatefulSet)).toBe("apps");
  expect(apiGroupOf(RESOURCES.Event)).toBe("events.k8s.io");
  expect(buildOperatorRules()).toContainEqual({
    apiGroups: ["zookeeper.ensemble.dev"],
    resources: ["zookeeperclusters/status"],
    verbs: ["patch"],
  });
  expect(buildOperatorRules()).toContainEqual({
    apiGroups: ["apps"],
    resources: ["statefulsets"],
    verbs: ["list", "watch", "create", "patch"],
  });
});

test("least privilege: no wildcard, delete only of what is switched off (PodMonitors, NetworkPolicies), no update of children, no write to clusters' spec", () => {
  const rules = [...buildOperatorRules(), ...buildLeaderElectionRules("zk-operator")];
  for (const r of rules) {
    expect(r.verbs).not.toContain("*");
    // A PodMonitor or NetworkPolicy switched off is deleted; nothing else the operator made is ever deleted by it.
    if (!["podmonitors", "networkpolicies"].includes(r.resources?.[0] ?? ""))
      expect(r.verbs).not.toContain("delete");
    expect(r.verbs).not.toContain("deletecollection");
    expect(r.resources).not.toContain("*");
    expect(r.apiGroups).not.toContain("*");
  }
  const clusters = buildOperatorRules().find((r) => r.resources?.[0] === "zookeeperclusters");
  expect(clusters?.verbs).toEqual(["list", "watch"]);
  // Children are only ever server-side applied, never replaced.
  for (const kind of [
    "configmaps",
    "secrets",
    "services",
    "statefulsets",
    "poddisruptionbudgets",
    "networkpolicies",
  ]) {
    expect(buildOperatorRules().find((r) => r.resources?.[0] === kind)?.verbs).not.toContain("update");
  }
  const pods = buildOperatorRules().find((r) => r.resources?.[0] === "pods");
  expect(pods?.verbs).toEqual(["list", "watch"]);
});

test("the leader-election Role allows creating a Lease, but reading and renewing only the named one", () => {
  expect(buildLeaderElectionRules("my-lease")).toEqual([
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: ["my-lease"],
      verbs: ["get", "update"],
    },
  ]);
});
