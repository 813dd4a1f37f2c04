// A Docker engine (Debian's docker.io) run by the rig, only to build images from Dockerfiles:
// there is no registry here, so the images pods run are built on this machine and handed to the
// node's containerd as archives (`docker save` → `ctr images import`).
//
// The engine runs only while images are built. It has no network of its own (no bridge, no
// iptables rules, nothing else on the host changes); builds use the host's network, which only
// reaches the package registries. Its image store (`data-root`) lives in the rig's cache so
// that build layers are reused across runs; a lock file keeps two engines off that store.
import { execFile } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "../paths.ts";
import {
  claimBlock,
  isRecordedProcessAlive,
  processStartTime,
  recordProcess,
  RigProcess,
  waitFor,
  type Block,
} from "../processes.ts";

const run = promisify(execFile);

/** The docker.io package's client: it matches the engine (a newer client elsewhere on PATH wants buildx). */
export const DOCKER_CLI = "/usr/bin/docker";
const DOCKERD = "/usr/sbin/dockerd";

export interface DockerEngine {
  /** DOCKER_HOST for the client. */
  host: string;
  /** Runs the docker client against this engine; rejects with its stderr. */
  docker(args: string[], options?: { timeoutMs?: number }): Promise<string>;
  stop(): Promise<void>;
}

function lockPath(): string {
  return join(cacheRoot(), "docker.lock");
}

/** Takes the image store's lock, waiting while another live process holds it. */
async function lockStore(): Promise<() => void> {
  mkdirSync(cacheRoot(), { recursive: true });
  const me = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) ?? "" });
  await waitFor(
    "the rig's Docker image store (another process is building images)",
    () => {
      try {
        closeSync(openSync(lockPath(), "wx"));
        writeFileSync(lockPath(), me);
        return true;
      } catch {
        try {
          const holder = JSON.parse(readFileSync(lockPath(), "utf8")) as { pid: number; startTime: string };
          if (!isRecordedProcessAlive(holder)) rmSync(lockPath(), { force: true });
        } catch {
          // being written right now, or unreadable: look again on the next round
        }
        return false;
      }
    },
    { timeoutMs: 30 * 60_000, intervalMs: 500 },
  );
  return () => {
    rmSync(lockPath(), { force: true });
  };
}

/** Starts a Docker engine for this process; `stop()` ends it and frees the store. */
export async function startDocker(): Promise<DockerEngine> {
  if (!existsSync(DOCKERD) || !existsSync(DOCKER_CLI)) {
    throw new Error(
      `${DOCKERD} or ${DOCKER_CLI} is missing: install Debian's docker.io (e2e/rig/build-node-tools.sh does)`,
    );
  }
  const unlock = await lockStore();
  let block: Block | null = null;
  try {
    block = await claimBlock("docker");
    const execRoot = block.path("exec");
    const socket = join(block.dir, "docker.sock");
    const host = `unix://${socket}`;
    const dockerd = new RigProcess(block, {
      name: "dockerd",
      command: DOCKERD,
      args: [
        `--data-root=${join(cacheRoot(), "docker")}`,
        `--exec-root=${execRoot}`,
        `--pidfile=${join(block.dir, "dockerd.pid")}`,
        `--host=${host}`,
        // No network of its own: builds use the host's (--network host).
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
      ],
    });
    const docker = async (args: string[], options: { timeoutMs?: number } = {}): Promise<string> => {
      try {
        const { stdout } = await run(DOCKER_CLI, args, {
          env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: "1" },
          timeout: options.timeoutMs ?? 120_000,
          maxBuffer: 64 * 1024 * 1024,
        });
        return stdout;
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        const out = `${e.stdout ?? ""}\n${e.stderr ?? ""}`.trim().split("\n").slice(-40).join("\n");
        throw new Error(`docker ${args.join(" ")}: ${out || e.message}`, { cause: err });
      }
    };
    await waitFor(
      "dockerd to answer",
      async () => {
        if (!dockerd.running) throw new Error(`dockerd exited; see ${dockerd.logPath}`);
        return docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs: 5_000 }).then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // dockerd starts a containerd of its own; recorded too, so a crashed run's reaper ends it.
    const containerdPid = Number(
      readFileSync(join(execRoot, "containerd", "containerd.pid"), "utf8").trim() || "0",
    );
    if (containerdPid > 0) recordProcess(block, "docker-containerd", containerdPid);
    const owned = block;
    return {
      host,
      docker,
      async stop() {
        await dockerd.stop(30_000);
        await owned.release();
        unlock();
      },
    };
  } catch (err) {
    await block?.release();
    unlock();
    throw err;
  }
}
