// Benchmark: N ZooKeeperClusters applied at once on the rig's control plane.
//
//   node bench/operator-scale.ts [--clusters=100,1000] [--workers=16] [--with-statefulset-controller]
//                                [--node-flags="--max-semi-space-size=2 --optimize-for-size"]
//
// For each N it starts a fresh control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler on this machine), installs the CRD, starts `node operator/src/main.ts` as a child
// process, creates N clusters (64 requests in flight) and measures:
//   - time until every child of every cluster exists and every status is written
//     (status.observedGeneration = generation), from the first create;
//   - the operator's peak RSS (VmHWM of its process);
//   - API requests the operator sent per cluster (its own zk_operator_kube_requests_total);
//   - writes during a no-op resync after convergence (must be 0).
// By default the StatefulSet controller is off: the rig has no kubelet, and 3 Pending pods and 3
// PVCs per cluster would measure kube-controller-manager and the scheduler, not the operator
// (`--with-statefulset-controller` turns it on).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startControlPlane } from "../e2e/rig/kube-control-plane.ts";
import { repoRoot } from "../e2e/rig/paths.ts";
import { RigProcess, waitFor } from "../e2e/rig/processes.ts";
import { API_VERSION, KIND } from "../operator/src/api/types.ts";
import { CLUSTER_RESOURCE } from "../operator/src/api/types.ts";
import { RESOURCES, collectionPath, type ResourceType } from "../operator/src/api/objects.ts";
import { KubeClient, loadKubeConfig } from "../operator/src/runtime/kube.ts";
import { installCrd, kubectlFor, metricValue } from "../operator/test/kube/support.ts";

interface Args {
  clusters: number[];
  nodeFlags: string[];
  workers: number;
  withStatefulSetController: boolean;
}

function parseArgs(argv: string[]): Args {
  // As in Dockerfile.operator's NODE_OPTIONS.
  const args: Args = {
    clusters: [100, 1000],
    nodeFlags: ["--max-semi-space-size=2", "--optimize-for-size"],
    workers: 16,
    withStatefulSetController: false,
  };
  for (const a of argv) {
    const body = a.replace(/^--/, "");
    const eq = body.indexOf("=");
    const k = eq < 0 ? body : body.slice(0, eq);
    const v = eq < 0 ? "" : body.slice(eq + 1);
    if (k === "clusters") args.clusters = v.split(",").map(Number);
    else if (k === "workers") args.workers = Number(v);
    else if (k === "node-flags") args.nodeFlags = v.split(" ").filter(Boolean);
    else if (k === "with-statefulset-controller") args.withStatefulSetController = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

async function countList(client: KubeClient, type: ResourceType, namespace: string): Promise<number> {
  const r = await client.request<{ items: unknown[] }>(
    "GET",
    `${collectionPath(type, namespace)}?limit=5000`,
  );
  return r.items.length;
}

async function operatorMetrics(address: string): Promise<string> {
  return (await fetch(`http://${address}/metrics`)).text();
}

function writesOf(metrics: string): number {
  return ["POST", "PUT", "PATCH", "DELETE"].reduce(
    (n, verb) => n + metricValue(metrics, "zk_operator_kube_requests_total", { verb }),
    0,
  );
}

async function runOnce(n: number, args: Args): Promise<Record<string, number | string>> {
  const controllers = args.withStatefulSetController ? ["*"] : ["*", "-statefulset"];
  const plane = await startControlPlane({ controllers });
  try {
    const kubectl = kubectlFor(plane.kubeconfigPath);
    await installCrd(plane.kubeconfigPath);
    const namespace = "bench";
    await kubectl(["create", "namespace", namespace]);
    const client = new KubeClient(await loadKubeConfig(plane.kubeconfigPath), { fieldManager: "bench" });
    const address = `${plane.block.ip(2)}:8080`;
    const operator = new RigProcess(plane.block, {
      name: "zk-operator",
      command: process.execPath,
      args: [
        ...args.nodeFlags,
        join(repoRoot, "operator/src/main.ts"),
        `--kubeconfig=${plane.kubeconfigPath}`,
        "--leader-elect=false",
        `--workers=${args.workers}`,
        "--resync-period=0",
        "--log-level=warn",
        `--http-host=${plane.block.ip(2)}`,
        "--http-port=8080",
      ],
      cwd: repoRoot,
    });
    await waitFor("the operator to be ready", async () => (await fetch(`http://${address}/readyz`)).ok, {
      timeoutMs: 30_000,
    });
    const rssBefore = peakRssMiB(operator.pid);

    const started = performance.now();
    let next = 0;
    const createOne = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        await client.request("POST", collectionPath(CLUSTER_RESOURCE, namespace), {
          body: {
            apiVersion: API_VERSION,
            kind: KIND,
            metadata: { name: `zk-${String(i).padStart(4, "0")}`, namespace },
            spec: { replicas: 3 },
          },
        });
      }
    };
    await Promise.all(Array.from({ length: 64 }, createOne));
    const createdMs = performance.now() - started;

    // Polls the clusters only (every second, the cheapest list that answers): the StatefulSet is
    // applied before the status in each pass, and every child is counted once afterwards.
    await waitFor(
      `${n} clusters with a status`,
      async () => {
        const clusters = await client.request<{
          items: { metadata: { generation?: number }; status?: { observedGeneration?: number } }[];
        }>("GET", `${collectionPath(CLUSTER_RESOURCE, namespace)}?limit=5000`);
        const withStatus = clusters.items.filter(
          (c) =>
            c.status?.observedGeneration !== undefined &&
            c.status.observedGeneration === c.metadata.generation,
        ).length;
        return withStatus >= n;
      },
      { timeoutMs: 600_000, intervalMs: 1000 },
    );
    const convergedMs = performance.now() - started;
    // Every kind of child, counted once at the end.
    const counts = {
      configmaps: (await countList(client, RESOURCES.ConfigMap, namespace)) - 1, // kube-root-ca.crt
      secrets: await countList(client, RESOURCES.Secret, namespace),
      services: await countList(client, RESOURCES.Service, namespace),
      pdbs: await countList(client, RESOURCES.PodDisruptionBudget, namespace),
      statefulsets: await countList(client, RESOURCES.StatefulSet, namespace),
    };
    const expected = { configmaps: n, secrets: n, services: 2 * n, pdbs: n, statefulsets: n };
    for (const [k, v] of Object.entries(expected)) {
      if (counts[k as keyof typeof counts] < v)
        throw new Error(`${k}: ${counts[k as keyof typeof counts]} < ${v}`);
    }
    // Let the last watch events settle, then count.
    await new Promise((r) => setTimeout(r, 3000));
    const metricsAfter = await operatorMetrics(address);
    const requests = metricValue(metricsAfter, "zk_operator_kube_requests_total");
    const cpuSeconds = metricValue(metricsAfter, "process_cpu_seconds_total");
    const heapUsedMiB = metricValue(metricsAfter, "nodejs_heap_size_used_bytes") / 2 ** 20;
    const peakRss = peakRssMiB(operator.pid);

    // No-op resync: reconcile every cluster again and count writes.
    const writesBefore = writesOf(metricsAfter);
    const passesBefore = metricValue(metricsAfter, "zk_operator_reconcile_total");
    process.kill(operator.pid, "SIGUSR2");
    await waitFor(
      "a full resync",
      async () =>
        metricValue(await operatorMetrics(address), "zk_operator_reconcile_total") >= passesBefore + n,
      { timeoutMs: 300_000, intervalMs: 500 },
    );
    await new Promise((r) => setTimeout(r, 2000));
    const resyncWrites = writesOf(await operatorMetrics(address)) - writesBefore;
    await operator.stop();
    return {
      clusters: n,
      createSeconds: +(createdMs / 1000).toFixed(1),
      convergedSeconds: +(convergedMs / 1000).toFixed(1),
      peakRssMiB: +Math.max(peakRss, rssBefore).toFixed(0),
      rssAtStartMiB: +rssBefore.toFixed(0),
      heapUsedMiB: +heapUsedMiB.toFixed(0),
      operatorCpuSeconds: +cpuSeconds.toFixed(1),
      requestsPerCluster: +(requests / n).toFixed(1),
      noOpResyncWrites: resyncWrites,
      workers: args.workers,
      statefulSetController: args.withStatefulSetController ? "on" : "off",
    };
  } finally {
    await plane.stop();
  }
}

const args = parseArgs(process.argv.slice(2));
const results = [];
for (const n of args.clusters) {
  const r = await runOnce(n, args);
  process.stdout.write(JSON.stringify(r) + "\n");
  results.push(r);
}
console.table(results);
