// containerd for the rig's node: Debian's containerd 1.6 with its CRI plugin, runc through the
// runc v2 shim with cgroupfs (no systemd on this machine), CNI plugins from Debian, and every
// piece of state (content store, snapshots, runc state, network namespaces, socket) inside one
// folder of the rig's, so that nothing lands in /var/lib/containerd or /run/containerd except
// the shims' sockets (containerd 1.6 keeps those in /run/containerd/s). The process itself, its
// log and its pid record belong to the block.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { RigProcess, waitFor, type Block } from "../processes.ts";
import { CNI_BIN_DIR } from "./tools.ts";

const run = promisify(execFile);

export interface ContainerdOptions {
  /** Folder for containerd's state (content, snapshots, runc state, netns, socket). */
  dir: string;
  /** Reference of the sandbox ("pause") image, already built; imported right after start. */
  sandboxImage: string;
  /** Folder of the CNI network configuration (see cni.ts). */
  cniConfDir: string;
  /** runc binary (default Debian's; `ZK_RIG_RUNC` overrides it, e.g. with a wrapper that adds --debug). */
  runcBinary?: string;
  timeoutMs?: number;
}

export interface Containerd {
  /** Unix socket path of the gRPC API (for the kubelet: `unix://` + address). */
  address: string;
  dir: string;
  /** runc's state folder: what `runc --root` needs to find containers after containerd is gone. */
  runcRoot: string;
  process: RigProcess;
  /** Runs `ctr` in the `k8s.io` namespace; resolves to stdout. */
  ctr(args: string[]): Promise<string>;
  /** Kills and deletes every container and pod sandbox, then stops containerd. */
  stop(): Promise<void>;
}

/** containerd's config (version 2 schema, as containerd 1.6 reads it). */
export function renderContainerdConfig(options: {
  dir: string;
  address: string;
  runcRoot: string;
  sandboxImage: string;
  cniConfDir: string;
  runcBinary: string;
}): string {
  const q = JSON.stringify; // TOML basic strings are JSON strings for the paths we write
  return `version = 2
root = ${q(join(options.dir, "root"))}
state = ${q(join(options.dir, "state"))}
# Snapshotters that cannot work here (no btrfs, zfs or devmapper) only add errors to the log.
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${q(options.address)}

[ttrpc]
  address = ${q(`${options.address}.ttrpc`)}

[debug]
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(options.dir, "opt"))}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(options.sandboxImage)}
  # The network namespaces of pods live in the state folder, not in /var/run/netns.
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  # The machine withholds CAP_SYS_RESOURCE even from root, so no process may lower its
  # oom_score_adj: without this the kubelet's -998 for sandboxes makes runc init fail with
  # "failed to update /proc/self/oom_score_adj: Permission denied".
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = ${q(options.runcBinary)}
        Root = ${q(options.runcRoot)}
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(options.cniConfDir)}
    max_conf_num = 1
`;
}

async function ctrIn(address: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const r = await run("ctr", ["--address", address, "--namespace", "k8s.io", ...args], {
      timeout: timeoutMs,
    });
    return r.stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ctr ${args.join(" ")}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/**
 * Removes containers runc still knows about under `runcRoot` (after a crash, or when containerd
 * itself is gone): `runc kill` then `runc delete --force`, each best effort.
 */
export async function removeRuncContainers(runcRoot: string): Promise<string[]> {
  const removed: string[] = [];
  if (!existsSync(runcRoot)) return removed;
  // The runc v2 shim uses one runc root per containerd namespace: RUNC_ROOT/k8s.io.
  for (const root of [runcRoot, join(runcRoot, "k8s.io")]) {
    if (!existsSync(root)) continue;
    let list: { id: string }[];
    try {
      const r = await run("runc", ["--root", root, "list", "--format", "json"]);
      list = (JSON.parse(r.stdout || "[]") as { id: string }[] | null) ?? [];
    } catch {
      continue;
    }
    for (const c of list) {
      await run("runc", ["--root", root, "kill", c.id, "KILL"]).catch(() => undefined);
      await run("runc", ["--root", root, "delete", "--force", c.id]).catch(() => undefined);
      removed.push(c.id);
    }
  }
  return removed;
}

/** Starts containerd in `block` (folder `containerd/`) and resolves once its API answers. */
export async function startContainerd(block: Block, options: ContainerdOptions): Promise<Containerd> {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  const address = join(dir, "containerd.sock");
  const runcRoot = join(dir, "runc");
  const configPath = join(dir, "config.toml");
  writeFileSync(
    configPath,
    renderContainerdConfig({
      dir,
      address,
      runcRoot,
      sandboxImage: options.sandboxImage,
      cniConfDir: options.cniConfDir,
      runcBinary: options.runcBinary ?? process.env.ZK_RIG_RUNC ?? "/usr/sbin/runc",
    }),
  );
  const proc = new RigProcess(block, {
    name: "containerd",
    command: "/usr/bin/containerd",
    args: ["--config", configPath],
  });
  await waitFor(
    `containerd at ${address}`,
    async () => {
      if (!proc.running) throw new Error(`containerd exited; see ${proc.logPath}`);
      await ctrIn(address, ["version"], 5_000);
      return true;
    },
    { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 200 },
  );
  const ctr = (args: string[]): Promise<string> => ctrIn(address, args);
  return {
    address,
    dir,
    runcRoot,
    process: proc,
    ctr,
    async stop() {
      // Containers outlive containerd (their shims are daemons of their own): end them first.
      if (proc.running) {
        const tasks = (await ctr(["tasks", "list", "--quiet"]).catch(() => "")).split("\n").filter(Boolean);
        for (const id of tasks)
          await ctr(["tasks", "kill", "--signal", "SIGKILL", id]).catch(() => undefined);
        for (const id of tasks) await ctr(["tasks", "delete", "--force", id]).catch(() => undefined);
        const containers = (await ctr(["containers", "list", "--quiet"]).catch(() => ""))
          .split("\n")
          .filter(Boolean);
        for (const id of containers) await ctr(["containers", "delete", id]).catch(() => undefined);
      }
      await proc.stop();
      await removeRuncContainers(runcRoot);
    },
  };
}
