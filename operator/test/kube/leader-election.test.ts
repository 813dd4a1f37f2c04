// Two operator processes (`node operator/src/main.ts`, as in production) against one API server:
// only the leader writes; when it is killed the other takes over within the lease duration (plus
// the retry period it needs to notice); a leader frozen past its renew deadline stops at once
// when it wakes up instead of writing.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { repoRoot } from "../../../e2e/rig/paths.ts";
import { claimBlock, RigProcess, waitFor, type Block } from "../../../e2e/rig/processes.ts";
import { API_VERSION, KIND } from "../../src/api/types.ts";
import { CLUSTER_RESOURCE } from "../../src/api/types.ts";
import { RESOURCES, collectionPath, objectPath, type KubeObject } from "../../src/api/objects.ts";
import { adminClient, getObject, installCrd, kubectlFor, metricValue } from "./support.ts";

const kubeconfig = inject("kubeconfig");
const kubectl = kubectlFor(kubeconfig);
const admin = await adminClient(kubeconfig);
const namespace = `le-${randomBytes(3).toString("hex")}`;
const LEASE_MS = 6_000;
const RENEW_MS = 4_000;
const RETRY_MS = 1_000;

interface Operator {
  identity: string;
  address: string;
  proc: RigProcess;
}

let block: Block;
const operators = new Map<string, Operator>();

function startOperatorProcess(identity: string, host: number): Operator {
  const address = block.ip(host);
  const proc = new RigProcess(block, {
    name: identity,
    command: process.execPath,
    args: [
      join(repoRoot, "operator/src/main.ts"),
      `--kubeconfig=${kubeconfig}`,
      `--namespaces=${namespace}`,
      `--leader-election-namespace=${namespace}`,
      `--identity=${identity}`,
      `--lease-duration=${LEASE_MS}ms`,
      `--renew-deadline=${RENEW_MS}ms`,
      `--retry-period=${RETRY_MS}ms`,
      `--http-host=${address}`,
      "--http-port=8080",
    ],
    cwd: repoRoot,
  });
  const op = { identity, address, proc };
  operators.set(identity, op);
  return op;
}

async function metricsOf(op: Operator): Promise<string> {
  const res = await fetch(`http://${op.address}:8080/metrics`);
  return res.text();
}

async function holder(): Promise<string> {
  const lease = await getObject<KubeObject & { spec?: { holderIdentity?: string } }>(
    admin,
    RESOURCES.Lease,
    namespace,
    "zk-operator",
  );
  return lease?.spec?.holderIdentity ?? "";
}

/** Writes this operator sent, by its own count (every write goes through one gated client). */
function writes(metrics: string): number {
  return ["POST", "PATCH", "DELETE"].reduce(
    (n, verb) => n + metricValue(metrics, "zk_operator_kube_requests_total", { verb }),
    0,
  );
}

/** Events the operator recorded about the cluster (the StatefulSet controller writes some about its StatefulSet too). */
async function operatorEvents(): Promise<{ reportingInstance: string; note: string }[]> {
  const events = await admin.request<{
    items: { reportingController?: string; reportingInstance: string; note: string }[];
  }>("GET", `${collectionPath(RESOURCES.Event, namespace)}?fieldSelector=regarding.name=zk-le`);
  return events.items.filter((e) => e.reportingController === "zk-operator");
}

beforeAll(async () => {
  await installCrd(kubeconfig);
  await kubectl(["create", "namespace", namespace]);
  block = await claimBlock("operator-le");
});

afterAll(async () => {
  await block.release();
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
});

describe("two operator processes", () => {
  test("only the leader writes; killed, the other takes over within the lease duration", async () => {
    const a = startOperatorProcess("op-a", 1);
    await waitFor("op-a to lead", async () => (await holder()) === "op-a", { timeoutMs: 30_000 });
    const b = startOperatorProcess("op-b", 2);
    await waitFor("op-b to serve /readyz", async () => (await fetch(`http://${b.address}:8080/readyz`)).ok, {
      timeoutMs: 30_000,
    });

    await admin.request("POST", collectionPath(CLUSTER_RESOURCE, namespace), {
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: "zk-le", namespace },
        spec: { replicas: 3 },
      },
    });
    await waitFor("the children of zk-le", async () =>
      (await getObject(admin, RESOURCES.StatefulSet, namespace, "zk-le")) !== null ? true : undefined,
    );
    await waitFor("the status of zk-le", async () => {
      const c = await getObject<KubeObject & { status?: { observedGeneration?: number } }>(
        admin,
        CLUSTER_RESOURCE,
        namespace,
        "zk-le",
      );
      return c?.status?.observedGeneration === 1;
    });

    const [ma, mb] = await Promise.all([metricsOf(a), metricsOf(b)]);
    expect(metricValue(ma, "zk_operator_leader")).toBe(1);
    expect(metricValue(mb, "zk_operator_leader")).toBe(0);
    expect(writes(ma)).toBeGreaterThan(0);
    expect(writes(mb)).toBe(0);
    expect(metricValue(mb, "zk_operator_reconcile_total")).toBe(0);
    // Every Event about the cluster names the leader as its reporting instance.
    const events = await operatorEvents();
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.reportingInstance))).toEqual(new Set(["op-a"]));

    // Kill the leader: no chance to release the lease, the standby must wait it out.
    const killedAt = Date.now();
    await a.proc.kill();
    await waitFor("op-b to take over", async () => (await holder()) === "op-b", {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const takeoverMs = Date.now() - killedAt;
    // client-go's algorithm: op-b takes over once the record it last saw change has stood still
    // for a lease duration. It polls every retry period with jitter (up to 2.2 × retry), so it
    // notices the last renewal and the expiry each up to one poll late.
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_MS - 2.2 * RETRY_MS);
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + 2 * 2.2 * RETRY_MS + 500);

    // The new leader reconciles: a deleted child comes back.
    await admin.request("DELETE", objectPath(RESOURCES.ConfigMap, namespace, "zk-le-config"));
    await waitFor("op-b to recreate the ConfigMap", async () =>
      (await getObject(admin, RESOURCES.ConfigMap, namespace, "zk-le-config")) !== null ? true : undefined,
    );
    expect(writes(await metricsOf(b))).toBeGreaterThan(0);
  });

  test("a leader frozen past its renew deadline stops leading when it wakes, without writing", async () => {
    const b = operators.get("op-b");
    if (!b) throw new Error("op-b is not running");
    const c = startOperatorProcess("op-c", 3);
    await waitFor("op-c to serve /readyz", async () => (await fetch(`http://${c.address}:8080/readyz`)).ok, {
      timeoutMs: 30_000,
    });
    const writesBefore = writes(await metricsOf(b));
    b.proc.freeze();
    await waitFor("op-c to take over", async () => (await holder()) === "op-c", { timeoutMs: 30_000 });
    // While op-b sleeps, a change arrives that op-b's informers will deliver when it wakes.
    await admin.request("DELETE", objectPath(RESOURCES.Service, namespace, "zk-le-client"));
    b.proc.thaw();
    const code = await Promise.race([
      b.proc.exited,
      new Promise<"still running">((r) =>
        setTimeout(() => {
          r("still running");
        }, 10_000),
      ),
    ]);
    expect(code).toBe(1);
    const log = await b.proc.log();
    expect(log).toContain("stopped leading");
    // op-b never recreated the Service it saw deleted on waking: its writes were refused.
    expect(log).not.toContain('"child":"Service/zk-le-client"');
    expect(writesBefore).toBeGreaterThan(0);
    // The Event is recorded after every child of the pass is applied, so the Service exists a
    // moment before it: wait for the Event itself, not for the Service.
    const recreatedBy = await waitFor("op-c's Event about recreating the client Service", async () => {
      const by = (await operatorEvents())
        .filter((e) => e.note.includes("Service zk-le-client"))
        .map((e) => e.reportingInstance);
      return by.includes("op-c") ? by : undefined;
    });
    expect(await getObject(admin, RESOURCES.Service, namespace, "zk-le-client")).not.toBeNull();
    expect(recreatedBy.filter((i) => i === "op-b")).toEqual([]);
  });
});
