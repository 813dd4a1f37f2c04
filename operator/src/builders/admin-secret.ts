// NAME-admin: the super user's password and its digest. The password is generated once (by the
// caller, see generateAdminPassword) and kept: the builder only renders what it is given.
import { createHash, randomBytes } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { ADMIN_SECRET_KEYS } from "../../../sidecar/src/contract.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { childMetadata, childNames } from "./labels.ts";

/** ZooKeeper's DigestAuthenticationProvider form: `super:` + base64(sha1("super:" + password)). */
export function computeSuperDigest(password: string): string {
  return `super:${createHash("sha1").update(`super:${password}`).digest("base64")}`;
}

/** A new random password (32 URL-safe characters); only for a cluster whose Secret does not exist yet. */
export function generateAdminPassword(): string {
  return randomBytes(24).toString("base64url");
}

export function buildAdminSecret(cluster: ZooKeeperCluster, password: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: childMetadata(cluster, childNames(cluster.metadata.name ?? "").adminSecret),
    type: "Opaque",
    // `data`, not `stringData`: what we apply is what the API server stores, so a no-op resync compares equal.
    data: {
      [ADMIN_SECRET_KEYS.password]: Buffer.from(password).toString("base64"),
      [ADMIN_SECRET_KEYS.superDigest]: Buffer.from(computeSuperDigest(password)).toString("base64"),
    },
  };
}
