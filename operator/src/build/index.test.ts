import type { KubernetesObject, V1ConfigMap, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, test } from "vitest";
import { bootstrapMembers, buildChildren, childNames, type BuildInput } from "./index.ts";
import { OWNER, resolvedFor, testCluster } from "./test-fixtures.ts";

const input: BuildInput = { members: bootstrapMembers(3), membersVersion: "0", adminPassword: "secret" };

function children(spec = {}, overrides: Partial<BuildInput> = {}): KubernetesObject[] {
  const cluster = testCluster(spec);
  return buildChildren(cluster, resolvedFor(cluster), { ...input, ...overrides });
}

const sts = (objs: KubernetesObject[]): V1StatefulSet =>
  objs.find((o) => o.kind === "StatefulSet") as V1StatefulSet;
const hash = (objs: KubernetesObject[]): string | undefined =>
  sts(objs).spec?.template.metadata?.annotations?.["zookeeper.ensemble.dev/config-hash"];

describe("buildChildren", () => {
  test("every child, in apply order, the StatefulSet last, each owned by the cluster", () => {
    const objs = children();
    const names = childNames("zk");
    expect(objs.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      `ConfigMap/${names.configMap}`,
      `Secret/${names.adminSecret}`,
      `Service/${names.headless}`,
      `Service/${names.client}`,
      `PodDisruptionBudget/${names.pdb}`,
      `StatefulSet/${names.statefulSet}`,
    ]);
    for (const o of objs) {
      expect(o.metadata?.ownerReferences, o.kind).toEqual([OWNER]);
      expect(o.metadata?.namespace, o.kind).toBe("prod");
      expect(o.apiVersion, o.kind).toBeTruthy();
    }
  });

  test("is deterministic: the same input builds equal objects", () => {
    expect(children()).toEqual(children());
  });

  test.each([
    ["bootstrap: as many pods as members", {}, {}, 3],
    ["the highest member id decides the pods", { replicas: 5 }, { members: bootstrapMembers(4) }, 4],
    ["the decision may ask for one more pod (a joining server)", {}, { statefulSetReplicas: 4 }, 4],
    ["no members yet: spec.replicas", { replicas: 5 }, { members: [] }, 5],
  ] satisfies [string, object, Partial<BuildInput>, number][])(
    "StatefulSet replicas: %s",
    (_, spec, overrides, replicas) => {
      expect(sts(children(spec, overrides)).spec?.replicas).toBe(replicas);
    },
  );

  test("a membership change changes the members file, never the pod template", () => {
    const before = children({}, {});
    const after = children({}, { members: bootstrapMembers(5), membersVersion: "100000002" });
    expect(hash(after)).toBe(hash(before));
    expect(sts(after).spec?.template).toEqual(sts(before).spec?.template);
    const cm = after[0] as V1ConfigMap;
    expect(cm.data?.members).toContain("version=100000002");
  });

  test("a config change changes the pod template's hash", () => {
    expect(hash(children({ config: { tickTime: 3000 } }))).not.toBe(hash(children()));
  });

  test.each([
    ["enabled and served", { metrics: { serviceMonitor: { enabled: true } } }, true, true],
    ["enabled but not served", { metrics: { serviceMonitor: { enabled: true } } }, false, false],
    ["served but not enabled", {}, true, false],
    [
      "enabled with metrics off",
      { metrics: { enabled: false, serviceMonitor: { enabled: true } } },
      true,
      false,
    ],
  ] as const)("ServiceMonitor %s", (_, spec, available, built) => {
    const kinds = children(spec, { serviceMonitorsAvailable: available }).map((o) => o.kind);
    expect(kinds.includes("ServiceMonitor")).toBe(built);
    expect(kinds.at(-1)).toBe("StatefulSet");
  });

  test("the cluster domain reaches the pods", () => {
    const env = sts(children({}, { clusterDomain: "corp.example" })).spec?.template.spec?.initContainers?.[0]
      ?.env;
    expect(env).toContainEqual({ name: "ZK_CLUSTER_DOMAIN", value: "corp.example" });
  });
});

test("bootstrapMembers", () => {
  expect(bootstrapMembers(3)).toEqual([
    { id: 1, role: "participant" },
    { id: 2, role: "participant" },
    { id: 3, role: "participant" },
  ]);
});
