// NAME-client: what applications connect to; its type and annotations come from spec.service.
// With client TLS it offers only the secure client port: the plain one then listens on loopback
// inside each pod, for the sidecar's four-letter words (sidecar/src/tls.ts).
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import { PORTS } from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, childNames, selectorLabels } from "./labels.ts";

/** The port clients use, by name and number: `client-tls` 2281 with client TLS, else `client` 2181. */
export function clientPort(tlsClient: boolean): { name: string; port: number } {
  return tlsClient
    ? { name: "client-tls", port: PORTS.secureClient }
    : { name: "client", port: PORTS.client };
}

export function clientServicePort(tlsClient: boolean): V1ServicePort {
  const { name, port } = clientPort(tlsClient);
  return { name, port, targetPort: port, protocol: "TCP" };
}

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
      ports: [clientServicePort(spec.tls.client !== null)],
    },
  };
}

/** The connection string applications use: the client Service's DNS name and port. */
export function clientConnectionString(cluster: ZooKeeperCluster, clusterDomain = "cluster.local"): string {
  const name = cluster.metadata.name ?? "";
  const { port } = clientPort(cluster.spec?.tls?.client !== undefined);
  return `${childNames(name).client}.${cluster.metadata.namespace ?? ""}.svc.${clusterDomain}:${port}`;
}
