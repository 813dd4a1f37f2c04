// NAME PodMonitor (monitoring.coreos.com/v1): tells a Prometheus run by the Prometheus Operator to
// scrape every member's sidecar, and ZooKeeper's own metrics endpoint when spec.metrics.enabled.
// Only built when the cluster serves PodMonitors (children.ts, optional kinds). Every series gets
// the labels the alerts and the dashboard select by (docs/monitoring.md "Series and labels"):
// `namespace` and `pod` from the Prometheus Operator, and `cluster`, the ZooKeeperCluster's name.
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import type { KubernetesObject } from "@kubernetes/client-node";
import { RESOURCES } from "../api/objects.ts";
import { childMetadata, childNames, LABELS, selectorLabels } from "./labels.ts";
import { SIDECAR_PORT_NAME, METRICS_PORT_NAME } from "./statefulset.ts";

/** The target label every series of one ensemble carries: the ZooKeeperCluster's name. */
export const CLUSTER_TARGET_LABEL = "cluster";

export function buildPodMonitor(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
): KubernetesObject & { spec: Record<string, unknown> } {
  const name = cluster.metadata.name ?? "";
  const { interval, labels } = spec.metrics.podMonitor;
  const endpoint = (port: string): Record<string, unknown> => ({
    port,
    path: "/metrics",
    interval,
    relabelings: [
      {
        // Pod label → `cluster`; __meta_… names spell the label with every non-alphanumeric as "_".
        sourceLabels: [`__meta_kubernetes_pod_label_${LABELS.instance.replace(/[^A-Za-z0-9]/g, "_")}`],
        targetLabel: CLUSTER_TARGET_LABEL,
      },
    ],
  });
  return {
    apiVersion: RESOURCES.PodMonitor.apiVersion,
    kind: RESOURCES.PodMonitor.kind,
    metadata: childMetadata(cluster, childNames(name).podMonitor, { labels }),
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      podMetricsEndpoints: [
        endpoint(SIDECAR_PORT_NAME),
        ...(spec.metrics.enabled ? [endpoint(METRICS_PORT_NAME)] : []),
      ],
    },
  };
}
