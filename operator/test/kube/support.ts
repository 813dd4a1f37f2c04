// Shared helpers of the operator's kube-tier tests: the CRD installed as a user would, the
// operator started in this process (or as a child process by the tests about processes), and
// the API server's own request counters for "writes nothing" assertions.
import { join } from "node:path";
import { pino } from "pino";
import { runKubectl } from "../../../e2e/rig/kube-control-plane.ts";
import { repoRoot } from "../../../e2e/rig/paths.ts";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { CRD_FILE, CRD_NAME } from "../../src/generators/crd.ts";
import type { OperatorConfig } from "../../src/config.ts";
import { startOperator, type RunningOperator } from "../../src/main.ts";
import { collectionPath, objectPath, type KubeObject, type ResourceType } from "../../src/api/objects.ts";
import { API_VERSION, CLUSTER_RESOURCE, KIND, type ZooKeeperCluster } from "../../src/api/types.ts";
import { KubeClient, isNotFound, loadKubeConfig } from "../../src/runtime/kube.ts";

export function kubectlFor(kubeconfig: string) {
  return (args: string[], input?: string): Promise<string> =>
    runKubectl(kubeconfig, args, input === undefined ? {} : { input });
}

export async function installCrd(kubeconfig: string): Promise<void> {
  const kubectl = kubectlFor(kubeconfig);
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, CRD_FILE)]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
}

/** An admin client for the test's own reads and writes (its field manager is not the operator's). */
export async function adminClient(kubeconfig: string): Promise<KubeClient> {
  return new KubeClient(await loadKubeConfig(kubeconfig), { fieldManager: "kube-test" });
}

export function testConfig(kubeconfig: string, overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return {
    kubeconfig,
    namespaces: [],
    httpHost: "127.0.0.1",
    httpPort: 0,
    workers: 2,
    resyncPeriodMs: 0,
    maxConcurrentRolls: 1,
    memberReadyTimeoutMs: 10 * 60_000,
    clusterDomain: "cluster.local",
    // What a cluster's NetworkPolicy admits as the operator's namespace (the operator runs in this process).
    operatorNamespace: "zk-operator",
    sidecarImage: null,
    logLevel: "warn",
    leaderElection: {
      enabled: false,
      namespace: "default",
      name: "zk-operator",
      identity: "in-process",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    },
    ...overrides,
  };
}

export async function startInProcess(config: OperatorConfig): Promise<RunningOperator> {
  const logger = pino({ level: config.logLevel });
  return startOperator(config, {
    logger,
    onFatal: (reason) => {
      throw new Error(`operator stopped: ${reason}`);
    },
  });
}

/** GET an object, or null when it does not exist. */
export async function getObject<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  namespace: string,
  name: string,
): Promise<T | null> {
  try {
    return await client.request<T>("GET", objectPath(type, namespace, name));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Write requests the API server counted (apiserver_request_total) for the given resources,
 * summed over POST, PUT, PATCH and DELETE.
 */
export async function apiServerWrites(
  client: KubeClient,
  resources: string[],
): Promise<Record<string, number>> {
  const text = await client.getText("/metrics");
  const out: Record<string, number> = Object.fromEntries(resources.map((r) => [r, 0]));
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = new Map<string, string>();
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels.set(m[1] ?? "", m[2] ?? "");
    const verb = labels.get("verb") ?? "";
    const resource = labels.get("resource") ?? "";
    if (!["POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE"].includes(verb)) continue;
    if (!(resource in out)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    out[resource] = (out[resource] ?? 0) + value;
  }
  return out;
}

/** Waits until the operator's queue has been idle for `quietMs` (no key queued, running or delayed). */
export async function waitQuiet(op: RunningOperator, quietMs = 1500, timeoutMs = 60_000): Promise<void> {
  let quietSince = Date.now();
  await waitFor(
    "the operator to go quiet",
    () => {
      const q = op.controller.queue;
      if (q.depth > 0 || q.running > 0 || q.delayed > 0) quietSince = Date.now();
      return Date.now() - quietSince >= quietMs;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Reads one Prometheus sample from the text format (sum over matching label sets). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** Creating, patching and reading ZooKeeperClusters of one namespace, as a user would. */
export function clustersIn(admin: KubeClient, namespace: string) {
  return {
    create: (name: string, spec: object): Promise<ZooKeeperCluster> =>
      admin.request<ZooKeeperCluster>("POST", collectionPath(CLUSTER_RESOURCE, namespace), {
        body: { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec },
      }),
    /** A JSON merge patch, as `kubectl patch --type=merge` sends it. */
    patch: (name: string, patch: object): Promise<ZooKeeperCluster> =>
      admin.request<ZooKeeperCluster>("PATCH", objectPath(CLUSTER_RESOURCE, namespace, name), {
        body: patch,
        contentType: "application/merge-patch+json",
      }),
    get: (name: string): Promise<ZooKeeperCluster | null> =>
      getObject<ZooKeeperCluster & KubeObject>(admin, CLUSTER_RESOURCE, namespace, name),
  };
}

/** One condition of a cluster's status, by type. */
export function conditionOf(c: ZooKeeperCluster | null, type: string) {
  return c?.status?.conditions?.find((x) => x.type === type);
}
