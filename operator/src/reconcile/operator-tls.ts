// When the operator's own CA (spec.tls.*.generated) makes a CA or issues the members' certificate.
// Pure: the Secrets' contents and the time in, a decision out; runtime/certificate-issuer.ts does
// the issuing.
//
// One CA per cluster (NAME-ca) signs one certificate for every member (NAME-tls, cert-manager's
// layout), valid for the members' stable names by wildcard and for the client Service's names,
// so that a membership change needs no new certificate. It is renewed when a third of its
// lifetime is left (cert-manager's default), 30 of 90 days: the sidecars reload it into the quorum
// stores, and the client port's renewal rolls the members, leader last (client-certificate.ts).
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { TlsMaterial } from "../../../sidecar/src/contract.ts";
import type { PemPair } from "../runtime/certificate-issuer.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export const OPERATOR_TLS_VALIDITY = {
  /** The CA's lifetime: replacing it changes what every member trusts (docs/security.md). */
  caMs: 10 * 365 * DAY_MS,
  leafMs: 90 * DAY_MS,
  /** Renew the members' certificate when less than this is left. */
  renewLeafBeforeMs: 30 * DAY_MS,
  /** Backdating, so that a node whose clock is a little behind accepts a fresh certificate. */
  backdateMs: 60 * 60 * 1000,
} as const;

/** The operator's CA and members' certificate as their Secrets hold them; null where a Secret is missing. */
export interface OperatorTlsObservation {
  ca: PemPair | null;
  leaf: TlsMaterial | null;
}

/** The names the members' certificate is valid for. */
export interface LeafNames {
  commonName: string;
  dnsNames: string[];
}

export type OperatorTlsDecision = {
  /** `create`: a new CA, and so a new certificate; the reason is for the Event. */
  ca: "keep" | { create: string };
  leaf: "keep" | { issue: string };
};

/**
 * Every name a client or a peer may reach a member by: each member under the headless Service
 * (quorum TLS verifies these both ways, after a reverse lookup of the peer's address), and the
 * client Service in each form a Kubernetes client may use.
 */
export function leafNames(cluster: string, namespace: string, clusterDomain: string): LeafNames {
  const headless = `${cluster}-headless.${namespace}.svc`;
  const client = `${cluster}-client`;
  return {
    commonName: `${client}.${namespace}.svc`,
    dnsNames: [
      `*.${headless}.${clusterDomain}`,
      `*.${headless}`,
      client,
      `${client}.${namespace}`,
      `${client}.${namespace}.svc`,
      `${client}.${namespace}.svc.${clusterDomain}`,
    ],
  };
}

/** The CA's subject: says whose CA it is, for someone who finds it in a trust store. */
export function caCommonName(cluster: string, namespace: string): string {
  return `${cluster}.${namespace} ZooKeeper CA`;
}

function parse(pem: string): X509Certificate | null {
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** The DNS names of a certificate's subjectAltName, sorted. */
export function certificateDnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? "")
    .split(", ")
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => n.slice(4))
    .sort();
}

/** Why the CA cannot stay, or null when it can. */
function caProblem(ca: PemPair | null, now: Date): string | null {
  if (ca === null) return "no CA yet";
  const cert = parse(ca.cert);
  if (cert === null || !cert.ca) return "the CA Secret holds no CA certificate";
  if (!keyMatches(cert, ca.key)) return "the CA Secret's key is not its certificate's";
  // The CA must outlive every certificate it signs.
  if (new Date(cert.validTo).getTime() - now.getTime() < OPERATOR_TLS_VALIDITY.leafMs) {
    return `the CA expires at ${new Date(cert.validTo).toISOString()}`;
  }
  return null;
}

/** Why the members' certificate must be issued again, or null when it can stay. */
function leafProblem(leaf: TlsMaterial | null, ca: PemPair, names: LeafNames, now: Date): string | null {
  if (leaf === null) return "no certificate yet";
  const cert = parse(leaf.cert);
  const caCert = parse(ca.cert);
  if (cert === null || caCert === null) return "the certificate does not parse";
  if (!keyMatches(cert, leaf.key)) return "the key is not the certificate's";
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return "the CA did not sign it";
  if (leaf.ca.trim() !== ca.cert.trim()) return "its ca.crt is not the CA's certificate";
  const wanted = [...names.dnsNames].sort();
  if (certificateDnsNames(cert).join(",") !== wanted.join(",")) return "the members' names changed";
  const left = new Date(cert.validTo).getTime() - now.getTime();
  if (left < OPERATOR_TLS_VALIDITY.renewLeafBeforeMs) {
    return `renewal: it expires at ${new Date(cert.validTo).toISOString()}`;
  }
  return null;
}

/**
 * Keep what is valid; make what is missing, broken or due. A new CA always brings a new
 * certificate, since the old one is not its.
 */
export function decideOperatorTls(
  observed: OperatorTlsObservation,
  names: LeafNames,
  now: Date,
): OperatorTlsDecision {
  const caWhy = caProblem(observed.ca, now);
  if (caWhy !== null || observed.ca === null) {
    return { ca: { create: caWhy ?? "no CA yet" }, leaf: { issue: "a new CA" } };
  }
  const leafWhy = leafProblem(observed.leaf, observed.ca, names, now);
  return { ca: "keep", leaf: leafWhy === null ? "keep" : { issue: leafWhy } };
}
