// NAME-client: what applications connect to; its type and annotations come from spec.service.
import type { V1Service } from "@kubernetes/client-node";
import { PORTS } from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, childNames, selectorLabels } from "./labels.ts";

export function buildClientService(cluster: ZooKeeperCluster, spec: ResolvedSpec): V1Service {
  const name = cluster.metadata.name ?? "";
  const annotations = spec.service.annotations;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMetadata(
      cluster,
      childNames(name).client,
      Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {},
    ),
    spec: {
      type: spec.service.type,
      selector: selectorLabels(name),
      ports: [{ name: "client", port: PORTS.client, targetPort: PORTS.client, protocol: "TCP" }],
    },
  };
}

/** The connection string applications use: the client Service's DNS name and port. */
export function clientConnectionString(cluster: ZooKeeperCluster, clusterDomain = "cluster.local"): string {
  const name = cluster.metadata.name ?? "";
  return `${childNames(name).client}.${cluster.metadata.namespace ?? ""}.svc.${clusterDomain}:${PORTS.client}`;
}
