// One ensemble managed by the operator in the rig's real cluster, under one writer's steady
// traffic (e2e/writer/, a pod connecting through the client Service): what the fault and roll
// suites read about it (pods, the operator, the cluster's status and Events, the ensemble as the
// writer's sidecar reads see it) and the one way they run a disruption: steady → open a window
// → act → wait for the effect → every member serving again → writes flowing → close the window →
// read every acknowledged write back from each member.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, onTestFailed } from "vitest";
import { runKubectl } from "../../rig/kube-control-plane.ts";
import { localZooKeeperCluster, OPERATOR_NAMESPACE, waitForQuorum } from "../../rig/local-cluster.ts";
import { nodeContainerdAddress } from "../../rig/node/node.ts";
import type { ProjectImages } from "../../rig/node/project-images.ts";
import { waitFor } from "../../rig/processes.ts";
import { startWriter, type WriterHandle } from "../../rig/writer.ts";
import type { FaultWindow, Progress } from "../../writer/report.ts";
import type { Verdict } from "../../writer/verify.ts";

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec?: { containers?: { name: string; image?: string }[] };
  status?: {
    podIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string }[];
  };
}

export interface ZkPod {
  name: string;
  uid: string;
  ready: boolean;
  restarts: number;
  /** The zookeeper container's id in containerd (without `containerd://`). */
  containerId: string | null;
  /** The zookeeper container's image as the pod spec names it. */
  image: string | null;
  /** The StatefulSet revision the pod was created from. */
  revision: string | null;
}

export interface ConditionJson {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface ClusterJson {
  metadata: { annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: {
    conditions?: ConditionJson[];
    updatedReplicas?: number;
    members?: {
      id: number;
      pod: string;
      role: string;
      mode: string;
      ready: boolean;
      synced: boolean;
      upToDate?: boolean;
    }[];
    lastRestart?: { pod: string; uid: string; revision: string; at: string };
    ensembleConfigVersion?: string;
  };
}

export interface Steady {
  progress: Progress;
  leader: number;
  pods: Map<string, ZkPod>;
  configVersion: string | null;
}

export interface Disruption {
  before: Steady;
  injectedAt: number;
  quorum: { leader: number; at: number };
  window: FaultWindow;
  verdict: Verdict;
}

/** Prints a suite's table of figures (docs/reliability.md), one row per line, under `[tag]`. */
export function printTable(tag: string, header: string, rows: string[]): void {
  if (rows.length === 0) return;
  const separator = `|${header
    .split("|")
    .slice(1, -1)
    .map(() => "---")
    .join("|")}|`;
  process.stderr.write(`[${tag}] table:\n${header}\n${separator}\n${rows.join("\n")}\n`);
}

export const fmtS = (ms: number | null, none = "–"): string =>
  ms === null ? none : `${(ms / 1000).toFixed(1)} s`;

export function expectNothingLost(verdict: Verdict): void {
  expect(verdict.unreadable, JSON.stringify(verdict.members.map((m) => [m.member, m.error]))).toBe(0);
  expect(verdict.lost).toBe(0);
  expect(verdict.corrupted).toBe(0);
  expect(verdict.members.flatMap((m) => m.foreign)).toEqual([]);
}

/** The first epoch seen in the window that a member other than `old` led, as ms after `t`. */
export function newLeaderAfter(window: FaultWindow, old: number, t: number): number | null {
  const e = window.elections.find((x) => x.leader !== null && x.leader !== old);
  return e?.leaderSeenAt != null ? e.leaderSeenAt - t : null;
}

export type EnsembleUnderTraffic = ReturnType<typeof ensembleUnderTraffic>;

/**
 * The helpers for `namespace/name` with `members` members; `start` creates it and its writer. The
 * writer reads back from, and follows the modes of, members 1..`members`; a suite that changes
 * membership keeps those and says how many pods to expect (expectPods).
 */
export function ensembleUnderTraffic(o: {
  kubeconfig: string;
  namespace: string;
  name: string;
  members: number;
  images: ProjectImages;
}) {
  const { kubeconfig, namespace, name, members } = o;
  let podCount = members;
  const selector = `app.kubernetes.io/name=zookeeper,app.kubernetes.io/instance=${name}`;
  let writerHandle: WriterHandle | undefined;
  const writer = (): WriterHandle => {
    if (writerHandle === undefined) throw new Error("the writer has not started");
    return writerHandle;
  };

  const kubectl = (args: string[], input?: string): Promise<string> =>
    runKubectl(kubeconfig, args, input === undefined ? { timeoutMs: 60_000 } : { input, timeoutMs: 60_000 });

  async function podsJson(ns: string, sel?: string): Promise<PodJson[]> {
    const args = ["-n", ns, "get", "pods", "-o", "json", ...(sel ? ["-l", sel] : [])];
    return (JSON.parse(await kubectl(args)) as { items: PodJson[] }).items;
  }

  /** The ensemble's pods that are not being deleted, by name. */
  async function zkPods(): Promise<Map<string, ZkPod>> {
    const out = new Map<string, ZkPod>();
    for (const p of await podsJson(namespace, selector)) {
      if (p.metadata.deletionTimestamp !== undefined) continue;
      const zk = p.status?.containerStatuses?.find((c) => c.name === "zookeeper");
      out.set(p.metadata.name, {
        name: p.metadata.name,
        uid: p.metadata.uid,
        ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        restarts: zk?.restartCount ?? 0,
        containerId: zk?.containerID?.replace(/^containerd:\/\//, "") ?? null,
        image: p.spec?.containers?.find((c) => c.name === "zookeeper")?.image ?? null,
        revision: p.metadata.labels?.["controller-revision-hash"] ?? null,
      });
    }
    return out;
  }

  const podOf = (member: number): string => `${name}-${member - 1}`;

  /** The operator pods that are not being deleted, with their addresses. */
  async function operatorPods(): Promise<{ name: string; uid: string; ip: string | null; ready: boolean }[]> {
    return (await podsJson(OPERATOR_NAMESPACE))
      .filter((p) => p.metadata.deletionTimestamp === undefined)
      .map((p) => ({
        name: p.metadata.name,
        uid: p.metadata.uid,
        ip: p.status?.podIP ?? null,
        ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
      }));
  }

  /**
   * Signals the JVM of a ZooKeeper container from the host, through the node's containerd: the
   * JVM is the container's PID 1 (zkServer.sh execs java), and a PID 1 takes no SIGKILL or
   * SIGSTOP sent from inside its own PID namespace, so `kubectl exec … kill` cannot do it.
   */
  async function signalZooKeeper(pod: ZkPod, signal: "SIGKILL" | "SIGSTOP" | "SIGCONT"): Promise<void> {
    const address = nodeContainerdAddress();
    if (address === null) throw new Error("the rig's node has no containerd socket");
    if (pod.containerId === null) throw new Error(`${pod.name} has no zookeeper container id`);
    await promisify(execFile)(
      "ctr",
      ["--address", address, "--namespace", "k8s.io", "tasks", "kill", "--signal", signal, pod.containerId],
      { timeout: 30_000 },
    );
  }

  /** `key=value` settings of the zoo.cfg ZooKeeper runs with, read from the container itself. */
  async function zooCfg(pod: string): Promise<Map<string, string>> {
    const text = await kubectl([
      "-n",
      namespace,
      "exec",
      pod,
      "-c",
      "zookeeper",
      "--",
      "cat",
      "/conf/zoo.cfg",
    ]);
    return new Map(
      text
        .split("\n")
        .map((l) => /^([^#=\s]+)=(.*)$/.exec(l.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1] ?? "", m[2] ?? ""]),
    );
  }

  async function clusterJson(): Promise<ClusterJson> {
    return JSON.parse(
      await kubectl(["-n", namespace, "get", "zookeepercluster", name, "-o", "json"]),
    ) as ClusterJson;
  }

  /** The Events about the cluster (events.k8s.io, as the operator records them). */
  async function clusterEvents(): Promise<{ type: string; reason: string; note: string }[]> {
    const list = JSON.parse(
      await kubectl([
        "-n",
        namespace,
        "get",
        "events.events.k8s.io",
        "--field-selector",
        `regarding.name=${name}`,
        "-o",
        "json",
      ]),
    ) as { items: { type: string; reason: string; note?: string }[] };
    return list.items.map((e) => ({ type: e.type, reason: e.reason, note: e.note ?? "" }));
  }

  /** Whether the pod's zookeeper container has ever started (it runs, or ran and ended). */
  async function zookeeperStarted(pod: string): Promise<boolean> {
    const p = JSON.parse(await kubectl(["-n", namespace, "get", "pod", pod, "-o", "json"])) as {
      status?: {
        containerStatuses?: {
          name: string;
          state?: Record<string, unknown>;
          lastState?: Record<string, unknown>;
        }[];
      };
    };
    const zk = p.status?.containerStatuses?.find((c) => c.name === "zookeeper");
    return (
      zk?.state?.running !== undefined ||
      zk?.state?.terminated !== undefined ||
      zk?.lastState?.terminated !== undefined
    );
  }

  /** Every member serving in one quorum, as their sidecars answered after `after`. */
  function fullQuorum(p: Progress, after: number): { leader: number; at: number } | null {
    const fresh = p.members.filter((m) => m.at > after && m.serving);
    const leaders = fresh.filter((m) => m.mode === "leader");
    if (fresh.length !== members || leaders.length !== 1 || leaders[0] === undefined) return null;
    return { leader: leaders[0].id, at: Math.max(...fresh.map((m) => m.at)) };
  }

  /** Waits until all pods are Ready, every member serves in one quorum, and writes flow. */
  async function steady(timeoutMs = 180_000): Promise<Steady> {
    return waitFor(
      "the ensemble steady: every pod Ready, every member serving, writes flowing",
      async () => {
        const pods = await zkPods();
        if (pods.size !== podCount || [...pods.values()].some((p) => !p.ready)) return false;
        const progress = await writer().progress();
        const q = fullQuorum(progress, progress.now - 2_000);
        const flowing = progress.lastAckAt !== null && progress.now - progress.lastAckAt < 1_000;
        if (q === null || !flowing) return false;
        const versions = new Set(progress.members.map((m) => m.configVersion));
        return {
          progress,
          leader: q.leader,
          pods,
          configVersion: versions.size === 1 ? ([...versions][0] ?? null) : null,
        };
      },
      { timeoutMs, intervalMs: 500 },
    );
  }

  async function waitForFullQuorum(
    after: number,
    timeoutMs: number,
  ): Promise<{ leader: number; at: number }> {
    return waitFor(
      "every member serving in one quorum",
      async () => fullQuorum(await writer().progress(), after) ?? false,
      { timeoutMs, intervalMs: 250 },
    );
  }

  /** Waits for a second's worth of writes acknowledged after `t`. */
  async function waitForWritesAfter(t: number): Promise<void> {
    let base: number | null = null;
    await waitFor(
      "writes to flow again",
      async () => {
        const p = await writer().progress();
        if (p.lastAckAt === null || p.lastAckAt <= t) return false;
        base ??= p.acknowledged;
        return p.acknowledged >= base + 50;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
  }

  /**
   * Runs one disruption under the writer: steady → open the window → `inject` → `effect`
   * (resolves once the disruption has visibly happened) → every member serving again → writes
   * flowing → close the window → read back every acknowledged write from each member.
   */
  async function disrupt(
    label: string,
    steps: {
      inject(before: Steady): Promise<void>;
      effect(before: Steady, injectedAt: number): Promise<void>;
      quorumTimeoutMs: number;
    },
  ): Promise<Disruption> {
    const before = await steady();
    const mark = await writer().markFault(label);
    const injectedAt = Date.now();
    await steps.inject(before);
    await steps.effect(before, injectedAt);
    const effectSeen = Date.now();
    const quorum = await waitForFullQuorum(effectSeen, steps.quorumTimeoutMs - (effectSeen - injectedAt));
    await waitForWritesAfter(quorum.at);
    const window = await mark.end();
    const verdict = await writer().verify();
    return { before, injectedAt, quorum, window, verdict };
  }

  /** Creates the namespace and the cluster, waits for its quorum, and starts the writer. */
  async function start(): Promise<void> {
    await kubectl(["create", "namespace", namespace]);
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(
        localZooKeeperCluster({
          name,
          namespace,
          replicas: members,
          reclaimPolicy: "Delete",
          images: o.images,
        }),
      ),
    );
    await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
    writerHandle = await startWriter(kubeconfig, namespace, name, { image: o.images.sidecar.ref });
  }

  /** Removes the writer and the namespace (not waiting for it to go). */
  async function remove(): Promise<void> {
    await writerHandle?.remove().catch(() => undefined);
    await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => "");
  }

  /** When the running test fails: the cluster, its Events and the writer's log, under `[tag]`. */
  function dumpOnFailure(tag: string): void {
    onTestFailed(async () => {
      process.stderr.write(`[${tag}] cluster: ${JSON.stringify(await clusterJson().catch(String))}\n`);
      process.stderr.write(`[${tag}] events: ${JSON.stringify(await clusterEvents().catch(String))}\n`);
      process.stderr.write(`[${tag}] writer log:\n${await writer().logs().catch(String)}\n`);
    });
  }

  return {
    /** Selects the ensemble's pods. */
    selector,
    dumpOnFailure,
    /** How many pods `steady` waits for (default: `members`), after a change of membership. */
    expectPods(n: number): void {
      podCount = n;
    },
    kubectl,
    podsJson,
    zkPods,
    podOf,
    operatorPods,
    signalZooKeeper,
    zooCfg,
    clusterJson,
    clusterEvents,
    zookeeperStarted,
    steady,
    waitForFullQuorum,
    waitForWritesAfter,
    disrupt,
    start,
    remove,
    writer,
  };
}
