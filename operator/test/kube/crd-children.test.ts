// The builders' output against a real API server: every child of a cluster (defaulted by the API
// server from the generated CRD) is accepted as built, and applying the same objects again with
// server-side apply changes nothing — the basis of "a no-op resync writes nothing".
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { inject } from "vitest";
import { runKubectl } from "../../../e2e/rig/kube-control-plane.ts";
import { repoRoot } from "../../../e2e/rig/paths.ts";
import { CRD_FILE, CRD_NAME } from "../../src/generators/crd.ts";
import { fullSpec } from "../fixtures/examples.ts";
import { resolveSpec } from "../../src/api/resolve.ts";
import { API_VERSION, KIND, type ZooKeeperCluster, type ZooKeeperClusterSpec } from "../../src/api/types.ts";
import { buildChildren } from "../../src/children.ts";
import { participants } from "../../src/reconcile/decide.ts";

const kubeconfig = inject("kubeconfig");
const namespace = `children-${randomBytes(3).toString("hex")}`;
const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? {} : { input });

interface Listed {
  kind: string;
  metadata: {
    name: string;
    resourceVersion: string;
    generation?: number;
    labels?: unknown;
    annotations?: unknown;
    ownerReferences?: unknown;
  };
  spec?: unknown;
  data?: unknown;
}

beforeAll(async () => {
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, CRD_FILE)]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
  await kubectl(["create", "namespace", namespace]);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
});

/** Creates the cluster, then builds its children from the object the API server returned (defaults applied). */
async function createAndBuild(name: string, spec: ZooKeeperClusterSpec): Promise<string> {
  const body = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
  const created = JSON.parse(
    await kubectl(["create", "-o", "json", "-f", "-"], JSON.stringify(body)),
  ) as ZooKeeperCluster;
  const resolved = resolveSpec(created);
  if (!resolved.ok) throw new Error(resolved.message);
  const objects = buildChildren({
    cluster: created,
    spec: resolved.spec,
    members: participants(resolved.spec.replicas),
    membersVersion: "0",
    adminPassword: "not-a-real-password",
    initializedAt: null,
    rejoinEmpty: [],
    clusterDomain: "cluster.local",
  });
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });
}

const apply = (list: string): Promise<string> =>
  kubectl(["apply", "--server-side", "--field-manager=zk-operator", "-o", "json", "-f", "-"], list);

/**
 * What an apply of ours can change. The StatefulSet and PDB controllers write their status between
 * two applies, so their resourceVersion moves on its own; the objects nobody else writes must keep
 * theirs.
 */
function state(applied: string): object[] {
  const items = (JSON.parse(applied) as { items: Listed[] }).items;
  return items.map((i) => ({
    object: `${i.kind}/${i.metadata.name}`,
    resourceVersion: ["StatefulSet", "PodDisruptionBudget"].includes(i.kind)
      ? "(status written by a controller)"
      : i.metadata.resourceVersion,
    generation: i.metadata.generation,
    labels: i.metadata.labels,
    annotations: i.metadata.annotations,
    ownerReferences: i.metadata.ownerReferences,
    spec: i.spec,
    data: i.data,
  }));
}

// Every field set: TLS from the user's Secrets (the pods would mount them; the objects are valid
// without them) and a NetworkPolicy.
describe.each([
  ["defaults", "plain", {}, []],
  ["every field set", "full", fullSpec, ["NetworkPolicy/full"]],
] as const)("children of a cluster with %s", (_, name, spec, switchedOn) => {
  test("are accepted by the API server, and a second identical apply writes nothing", async () => {
    const list = await createAndBuild(name, spec);
    const first = state(await apply(list));
    expect(first.map((v) => (v as { object: string }).object)).toEqual([
      `ConfigMap/${name}-config`,
      `Secret/${name}-admin`,
      `Service/${name}-headless`,
      `Service/${name}-client`,
      `PodDisruptionBudget/${name}`,
      ...switchedOn,
      `StatefulSet/${name}`,
    ]);
    const second = state(await apply(list));
    expect(second).toEqual(first);
  });
});
