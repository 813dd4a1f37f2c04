// NAME-headless: stable DNS names for the members. publishNotReadyAddresses is not negotiable:
// quorum-aware readiness would otherwise hide the peers a server needs to form the quorum.
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import { PORTS } from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { clientServicePort } from "./client-service.ts";
import { childMetadata, childNames, selectorLabels } from "./labels.ts";

export function buildHeadlessService(cluster: ZooKeeperCluster, spec: ResolvedSpec): V1Service {
  const name = cluster.metadata.name ?? "";
  const ports: V1ServicePort[] = [
    clientServicePort(spec.tls.client !== null),
    { name: "quorum", port: PORTS.quorum, targetPort: PORTS.quorum, protocol: "TCP" },
    { name: "election", port: PORTS.election, targetPort: PORTS.election, protocol: "TCP" },
  ];
  // Metrics are scraped per pod, through this Service's endpoints.
  if (spec.metrics.enabled) {
    ports.push({ name: "metrics", port: spec.metrics.port, targetPort: spec.metrics.port, protocol: "TCP" });
  }
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(cluster, childNames(name).headless),
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(name),
      ports,
    },
  };
}
