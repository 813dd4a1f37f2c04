// Names, labels and owner references of the children of a ZooKeeperCluster (DESIGN.md "Names").
import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, type ZooKeeperCluster } from "../api/types.ts";
import type { TlsChoice } from "../api/resolve.ts";

/** Labels every child carries, besides app.kubernetes.io/instance. */
export const LABELS = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

export const LABEL_VALUES = { name: "zookeeper", component: "server", managedBy: "zk-operator" } as const;

/** Pod template annotation holding the hash of the static configuration: a change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = `${GROUP}/config-hash`;

/**
 * A restart without a change: set on the ZooKeeperCluster (any new value, e.g. the time), it is
 * copied to the pod template, so the template's revision changes and every member is rolled,
 * exactly like `kubectl rollout restart` (docs/operations.md "Rolling restarts").
 */
export const RESTARTED_AT_ANNOTATION = `${GROUP}/restartedAt`;
/**
 * On the pod template: the fingerprint of the client certificate the members run with, set when a
 * renewed one needs a restart (reconcile/client-certificate.ts), so that the change rolls them.
 */
export const CLIENT_CERTIFICATE_ANNOTATION = `${GROUP}/client-certificate`;

/**
 * StatefulSet annotation: the server whose pod the StatefulSet grew for (a scale-up step), in the
 * same object as the size it grew to. A pod at that ordinal is the joiner's; a pod beyond the
 * committed members without it is left over from before (membership.ts). On the StatefulSet, not
 * its template: it restarts nothing.
 */
export const JOINING_ANNOTATION = `${GROUP}/joining`;

export interface ChildNames {
  statefulSet: string;
  headless: string;
  client: string;
  pdb: string;
  configMap: string;
  adminSecret: string;
  /** The operator's CA for this cluster (spec.tls.*.generated): its certificate and key. */
  caSecret: string;
  /** The members' certificate the operator's CA issued, in cert-manager's layout. */
  tlsSecret: string;
  podMonitor: string;
  networkPolicy: string;
}

export function childNames(clusterName: string): ChildNames {
  return {
    statefulSet: clusterName,
    headless: `${clusterName}-headless`,
    client: `${clusterName}-client`,
    pdb: clusterName,
    configMap: `${clusterName}-config`,
    adminSecret: `${clusterName}-admin`,
    caSecret: `${clusterName}-ca`,
    tlsSecret: `${clusterName}-tls`,
    podMonitor: clusterName,
    networkPolicy: clusterName,
  };
}

/** The labels that select the pods of one cluster (immutable in a StatefulSet: never change them). */
export function selectorLabels(clusterName: string): Record<string, string> {
  return {
    [LABELS.name]: LABEL_VALUES.name,
    [LABELS.instance]: clusterName,
    [LABELS.component]: LABEL_VALUES.component,
  };
}

/** The labels on every child object, including the pods. */
export function childLabels(clusterName: string): Record<string, string> {
  return { ...selectorLabels(clusterName), [LABELS.managedBy]: LABEL_VALUES.managedBy };
}

export function ownerReference(cluster: ZooKeeperCluster): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cluster.metadata.name ?? "",
    uid: cluster.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** metadata of a child: name, the cluster's namespace, our labels, and the controller owner reference. */
export function childMetadata(
  cluster: ZooKeeperCluster,
  name: string,
  extra: Partial<V1ObjectMeta> = {},
): V1ObjectMeta {
  return {
    name,
    namespace: cluster.metadata.namespace ?? "",
    ...extra,
    labels: { ...(extra.labels ?? {}), ...childLabels(cluster.metadata.name ?? "") },
    ownerReferences: [ownerReference(cluster)],
  };
}

/** The Secret the pods mount for one role's TLS: the user's, or NAME-tls that the operator's CA writes. */
export function tlsSecretName(clusterName: string, choice: TlsChoice): string {
  return "generated" in choice ? childNames(clusterName).tlsSecret : choice.secretName;
}
