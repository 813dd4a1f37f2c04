// NAME ServiceMonitor (Prometheus Operator): scrapes every server's metrics port through the
// headless Service's endpoints (only that Service has a port named `metrics`).
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, selectorLabels } from "./labels.ts";

export const SERVICE_MONITOR_API_VERSION = "monitoring.coreos.com/v1";

export interface ServiceMonitor extends KubernetesObject {
  apiVersion: typeof SERVICE_MONITOR_API_VERSION;
  kind: "ServiceMonitor";
  metadata: V1ObjectMeta;
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector: { matchNames: string[] };
    endpoints: { port: string; path: string; interval: string }[];
  };
}

export function buildServiceMonitor(cluster: ZooKeeperCluster, spec: ResolvedSpec): ServiceMonitor {
  const name = cluster.metadata.name ?? "";
  return {
    apiVersion: SERVICE_MONITOR_API_VERSION,
    kind: "ServiceMonitor",
    metadata: childMetadata(cluster, name, { labels: { ...spec.metrics.serviceMonitor.labels } }),
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      namespaceSelector: { matchNames: [cluster.metadata.namespace ?? ""] },
      endpoints: [{ port: "metrics", path: "/metrics", interval: spec.metrics.serviceMonitor.interval }],
    },
  };
}
