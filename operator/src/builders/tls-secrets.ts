// NAME-ca and NAME-tls: the operator's CA for one cluster and the members' certificate it issued
// (spec.tls.*.generated, reconcile/operator-tls.ts). Like NAME-admin, the keys are made once by
// the caller and kept: the builders only render what they are given.
import type { V1Secret } from "@kubernetes/client-node";
import { TLS_SECRET_KEYS } from "../../../sidecar/src/contract.ts";
import type { TlsMaterial } from "../../../sidecar/src/contract.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import type { PemPair } from "../runtime/certificate-issuer.ts";
import { childMetadata, childNames } from "./labels.ts";

function base64(text: string): string {
  return Buffer.from(text).toString("base64");
}

function tlsSecret(cluster: ZooKeeperCluster, name: string, data: Record<string, string>): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: childMetadata(cluster, name),
    type: "kubernetes.io/tls",
    // `data`, not `stringData`: what we apply is what the API server stores, so a no-op resync compares equal.
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, base64(v)])),
  };
}

/** The CA's certificate and key. Only the operator reads it; no pod mounts it. */
export function buildCaSecret(cluster: ZooKeeperCluster, ca: PemPair): V1Secret {
  return tlsSecret(cluster, childNames(cluster.metadata.name ?? "").caSecret, {
    [TLS_SECRET_KEYS.cert]: ca.cert,
    [TLS_SECRET_KEYS.key]: ca.key,
  });
}

/** The members' certificate, its key and the CA's certificate: what the pods mount, and clients take ca.crt from. */
export function buildTlsSecret(cluster: ZooKeeperCluster, leaf: TlsMaterial): V1Secret {
  return tlsSecret(cluster, childNames(cluster.metadata.name ?? "").tlsSecret, {
    [TLS_SECRET_KEYS.cert]: leaf.cert,
    [TLS_SECRET_KEYS.key]: leaf.key,
    [TLS_SECRET_KEYS.ca]: leaf.ca,
  });
}
