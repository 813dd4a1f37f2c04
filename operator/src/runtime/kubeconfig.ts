// Where the API server is and how to authenticate: from a kubeconfig file (current context) or
// from the pod's service account. Deliberately small and without @kubernetes/client-node at
// runtime: importing its KubeConfig loads every generated API model (measured: RSS 41 → 121 MiB
// on Node 24), which alone would break the operator's 150 MiB budget at 1000 clusters. The
// library's types are still used everywhere at compile time.
//
// Supported: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name;
// client certificates, bearer tokens (inline or file, re-read so rotated tokens work), basic
// auth. Exec and auth-provider plugins are not: the operator runs in-cluster or with a cert.
import { readFileSync } from "node:fs";

export interface KubeConnection {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  /** Returns the Authorization header value, re-reading token files. */
  authorization(): string | undefined;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface NamedCluster {
  name: string;
  cluster: Record<string, unknown>;
}
interface NamedUser {
  name: string;
  user: Record<string, unknown>;
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string };
}
interface KubeconfigFile {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  "current-context"?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function dataOrFile(
  obj: Record<string, unknown>,
  dataKey: string,
  fileKey: string,
  base: string,
): string | undefined {
  const data = str(obj[dataKey]);
  if (data) return Buffer.from(data, "base64").toString("utf8");
  const file = str(obj[fileKey]);
  if (!file) return undefined;
  return readFileSync(file.startsWith("/") ? file : `${base}/${file}`, "utf8");
}

/** A token file is re-read at most once a minute, so projected (rotating) tokens keep working. */
function tokenFileReader(path: string): () => string {
  let token = "";
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > 60_000) {
      token = readFileSync(path, "utf8").trim();
      readAt = Date.now();
    }
    return token;
  };
}

export async function parseKubeconfig(text: string, path: string): Promise<KubeConnection> {
  let doc: KubeconfigFile;
  try {
    doc = JSON.parse(text) as KubeconfigFile;
  } catch {
    // kubectl writes YAML; js-yaml comes with @kubernetes/client-node and is only loaded here.
    const yaml = await import("js-yaml");
    doc = yaml.load(text) as KubeconfigFile;
  }
  const base = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  const contextName = doc["current-context"];
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`${path}: the current context ${JSON.stringify(contextName)} is not defined`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new Error(`${path}: cluster ${JSON.stringify(context.cluster)} is not defined`);
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  const server = str(cluster.server);
  if (!server) throw new Error(`${path}: cluster ${context.cluster} has no server`);
  if (user.exec !== undefined || user["auth-provider"] !== undefined) {
    throw new Error(
      `${path}: user ${context.user} uses an exec or auth-provider plugin, which zk-operator does not support`,
    );
  }
  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  const readToken = tokenFile ? tokenFileReader(tokenFile) : null;
  const username = str(user.username);
  const password = str(user.password);
  const conn: KubeConnection = {
    server: server.replace(/\/$/, ""),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    authorization: () => {
      if (token) return `Bearer ${token}`;
      if (readToken) return `Bearer ${readToken()}`;
      if (username && password) return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
      return undefined;
    },
  };
  const ca = dataOrFile(cluster, "certificate-authority-data", "certificate-authority", base);
  const cert = dataOrFile(user, "client-certificate-data", "client-certificate", base);
  const key = dataOrFile(user, "client-key-data", "client-key", base);
  const tlsServerName = str(cluster["tls-server-name"]);
  if (ca) conn.ca = ca;
  if (cert) conn.cert = cert;
  if (key) conn.key = key;
  if (tlsServerName) conn.tlsServerName = tlsServerName;
  return conn;
}

export function inClusterConnection(env: Record<string, string | undefined> = process.env): KubeConnection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error(
      "no kubeconfig given and not running in a pod (KUBERNETES_SERVICE_HOST is unset): pass --kubeconfig or set $KUBECONFIG",
    );
  }
  const readToken = tokenFileReader(`${SA_DIR}/token`);
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${SA_DIR}/ca.crt`, "utf8"),
    insecureSkipTlsVerify: false,
    authorization: () => `Bearer ${readToken()}`,
  };
}

/** A kubeconfig file when a path is given, else the pod's service account. */
export async function loadConnection(path: string | undefined): Promise<KubeConnection> {
  if (!path) return inClusterConnection();
  return parseKubeconfig(readFileSync(path, "utf8"), path);
}
