// TLS on real ZooKeeper servers, configured only by `zk-sidecar init` and kept in step by
// `zk-sidecar serve`, from folders laid out like mounted cert-manager Secrets (tls.crt, tls.key,
// ca.crt). Quorum and client TLS use one Secret per server here; the pod gives each its own.
//
// What it proves: a TLS quorum forms with host names verified; a server whose certificate another
// CA signed cannot join, and joins once it has the right one; TLS clients read and write through
// the secure port, while plain-text clients and clients trusting another CA are refused; the quorum
// rotates to a new CA without a restart of the servers that accept the new certificates (ZooKeeper
// reloads the stores the sidecar rewrites) and without losing quorum or data; a server that
// requires client certificates refuses a client without one and authenticates one with the CA's
// by it (ZooKeeper's x509 provider), while its sidecar keeps reading it.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type CertPair, createCa, issueCert } from "../../../e2e/rig/certs.ts";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { clientCertificateOutcome } from "../../../e2e/rig/tls-probe.ts";
import type { ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { ENV, PORTS, TLS_SECRET_KEYS } from "../../src/contract.ts";
import { keyStorePem } from "../../src/tls.ts";
import { RigTlsSecrets } from "./tls-secrets.ts";
import { createSidecarEnsemble, runSidecar, sidecarEnv, type SidecarEnsemble } from "./sidecar-rig.ts";

const SECURE = PORTS.secureClient;

interface TlsStatusBody {
  serving: boolean;
  tls?: Record<string, { fingerprint: string; restartNeeded: boolean; problem: string | null }>;
}

describe("TLS for clients and the quorum", () => {
  let se: SidecarEnsemble;
  let certDir: string;
  let secrets: RigTlsSecrets;
  let caA: CertPair;
  let caB: CertPair;
  async function tlsStatus(server: ZkServer): Promise<TlsStatusBody> {
    return JSON.parse((await se.get(server, "/status")).body) as TlsStatusBody;
  }

  /** ZooKeeper's own CLI over TLS to server `id` by its DNS name, trusting `ca`. */
  function tlsCli(id: number, commands: string[], ca: CertPair, keyStore?: string): Promise<string> {
    return se.ens.cli(id, commands, 60_000, {
      port: SECURE,
      trustStore: ca.cert,
      ...(keyStore ? { keyStore } : {}),
    });
  }
  /** Servers whose init renders ZK_TLS_CLIENT_AUTH=need at their next start. */
  const needClientCertificates = new Set<number>();

  beforeAll(async () => {
    se = await createSidecarEnsemble({
      size: 3,
      name: "tls",
      env: (s) => ({
        ...secrets.env(s),
        ...(needClientCertificates.has(s.id) ? { [ENV.tlsClientAuth]: "need" } : {}),
      }),
    });
    certDir = se.ens.block.path("tls");
    secrets = new RigTlsSecrets(certDir);
    [caA, caB] = await Promise.all([
      createCa(certDir, "ca-a", "zk-ca-a"),
      createCa(certDir, "ca-b", "zk-ca-b"),
    ]);
    const [s1, s2, s3] = se.ens.servers as [ZkServer, ZkServer, ZkServer];
    await secrets.writeSecret(s1, caA, [caA], "a");
    await secrets.writeSecret(s2, caA, [caA], "a");
    // Server 3's Secret is consistent in itself (its CA signed it), so init takes it, but the
    // others trust only CA A.
    await secrets.writeSecret(s3, caB, [caB], "b");
  }, 120_000);

  afterAll(async () => {
    await se.destroy();
  });

  function dumpLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await se.ens.logs());
    });
  }

  it("init refuses a Secret whose key is not the certificate's, before writing anything", async () => {
    const server = se.ens.server(1);
    const bad = join(certDir, "bad-secret");
    mkdirSync(bad, { recursive: true });
    const other = await issueCert(
      caA,
      join(certDir, "issued"),
      "other",
      { commonName: "x" },
      [server.dnsName],
      "serverAuth,clientAuth",
    );
    copyFileSync(join(secrets.secretDir(server), TLS_SECRET_KEYS.cert), join(bad, TLS_SECRET_KEYS.cert));
    copyFileSync(join(secrets.secretDir(server), TLS_SECRET_KEYS.ca), join(bad, TLS_SECRET_KEYS.ca));
    copyFileSync(other.key, join(bad, TLS_SECRET_KEYS.key));
    const r = await runSidecar(["init"], {
      ...sidecarEnv(se.ens, server, se.operatorConfigDir),
      ...secrets.env(server),
      [ENV.tlsQuorumDir]: bad,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${bad}/tls.key is not the private key of the certificate in ${bad}/tls.crt`);
    expect(() => readFileSync(server.zooCfgPath)).toThrow();
  });

  it("forms a TLS quorum of the servers that trust each other; a server with another CA's certificate cannot join", async () => {
    dumpLogsOnFailure();
    await se.ens.startAll();
    for (const server of se.ens.servers) await se.startSidecar(server);
    await se.ens.waitForQuorum({ ids: [1, 2] });
    const cfg = readFileSync(se.ens.server(1).zooCfgPath, "utf8");
    expect(cfg).toContain("sslQuorum=true");
    expect(cfg).toContain("ssl.quorum.hostnameVerification=true");
    // Server 3 keeps trying for 10 s (several election rounds) and never serves.
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      expect(await se.ens.server(3).mode()).toBeNull();
      await new Promise((r) => setTimeout(r, 1000));
    }
    const log = (await se.ens.server(1).process?.log()) ?? "";
    expect(log).toMatch(/SSLHandshakeException|certificate_unknown|PKIX path/);
  });

  it("the same server joins once its Secret holds a certificate of the ensemble's CA", async () => {
    dumpLogsOnFailure();
    const s3 = se.ens.server(3);
    await secrets.writeSecret(s3, caA, [caA], "a");
    await s3.restart();
    await se.ens.waitForQuorum({ ids: [1, 2, 3] });
  });

  it("TLS clients write and read through the secure port; plain text and another CA are refused", async () => {
    dumpLogsOnFailure();
    const created = await tlsCli(1, ["create /tls-proof written-over-tls"], caA);
    expect(created).toContain("Created /tls-proof");
    const read = await tlsCli(2, ["get /tls-proof"], caA);
    expect(read).toContain("written-over-tls");

    // A plain-text four-letter word on the secure port gets no answer (ZooKeeper drops it as a
    // failed handshake), while the same word on the plain port, which the sidecar uses, does.
    const s1 = se.ens.server(1);
    expect(await rawExchange(s1.ip, SECURE, "ruok")).toBe("");
    expect(await rawExchange(s1.ip, 2181, "ruok")).toBe("imok");

    // A TLS client that trusts another CA refuses the server; one that trusts CA A completes
    // the handshake with host-name verification against the server's DNS name.
    await expect(handshake(s1, caB)).rejects.toThrow(
      /self-signed|unable to verify|unable to get local issuer/i,
    );
    await expect(handshake(s1, caA)).resolves.toBe(true);
  });

  it("rotates the quorum to a new CA without losing quorum or data: stores reloaded, then each server restarted", async () => {
    dumpLogsOnFailure();
    const servers = se.ens.servers;
    const leader = await se.ens.leader();
    // Each server has a certificate of its own: what each role of each server holds before.
    const before = new Map<number, TlsStatusBody["tls"]>();
    for (const s of servers) before.set(s.id, (await tlsStatus(s)).tls);
    expect(before.get(1)?.quorum?.fingerprint).toMatch(/:/);

    // 1. Every server trusts both CAs (the sidecars write the trust stores; ZooKeeper reloads).
    for (const s of servers) secrets.writeBundle(s, [caA, caB]);
    // 2. Every server gets a certificate of the new CA; no ZooKeeper restarts for this.
    for (const s of servers) await secrets.writeSecret(s, caB, [caA, caB], "rotated");
    for (const s of servers) {
      // Both roles read the same folder, which the test rewrites file by file (the kubelet swaps a
      // Secret's files at once): a sync between two writes sees a key that is not the certificate's
      // and reports a problem for that role. So wait until each role has taken the complete Secret.
      const st = await waitFor(`sidecar ${s.id} to take the new certificates`, async () => {
        const tls = (await tlsStatus(s)).tls;
        const taken = (role: "quorum" | "client"): boolean =>
          tls?.[role]?.fingerprint !== before.get(s.id)?.[role]?.fingerprint && tls?.[role]?.problem === null;
        return taken("quorum") && taken("client") ? tls : false;
      });
      // ZooKeeper 3.8 reads the client certificate only at start: the sidecar says so.
      expect(st.client?.restartNeeded).toBe(true);
    }
    // The same leader, every server serving: the reload did not disturb the quorum.
    expect((await se.ens.leader()).id).toBe(leader.id);

    // 3. Followers restart one at a time with their new certificates and rejoin: the servers they
    // connect to never restarted, so they accept CA B only because they reloaded their stores.
    for (const s of servers.filter((x) => x.id !== leader.id)) {
      await s.restart();
      await se.ens.waitForQuorum({ ids: servers.map((x) => x.id) });
      expect((await se.ens.leader()).id).toBe(leader.id);
      expect((await tlsStatus(s)).tls?.client?.restartNeeded).toBe(false);
    }
    // 4. CA A is dropped everywhere, then the leader restarts last: everyone now speaks CA B only.
    for (const s of servers) secrets.writeBundle(s, [caB]);
    await new Promise((r) => setTimeout(r, 1500));
    await leader.restart();
    await se.ens.waitForQuorum({ ids: servers.map((x) => x.id) });
    const read = await tlsCli(leader.id, ["get /tls-proof"], caB);
    expect(read).toContain("written-over-tls");
  });

  it("with client certificates required, a client without one is refused and one of the CA's is served as x509", async () => {
    dumpLogsOnFailure();
    const server = se.ens.server(2);
    needClientCertificates.add(server.id);
    await server.restart();
    await se.ens.waitForQuorum({ ids: se.ens.servers.map((x) => x.id) });
    // The sidecar still reads its server on the loopback port: ready, and the server serves. It
    // may answer from a probe cached while the server was restarting (ZK_READY_CACHE_MS), so the
    // test waits out that window rather than reading the first answer.
    await waitFor(
      `sidecar ${server.id} to report its restarted server ready`,
      async () => (await se.get(server, "/readyz")).status === 200 && (await tlsStatus(server)).serving,
    );

    const app = await issueCert(caB, join(certDir, "issued"), "app", { commonName: "app" }, [], "clientAuth");
    const appMaterial = { cert: readFileSync(app.cert, "utf8"), key: readFileSync(app.key, "utf8"), ca: "" };
    const keyStore = join(certDir, "app-keystore.pem");
    writeFileSync(keyStore, keyStorePem(appMaterial));

    const probe = { host: server.ip, port: SECURE, servername: server.dnsName, ca: readFileSync(caB.cert) };
    expect(await clientCertificateOutcome(probe)).toMatch(/^refused/);
    expect(await clientCertificateOutcome({ ...probe, client: appMaterial })).toBe("served");
    const whoami = await tlsCli(server.id, ["whoami", "get /tls-proof"], caB, keyStore);
    expect(whoami).toMatch(/x509\s*:?\s*CN=app/);
    expect(whoami).toContain("written-over-tls");
  });
});

/** Sends `word` in plain text and returns whatever comes back before the server closes. */
function rawExchange(host: string, port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("connect", () => socket.write(word));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET") resolve(Buffer.concat(chunks).toString("utf8"));
      else reject(err);
    });
    socket.on("close", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/** A TLS handshake with `server`'s secure port, verifying it against `ca` and its DNS name. */
function handshake(server: ZkServer, ca: CertPair): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: server.ip,
      port: SECURE,
      servername: server.dnsName,
      ca: readFileSync(ca.cert),
      checkServerIdentity: (_host, cert) =>
        cert.subjectaltname?.includes(`DNS:${server.dnsName}`)
          ? undefined
          : new Error(`certificate does not name ${server.dnsName}`),
    });
    socket.setTimeout(5000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.once("secureConnect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", reject);
  });
}
