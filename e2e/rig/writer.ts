// Runs the writer/checker (e2e/writer/) as a pod in the rig's cluster, where it connects like an
// application: through the client Service and the cluster's DNS. No image is built for it: it
// runs on the sidecar image (Node 24), its .ts files mounted from a ConfigMap into /writer/src and
// run with `node` (Node strips the types), and node-zookeeper-client, a test dependency the
// images do not ship, comes from the checkout's node_modules, mounted read-only at
// /writer/node_modules (the rig's node is this machine, so a hostPath reaches it; the pod runs as
// root only because the checkout may sit in a folder only root can enter). The test process reaches the writer's HTTP port at the pod's IP: pod addresses are
// routable from this host (the node's bridge), as the e2e tests' fetches of /metrics show.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { FaultWindow, Progress, Report } from "../writer/report.ts";
import type { Verdict } from "../writer/verify.ts";
import { PORTS } from "../../sidecar/src/contract.ts";
import { runKubectl } from "./kube-control-plane.ts";
import { repoRoot } from "./paths.ts";
import { waitFor } from "./processes.ts";

export const WRITER_HTTP_PORT = 8090;
const WRITER_DIR = join(repoRoot, "e2e/writer");

export interface WriterOptions {
  /** An image with Node 24 at /usr/local/bin/node: the sidecar image. */
  image: string;
  /** Members of the ensemble (ids 1..members). Default 3. */
  members?: number;
  /** Creates per second. Default the writer's own (50). */
  rate?: number;
  sessionTimeoutMs?: number;
  clusterDomain?: string;
  /** How long to wait for the pod to run and writes to flow. Default 120 s. */
  timeoutMs?: number;
  /**
   * Client TLS: the Secret whose `ca.crt` verifies the members. The writer then connects to the
   * secure client port through TLS tunnels (e2e/writer/main.ts).
   */
  tlsCaSecret?: string;
  /**
   * With tlsCaSecret: the writer also presents that Secret's `tls.crt` and `tls.key`, for members
   * that require client certificates (spec.tls.client.clientAuth).
   */
  clientCertificate?: boolean;
}

export interface FaultMark {
  label: string;
  /** When the writer opened the window (its clock; same host as the test's). */
  at: number;
  /** Closes the window and returns its figures. */
  end(): Promise<FaultWindow>;
}

export interface WriterHandle {
  pod: string;
  run: string;
  ip: string;
  progress(): Promise<Progress>;
  markFault(label: string): Promise<FaultMark>;
  /** Reads back every write acknowledged so far from each member while writing goes on. */
  verify(options?: { full?: boolean }): Promise<Verdict>;
  /** Stops writing, reads everything back, deletes the pod and its ConfigMap, and reports. */
  stop(): Promise<Report>;
  logs(): Promise<string>;
  /** Deletes the pod and ConfigMap without a report (clean-up after a failure). */
  remove(): Promise<void>;
}

const TUNNEL_KEY = "operator-tls-tunnel.ts";

/**
 * The writer's source files: everything under e2e/writer/ but tests (ConfigMap keys are flat),
 * and the operator's TLS tunnels, which main.ts imports.
 */
function writerSources(): Record<string, string> {
  const out: Record<string, string> = {
    [TUNNEL_KEY]: readFileSync(join(repoRoot, "operator/src/runtime/tls-tunnel.ts"), "utf8"),
  };
  for (const file of readdirSync(WRITER_DIR)) {
    if (!file.endsWith(".ts") || file.endsWith(".test.ts")) continue;
    out[file] = readFileSync(join(WRITER_DIR, file), "utf8");
  }
  return out;
}

interface PodJson {
  status?: { phase?: string; podIP?: string };
}

export async function startWriter(
  kubeconfig: string,
  namespace: string,
  clusterName: string,
  options: WriterOptions,
): Promise<WriterHandle> {
  const kubectl = (args: string[], input?: string): Promise<string> =>
    runKubectl(kubeconfig, args, input === undefined ? { timeoutMs: 60_000 } : { input, timeoutMs: 60_000 });
  const members = options.members ?? 3;
  const domain = options.clusterDomain ?? "cluster.local";
  const run = `${clusterName}-${Date.now().toString(36)}`;
  const pod = `zk-writer-${run}`;
  const host = (id: number): string =>
    `${clusterName}-${id - 1}.${clusterName}-headless.${namespace}.svc.${domain}`;
  const ids = Array.from({ length: members }, (_, i) => i + 1);
  const tls = options.tlsCaSecret;
  const port = tls ? PORTS.secureClient : PORTS.client;
  const env: Record<string, string> = {
    WRITER_RUN: run,
    ZK_CONNECT: `${clusterName}-client.${namespace}.svc.${domain}:${port}`,
    ZK_MEMBERS: ids.map((id) => `${id}=${host(id)}:${port}`).join(","),
    ZK_STATUS_URLS: ids.map((id) => `${id}=http://${host(id)}:8081/status`).join(","),
    HTTP_PORT: String(WRITER_HTTP_PORT),
  };
  if (options.rate !== undefined) env.WRITE_RATE = String(options.rate);
  if (options.sessionTimeoutMs !== undefined) env.SESSION_TIMEOUT_MS = String(options.sessionTimeoutMs);
  if (tls) env.ZK_TLS_CA = "/tls/ca.crt";
  const presents = tls !== undefined && options.clientCertificate === true;
  if (presents) Object.assign(env, { ZK_TLS_CERT: "/tls/tls.crt", ZK_TLS_KEY: "/tls/tls.key" });
  const tlsItems = ["ca.crt", ...(presents ? ["tls.crt", "tls.key"] : [])].map((key) => ({ key, path: key }));

  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: pod, namespace },
          data: writerSources(),
        },
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: pod, namespace, labels: { "app.kubernetes.io/name": "zk-writer" } },
          spec: {
            // The record lives in the process: a restart would lose it, so a crash is a failure.
            restartPolicy: "Never",
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: "writer",
                image: options.image,
                imagePullPolicy: "Never",
                // `node-zookeeper-client` resolves from /writer/node_modules, beside /writer/src.
                command: ["node", "/writer/src/main.ts"],
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
                ports: [{ name: "http", containerPort: WRITER_HTTP_PORT }],
                resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "512Mi" } },
                securityContext: { runAsUser: 0, runAsNonRoot: false },
                volumeMounts: [
                  { name: "source", mountPath: "/writer/src", readOnly: true },
                  { name: "node-modules", mountPath: "/writer/node_modules", readOnly: true },
                  // main.ts imports the operator's TLS tunnels as ../../operator/src/runtime/tls-tunnel.ts.
                  // Node resolves it from main.ts's real path, which a ConfigMap volume puts one
                  // folder deeper (/writer/src/..TIMESTAMP/main.ts), so ../../ is /writer.
                  { name: "tunnel", mountPath: "/writer/operator/src/runtime", readOnly: true },
                  ...(tls ? [{ name: "ca", mountPath: "/tls", readOnly: true }] : []),
                ],
              },
            ],
            volumes: [
              { name: "source", configMap: { name: pod } },
              {
                name: "tunnel",
                configMap: { name: pod, items: [{ key: TUNNEL_KEY, path: "tls-tunnel.ts" }] },
              },
              { name: "node-modules", hostPath: { path: join(repoRoot, "node_modules"), type: "Directory" } },
              ...(tls ? [{ name: "ca", secret: { secretName: tls, items: tlsItems } }] : []),
            ],
          },
        },
      ],
    }),
  );

  const logs = (): Promise<string> =>
    kubectl(["-n", namespace, "logs", pod, "--tail=200"]).catch((err: unknown) => (err as Error).message);
  const remove = async (): Promise<void> => {
    await kubectl(["-n", namespace, "delete", "pod,configmap", pod, "--ignore-not-found", "--wait=false"]);
  };

  try {
    const ip = await waitFor(
      `writer pod ${namespace}/${pod} running`,
      async () => {
        const p = JSON.parse(await kubectl(["-n", namespace, "get", "pod", pod, "-o", "json"])) as PodJson;
        if (p.status?.phase === "Failed" || p.status?.phase === "Succeeded")
          throw new Error(`writer pod ended (${p.status.phase}): ${await logs()}`);
        return p.status?.phase === "Running" && p.status.podIP ? p.status.podIP : false;
      },
      { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 500 },
    );
    const base = `http://${ip}:${WRITER_HTTP_PORT}`;
    const call = async <T>(method: "GET" | "POST", path: string, timeoutMs = 30_000): Promise<T> => {
      const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(timeoutMs) });
      const body = (await res.json()) as T & { error?: string };
      if (!res.ok) throw new Error(`writer ${method} ${path}: HTTP ${res.status}: ${body.error ?? ""}`);
      return body;
    };
    // Flowing: a second's worth of acknowledged writes, and every member's status seen.
    const rate = options.rate ?? 50;
    await waitFor(
      "the writer's writes to flow",
      async () => {
        const p = await call<Progress>("GET", "/progress", 5_000);
        return p.acknowledged >= rate && p.members.length === members && p.epoch?.leader != null;
      },
      { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 500 },
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\nwriter log:\n${await logs()}`);
    });
    return {
      pod,
      run,
      ip,
      progress: () => call<Progress>("GET", "/progress", 10_000),
      async markFault(label) {
        const { at } = await call<{ at: number }>("POST", `/faults/${encodeURIComponent(label)}/start`);
        return {
          label,
          at,
          end: () => call<FaultWindow>("POST", `/faults/${encodeURIComponent(label)}/end`),
        };
      },
      verify: (o = {}) => call<Verdict>("POST", `/verify${o.full === true ? "?full=1" : ""}`, 180_000),
      async stop() {
        const report = await call<Report>("POST", "/stop", 240_000);
        await remove();
        return report;
      },
      logs,
      remove,
    };
  } catch (err) {
    await remove().catch(() => undefined);
    throw err;
  }
}
