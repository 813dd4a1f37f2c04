// One real Kubernetes node on this machine, joined to a rig control plane: containerd (with
// runc and the CNI bridge network), the kubelet, kube-proxy, CoreDNS and a forward that lets
// pods reach the API server. Pods created through the API server are scheduled to it and really
// run. The processes live in a block of their own; the node's state in `nodeStateDir()`.
//
// Cleaning up is more than ending processes: containers outlive containerd (each runs under a
// shim daemon of its own), pods leave mounts, network namespaces, veths, cgroups and iptables
// chains behind. So `stop()` tears the node down in order, and `cleanStaleNode()` does the same
// for a node whose owner died without stopping it (the block's process records only cover the
// processes the rig spawned itself). See docs/node-rig.md.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { API_SERVER_PORT, type ComponentName, type ControlPlane } from "../kube-control-plane.ts";
import { runRoot } from "../paths.ts";
import {
  claimBlock,
  isRecordedProcessAlive,
  listBlocks,
  processStartTime,
  releaseBlockById,
  RigProcess,
  waitFor,
  type Block,
} from "../processes.ts";
import {
  allocatedPodIps,
  bridgeExists,
  cleanNetwork,
  createBridge,
  NODE_IP,
  unmountUnder,
  writeCniConfig,
} from "./cni.ts";
import { removeRuncContainers, startContainerd, type Containerd } from "./containerd.ts";
import { busyboxImage, importImage, pauseImage, type BuiltImage } from "./images.ts";
import { startClusterDns, type ClusterDns } from "./dns.ts";
import { cleanupKubeProxyRules, startKubeProxy, type KubeProxy } from "./kube-proxy.ts";
import { cleanupKubeletRules, startKubelet, type Kubelet } from "./kubelet.ts";
import { startStorage, type Storage } from "./storage.ts";
import { missingNodeTools, nodeTool, nodeToolsDir } from "./tools.ts";

export const NODE_NAME = "zk-rig-node";
export const CLUSTER_DOMAIN = "cluster.local";
/** Pod addresses as the control plane sees them (the node's own range is POD_SUBNET in cni.ts). */
export const CLUSTER_CIDR = "10.244.0.0/16";

/**
 * Flags the control plane needs for a node (pass as `startControlPlane({ extraArgs })`):
 * - the API server reaches the kubelet by its InternalIP (the node name is in no DNS);
 * - it advertises the node address, so the `kubernetes` Service gets an endpoint pods can
 *   reach (it refuses its real loopback block address: "may not be in the loopback range").
 *   The node forwards that address's API port to the loopback one (see `startNode`).
 */
export function controlPlaneArgsForNode(): Partial<Record<ComponentName, string[]>> {
  return {
    "kube-apiserver": [`--advertise-address=${NODE_IP}`, "--kubelet-preferred-address-types=InternalIP"],
  };
}

/** One HTTP GET that resolves to true on a 200. */
function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => {
      req.destroy();
    });
    req.on("error", () => {
      resolve(false);
    });
    req.end();
  });
}

export interface NodeOptions {
  /** Extra kubelet flags, e.g. `--v=4`. */
  kubeletArgs?: string[];
  /** Start kube-proxy (default true). */
  proxy?: boolean;
  /** Start CoreDNS on the node address (default: when build-node-tools.sh has built it). */
  dns?: boolean;
  /** Start local-path-provisioner and the default StorageClass (default: when it is built). */
  storage?: boolean;
  timeoutMs?: number;
  /** Keep the node after this process exits, until `rig down` (as `rig up cluster` does). */
  persistent?: boolean;
}

export interface Node {
  name: string;
  ip: string;
  block: Block;
  containerd: Containerd;
  kubelet: Kubelet;
  proxy: KubeProxy | null;
  dns: ClusterDns | null;
  storage: Storage | null;
  images: { pause: BuiltImage; busybox: BuiltImage };
  /** Builds (once per content) and imports an image into the node's containerd. */
  loadImage(image: BuiltImage): Promise<void>;
  processes(): RigProcess[];
  logTails(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Machine-wide record of the running node: there is one bridge, hence one node at a time. */
function recordPath(): string {
  return join(runRoot(), "node.json");
}

/**
 * The node's state (containerd, kubelet, CNI, certs): outside the block on purpose. Pods leave
 * mounts in it (overlay root filesystems, network namespaces, volumes), and the generic reaper of
 * stale blocks removes a block folder without unmounting; here only `cleanStaleNode` and `stop`
 * touch it, and they unmount first.
 */
export function nodeStateDir(): string {
  return join(runRoot(), "node");
}

interface NodeRecord {
  /** The process that started the node; while it lives, the node is not stale. Null: kept by `rig up`. */
  owner: { pid: number; startTime: string } | null;
  blockDir: string;
  blockCreatedAt: string | null;
  stateDir: string;
  containerdAddress: string;
  runcRoot: string;
  ipamDir: string;
}

/** Pids of containerd shims serving the containerd at `address` (found by that unique socket path). */
function shimPids(address: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("containerd-shim-runc-v2") && argv.includes(address)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Removes the cgroups the kubelet created for pods (`kubepods` in every v1 hierarchy), deepest first. */
function removePodCgroups(): void {
  const root = "/sys/fs/cgroup";
  if (!existsSync(root)) return;
  for (const hierarchy of readdirSync(root)) {
    const top = join(root, hierarchy, "kubepods");
    if (!existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string): void => {
      dirs.push(d);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    };
    walk(top);
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      try {
        rmdirSync(d);
      } catch {
        // still has a process (should not happen once containers are gone); left for the next clean
      }
    }
  }
}

/**
 * libcni caches each attachment's result in /var/lib/cni/results (containerd 1.6 has no setting
 * to move it). Entries of the rig's network are named `zk-rig-SANDBOX-eth0`; the loopback
 * plugin's `cni-loopback-SANDBOX-lo` of the same sandboxes go with them.
 */
function removeCniCache(): void {
  const dir = "/var/lib/cni/results";
  if (!existsSync(dir)) return;
  const ours = readdirSync(dir)
    .map((f) => /^zk-rig-([0-9a-f]{64})-eth0$/.exec(f)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ours) {
    rmSync(join(dir, `zk-rig-${id}-eth0`), { force: true });
    rmSync(join(dir, `cni-loopback-${id}-lo`), { force: true });
  }
}

/** The kubelet links each container's log into /var/log/containers (a fixed path) too. */
function removeContainerLogLinks(stateDir: string): void {
  const dir = "/var/log/containers";
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    try {
      if (readlinkSync(join(dir, f)).startsWith(stateDir + "/")) rmSync(join(dir, f), { force: true });
    } catch {
      // not a link
    }
  }
}

/** Cordons the node and deletes every pod on it, then waits (briefly) until they are gone. */
async function drain(plane: ControlPlane): Promise<void> {
  const opts = { timeoutMs: 10_000 };
  await plane.kubectl(["cordon", NODE_NAME], opts);
  await plane.kubectl(
    [
      "delete",
      "pods",
      "--all-namespaces",
      "--all",
      "--field-selector",
      `spec.nodeName=${NODE_NAME}`,
      "--wait=false",
    ],
    opts,
  );
  await waitFor(
    "the node's pods to be gone",
    async () =>
      (
        await plane.kubectl(
          ["get", "pods", "-A", "--field-selector", `spec.nodeName=${NODE_NAME}`, "-o", "name"],
          opts,
        )
      ).trim() === "",
    { timeoutMs: 15_000, intervalMs: 250 },
  );
}

async function teardown(record: NodeRecord): Promise<void> {
  await removeRuncContainers(record.runcRoot);
  for (const pid of shimPids(record.containerdAddress)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await unmountUnder(record.stateDir);
  await cleanNetwork(record.ipamDir);
  removeCniCache();
  removeContainerLogLinks(record.stateDir);
  removePodCgroups();
  // The kubelet's device-plugin socket is at a fixed path, whatever its --root-dir.
  rmSync("/var/lib/kubelet/device-plugins/kubelet.sock", { force: true });
  rmSync(record.stateDir, { recursive: true, force: true });
  rmSync(recordPath(), { force: true });
}

/** SIGTERM, then SIGKILL after `graceMs`, to processes recorded in a block (by pid and start time). */
async function endProcesses(records: { pid: number; startTime: string }[], graceMs: number): Promise<void> {
  const alive = records.filter((r) => isRecordedProcessAlive(r));
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const r of alive) signal(r.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some((r) => isRecordedProcessAlive(r))) await sleep(100);
  for (const r of alive) if (isRecordedProcessAlive(r)) signal(r.pid, "SIGKILL");
}

/** The containerd socket of the running node (e.g. one kept by `rig up`), or null when there is none. */
export function nodeContainerdAddress(): string | null {
  if (!existsSync(recordPath())) return null;
  const record = JSON.parse(readFileSync(recordPath(), "utf8")) as NodeRecord;
  return existsSync(record.containerdAddress) ? record.containerdAddress : null;
}

/**
 * Tears down a node whose owner died without stopping it, so that a new node starts on a clean
 * machine. Returns true if there was one. Its block must not be reaped the ordinary way first:
 * removing a block folder with pod mounts in it fails, so this unmounts before it releases.
 */
export async function cleanStaleNode(options: { includeKept?: boolean } = {}): Promise<boolean> {
  if (!existsSync(recordPath())) return false;
  const record = JSON.parse(readFileSync(recordPath(), "utf8")) as NodeRecord;
  // A record from an older rig has no owner: treat it as stale.
  const owner = (record as Partial<NodeRecord>).owner;
  if (owner === null && options.includeKept !== true) {
    throw new Error(
      `a rig node kept by \`rig up\` is running (logs in ${record.blockDir}/logs); \`npm run rig -- down\` stops it`,
    );
  }
  if (owner != null && isRecordedProcessAlive(owner)) {
    throw new Error(
      `a rig node is already running (owner pid ${owner.pid}, logs in ${record.blockDir}/logs); stop it first`,
    );
  }
  // Block ids are reused: the block is the node's only if it was created with the node.
  const block = listBlocks().find(
    (b) => b.dir === record.blockDir && b.owner?.createdAt === record.blockCreatedAt,
  );
  if (block) await endProcesses(block.processes, 10_000);
  await cleanupKubeProxyRules();
  await cleanupKubeletRules();
  await teardown(record);
  if (block) await releaseBlockById(block.id);
  return true;
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

interface NodeStatus {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/**
 * Starts containerd and the kubelet in a new block, registers the node with `plane`, waits until
 * it is Ready, then starts the API server forward, kube-proxy, CoreDNS and the storage
 * provisioner and waits until they answer. `plane` must have been started with
 * `controlPlaneArgsForNode()`. On failure everything is torn down and the error carries the end
 * of every node process's log.
 */
export async function startNode(plane: ControlPlane, options: NodeOptions = {}): Promise<Node> {
  if (process.getuid?.() !== 0) throw new Error("the rig's node needs root (containers, mounts, a bridge)");
  const missing = missingNodeTools();
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(", ")}: run bash e2e/rig/build-node-tools.sh (fills ${nodeToolsDir()})`,
    );
  }
  await cleanStaleNode();
  const withDns = options.dns ?? existsSync(nodeTool("coredns"));
  const withProxy = options.proxy ?? true;
  const withStorage = options.storage ?? existsSync(nodeTool("local-path-provisioner"));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const persistent = options.persistent ?? false;
  const block = await claimBlock("node", { persistent });
  const stateDir = nodeStateDir();
  await unmountUnder(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
  const ipamDir = join(stateDir, "cni", "ipam");
  const cniConfDir = join(stateDir, "cni", "net.d");
  for (const d of [ipamDir, cniConfDir]) mkdirSync(d, { recursive: true });
  const procs: RigProcess[] = [];
  let containerd: Containerd | undefined;
  const record: NodeRecord = {
    owner: persistent ? null : { pid: process.pid, startTime: processStartTime(process.pid) ?? "" },
    blockDir: block.dir,
    blockCreatedAt: listBlocks().find((b) => b.id === block.id)?.owner?.createdAt ?? null,
    stateDir,
    containerdAddress: join(stateDir, "containerd", "containerd.sock"),
    runcRoot: join(stateDir, "containerd", "runc"),
    ipamDir,
  };
  writeFileSync(recordPath(), JSON.stringify(record, null, 2) + "\n");
  const logTails = (lines = 40): Promise<string> => {
    const parts: string[] = [];
    for (const p of procs) parts.push(`--- ${p.name} (${p.logPath})\n${tail(p.logPath, lines)}`);
    return Promise.resolve(parts.join("\n"));
  };
  const stop = async (): Promise<void> => {
    // Pods removed through the kubelet get a proper CNI DEL and leave nothing behind; whatever
    // is left after a short wait (or when the API server is already gone) is killed below.
    if (procs.some((p) => p.name === "kubelet" && p.running)) await drain(plane).catch(() => undefined);
    for (const name of ["local-path-provisioner", "api-forward", "coredns", "kube-proxy", "kubelet"])
      await procs.find((p) => p.name === name)?.stop();
    await containerd?.stop();
    if (withProxy) await cleanupKubeProxyRules();
    await cleanupKubeletRules();
    await teardown(record);
    await block.release();
  };

  try {
    await createBridge();
    writeCniConfig(cniConfDir, ipamDir);
    const [pause, busybox] = await Promise.all([pauseImage(), busyboxImage()]);
    containerd = await startContainerd(block, {
      dir: join(stateDir, "containerd"),
      sandboxImage: pause.ref,
      cniConfDir,
    });
    procs.push(containerd.process);
    const address = containerd.address;
    await importImage(address, pause);
    await importImage(address, busybox);

    const kubelet = await startKubelet(block, {
      dir: join(stateDir, "kubelet"),
      nodeName: NODE_NAME,
      nodeIp: NODE_IP,
      server: plane.server,
      certs: plane.certs,
      containerdAddress: address,
      clusterDns: [NODE_IP],
      clusterDomain: CLUSTER_DOMAIN,
      extraArgs: options.kubeletArgs,
    });
    procs.push(kubelet.process);
    await waitFor(
      `node ${NODE_NAME} Ready`,
      async () => {
        if (!kubelet.process.running) throw new Error(`kubelet exited; see ${kubelet.process.logPath}`);
        const node = JSON.parse(await plane.kubectl(["get", "node", NODE_NAME, "-o", "json"])) as NodeStatus;
        const ready = node.status?.conditions?.find((c) => c.type === "Ready");
        if (ready?.status !== "True") throw new Error(`Ready=${ready?.status}: ${ready?.message ?? ""}`);
        return true;
      },
      { timeoutMs, intervalMs: 500 },
    );
    const mustRun = (p: RigProcess): void => {
      if (!p.running) throw new Error(`${p.name} exited; see ${p.logPath}`);
    };
    // Pods reach the API server through the `kubernetes` Service, whose endpoint is the node
    // address (controlPlaneArgsForNode); socat carries that port to the API server's loopback one.
    const forward = new RigProcess(block, {
      name: "api-forward",
      command: "socat",
      args: [
        `TCP-LISTEN:${API_SERVER_PORT},bind=${NODE_IP},reuseaddr,fork`,
        `TCP:${plane.ip}:${API_SERVER_PORT}`,
      ],
    });
    procs.push(forward);
    let proxy: KubeProxy | null = null;
    if (withProxy) {
      const kp = await startKubeProxy(block, {
        dir: join(stateDir, "kube-proxy"),
        server: plane.server,
        certs: plane.certs,
        nodeName: NODE_NAME,
        nodeIp: NODE_IP,
        clusterCidr: CLUSTER_CIDR,
      });
      proxy = kp;
      procs.push(kp.process);
      await waitFor(
        `kube-proxy ${kp.healthz}`,
        async () => {
          mustRun(kp.process);
          return httpOk(kp.healthz);
        },
        {
          timeoutMs,
        },
      );
    }
    let dns: ClusterDns | null = null;
    if (withDns) {
      const d = await startClusterDns(block, {
        dir: join(stateDir, "coredns"),
        server: plane.server,
        certs: plane.certs,
        ip: NODE_IP,
        clusterDomain: CLUSTER_DOMAIN,
        kubectl: (args, o) => plane.kubectl(args, o),
      });
      dns = d;
      procs.push(d.process);
      await waitFor(
        `CoreDNS ${d.ready}`,
        async () => {
          mustRun(d.process);
          return httpOk(d.ready);
        },
        { timeoutMs },
      );
    }
    let storage: Storage | null = null;
    if (withStorage) {
      const st = await startStorage(block, {
        dir: join(stateDir, "storage"),
        server: plane.server,
        certs: plane.certs,
        helperImage: busybox.ref,
        kubectl: (args, o) => plane.kubectl(args, o),
      });
      storage = st;
      procs.push(st.process);
      await waitFor(
        "local-path-provisioner started",
        async () => {
          mustRun(st.process);
          return (await st.process.log()).includes("Provisioner started");
        },
        { timeoutMs },
      );
    }
    return {
      name: NODE_NAME,
      ip: NODE_IP,
      block,
      containerd,
      kubelet,
      proxy,
      dns,
      storage,
      images: { pause, busybox },
      loadImage: (image) => importImage(address, image),
      processes: () => [...procs],
      logTails,
      stop,
    };
  } catch (err) {
    const logs = await logTails();
    await stop().catch(() => undefined);
    throw new Error(`node did not start: ${(err as Error).message}\n${logs}`, { cause: err });
  }
}

/** For diagnostics: pod addresses host-local has handed out on the node. */
export function podIps(): string[] {
  return allocatedPodIps(join(nodeStateDir(), "cni", "ipam"));
}

/** What a stopped node must not leave behind; a test asserts it is all empty after `stop()`. */
export function leftovers(): {
  mounts: string[];
  shims: number[];
  bridge: boolean;
  podCgroups: string[];
  iptables: string[];
  cniCache: string[];
  logLinks: string[];
} {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(nodeStateDir() + "/"));
  const podCgroups = existsSync("/sys/fs/cgroup")
    ? readdirSync("/sys/fs/cgroup")
        .map((h) => join("/sys/fs/cgroup", h, "kubepods"))
        .filter((d) => existsSync(d))
    : [];
  return {
    mounts,
    shims: shimPids(join(nodeStateDir(), "containerd", "containerd.sock")),
    bridge: bridgeExists(),
    podCgroups,
    // Chains of the kubelet and kube-proxy (KUBE-*) and of CNI plugins (CNI-*).
    iptables: ["iptables-save", "ip6tables-save"].flatMap((bin) =>
      execFileSync(bin, { encoding: "utf8" })
        .split("\n")
        .filter((l) => /KUBE-|CNI-/.test(l)),
    ),
    cniCache: existsSync("/var/lib/cni/results")
      ? readdirSync("/var/lib/cni/results").filter((f) => f.startsWith("zk-rig-"))
      : [],
    logLinks: existsSync("/var/log/containers")
      ? readdirSync("/var/log/containers").filter((f) => {
          try {
            return readlinkSync(join("/var/log/containers", f)).startsWith(nodeStateDir() + "/");
          } catch {
            return false;
          }
        })
      : [],
  };
}
