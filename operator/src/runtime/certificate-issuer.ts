// The operator's own certificate authority, one per cluster (spec.tls.*.generated): makes the CA
// and issues the members' certificate. Impure (new keys, random serial numbers, the clock's
// "now" comes from the caller); what to issue and when is decided in reconcile/operator-tls.ts.
//
// Node can parse and verify X.509 but not create it, so the certificate is built and signed with
// node-forge; the keys are Node's own (RSA 2048, generated off the event loop). RSA because it is
// cert-manager's default and what every ZooKeeper client's TLS stack takes without a second thought.
import { generateKeyPair, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import forge from "node-forge";
import type { TlsMaterial } from "../../../sidecar/src/contract.ts";

const generateRsa = promisify(generateKeyPair);

/** A certificate and its private key, PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

/** The issuer as the reconcile pass takes it (ReconcileDeps.certificates): this module's two functions. */
export interface CertificateIssuer {
  createCertificateAuthority(commonName: string, notBefore: Date, notAfter: Date): Promise<PemPair>;
  issueLeafCertificate(ca: PemPair, request: LeafRequest): Promise<TlsMaterial>;
}

/** What the members' certificate is issued for. */
export interface LeafRequest {
  commonName: string;
  /** DNS names (subjectAltName), wildcards allowed. */
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
}

async function newKeyPair(): Promise<{
  pem: string;
  forgePrivate: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.PublicKey;
}> {
  const { privateKey, publicKey } = await generateRsa("rsa", { modulusLength: 2048 });
  return {
    pem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: "pkcs1", format: "pem" }).toString()),
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString()),
  };
}

/** A random positive 128-bit serial number, as RFC 5280 asks (unique per CA, at most 20 octets). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString("hex");
}

/** A self-signed CA that may sign leaf certificates only (path length 0). */
export async function createCertificateAuthority(
  commonName: string,
  notBefore: Date,
  notAfter: Date,
): Promise<PemPair> {
  const keys = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [{ name: "commonName", value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.forgePrivate, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/**
 * A certificate for the members, signed by `ca`, laid out as a TLS Secret (TLS_SECRET_KEYS): usable
 * as a TLS server (the client port) and both ways between the servers (quorum and election).
 */
export async function issueLeafCertificate(ca: PemPair, request: LeafRequest): Promise<TlsMaterial> {
  const keys = await newKeyPair();
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = request.notBefore;
  cert.validity.notAfter = request.notAfter;
  cert.setSubject([{ name: "commonName", value: request.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true, clientAuth: true },
    // type 2: dNSName
    { name: "subjectAltName", altNames: request.dnsNames.map((value) => ({ type: 2, value })) },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem, ca: ca.cert };
}
