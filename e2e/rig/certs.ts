// The control plane's PKI, made with the openssl CLI: one CA, the API server's serving cert,
// client certs for the admin and each component, and the service-account signing key pair.
// ECDSA P-256 keys throughout: Kubernetes accepts them everywhere and they are generated in
// milliseconds, which keeps a control plane's start-up short.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and its key, as PEM files on disk. */
export interface CertPair {
  cert: string;
  key: string;
}

export interface ControlPlaneCerts {
  dir: string;
  ca: CertPair;
  apiServer: CertPair;
  /** The API server's client cert towards kubelets (only used when a kubelet joins). */
  apiServerKubeletClient: CertPair;
  /** CN=kubernetes-admin, O=system:masters. */
  admin: CertPair;
  /** CN=system:kube-controller-manager. */
  controllerManager: CertPair;
  /** CN=system:kube-scheduler. */
  scheduler: CertPair;
  serviceAccount: { privateKey: string; publicKey: string };
  /** The aggregation layer's request-header CA and the API server's proxy client cert. */
  frontProxyCa: CertPair;
  frontProxyClient: CertPair;
}

export interface Subject {
  commonName: string;
  /** Organisations; Kubernetes reads them as the user's groups. */
  organizations?: string[];
}

/** Names the API server's serving cert covers besides its own address. */
export const apiServerDnsNames = [
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
  "localhost",
];

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run("openssl", args, { cwd: dir });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0] ?? ""} failed in ${dir}: ${stderr.trim() || String(err)}`, {
      cause: err,
    });
  }
}

function opensslConfig(subject: Subject, extensions: string[]): string {
  // openssl's config syntax wants one line per RDN; repeated O= lines need a numeric prefix.
  const dn = [...(subject.organizations ?? []).map((o, i) => `${i}.O = ${o}`), `CN = ${subject.commonName}`];
  return [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "x509_extensions = ext",
    "[dn]",
    ...dn,
    "[ext]",
    ...extensions,
    "",
  ].join("\n");
}

const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
const days = ["-days", "3650"];

/** Creates a self-signed CA as `NAME.crt` / `NAME.key` in `dir`. */
export async function createCa(
  dir: string,
  name = "ca",
  commonName = "zk-operator-rig-ca",
): Promise<CertPair> {
  mkdirSync(dir, { recursive: true });
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(
    cnf,
    opensslConfig({ commonName }, [
      "basicConstraints = critical,CA:TRUE",
      "keyUsage = critical,keyCertSign,cRLSign,digitalSignature",
      "subjectKeyIdentifier = hash",
    ]),
  );
  await openssl(dir, [
    "req",
    "-x509",
    "-config",
    cnf,
    ...newKey,
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
    ...days,
  ]);
  return pair;
}

/**
 * Issues a leaf cert signed by `ca` as `NAME.crt` / `NAME.key` in `dir`. With `sans` it is a
 * serving cert (entries that parse as IPv4 addresses become IP SANs), otherwise a client cert;
 * `extendedKeyUsage` overrides that (a ZooKeeper quorum peer needs `serverAuth,clientAuth`).
 */
export async function issueCert(
  ca: CertPair,
  dir: string,
  name: string,
  subject: Subject,
  sans: string[] = [],
  extendedKeyUsage = sans.length ? "serverAuth" : "clientAuth",
): Promise<CertPair> {
  mkdirSync(dir, { recursive: true });
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const cnf = join(dir, `${name}.cnf`);
  const altNames = sans.map((s) => (/^\d+\.\d+\.\d+\.\d+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(",");
  writeFileSync(
    cnf,
    opensslConfig(subject, [
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage = ${extendedKeyUsage}`,
      ...(sans.length ? [`subjectAltName = ${altNames}`] : []),
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid",
    ]),
  );
  await openssl(dir, [
    "req",
    "-x509",
    "-config",
    cnf,
    ...newKey,
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
    ...days,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
  ]);
  return pair;
}

/**
 * Generates everything a control plane needs into `dir`. `apiServerIps` are the addresses the
 * API server is reached at (the block IP first); 10.96.0.1, the `kubernetes` Service's
 * ClusterIP in the rig's service CIDR, is always added.
 */
export async function generateControlPlaneCerts(
  dir: string,
  options: { apiServerIps: string[]; extraSans?: string[] },
): Promise<ControlPlaneCerts> {
  mkdirSync(dir, { recursive: true });
  const [ca, frontProxyCa] = await Promise.all([
    createCa(dir),
    createCa(dir, "front-proxy-ca", "zk-operator-rig-front-proxy-ca"),
  ]);
  const sans = [
    ...options.apiServerIps,
    "127.0.0.1",
    "10.96.0.1",
    ...apiServerDnsNames,
    ...(options.extraSans ?? []),
  ];
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  const [apiServer, apiServerKubeletClient, admin, controllerManager, scheduler, frontProxyClient] =
    await Promise.all([
      issueCert(ca, dir, "apiserver", { commonName: "kube-apiserver" }, [...new Set(sans)]),
      issueCert(ca, dir, "apiserver-kubelet-client", {
        commonName: "kube-apiserver-kubelet-client",
        organizations: ["system:masters"],
      }),
      issueCert(ca, dir, "admin", { commonName: "kubernetes-admin", organizations: ["system:masters"] }),
      issueCert(ca, dir, "controller-manager", { commonName: "system:kube-controller-manager" }),
      issueCert(ca, dir, "scheduler", { commonName: "system:kube-scheduler" }),
      issueCert(frontProxyCa, dir, "front-proxy-client", { commonName: "front-proxy-client" }),
      openssl(dir, [
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        saKey,
      ]).then(() => openssl(dir, ["pkey", "-in", saKey, "-pubout", "-out", saPub])),
    ]);
  return {
    dir,
    ca,
    apiServer,
    apiServerKubeletClient,
    admin,
    controllerManager,
    scheduler,
    serviceAccount: { privateKey: saKey, publicKey: saPub },
    frontProxyCa,
    frontProxyClient,
  };
}

/** Writes a kubeconfig with the CA and the client cert embedded, so it works from any folder. */
export function writeKubeconfig(
  path: string,
  options: { server: string; ca: string; client: CertPair; user: string; cluster?: string },
): string {
  const b64 = (file: string): string => readFileSync(file).toString("base64");
  const cluster = options.cluster ?? "zk-rig";
  const context = `${options.user}@${cluster}`;
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: cluster, cluster: { server: options.server, "certificate-authority-data": b64(options.ca) } },
    ],
    users: [
      {
        name: options.user,
        user: {
          "client-certificate-data": b64(options.client.cert),
          "client-key-data": b64(options.client.key),
        },
      },
    ],
    contexts: [{ name: context, context: { cluster, user: options.user } }],
    "current-context": context,
    preferences: {},
  };
  // JSON is YAML: kubectl, client-go and client-node all read it.
  writeFileSync(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  return path;
}
