// TLS "Secrets" for the zk tier: one folder per server laid out as a mounted cert-manager Secret
// (tls.crt, tls.key, ca.crt), and the environment that points init and serve at it.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CertPair, issueCert } from "../../../e2e/rig/certs.ts";
import type { ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { ENV, TLS_SECRET_KEYS } from "../../src/contract.ts";

export class RigTlsSecrets {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  secretDir(server: ZkServer): string {
    return join(this.dir, `secret-${server.id}`);
  }

  /**
   * Writes server's Secret: a leaf for its DNS name from `issuer`, and the CA bundle `trust`. One
   * Secret serves as both the client and the quorum one (the pod gives each its own).
   *
   * The leaf also names 127.0.0.1 and localhost, for the rig only. Quorum TLS verifies host names
   * both ways: the connecting server checks the DNS name it dialled, and the accepting one checks
   * the address the connection comes from (and its reverse lookup). On loopback the kernel picks
   * 127.0.0.1 as the source of every connection, whatever 127.x address the server listens on, so
   * each acceptor sees its peers as localhost. In a pod the source is the pod's IP, whose reverse
   * lookup in the cluster DNS is the pod's stable name under the headless Service.
   */
  async writeSecret(server: ZkServer, issuer: CertPair, trust: CertPair[], tag: string): Promise<void> {
    const leaf = await issueCert(
      issuer,
      join(this.dir, "issued"),
      `server-${server.id}-${tag}`,
      { commonName: server.dnsName },
      [server.dnsName, "localhost", "127.0.0.1"],
      "serverAuth,clientAuth",
    );
    this.writeBundle(server, trust);
    copyFileSync(leaf.key, join(this.secretDir(server), TLS_SECRET_KEYS.key));
    copyFileSync(leaf.cert, join(this.secretDir(server), TLS_SECRET_KEYS.cert));
  }

  /** Replaces server's ca.crt with the certificates of `trust`. */
  writeBundle(server: ZkServer, trust: CertPair[]): void {
    mkdirSync(this.secretDir(server), { recursive: true });
    const bundle = trust.map((ca) => readFileSync(ca.cert, "utf8").trim()).join("\n") + "\n";
    writeFileSync(join(this.secretDir(server), TLS_SECRET_KEYS.ca), bundle);
  }

  /** Client and quorum TLS from server's Secret; the sidecar re-reads it every 300 ms. */
  env(server: ZkServer): Record<string, string> {
    return {
      [ENV.tlsClientDir]: this.secretDir(server),
      [ENV.tlsQuorumDir]: this.secretDir(server),
      [ENV.tlsStoreDir]: join(this.dir, `stores-${server.id}`),
      [ENV.tlsSyncMs]: "300",
    };
  }
}
