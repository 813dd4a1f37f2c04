// TLS for ZooKeeper, pure: checks a mounted TLS Secret (cert-manager's layout, TLS_SECRET_KEYS)
// before ZooKeeper sees it, turns it into the PEM key and trust stores ZooKeeper reads, and
// renders the zoo.cfg settings that use them.
//
// Why the sidecar writes stores instead of pointing ZooKeeper at the Secret: ZooKeeper's PEM key
// store wants the key and its chain in one file and reads only PKCS#8 keys (cert-manager writes
// PKCS#1 or SEC1 by default), and ZooKeeper's reload of changed quorum certificates watches the
// file itself, which a Secret volume never changes (the kubelet swaps a symlink above it).
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { type ClientAuthMode, TLS_SECRET_KEYS, TLS_STORE_FILES, type TlsMaterial } from "./contract.ts";
import { invalidInput, isWildcardAddress, type Settings } from "./settings.ts";

export type TlsRole = "client" | "quorum";

/** What a checked Secret holds, for logs and /status: never the key. */
export interface TlsSummary {
  subject: string;
  issuer: string;
  notAfter: string;
  /** SHA-256 fingerprint of the leaf certificate. */
  fingerprint: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

function parseCerts(text: string, file: string): X509Certificate[] {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw invalidInput(`${file} holds no PEM certificate`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw invalidInput(`${file}: certificate ${i + 1} does not parse: ${String(err)}`);
    }
  });
}

function parseKey(text: string, file: string): KeyObject {
  try {
    return createPrivateKey(text);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(text) ? " (it is encrypted; the Secret must hold it unencrypted)" : "";
    throw invalidInput(`${file} is not a PEM private key${encrypted}: ${String(err)}`);
  }
}

/**
 * Checks a TLS Secret mounted at `dir` for `role`, and throws a SidecarError (exit 3) that names
 * the file and what is wrong. A Secret ZooKeeper would refuse, or one that could never form a
 * quorum, stops here with one clear line instead of a Java stack trace or a server that never
 * joins: no certificate, a key that is not the certificate's, a certificate its own CA did not
 * sign, one that has expired, a quorum certificate that does not name this server (quorum TLS
 * verifies host names) or whose extended key usage forbids what the role needs (a quorum peer is
 * both a TLS server and a TLS client).
 */
export function checkTlsMaterial(
  material: TlsMaterial,
  role: TlsRole,
  options: { dir: string; host: string; now: Date; clientAuth?: ClientAuthMode },
): TlsSummary {
  const file = (k: keyof TlsMaterial): string => `${options.dir}/${TLS_SECRET_KEYS[k]}`;
  const chain = parseCerts(material.cert, file("cert"));
  const cas = parseCerts(material.ca, file("ca"));
  const key = parseKey(material.key, file("key"));
  const leaf = chain[0] as X509Certificate;
  if (!leaf.checkPrivateKey(key)) {
    throw invalidInput(`${file("key")} is not the private key of the certificate in ${file("cert")}`);
  }
  const top = chain[chain.length - 1] as X509Certificate;
  const signedByCa = cas.some((ca) => top.checkIssued(ca) && top.verify(ca.publicKey));
  const isCaItself = cas.some((ca) => ca.fingerprint256 === top.fingerprint256);
  if (!signedByCa && !isCaItself) {
    throw invalidInput(
      `${file("cert")} (issuer ${top.issuer.replace(/\n/g, ", ")}) is not signed by a CA in ${file("ca")}: peers trusting that CA would refuse it`,
    );
  }
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= options.now.getTime()) {
    throw invalidInput(`${file("cert")} expired at ${notAfter.toISOString()}`);
  }
  // The extended key usage OIDs. Node's types say string[], but it is undefined when the
  // certificate has no such extension (then every usage is allowed).
  const usages = leaf.keyUsage as string[] | undefined;
  // With client authentication on, the operator presents the client Secret's certificate to the
  // members as its own (runtime/tls-tunnel.ts), so it must be a client certificate too.
  const asClient = role === "quorum" || (options.clientAuth ?? "none") !== "none";
  const needed = asClient ? [SERVER_AUTH, CLIENT_AUTH] : [SERVER_AUTH];
  const missing = usages === undefined ? [] : needed.filter((u) => !usages.includes(u));
  if (missing.length > 0) {
    throw invalidInput(
      `${file("cert")}: its extended key usage lacks ${missing.map((u) => (u === SERVER_AUTH ? "serverAuth" : "clientAuth")).join(" and ")}, which a ${role} certificate needs${role === "quorum" ? " (each server connects to its peers as a TLS client too)" : asClient ? " with clientAuth on (the operator presents it to the members as a client)" : ""}`,
    );
  }
  if (role === "quorum" && leaf.checkHost(options.host) === undefined) {
    throw invalidInput(
      `${file("cert")} does not name ${options.host}: quorum TLS verifies host names, so peers would refuse this server (put the name, or *.<headless service domain>, in the certificate's DNS names)`,
    );
  }
  return {
    subject: leaf.subject.replace(/\n/g, ", "),
    issuer: leaf.issuer.replace(/\n/g, ", "),
    notAfter: notAfter.toISOString(),
    fingerprint: leaf.fingerprint256,
  };
}

/** ZooKeeper's PEM key store: the key as PKCS#8 (the only form it reads), then the chain. */
export function keyStorePem(material: TlsMaterial): string {
  const key = createPrivateKey(material.key).export({ type: "pkcs8", format: "pem" }).toString();
  const certs = material.cert.match(PEM_CERT) ?? [];
  return [key.trim(), ...certs].join("\n") + "\n";
}

/** ZooKeeper's PEM trust store: the CA certificates. */
export function trustStorePem(material: TlsMaterial): string {
  return (material.ca.match(PEM_CERT) ?? []).join("\n") + "\n";
}

/** The stores of `role`: file name → contents. */
export function storeFiles(role: TlsRole, material: TlsMaterial): Record<string, string> {
  return role === "client"
    ? {
        [TLS_STORE_FILES.clientKeyStore]: keyStorePem(material),
        [TLS_STORE_FILES.clientTrustStore]: trustStorePem(material),
      }
    : {
        [TLS_STORE_FILES.quorumKeyStore]: keyStorePem(material),
        [TLS_STORE_FILES.quorumTrustStore]: trustStorePem(material),
      };
}

/**
 * zoo.cfg settings for the TLS that `settings` turns on; none when both are off.
 *
 * Client TLS: ZooKeeper's Netty connection factory (the only one that speaks TLS) with the secure
 * client port. By default clients are not asked for certificates (`ssl.clientAuth=none`): TLS
 * protects the connection and proves the server. With `want` or `need` (ENV.tlsClientAuth) they
 * are, and ZooKeeper's `x509` provider authenticates them by their certificate.
 * The plain client port stays where the dynamic config puts it, which the operator keeps on
 * loopback for the sidecar's four-letter words when client TLS is on.
 *
 * Quorum TLS: peers present and verify certificates with host-name verification on, and
 * `sslQuorumReloadCertFiles` makes ZooKeeper reload renewed quorum certificates without a restart
 * (ZooKeeper 3.8 reloads only the quorum's; a renewed client certificate needs a restart).
 */
export function renderTlsSettings(settings: Settings): string[] {
  const { clientDir, quorumDir, storeDir, secureClientPort } = settings.tls;
  const store = (name: string): string => `${storeDir}/${name}`;
  const lines: string[] = [];
  if (clientDir !== null) {
    lines.push(
      "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
      `secureClientPort=${secureClientPort}`,
      ...(isWildcardAddress(settings.bindAddress) ? [] : [`secureClientPortAddress=${settings.bindAddress}`]),
      `ssl.keyStore.location=${store(TLS_STORE_FILES.clientKeyStore)}`,
      "ssl.keyStore.type=PEM",
      `ssl.trustStore.location=${store(TLS_STORE_FILES.clientTrustStore)}`,
      "ssl.trustStore.type=PEM",
      `ssl.clientAuth=${settings.tls.clientAuth}`,
      // With client certificates, ZooKeeper's x509 provider authenticates clients by them (their
      // subject, for ACLs such as x509:CN=app); it is not registered unless named.
      ...(settings.tls.clientAuth === "none"
        ? []
        : ["authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider"]),
    );
  }
  if (quorumDir !== null) {
    lines.push(
      "sslQuorum=true",
      "sslQuorumReloadCertFiles=true",
      `ssl.quorum.keyStore.location=${store(TLS_STORE_FILES.quorumKeyStore)}`,
      "ssl.quorum.keyStore.type=PEM",
      `ssl.quorum.trustStore.location=${store(TLS_STORE_FILES.quorumTrustStore)}`,
      "ssl.quorum.trustStore.type=PEM",
      "ssl.quorum.hostnameVerification=true",
    );
  }
  return lines;
}
