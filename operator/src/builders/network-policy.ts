// NAME NetworkPolicy (spec.networkPolicy.enabled): who may reach the members, by port. The quorum
// and election ports take only the members themselves, so no other pod can join, vote or stream
// the transaction log; the client port takes spec.networkPolicy.clients (default: the cluster's
// namespace); the metrics ports take spec.networkPolicy.metrics (default: anyone, they hold no
// secret); the operator's namespace reaches the client port (its reconfiguration session) and the
// sidecar (/status). It only means something where the network plugin enforces NetworkPolicies.
import type { KubernetesObject, V1LabelSelector, V1NetworkPolicyPort } from "@kubernetes/client-node";
import { PORTS } from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { clientPort } from "./client-service.ts";
import { childMetadata, childNames, selectorLabels } from "./labels.ts";

/** networking/v1 NetworkPolicyPeer as JSON (client-node's V1NetworkPolicyPeer is fine, its rule type names `from` `_from`). */
interface Peer {
  namespaceSelector?: V1LabelSelector;
  podSelector?: V1LabelSelector;
}

/** networking/v1 NetworkPolicy as the API server takes it (JSON field names). */
export interface NetworkPolicyJson extends KubernetesObject {
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: string[];
    ingress: { from: Peer[]; ports?: V1NetworkPolicyPort[] }[];
  };
}

/** The label every namespace carries with its own name (Kubernetes sets it). */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

const tcp = (port: number): V1NetworkPolicyPort => ({ protocol: "TCP", port });

export function buildNetworkPolicy(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  /** The operator's own namespace; null when it runs outside the cluster (its traffic then comes from a node). */
  operatorNamespace: string | null,
): NetworkPolicyJson {
  const name = cluster.metadata.name ?? "";
  const members: Peer = { podSelector: { matchLabels: selectorLabels(name) } };
  const client = tcp(clientPort(spec.tls.client !== null).port);
  const sidecar = tcp(PORTS.sidecarHttp);
  const clients: Peer[] =
    spec.networkPolicy.clients.length > 0 ? spec.networkPolicy.clients : [{ podSelector: {} }];
  const scrapers: Peer[] =
    spec.networkPolicy.metrics.length > 0 ? spec.networkPolicy.metrics : [{ namespaceSelector: {} }];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: childMetadata(cluster, childNames(name).networkPolicy),
    spec: {
      podSelector: { matchLabels: selectorLabels(name) },
      policyTypes: ["Ingress"],
      ingress: [
        // Every port between the members: quorum, election, and the client port a joiner syncs through.
        { from: [members] },
        { from: clients, ports: [client] },
        ...(operatorNamespace === null
          ? []
          : [
              {
                from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: operatorNamespace } } }],
                ports: [client, sidecar],
              },
            ]),
        ...(spec.metrics.enabled ? [{ from: scrapers, ports: [tcp(spec.metrics.port), sidecar] }] : []),
      ],
    },
  };
}
