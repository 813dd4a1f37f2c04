import type { KubernetesObject, V1ConfigMap, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, test } from "vitest";
import { CHILD_KINDS, buildChildren, childKindOf, type BuildInput } from "./children.ts";
import { childNames } from "./builders/labels.ts";
import { participants } from "./reconcile/decide.ts";
import { OWNER, resolvedFor, testCluster } from "../test/fixtures/cluster.ts";

type Overrides = Partial<Omit<BuildInput, "cluster" | "spec">>;

function children(spec = {}, overrides: Overrides = {}): KubernetesObject[] {
  const cluster = testCluster(spec);
  return buildChildren({
    cluster,
    spec: resolvedFor(cluster),
    members: participants(3),
    membersVersion: "0",
    adminPassword: "secret",
    initializedAt: null,
    rejoinEmpty: [],
    clusterDomain: "cluster.local",
    ...overrides,
  });
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
    ["the highest member id decides the pods", { replicas: 5 }, { members: participants(4) }, 4],
    ["the decision may ask for one more pod (a joining server)", {}, { statefulSetReplicas: 4 }, 4],
    ["no members yet: spec.replicas", { replicas: 5 }, { members: [] }, 5],
  ] satisfies [string, object, Overrides, number][])(
    "StatefulSet replicas: %s",
    (_, spec, overrides, replicas) => {
      expect(sts(children(spec, overrides)).spec?.replicas).toBe(replicas);
    },
  );

  test("a membership change changes the members file, never the pod template", () => {
    const before = children({}, {});
    const after = children({}, { members: participants(5), membersVersion: "100000002" });
    expect(hash(after)).toBe(hash(before));
    expect(sts(after).spec?.template).toEqual(sts(before).spec?.template);
    const cm = after[0] as V1ConfigMap;
    expect(cm.data?.members).toContain("version=100000002");
  });

  test("a config change changes the pod template's hash", () => {
    expect(hash(children({ config: { tickTime: 3000 } }))).not.toBe(hash(children()));
  });

  test("the cluster domain reaches the pods", () => {
    const env = sts(children({}, { clusterDomain: "corp.example" })).spec?.template.spec?.initContainers?.[0]
      ?.env;
    expect(env).toContainEqual({ name: "ZK_CLUSTER_DOMAIN", value: "corp.example" });
  });
});

test("the table names every kind once, and each entry builds objects of its own kind and names", () => {
  const kinds = CHILD_KINDS.map((k) => k.type.kind);
  expect(new Set(kinds).size).toBe(kinds.length);
  const cluster = testCluster({});
  const objs = children(
    { networkPolicy: { enabled: true } },
    {
      served: new Set(["PodMonitor"]),
      operatorTls: { ca: { cert: "C", key: "K" }, leaf: { cert: "L", key: "LK", ca: "C" } },
    },
  );
  for (const k of CHILD_KINDS) {
    const built = objs.filter((o) => o.kind === k.type.kind);
    expect(
      built.map((o) => o.metadata?.name),
      k.type.kind,
    ).toEqual(k.names(cluster.metadata.name ?? ""));
    expect(
      built.every((o) => o.apiVersion === k.type.apiVersion),
      k.type.kind,
    ).toBe(true);
  }
  expect(childKindOf("Service").type.plural).toBe("services");
  // Kinds that can be switched off (every optional kind, and the NetworkPolicy) are pruned, and
  // only they need delete.
  for (const k of CHILD_KINDS) {
    if (k.optional === true) expect(k.prune, k.type.kind).toBe(true);
    expect(k.extraVerbs?.includes("delete") ?? false, k.type.kind).toBe(k.prune === true);
  }
  expect(CHILD_KINDS.filter((k) => k.prune === true).map((k) => k.type.kind)).toEqual([
    "PodMonitor",
    "NetworkPolicy",
  ]);
  expect(() => childKindOf("ServiceMonitor")).toThrow(
    "a ServiceMonitor is not a child kind the operator manages",
  );
});

describe("the PodMonitor (an optional kind)", () => {
  const podMonitor = (objs: KubernetesObject[]) =>
    objs.find((o) => o.kind === "PodMonitor") as
      | (KubernetesObject & { spec: { selector: unknown; podMetricsEndpoints: Record<string, unknown>[] } })
      | undefined;
  const served = { served: new Set(["PodMonitor"]) };

  test("is built only where the API server serves PodMonitors, and only while enabled", () => {
    expect(podMonitor(children())).toBeUndefined();
    expect(podMonitor(children({}, served))).toBeDefined();
    expect(podMonitor(children({ metrics: { podMonitor: { enabled: false } } }, served))).toBeUndefined();
  });

  test("scrapes the sidecar of the cluster's own pods, and labels every series with the cluster", () => {
    const pm = podMonitor(
      children(
        { metrics: { enabled: false, podMonitor: { interval: "15s", labels: { release: "prometheus" } } } },
        served,
      ),
    );
    expect(pm?.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(pm?.metadata?.labels).toMatchObject({ release: "prometheus", "app.kubernetes.io/instance": "zk" });
    expect(pm?.metadata?.ownerReferences).toEqual([OWNER]);
    expect(pm?.spec.selector).toEqual({
      matchLabels: {
        "app.kubernetes.io/name": "zookeeper",
        "app.kubernetes.io/instance": "zk",
        "app.kubernetes.io/component": "server",
      },
    });
    expect(pm?.spec.podMetricsEndpoints).toEqual([
      {
        port: "sidecar-http",
        path: "/metrics",
        interval: "15s",
        relabelings: [
          {
            sourceLabels: ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
            targetLabel: "cluster",
          },
        ],
      },
    ]);
  });

  test("adds ZooKeeper's own endpoint when its native metrics are on", () => {
    const pm = podMonitor(children({ metrics: { enabled: true } }, served));
    expect(pm?.spec.podMetricsEndpoints.map((e) => e.port)).toEqual(["sidecar-http", "metrics"]);
  });
});
