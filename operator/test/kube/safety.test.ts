// What the operator does when something under a running ensemble goes wrong, against a real API
// server and controller-manager (no kubelet: pods exist, Pending, with their template revision):
// a lost admin Secret is never regenerated, a child the API server refuses reaches the status
// and an Event, the PodDisruptionBudget follows the members the ensemble has, and members on an
// older pod template are shown as such.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { statefulSetPolicy } from "../../../e2e/rig/admission-policy.ts";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { RESOURCES, collectionPath, objectPath, type KubeObject } from "../../src/api/objects.ts";
import type { ZooKeeperCluster } from "../../src/api/types.ts";
import type { RunningOperator } from "../../src/main.ts";
import {
  adminClient,
  clustersIn,
  conditionOf,
  getObject,
  installCrd,
  kubectlFor,
  metricValue,
  startInProcess,
  testConfig,
} from "./support.ts";

const kubeconfig = inject("kubeconfig");
const kubectl = kubectlFor(kubeconfig);
const admin = await adminClient(kubeconfig);
const namespace = `safe-${randomBytes(3).toString("hex")}`;
const policy = `zk-deny-${randomBytes(3).toString("hex")}`;
let op: RunningOperator;

interface Obj extends KubeObject {
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

const clusters = clustersIn(admin, namespace);
const createCluster = clusters.create;
const patchCluster = clusters.patch;
const cluster = clusters.get;
const condition = conditionOf;

/** Waits until the cluster's `type` condition has `reason`, and returns the cluster. */
function waitForReason(name: string, type: string, reason: string): Promise<ZooKeeperCluster> {
  return waitFor(`${name}: ${type} reason ${reason}`, async () => {
    const c = await cluster(name);
    return condition(c, type)?.reason === reason ? (c ?? undefined) : undefined;
  });
}

async function events(name: string): Promise<{ type: string; reason: string; note: string }[]> {
  const list = await admin.request<{ items: { type: string; reason: string; note: string }[] }>(
    "GET",
    `${collectionPath(RESOURCES.Event, namespace)}?fieldSelector=regarding.name=${name}`,
  );
  return list.items;
}

beforeAll(async () => {
  await installCrd(kubeconfig);
  await kubectl(["create", "namespace", namespace]);
  op = await startInProcess(testConfig(kubeconfig, { namespaces: [namespace] }));
});

afterAll(async () => {
  await op.stop();
  await kubectl(["delete", "validatingadmissionpolicybinding", policy, "--ignore-not-found"]);
  await kubectl(["delete", "validatingadmissionpolicy", policy, "--ignore-not-found"]);
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
});

describe("the admin Secret", () => {
  test("deleted under a running ensemble: never regenerated, the status and an Event say so; a recreated one is adopted", async () => {
    await createCluster("zk-sec", { replicas: 3 });
    const original = await waitFor("the admin Secret", () =>
      getObject<Obj>(admin, RESOURCES.Secret, namespace, "zk-sec-admin").then((s) => s ?? undefined),
    );
    await waitFor("the StatefulSet", () =>
      getObject(admin, RESOURCES.StatefulSet, namespace, "zk-sec").then((s) => s ?? undefined),
    );
    await admin.request("DELETE", objectPath(RESOURCES.Secret, namespace, "zk-sec-admin"));

    const c = await waitForReason("zk-sec", "Degraded", "AdminSecretMissing");
    expect(condition(c, "Degraded")?.status).toBe("True");
    expect(condition(c, "Progressing")).toMatchObject({ status: "False", reason: "AdminSecretMissing" });
    expect(condition(c, "Degraded")?.message).toContain("does not generate a new one");
    await waitFor("the AdminSecretMissing Warning Event", async () =>
      (await events("zk-sec")).some((e) => e.type === "Warning" && e.reason === "AdminSecretMissing"),
    );
    // More passes (a resync) still create no Secret: a new password would not match the servers.
    const passes = async () =>
      metricValue(await op.metrics.registry.metrics(), "zk_operator_reconcile_total");
    const before = await passes();
    op.controller.resyncAll();
    await waitFor("another pass", async () => (await passes()) > before);
    expect(await getObject(admin, RESOURCES.Secret, namespace, "zk-sec-admin")).toBeNull();

    // The documented recovery: recreate it with the old password; the operator adopts it.
    const password = Buffer.from(original.data?.password ?? "", "base64").toString();
    await kubectl([
      "-n",
      namespace,
      "create",
      "secret",
      "generic",
      "zk-sec-admin",
      `--from-literal=password=${password}`,
    ]);
    // A Secret created by hand carries none of the operator's labels, so no informer sees it: the
    // operator looks again every 30 s while the Secret is missing.
    const adopted = await waitFor(
      "the Secret adopted, with the digest filled in",
      async () => {
        const s = await getObject<Obj>(admin, RESOURCES.Secret, namespace, "zk-sec-admin");
        return s?.metadata?.ownerReferences?.[0]?.name === "zk-sec" && s.data?.superDigest ? s : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(adopted.data?.superDigest).toBe(original.data?.superDigest);
    await waitFor(
      "Degraded no longer AdminSecretMissing",
      async () => condition(await cluster("zk-sec"), "Degraded")?.reason !== "AdminSecretMissing",
    );
  });
});

describe("a child the API server refuses", () => {
  test("reaches the status (ApplyFailed, with the server's message) and a Warning Event; fixing it recovers", async () => {
    // A real admission check (ValidatingAdmissionPolicy, CEL in the API server): StatefulSets
    // whose pods carry the label deny=yes are refused.
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(
        statefulSetPolicy({
          name: policy,
          namespace,
          operations: ["CREATE", "UPDATE"],
          expression:
            "!has(object.spec.template.metadata.labels) || !('deny' in object.spec.template.metadata.labels) || object.spec.template.metadata.labels['deny'] != 'yes'",
          message: "pods labelled deny=yes are not allowed here",
        }),
      ),
    );
    await createCluster("zk-deny", { replicas: 3 });
    await waitFor("the StatefulSet", () =>
      getObject(admin, RESOURCES.StatefulSet, namespace, "zk-deny").then((s) => s ?? undefined),
    );
    // The API server enforces a policy a moment after it is created: wait until a server-side
    // dry run of such a StatefulSet is refused, so the operator's apply meets the policy.
    const probe = {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "probe", namespace },
      spec: {
        serviceName: "probe",
        selector: { matchLabels: { app: "probe" } },
        template: {
          metadata: { labels: { app: "probe", deny: "yes" } },
          spec: { containers: [{ name: "c", image: "example.invalid/none" }] },
        },
      },
    };
    await waitFor("the policy to be enforced", async () => {
      try {
        await kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(probe));
        return undefined;
      } catch (err) {
        return String(err).includes("pods labelled deny=yes are not allowed here");
      }
    });
    await patchCluster("zk-deny", { spec: { pod: { labels: { deny: "yes" } } } });

    const c = await waitForReason("zk-deny", "Degraded", "ApplyFailed");
    expect(condition(c, "Degraded")?.status).toBe("True");
    expect(condition(c, "Degraded")?.message).toContain("StatefulSet/zk-deny");
    expect(condition(c, "Degraded")?.message).toContain("pods labelled deny=yes are not allowed here");
    expect(condition(c, "Progressing")).toMatchObject({ status: "False", reason: "ApplyFailed" });
    const warning = await waitFor("the ApplyFailed Warning Event", async () =>
      (await events("zk-deny")).find((e) => e.type === "Warning" && e.reason === "ApplyFailed"),
    );
    expect(warning.note).toContain("the API server refused StatefulSet zk-deny");

    await patchCluster("zk-deny", { spec: { pod: { labels: { deny: "no" } } } });
    await waitFor(
      "Degraded no longer ApplyFailed",
      async () => condition(await cluster("zk-deny"), "Degraded")?.reason !== "ApplyFailed",
    );
    const sts = await getObject<Obj>(admin, RESOURCES.StatefulSet, namespace, "zk-deny");
    expect(JSON.stringify(sts?.spec?.template)).toContain('"deny":"no"');
  });
});

describe("the PodDisruptionBudget", () => {
  test("follows the members the ensemble has, not spec.replicas", async () => {
    await createCluster("zk-pdb", { replicas: 3 });
    await waitFor("the PDB", () =>
      getObject(admin, RESOURCES.PodDisruptionBudget, namespace, "zk-pdb").then((s) => s ?? undefined),
    );
    // replicas 5 would allow 2 at a time, but the ensemble still has 3 members (no ZooKeeper runs
    // here, so the scale-up waits for a committed config to decide on).
    await patchCluster("zk-pdb", { spec: { replicas: 5, disruptionBudget: { maxUnavailable: 2 } } });
    // The pass that reports the wait applied the PDB before it wrote the status.
    await waitForReason("zk-pdb", "Progressing", "Scaling");
    const pdb = await getObject<Obj>(admin, RESOURCES.PodDisruptionBudget, namespace, "zk-pdb");
    expect(pdb?.spec?.maxUnavailable).toBe(1);
  });
});

describe("members on an older pod template", () => {
  test("are shown, then rolled: with nothing serving (no kubelet here) every outdated member is evicted at once and returns on the new template", async () => {
    await createCluster("zk-rev", { replicas: 3 });
    const current = await waitFor("3 members on the current template", async () => {
      const s = (await cluster("zk-rev"))?.status;
      return s?.updatedReplicas === 3 && s.members?.every((m) => m.upToDate === true) ? s : undefined;
    });
    expect(current.lastRestart).toBeUndefined();
    const uids = async (): Promise<Map<string, string>> => {
      const list = await admin.list<KubeObject>(
        collectionPath(RESOURCES.Pod, namespace),
        "app.kubernetes.io/instance=zk-rev",
      );
      return new Map(list.items.map((p) => [p.metadata?.name ?? "", p.metadata?.uid ?? ""]));
    };
    const before = await uids();
    expect(before.size).toBe(3);
    // A template change: the StatefulSet gets a new revision, the pods (OnDelete) keep theirs until
    // the roll evicts them. No pod here ever serves, so nothing can be lost: all go together.
    await patchCluster("zk-rev", { spec: { pod: { annotations: { "example.com/rev": "2" } } } });
    let last: unknown = null;
    const rolled = await waitFor("every member evicted and back on the new template", async () => {
      const s = (await cluster("zk-rev"))?.status;
      const now = await uids();
      last = { status: s, pods: [...now] };
      const replaced = [...before].every(([name, uid]) => now.has(name) && now.get(name) !== uid);
      return replaced && s?.updatedReplicas === 3 && s.lastRestart ? s : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}; last seen: ${JSON.stringify(last)}`);
    });
    expect(rolled.members?.every((m) => m.upToDate === true)).toBe(true);
    expect(rolled.lastRestart?.pod).toMatch(/^zk-rev-[0-2]$/);
    // One Normal Event per member evicted (through the Eviction API: the RBAC of rbac.ts allows it).
    const restarted = (await events("zk-rev")).filter((e) => e.reason === "Restarted").map((e) => e.note);
    for (const name of before.keys())
      expect(
        restarted.some((n) => n.startsWith(`Evicted ${name} (down)`)),
        name,
      ).toBe(true);
  });
});
