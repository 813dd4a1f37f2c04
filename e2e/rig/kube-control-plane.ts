// A real Kubernetes control plane on one loopback block: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, built from source by build-tools.sh at the pinned
// versions. No kubelet: pods stay Pending, which is all the `kube` tier needs (CRD validation,
// reconcile, server-side apply, garbage collection, PDBs, leader election, watch recovery).
//
// Everything listens on the block's first address (etcd 2379/2380, API server 6443,
// controller-manager 10257, scheduler 10259), so several control planes run side by side.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  generateControlPlaneCerts,
  issueCert,
  writeKubeconfig,
  type CertPair,
  type ControlPlaneCerts,
} from "./certs.ts";
import { runRoot, toolsBinDir } from "./paths.ts";
import { claimBlock, RigProcess, waitFor, type Block } from "./processes.ts";

const run = promisify(execFile);

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const API_SERVER_PORT = 6443;
export const CONTROLLER_MANAGER_PORT = 10257;
export const SCHEDULER_PORT = 10259;
export const SERVICE_CIDR = "10.96.0.0/16";
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/** The binaries a control plane needs, in the folder build-tools.sh fills. */
export const controlPlaneTools = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
];

export function toolPath(name: string): string {
  return join(toolsBinDir(), name);
}

/** Tools from `controlPlaneTools` that build-tools.sh has not built yet. */
export function missingTools(): string[] {
  return controlPlaneTools.filter((t) => !existsSync(toolPath(t)));
}

export interface ControlPlaneOptions {
  /** Keep the block after this process exits (`rig up`); end it with `stop()` or `rig down`. */
  persistent?: boolean;
  /** Controllers for kube-controller-manager's `--controllers` (default: its default set, `*`). */
  controllers?: string[];
  /** Extra flags appended to each component's command line, e.g. `--v=4`. */
  extraArgs?: Partial<Record<ComponentName, string[]>>;
  /** etcd's `--quota-backend-bytes` (default 512 MiB; raise it if etcd reports "database space exceeded"). */
  etcdQuotaBytes?: number;
  /** How long start-up may take before it fails with the component logs (default 90 s). */
  timeoutMs?: number;
}

export type ComponentName = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler";

/** What `rig status` or another process needs to use a running control plane; kept as info.json in the block. */
export interface ControlPlaneInfo {
  blockId: number;
  ip: string;
  server: string;
  kubeconfigPath: string;
  logs: Record<ComponentName, string>;
}

export interface ControlPlane extends ControlPlaneInfo {
  block: Block;
  certs: ControlPlaneCerts;
  /** Runs the pinned kubectl against this control plane; resolves to stdout, throws with stderr. */
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** GET on the API server as the admin (e.g. `/metrics`, `/readyz?verbose`). */
  get(path: string): Promise<string>;
  processes(): Record<ComponentName, RigProcess>;
  /** Stops kube-apiserver (SIGTERM); etcd, the controller-manager and the scheduler keep running. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again with the same flags and data; resolves once /readyz is ok. */
  startApiServer(): Promise<void>;
  restartApiServer(): Promise<void>;
  /** The last lines of every component's log, for a failure message. */
  logTails(lines?: number): string;
  /**
   * Writes a kubeconfig for a user authenticated by a client cert (CN=user, O=groups) with no
   * rights but what RBAC grants it, e.g. to run the operator with exactly its chart's ClusterRole.
   */
  userKubeconfig(user: string, groups?: string[]): Promise<string>;
  /** Milliseconds each start-up phase took: certs, etcd, kube-apiserver, controllers, total. */
  startupMs: Record<"certs" | "etcd" | "apiServer" | "controllers" | "total", number>;
  /** Kills every process (SIGKILL: the data is thrown away) and removes the block. */
  stop(): Promise<void>;
}

interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}

function readTls(ca: string, client: CertPair): TlsClient {
  return {
    ca: readFileSync(ca, "utf8"),
    cert: readFileSync(client.cert, "utf8"),
    key: readFileSync(client.key, "utf8"),
  };
}

/**
 * One GET. For https, `tls` undefined means the peer's self-signed cert is accepted (health
 * probes of the controller-manager and scheduler only).
 */
function get(
  url: string,
  tls: TlsClient | undefined,
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        chunks.push(c);
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    };
    const req = url.startsWith("https:")
      ? httpsRequest(url, { ...(tls ?? { rejectUnauthorized: false }), timeout: timeoutMs }, onResponse)
      : httpRequest(url, { timeout: timeoutMs }, onResponse);
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Waits for `check`, but fails at once when `p` exits instead of waiting out the timeout. */
async function waitUntil(
  what: string,
  p: RigProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const outcome = await waitFor(what, async () => (p.running ? (await check()) && "ready" : "exited"), {
    timeoutMs,
    intervalMs: 100,
  });
  if (outcome === "exited") throw new Error(`${p.name} exited; see ${p.logPath}`);
}

function tail(path: string, lines: number): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd().split("\n");
    return text.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Reads info.json of a control plane started by another process (e.g. `rig up`). */
export function readControlPlaneInfo(blockDir: string): ControlPlaneInfo | null {
  try {
    return JSON.parse(readFileSync(join(blockDir, "info.json"), "utf8")) as ControlPlaneInfo;
  } catch {
    return null;
  }
}

/** Runs one of the rig's pinned client tools against `kubeconfigPath`; resolves to stdout, throws with stderr. */
async function runClientTool(
  tool: "kubectl" | "helm",
  kubeconfigPath: string,
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: Record<string, string> },
): Promise<string> {
  const child = run(toolPath(tool), ["--kubeconfig", kubeconfigPath, ...args], {
    maxBuffer: 256 * 1024 * 1024,
    timeout: options.timeoutMs ?? 60_000,
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  const stdin = child.child.stdin;
  // A tool that exits before it reads its input (or that needs none) closes the pipe, and the write
  // fails with EPIPE after the call: not an error of the call, whose exit status and output say
  // what happened, but an uncaught one that fails the whole test run (seen once in the e2e tier).
  stdin?.on("error", () => undefined);
  if (options.input === undefined) stdin?.end();
  else stdin?.end(options.input);
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    const detail = e.stderr?.trim() || e.stdout?.trim();
    throw new Error(`${tool} ${args.join(" ")}: ${detail || (err as Error).message}`, { cause: err });
  }
}

/** Runs the pinned kubectl with `kubeconfigPath`; resolves to stdout, throws with stderr. */
export function runKubectl(
  kubeconfigPath: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  return runClientTool("kubectl", kubeconfigPath, args, options);
}

/**
 * Runs the pinned helm with `kubeconfigPath`. Its cache, config and data live in the rig's run
 * folder, never in the user's own helm set-up. Resolves to stdout, throws with stderr.
 */
export function runHelm(
  kubeconfigPath: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<string> {
  const home = join(runRoot(), "helm");
  return runClientTool("helm", kubeconfigPath, args, {
    timeoutMs: options.timeoutMs ?? 300_000,
    env: {
      HELM_CACHE_HOME: join(home, "cache"),
      HELM_CONFIG_HOME: join(home, "config"),
      HELM_DATA_HOME: join(home, "data"),
    },
  });
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler in a new block and
 * resolves once the API server is ready, both controllers answer /healthz and the
 * service-account controller has created `default/default`. On failure the block is released
 * and the error carries the end of every component's log.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const missing = missingTools();
  if (missing.length) {
    throw new Error(
      `missing rig binaries ${missing.join(", ")} in ${toolsBinDir()}: run bash e2e/rig/build-tools.sh`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1_000, deadline - Date.now());
  const block = await claimBlock("kube", { persistent: options.persistent ?? false });
  const ip = block.ip(1);
  const server = `https://${ip}:${API_SERVER_PORT}`;
  const extra = (c: ComponentName): string[] => options.extraArgs?.[c] ?? [];
  const procs = {} as Record<ComponentName, RigProcess>;
  const logs = {} as Record<ComponentName, string>;
  const start = (name: ComponentName, args: string[]): RigProcess => {
    const p = new RigProcess(block, { name, command: toolPath(name), args: [...args, ...extra(name)] });
    procs[name] = p;
    logs[name] = p.logPath;
    return p;
  };
  const logTails = (lines = 40): string => {
    const parts: string[] = [];
    for (const [name, path] of Object.entries(logs))
      parts.push(`--- ${name} (${path})\n${tail(path, lines)}`);
    return parts.join("\n");
  };

  try {
    const t0 = Date.now();
    let mark = t0;
    const lap = (): number => {
      const now = Date.now();
      const ms = now - mark;
      mark = now;
      return ms;
    };
    const certs = await generateControlPlaneCerts(block.path("pki"), { apiServerIps: [ip] });
    const certsMs = lap();
    const kubeconfigPath = writeKubeconfig(join(block.dir, "kubeconfig"), {
      server,
      ca: certs.ca.cert,
      client: certs.admin,
      user: "kubernetes-admin",
    });
    const componentConfig = (name: string, client: CertPair): string =>
      writeKubeconfig(join(block.path("pki"), `${name}.kubeconfig`), {
        server,
        ca: certs.ca.cert,
        client,
        user: name,
      });
    const cmConfig = componentConfig("kube-controller-manager", certs.controllerManager);
    const schedConfig = componentConfig("kube-scheduler", certs.scheduler);
    const adminTls = readTls(certs.ca.cert, certs.admin);

    const etcdUrl = `http://${ip}:${ETCD_CLIENT_PORT}`;
    const peerUrl = `http://${ip}:${ETCD_PEER_PORT}`;
    const etcd = start("etcd", [
      "--name=rig",
      `--data-dir=${block.path("etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=rig=${peerUrl}`,
      "--initial-cluster-state=new",
      `--quota-backend-bytes=${options.etcdQuotaBytes ?? 512 * 1024 * 1024}`,
      // Test data only: skipping fsync keeps a shared 2-core machine's disk out of the latency.
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ]);

    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${ip}`,
      `--advertise-address=${ip}`,
      `--secure-port=${API_SERVER_PORT}`,
      `--tls-cert-file=${certs.apiServer.cert}`,
      `--tls-private-key-file=${certs.apiServer.key}`,
      `--client-ca-file=${certs.ca.cert}`,
      `--kubelet-client-certificate=${certs.apiServerKubeletClient.cert}`,
      `--kubelet-client-key=${certs.apiServerKubeletClient.key}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${certs.serviceAccount.publicKey}`,
      `--service-account-signing-key-file=${certs.serviceAccount.privateKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      // The aggregation layer as kubeadm sets it up; without it the controller-manager and the
      // scheduler log a missing request-header CA over and over.
      `--requestheader-client-ca-file=${certs.frontProxyCa.cert}`,
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      `--proxy-client-cert-file=${certs.frontProxyClient.cert}`,
      `--proxy-client-key-file=${certs.frontProxyClient.key}`,
      "--authorization-mode=Node,RBAC",
      "--allow-privileged=true",
      "--profiling=false",
      // On SIGTERM: answer new requests with 429 + Retry-After while in-flight ones drain, then
      // close within 2 s (otherwise the open watches hold shutdown up to --request-timeout, 60 s).
      "--shutdown-send-retry-after=true",
    ];
    const apiServerReady = async (): Promise<boolean> => {
      const r = await get(`${server}/readyz`, adminTls, 2_000);
      return r.status === 200;
    };
    const startApiServer = async (waitMs: number): Promise<void> => {
      const p = start("kube-apiserver", apiServerArgs);
      await waitUntil(`kube-apiserver /readyz at ${server}`, p, apiServerReady, waitMs);
    };

    await waitUntil(
      `etcd at ${etcdUrl}`,
      etcd,
      async () => (await get(`${etcdUrl}/health`, undefined, 2_000)).body.includes('"health":"true"'),
      left(),
    );
    const etcdMs = lap();
    await startApiServer(left());
    const apiServerMs = lap();

    // Both start once the API server is ready: the controller-manager exits if the API server
    // is not healthy within 10 s of its start (WaitForAPIServer). No leader election: there is one of each, and an elected one
    // exits when the API server is away longer than its renew deadline, which tests of watch
    // recovery do on purpose.
    const delegated = (kubeconfig: string): string[] => [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      `--bind-address=${ip}`,
      "--leader-elect=false",
      "--profiling=false",
    ];
    const cm = start("kube-controller-manager", [
      ...delegated(cmConfig),
      `--secure-port=${CONTROLLER_MANAGER_PORT}`,
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${certs.serviceAccount.privateKey}`,
      `--root-ca-file=${certs.ca.cert}`,
      `--cluster-signing-cert-file=${certs.ca.cert}`,
      `--cluster-signing-key-file=${certs.ca.key}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--controllers=${(options.controllers ?? ["*"]).join(",")}`,
      "--cluster-name=zk-rig",
    ]);
    const scheduler = start("kube-scheduler", [...delegated(schedConfig), `--secure-port=${SCHEDULER_PORT}`]);
    const healthy = (url: string) => async (): Promise<boolean> =>
      (await get(url, undefined, 2_000)).status === 200;
    await Promise.all([
      waitUntil(
        "kube-controller-manager /healthz",
        cm,
        healthy(`https://${ip}:${CONTROLLER_MANAGER_PORT}/healthz`),
        left(),
      ),
      waitUntil(
        "kube-scheduler /healthz",
        scheduler,
        healthy(`https://${ip}:${SCHEDULER_PORT}/healthz`),
        left(),
      ),
    ]);
    await waitUntil(
      "the service-account controller to create default/default",
      cm,
      async () =>
        (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminTls)).status === 200,
      left(),
    );

    const startupMs = {
      certs: certsMs,
      etcd: etcdMs,
      apiServer: apiServerMs,
      controllers: lap(),
      total: Date.now() - t0,
    };
    const info: ControlPlaneInfo = { blockId: block.id, ip, server, kubeconfigPath, logs: { ...logs } };
    writeFileSync(join(block.dir, "info.json"), JSON.stringify(info, null, 2) + "\n");

    return {
      ...info,
      block,
      certs,
      kubectl: (args, opts) => runKubectl(kubeconfigPath, args, opts),
      async get(path) {
        const r = await get(`${server}${path}`, adminTls, 30_000);
        if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body}`);
        return r.body;
      },
      processes: () => ({ ...procs }),
      stopApiServer: () => procs["kube-apiserver"].stop(),
      startApiServer: async () => {
        if (procs["kube-apiserver"].running) throw new Error("kube-apiserver is already running");
        await startApiServer(timeoutMs);
      },
      restartApiServer: async () => {
        await procs["kube-apiserver"].stop();
        await startApiServer(timeoutMs);
      },
      logTails,
      startupMs,
      async userKubeconfig(user, groups = []) {
        const dir = block.path("users");
        const name = user.replace(/[^A-Za-z0-9._-]/g, "_");
        const client = await issueCert(certs.ca, dir, name, { commonName: user, organizations: groups });
        return writeKubeconfig(join(dir, `${name}.kubeconfig`), { server, ca: certs.ca.cert, client, user });
      },
      async stop() {
        // The data goes with the block, so nothing needs a graceful shutdown.
        await Promise.all(Object.values(procs).map((p) => p.kill()));
        await block.release();
      },
    };
  } catch (err) {
    const logsText = logTails();
    await block.release();
    throw new Error(`control plane did not start: ${(err as Error).message}\n${logsText}`, { cause: err });
  }
}
