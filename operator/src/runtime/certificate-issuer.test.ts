import { createPrivateKey, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { TlsMaterial } from "../../../sidecar/src/contract.ts";
import {
  certificateDnsNames,
  decideOperatorTls,
  leafNames,
  OPERATOR_TLS_VALIDITY,
} from "../reconcile/operator-tls.ts";
import { createCertificateAuthority, issueLeafCertificate, type PemPair } from "./certificate-issuer.ts";

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date("2026-12-01T00:00:00Z");
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY);
const NAMES = leafNames("zk", "kafka", "cluster.local");
const MEMBER = "zk-2.zk-headless.kafka.svc.cluster.local";

let ca: PemPair;
let otherCa: PemPair;
let leaf: TlsMaterial;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([
    createCertificateAuthority("zk.kafka ZooKeeper CA", at(-1), at(3650)),
    createCertificateAuthority("other CA", at(-1), at(3650)),
  ]);
  leaf = await issueLeafCertificate(ca, { ...NAMES, notBefore: at(-1), notAfter: at(90) });
});

describe("the issued certificate", () => {
  it("serves both roles for any member, now and after a scale-up: wildcards under the headless Service", () => {
    const cert = new X509Certificate(leaf.cert);
    expect(cert.subject).toBe("CN=zk-client.kafka.svc");
    expect(cert.issuer).toBe("CN=zk.kafka ZooKeeper CA");
    // serverAuth and clientAuth: quorum peers are TLS clients of each other too.
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(cert.checkHost(MEMBER)).toBeDefined();
    expect(cert.checkHost("zk-41.zk-headless.kafka.svc.cluster.local")).toBeDefined();
    expect(cert.checkHost("zk-0.other-headless.kafka.svc.cluster.local")).toBeUndefined();
    expect(cert.checkPrivateKey(createPrivateKey(leaf.key))).toBe(true);
    // A PKCS#8 key, the one form ZooKeeper's PEM key store reads.
    expect(leaf.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(new Date(cert.validTo).getTime()).toBe(at(90).getTime());
  });

  it("names the client Service in every form, and is a leaf the CA alone may have signed", () => {
    const cert = new X509Certificate(leaf.cert);
    expect(certificateDnsNames(cert)).toEqual(
      [
        "*.zk-headless.kafka.svc.cluster.local",
        "*.zk-headless.kafka.svc",
        "zk-client",
        "zk-client.kafka",
        "zk-client.kafka.svc",
        "zk-client.kafka.svc.cluster.local",
      ].sort(),
    );
    expect(cert.ca).toBe(false);
    expect(cert.checkHost("zk-client.kafka.svc")).toBe("zk-client.kafka.svc");
    const caCert = new X509Certificate(ca.cert);
    expect(caCert.ca).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.verify(new X509Certificate(otherCa.cert).publicKey)).toBe(false);
  });
});

describe("decideOperatorTls", () => {
  it("makes a CA and a certificate for a new cluster", () => {
    expect(decideOperatorTls({ ca: null, leaf: null }, NAMES, NOW)).toEqual({
      ca: { create: "no CA yet" },
      leaf: { issue: "a new CA" },
    });
  });

  it("keeps a valid CA and certificate: a resync issues nothing", () => {
    expect(decideOperatorTls({ ca, leaf }, NAMES, NOW)).toEqual({ ca: "keep", leaf: "keep" });
    expect(decideOperatorTls({ ca, leaf }, NAMES, at(59))).toEqual({ ca: "keep", leaf: "keep" });
  });

  it("renews the certificate when less than 30 of its 90 days are left", () => {
    expect(OPERATOR_TLS_VALIDITY.renewLeafBeforeMs).toBe(30 * DAY);
    expect(decideOperatorTls({ ca, leaf }, NAMES, at(61))).toEqual({
      ca: "keep",
      leaf: { issue: `renewal: it expires at ${at(90).toISOString()}` },
    });
  });

  it("issues again what is missing, broken, from another CA or for other names", () => {
    const reason = (l: TlsMaterial | null, names = NAMES): unknown =>
      decideOperatorTls({ ca, leaf: l }, names, NOW).leaf;
    expect(reason(null)).toEqual({ issue: "no certificate yet" });
    expect(reason({ ...leaf, cert: "garbage" })).toEqual({ issue: "the certificate does not parse" });
    expect(reason({ ...leaf, key: otherCa.key })).toEqual({ issue: "the key is not the certificate's" });
    expect(reason({ ...leaf, ca: otherCa.cert })).toEqual({
      issue: "its ca.crt is not the CA's certificate",
    });
    expect(reason(leaf, leafNames("zk", "kafka", "example.org"))).toEqual({
      issue: "the members' names changed",
    });
  });

  it("a certificate another CA signed is issued again by this one", async () => {
    const foreign = await issueLeafCertificate(otherCa, { ...NAMES, notBefore: at(-1), notAfter: at(90) });
    expect(decideOperatorTls({ ca, leaf: { ...foreign, ca: ca.cert } }, NAMES, NOW).leaf).toEqual({
      issue: "the CA did not sign it",
    });
  });

  it("replaces a CA that is broken or would not outlive a new certificate, and with it the certificate", async () => {
    expect(decideOperatorTls({ ca: { ...ca, key: otherCa.key }, leaf }, NAMES, NOW)).toEqual({
      ca: { create: "the CA Secret's key is not its certificate's" },
      leaf: { issue: "a new CA" },
    });
    expect(decideOperatorTls({ ca: { cert: leaf.cert, key: leaf.key }, leaf }, NAMES, NOW).ca).toEqual({
      create: "the CA Secret holds no CA certificate",
    });
    const shortCa = await createCertificateAuthority("short", at(-1), at(80));
    expect(decideOperatorTls({ ca: shortCa, leaf }, NAMES, NOW).ca).toEqual({
      create: `the CA expires at ${at(80).toISOString()}`,
    });
  });
});
