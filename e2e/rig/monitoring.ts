// A real Prometheus Operator and Prometheus on the rig's cluster, as platform teams run them:
// the operator (built pinned from the Go module proxy by build-node-tools.sh) with the RBAC and
// Deployment of that module's own example/, its CRDs from the same sources, and a Prometheus
// resource that selects every ServiceMonitor, PodMonitor and PrometheusRule. Prometheus itself is
// built pinned from the Go module proxy too: Debian's prometheus has no Kubernetes service
// discovery, which every configuration the Prometheus Operator writes relies on. All three run
// from images built here. Nothing stands in for the Prometheus Operator: the scrape configuration
// Prometheus runs is the one it generates from our objects.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { dump } from "js-yaml";
import { buildImage, importImage, type BuiltImage } from "./node/images.ts";
import { nodeContainerdAddress } from "./node/node.ts";
import { nodeTool } from "./node/tools.ts";
import { pinnedVersions, prometheusOperatorCrdsDir } from "./paths.ts";
import { waitFor } from "./processes.ts";

const run = promisify(execFile);

export const MONITORING_NAMESPACE = "default";
export const PROMETHEUS_NAME = "rig";

type Kubectl = (args: string[], options?: { input?: string; timeoutMs?: number }) => Promise<string>;

export interface Monitoring {
  /** Prometheus's HTTP API, reached at its pod's IP from this machine. */
  url: string;
  /** An instant query; the result vector. */
  query(expr: string): Promise<PromSample[]>;
  /** A range query over the last `seconds`; one series per result. */
  queryRange(expr: string, seconds: number, stepSeconds: number): Promise<PromSeries[]>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}
export interface PromSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

async function monitoringImages(): Promise<Record<"prometheus" | "operator" | "reloader", BuiltImage>> {
  const [prometheus, operator, reloader] = await Promise.all([
    buildImage({
      name: "zk-rig/prometheus",
      files: [{ path: "/bin/prometheus", source: nodeTool("prometheus") }],
      dirs: ["/prometheus", "/etc/prometheus", "/tmp"],
      entrypoint: ["/bin/prometheus"],
      user: "65534:65534",
    }),
    buildImage({
      name: "zk-rig/prometheus-operator",
      files: [{ path: "/bin/operator", source: nodeTool("prometheus-operator") }],
      entrypoint: ["/bin/operator"],
      user: "65534:65534",
    }),
    buildImage({
      name: "zk-rig/prometheus-config-reloader",
      files: [{ path: "/bin/prometheus-config-reloader", source: nodeTool("prometheus-config-reloader") }],
      entrypoint: ["/bin/prometheus-config-reloader"],
      user: "65534:65534",
    }),
  ]);
  return { prometheus, operator, reloader };
}

/** The module's example/ manifests (RBAC and the operator's Deployment), from the Go module cache. */
async function exampleManifests(reloaderRef: string, operatorRef: string): Promise<string> {
  const version = pinnedVersions().PROMETHEUS_OPERATOR_VERSION ?? "";
  const { stdout } = await run("go", ["env", "GOMODCACHE"]);
  const example = join(
    stdout.trim(),
    `github.com/prometheus-operator/prometheus-operator@${version}`,
    "example/rbac",
  );
  const files = [
    "prometheus-operator/prometheus-operator-service-account.yaml",
    "prometheus-operator/prometheus-operator-cluster-role.yaml",
    "prometheus-operator/prometheus-operator-cluster-role-binding.yaml",
    "prometheus-operator/prometheus-operator-deployment.yaml",
    "prometheus/prometheus-service-account.yaml",
    "prometheus/prometheus-cluster-role.yaml",
    "prometheus/prometheus-cluster-role-binding.yaml",
  ];
  // Only the image references change: our images are built here, never pulled.
  return files
    .map((f) =>
      readFileSync(join(example, f), "utf8")
        .replace(/quay\.io\/prometheus-operator\/prometheus-config-reloader:\S+/g, reloaderRef)
        .replace(/quay\.io\/prometheus-operator\/prometheus-operator:\S+/g, operatorRef),
    )
    .join("\n---\n");
}

/**
 * The Prometheus (every monitor and rule in every namespace, a 5 s scrape so a test sees rates
 * within a minute) and the kubelet's own, volume and container metrics: the Prometheus Operator keeps
 * the kube-system/kubelet Endpoints (--kubelet-service), this ServiceMonitor scrapes them.
 */
function prometheusObjects(image: string): string {
  const selectAll = {
    podMonitorSelector: {},
    podMonitorNamespaceSelector: {},
    serviceMonitorSelector: {},
    serviceMonitorNamespaceSelector: {},
    ruleSelector: {},
    ruleNamespaceSelector: {},
  };
  const kubeletEndpoint = (path: string) => ({
    port: "https-metrics",
    scheme: "https",
    path,
    interval: "5s",
    honorLabels: true,
    tlsConfig: { insecureSkipVerify: true },
    bearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
  });
  return [
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "Prometheus",
      metadata: { name: PROMETHEUS_NAME, namespace: MONITORING_NAMESPACE },
      spec: {
        image,
        // The Prometheus Operator writes a configuration for this version.
        version: pinnedVersions().PROMETHEUS_VERSION ?? "",
        serviceAccountName: "prometheus",
        replicas: 1,
        scrapeInterval: "5s",
        evaluationInterval: "5s",
        resources: { requests: { memory: "200Mi" } },
        ...selectAll,
      },
    },
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "kubelet", namespace: "kube-system" },
      spec: {
        selector: { matchLabels: { "app.kubernetes.io/name": "kubelet" } },
        namespaceSelector: { matchNames: ["kube-system"] },
        // /metrics/resource: the containers' CPU and memory from the CRI, as metrics-server reads
        // them (the rig's cgroup v1 node gives cAdvisor no per-container series).
        endpoints: [kubeletEndpoint("/metrics"), kubeletEndpoint("/metrics/resource")],
      },
    },
  ]
    .map((o) => dump(o))
    .join("---\n");
}

/** Installs the Prometheus Operator and a Prometheus; resolves when Prometheus answers. */
export async function installMonitoring(
  kubectl: Kubectl,
  log: (m: string) => void = () => {},
): Promise<Monitoring> {
  const address = nodeContainerdAddress();
  if (address === null) throw new Error("the rig's node is not running");
  const images = await monitoringImages();
  for (const image of Object.values(images)) await importImage(address, image);

  const crds = prometheusOperatorCrdsDir();
  for (const f of readdirSync(crds)
    .filter((n) => n.endsWith(".yaml"))
    .sort()) {
    await kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(crds, f)]);
  }
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], {
    input: await exampleManifests(images.reloader.ref, images.operator.ref),
  });
  await kubectl([
    "rollout",
    "status",
    "deployment/prometheus-operator",
    "-n",
    MONITORING_NAMESPACE,
    "--timeout=120s",
  ]);
  log("prometheus-operator running");
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], {
    input: prometheusObjects(images.prometheus.ref),
  });
  const pod = `prometheus-${PROMETHEUS_NAME}-0`;
  await waitFor(
    `pod ${pod}`,
    async () => {
      const out = await kubectl([
        "get",
        "pod",
        pod,
        "-n",
        MONITORING_NAMESPACE,
        "--ignore-not-found",
        "-o",
        "name",
      ]);
      return out.trim() !== "" || undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  await kubectl([
    "wait",
    "--for=condition=Ready",
    `pod/${pod}`,
    "-n",
    MONITORING_NAMESPACE,
    "--timeout=180s",
  ]);
  const ip = (
    await kubectl(["get", "pod", pod, "-n", MONITORING_NAMESPACE, "-o", "jsonpath={.status.podIP}"])
  ).trim();
  const url = `http://${ip}:9090`;
  log(`prometheus ready at ${url}`);
  return prometheusClient(url);
}

/** The Prometheus Operator's CRDs by name (`monitoring.coreos.com_podmonitors.yaml` → `podmonitors.monitoring.coreos.com`). */
function monitoringCrdNames(): string[] {
  return readdirSync(prometheusOperatorCrdsDir())
    .filter((n) => n.endsWith(".yaml"))
    .map((n) => {
      const [group, plural] = n.replace(/\.yaml$/, "").split("_");
      return `${plural ?? ""}.${group ?? ""}`;
    });
}

/**
 * Removes what installMonitoring made: Prometheus, the Prometheus Operator, and its CRDs (and with
 * them every monitor and rule), so that the cluster serves no monitoring API again.
 */
export async function uninstallMonitoring(kubectl: Kubectl): Promise<void> {
  await kubectl(["-n", MONITORING_NAMESPACE, "delete", "prometheus", PROMETHEUS_NAME, "--ignore-not-found"]);
  await kubectl([
    "-n",
    MONITORING_NAMESPACE,
    "delete",
    "deployment",
    "prometheus-operator",
    "--ignore-not-found",
  ]);
  await kubectl(["delete", "crd", ...monitoringCrdNames(), "--ignore-not-found", "--wait=false"]);
}

export function prometheusClient(url: string): Monitoring {
  const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
    const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`, {
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success")
      throw new Error(`${path} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) => (await api<{ result: PromSample[] }>("/api/v1/query", { query: expr })).result,
    queryRange: async (expr, seconds, step) => {
      const end = Date.now() / 1000;
      const data = await api<{ result: PromSeries[] }>("/api/v1/query_range", {
        query: expr,
        start: String(end - seconds),
        end: String(end),
        step: String(step),
      });
      return data.result;
    },
  };
}

/** The targets Prometheus scrapes, by scrape pool, with their health. */
export async function activeTargets(
  url: string,
): Promise<{ scrapePool: string; health: string; labels: Record<string, string>; lastError: string }[]> {
  const res = await fetch(`${url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(15_000) });
  const body = (await res.json()) as {
    data: {
      activeTargets: {
        scrapePool: string;
        health: string;
        labels: Record<string, string>;
        lastError: string;
      }[];
    };
  };
  return body.data.activeTargets;
}
