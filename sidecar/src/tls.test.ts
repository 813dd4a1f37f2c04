import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CertPair, createCa, issueCert } from "../../e2e/rig/certs.ts";
import { EXIT_CODES } from "./contract.ts";
import { renderDynamicConfig, renderZooCfg } from "./render.ts";
import { readSettings, SidecarError } from "./settings.ts";
import { checkTlsMaterial, keyStorePem, renderTlsSettings, trustStorePem } from "./tls.ts";
import type { TlsMaterial } from "./contract.ts";

const run = promisify(execFile);
// zk-1 of cluster zk in namespace kafka: the name its quorum certificate must cover.
const HOST = "zk-1.zk-headless.kafka.svc.cluster.local";
const NOW = new Date();
let dir: string;
let ca: CertPair;
let otherCa: CertPair;
let quorum: TlsMaterial;
const read = (f: string): string => readFileSync(f, "utf8");
const material = (pair: CertPair, caPair: CertPair = ca): TlsMaterial => ({
  cert: read(pair.cert),
  key: read(pair.key),
  ca: read(caPair.cert),
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tls-test-"));
  [ca, otherCa] = await Promise.all([createCa(dir, "ca", "zk-ca"), createCa(dir, "other-ca", "other-ca")]);
  quorum = material(
    await issueCert(ca, dir, "quorum", { commonName: "zk-1" }, [HOST], "serverAuth,clientAuth"),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function refusal(m: TlsMaterial, role: "client" | "quorum" = "quorum", now = NOW): SidecarError {
  try {
    checkTlsMaterial(m, role, { dir: "/etc/zookeeper-tls/quorum", host: HOST, now });
  } catch (err) {
    if (err instanceof SidecarError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("checkTlsMaterial", () => {
  it("accepts a quorum certificate for this server, signed by the CA, and summarises it", () => {
    const summary = checkTlsMaterial(quorum, "quorum", { dir: "/d", host: HOST, now: NOW });
    expect(summary.subject).toBe("CN=zk-1");
    expect(summary.issuer).toBe("CN=zk-ca");
    expect(summary.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(Date.parse(summary.notAfter)).toBeGreaterThan(NOW.getTime());
  });

  it("refuses a key that is not the certificate's", async () => {
    const other = await issueCert(ca, dir, "other", { commonName: "x" }, [HOST], "serverAuth,clientAuth");
    const err = refusal({ ...quorum, key: read(other.key) });
    expect(err.message).toBe(
      "/etc/zookeeper-tls/quorum/tls.key is not the private key of the certificate in /etc/zookeeper-tls/quorum/tls.crt",
    );
    expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
  });

  it("refuses a certificate another CA signed", async () => {
    const foreign = await issueCert(
      otherCa,
      dir,
      "foreign",
      { commonName: "zk-1" },
      [HOST],
      "serverAuth,clientAuth",
    );
    expect(refusal(material(foreign, ca)).message).toContain(
      "tls.crt (issuer CN=other-ca) is not signed by a CA in /etc/zookeeper-tls/quorum/ca.crt",
    );
  });

  it("refuses a quorum certificate that does not name this server", async () => {
    const wrong = await issueCert(
      ca,
      dir,
      "wrong-host",
      { commonName: "zk-9" },
      ["zk-9.example"],
      "serverAuth,clientAuth",
    );
    expect(refusal(material(wrong)).message).toContain(
      `does not name ${HOST}: quorum TLS verifies host names`,
    );
  });

  it("accepts a wildcard name for the headless Service's domain", async () => {
    const wildcard = await issueCert(
      ca,
      dir,
      "wildcard",
      { commonName: "zk" },
      ["*.zk-headless.kafka.svc.cluster.local"],
      "serverAuth,clientAuth",
    );
    expect(() =>
      checkTlsMaterial(material(wildcard), "quorum", { dir: "/d", host: HOST, now: NOW }),
    ).not.toThrow();
  });

  it("refuses a quorum certificate without clientAuth, but takes it for clients", async () => {
    const serverOnly = await issueCert(ca, dir, "server-only", { commonName: "zk-1" }, [HOST], "serverAuth");
    expect(refusal(material(serverOnly)).message).toContain(
      "its extended key usage lacks clientAuth, which a quorum certificate needs (each server connects to its peers as a TLS client too)",
    );
    expect(() =>
      checkTlsMaterial(material(serverOnly), "client", { dir: "/d", host: HOST, now: NOW }),
    ).not.toThrow();
    // With client certificates required, the operator presents the client Secret's as its own.
    expect(() =>
      checkTlsMaterial(material(serverOnly), "client", {
        dir: "/d",
        host: HOST,
        now: NOW,
        clientAuth: "need",
      }),
    ).toThrow(
      "its extended key usage lacks clientAuth, which a client certificate needs with clientAuth on (the operator presents it to the members as a client)",
    );
  });

  it("refuses an expired certificate", () => {
    // The rig's certificates are valid for ten years.
    expect(refusal(quorum, "quorum", new Date(NOW.getTime() + 11 * 365 * 86_400_000)).message).toMatch(
      /tls\.crt expired at \d{4}-/,
    );
  });

  it("refuses files that hold no certificate or no key, naming the file", () => {
    expect(refusal({ ...quorum, cert: "" }).message).toBe(
      "/etc/zookeeper-tls/quorum/tls.crt holds no PEM certificate",
    );
    expect(refusal({ ...quorum, ca: "garbage" }).message).toBe(
      "/etc/zookeeper-tls/quorum/ca.crt holds no PEM certificate",
    );
    expect(refusal({ ...quorum, key: "garbage" }).message).toContain(
      "/etc/zookeeper-tls/quorum/tls.key is not a PEM private key",
    );
  });

  it("refuses an encrypted key, saying so", async () => {
    const { stdout } = await run("openssl", [
      "pkcs8",
      "-topk8",
      "-in",
      join(dir, "quorum.key"),
      "-passout",
      "pass:x",
      "-v2",
      "aes-256-cbc",
    ]);
    expect(refusal({ ...quorum, key: stdout }).message).toContain(
      "(it is encrypted; the Secret must hold it unencrypted)",
    );
  });
});

describe("stores", () => {
  it("key store: the key as PKCS#8, then the chain; a SEC1 key (cert-manager's default) is converted", async () => {
    const { stdout: sec1 } = await run("openssl", ["ec", "-in", join(dir, "quorum.key")]);
    expect(sec1).toContain("BEGIN EC PRIVATE KEY");
    const store = keyStorePem({ ...quorum, key: sec1 });
    expect(store.startsWith("-----BEGIN PRIVATE KEY-----\n")).toBe(true);
    expect(store).toContain(quorum.cert.trim());
    expect(store).not.toContain("EC PRIVATE KEY");
    expect(keyStorePem(quorum)).toBe(store);
  });

  it("trust store: the CA certificates only", () => {
    expect(trustStorePem(quorum)).toBe(read(ca.cert).trim() + "\n");
  });
});

describe("zoo.cfg and the dynamic config with TLS", () => {
  const env = { POD_NAME: "zk-1", POD_NAMESPACE: "kafka" };

  it("renders nothing when TLS is off", () => {
    expect(renderTlsSettings(readSettings(env, "h"))).toEqual([]);
  });

  it("client and quorum TLS in a pod: the secure port on every interface, stores from the store folder", () => {
    const settings = readSettings({ ...env, ZK_TLS_CLIENT_DIR: "/c", ZK_TLS_QUORUM_DIR: "/q" }, "h");
    expect(renderTlsSettings(settings)).toEqual([
      "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
      "secureClientPort=2281",
      "ssl.keyStore.location=/var/run/zookeeper/tls/client-keystore.pem",
      "ssl.keyStore.type=PEM",
      "ssl.trustStore.location=/var/run/zookeeper/tls/client-truststore.pem",
      "ssl.trustStore.type=PEM",
      "ssl.clientAuth=none",
      "sslQuorum=true",
      "sslQuorumReloadCertFiles=true",
      "ssl.quorum.keyStore.location=/var/run/zookeeper/tls/quorum-keystore.pem",
      "ssl.quorum.keyStore.type=PEM",
      "ssl.quorum.trustStore.location=/var/run/zookeeper/tls/quorum-truststore.pem",
      "ssl.quorum.trustStore.type=PEM",
      "ssl.quorum.hostnameVerification=true",
    ]);
    const zooCfg = renderZooCfg(settings, [], "/conf/zoo.cfg.dynamic.0");
    expect(zooCfg).toContain("\nsecureClientPort=2281\n");
    expect(zooCfg).toContain("\nsslQuorum=true\n");
    // With client TLS the plain client port listens on loopback only, for the sidecar.
    expect(renderDynamicConfig(settings, [{ id: 1, role: "participant" }])).toBe(
      "server.1=zk-0.zk-headless.kafka.svc.cluster.local:2888:3888:participant;127.0.0.1:2181\n",
    );
  });

  it("client certificates: ssl.clientAuth as asked, and the x509 provider that authenticates by them", () => {
    const settings = readSettings({ ...env, ZK_TLS_CLIENT_DIR: "/c", ZK_TLS_CLIENT_AUTH: "need" }, "h");
    const lines = renderTlsSettings(settings);
    expect(lines).toContain("ssl.clientAuth=need");
    expect(lines).toContain("authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider");
    expect(
      renderTlsSettings(readSettings({ ...env, ZK_TLS_CLIENT_DIR: "/c" }, "h")).join("\n"),
    ).not.toContain("authProvider");
  });

  it("on the loopback rig the secure port binds the server's own address", () => {
    const settings = readSettings({ ...env, ZK_TLS_CLIENT_DIR: "/c", ZK_BIND_ADDRESS: "127.5.0.2" }, "h");
    expect(renderTlsSettings(settings)).toContain("secureClientPortAddress=127.5.0.2");
  });
});
