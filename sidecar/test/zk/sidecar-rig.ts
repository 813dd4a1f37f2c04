// Test helpers of the sidecar's zk tier: each rig server gets its config from the real
// `zk-sidecar init` (run as the rig's `prepare` hook, before every start) and its own real
// `zk-sidecar serve` process on its address, as a pod's init container and native sidecar would.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { renderMembersFile, type Member, CONFIGMAP_KEYS, ENV } from "../../src/contract.ts";
import { repoRoot } from "../../../e2e/rig/paths.ts";
import { RigProcess, waitFor } from "../../../e2e/rig/processes.ts";
import { createEnsemble, type ZkEnsemble, type ZkServer } from "../../../e2e/rig/zk-ensemble.ts";

export const MAIN = join(repoRoot, "sidecar/src/main.ts");

export interface SidecarEnsemble {
  ens: ZkEnsemble;
  /** The NAME-config ConfigMap's folder, as mounted into every pod. */
  operatorConfigDir: string;
  sidecars: Map<number, RigProcess>;
  setMembers(members: Member[], version: string): void;
  /** Starts `node [nodeArgs] main.ts serve` (or `command` with `args`, e.g. the image's wrapper). */
  startSidecar(
    server: ZkServer,
    env?: Record<string, string>,
    command?: { command: string; args: string[] },
  ): Promise<RigProcess>;
  get(server: ZkServer, path: string): Promise<{ status: number; body: string }>;
  destroy(): Promise<void>;
}

export const STATIC_SETTINGS = (syncLimit: number, tickTime: number): string =>
  [`tickTime=${tickTime}`, "initLimit=10", `syncLimit=${syncLimit}`, "autopurge.purgeInterval=0"].join("\n") +
  "\n";

/** The environment the operator gives the init container and the sidecar of `server`. */
export function sidecarEnv(
  ens: ZkEnsemble,
  server: ZkServer,
  operatorConfigDir: string,
): Record<string, string> {
  return {
    [ENV.podName]: `${ens.name}-${server.id - 1}`,
    [ENV.namespace]: ens.namespace,
    [ENV.headlessService]: `${ens.name}-headless`,
    [ENV.clusterDomain]: ens.clusterDomain,
    [ENV.dataDir]: server.dataDir,
    [ENV.confDir]: server.confDir,
    [ENV.operatorConfigDir]: operatorConfigDir,
    [ENV.bindAddress]: server.ip,
    [ENV.zkHost]: server.ip,
    [ENV.httpHost]: server.ip,
    [ENV.readyCacheMs]: "250",
    [ENV.fourLetterTimeoutMs]: "500",
    // Not the machine's /dev/termination-log (tests may run in a pod); absent unless a test makes it.
    [ENV.terminationMessagePath]: join(dirname(server.dataDir), "termination-log"),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node sidecar/src/main.ts ARGS` with exactly `env` (plus PATH) and collects its output. */
export function runSidecar(
  args: string[],
  env: Record<string, string>,
  options: { uid?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}

export async function createSidecarEnsemble(options: {
  size: number;
  name: string;
  syncLimit?: number;
  tickTime?: number;
  superPassword?: string;
  /** More environment for one server's init and sidecar (e.g. its TLS Secret folders). */
  env?: (server: ZkServer) => Record<string, string>;
}): Promise<SidecarEnsemble> {
  const extraEnv = options.env ?? (() => ({}));
  const syncLimit = options.syncLimit ?? 2;
  const tickTime = options.tickTime ?? 2000;
  let operatorConfigDir = "";
  const ens = await createEnsemble({
    size: options.size,
    name: options.name,
    syncLimit,
    tickTime,
    ...(options.superPassword === undefined ? {} : { superPassword: options.superPassword }),
    prepare: async (server, e) => {
      const r = await runSidecar(["init"], {
        ...sidecarEnv(e, server, operatorConfigDir),
        ...extraEnv(server),
      });
      if (r.code !== 0)
        throw new Error(`zk-sidecar init for server ${server.id} failed (${r.code}): ${r.stderr}`);
    },
  });
  operatorConfigDir = ens.block.path("operator-config");
  writeFileSync(join(operatorConfigDir, CONFIGMAP_KEYS.staticConfig), STATIC_SETTINGS(syncLimit, tickTime));
  const sidecars = new Map<number, RigProcess>();

  const se: SidecarEnsemble = {
    ens,
    operatorConfigDir,
    sidecars,
    setMembers(members, version) {
      writeFileSync(join(operatorConfigDir, CONFIGMAP_KEYS.members), renderMembersFile({ version, members }));
    },
    async startSidecar(server, env = {}, command = { command: process.execPath, args: [MAIN, "serve"] }) {
      const proc = new RigProcess(ens.block, {
        name: `sidecar-${server.id}`,
        command: command.command,
        args: command.args,
        env: { ...sidecarEnv(ens, server, operatorConfigDir), ...extraEnv(server), ...env },
      });
      sidecars.set(server.id, proc);
      await waitFor(`sidecar ${server.id} to listen`, async () => {
        if (!proc.running) throw new Error(`sidecar ${server.id} exited: ${await proc.log()}`);
        return (await se.get(server, "/livez").catch(() => null)) !== null;
      });
      return proc;
    },
    async get(server, path) {
      const res = await fetch(`http://${server.ip}:8081${path}`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: await res.text() };
    },
    async destroy() {
      await Promise.all([...sidecars.values()].map((p) => p.stop()));
      await ens.destroy();
    },
  };
  se.setMembers(
    Array.from({ length: options.size }, (_, i) => ({ id: i + 1, role: "participant" as const })),
    "0",
  );
  return se;
}
