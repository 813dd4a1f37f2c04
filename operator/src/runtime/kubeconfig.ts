// Where the API server is and how to authenticate: from the pod's service account, or from the
// current context of one kubeconfig file or a `:`-separated list of them (merged as kubectl
// merges $KUBECONFIG: the first file to set current-context or to define a name wins; relative
// paths are relative to the file that holds them).
//
// Two readers. The lean one, ours, covers the service account and every kubeconfig made of
// static credentials: server, certificate-authority(-data), insecure-skip-tls-verify,
// tls-server-name; client certificates, bearer tokens (inline or tokenFile, re-read so rotated
// tokens work), basic auth. It never loads @kubernetes/client-node's runtime: importing its
// KubeConfig loads every generated API model (measured: RSS 41 → 121 MiB on Node 24), which
// alone would break the operator's 150 MiB budget at 1000 clusters. Only a user with an `exec`
// credential plugin or an `auth-provider` (oidc; the library's gcp and azure too) is handed to
// the library's KubeConfig, imported in `pluginCredentials` alone, so that a process that does not
// need it never pays for it. Refused with the field named: `proxy-url` (our node:https client
// connects directly) and impersonation (`as`, `as-groups`, ...).
import { readFileSync } from "node:fs";
import type { RequestOptions } from "node:https";
import { delimiter, dirname, isAbsolute, resolve } from "node:path";
// Types only: erased at run time, so importing them loads nothing.
import type { KubeConfig } from "@kubernetes/client-node";

export interface KubeConnection {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  /**
   * The Authorization header value for the next request: token files are re-read, a plugin's
   * credential is fetched again once it has expired. Rejects with a one-line reason.
   */
  authorization(): Promise<string | undefined>;
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

type Fields = Record<string, unknown>;

/** One named cluster, user or context, and the file that defined it. */
export interface KubeconfigEntry {
  name: string;
  fields: Fields;
  file: string;
}

/** What the current context selects, checked; `loader` says which reader builds the connection. */
export interface SelectedKubeconfig {
  cluster: KubeconfigEntry;
  /** null: the context names no user (anonymous requests). */
  user: KubeconfigEntry | null;
  /** "client-node" for an exec or auth-provider plugin, else "lean". */
  loader: "lean" | "client-node";
}

const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];
/** The auth-provider names @kubernetes/client-node implements; any other would silently send nothing. */
const AUTH_PROVIDERS = ["oidc", "gcp", "azure"];
const IMPERSONATION = ["as", "as-uid", "as-groups", "as-user-extra"];

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function isFields(v: unknown): v is Fields {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(file: string, problem: string): Error {
  return new Error(`kubeconfig ${file}: ${problem}`);
}

/** A path in a kubeconfig is relative to the directory of the file that holds it (kubectl's rule). */
function absolute(file: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(file), path);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim().slice(0, 300);
}

/** Parses one file's text (JSON, or YAML as kubectl writes it). */
async function parseDocument(text: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // not JSON
  }
  // js-yaml comes with @kubernetes/client-node and is small; it is only loaded for YAML.
  const yaml = await import("js-yaml");
  try {
    return yaml.load(text);
  } catch (err) {
    throw fail(file, `is neither JSON nor YAML: ${oneLine((err as Error).message)}`);
  }
}

const LISTS = { clusters: "cluster", users: "user", contexts: "context" } as const;

function collect(
  doc: Fields,
  list: keyof typeof LISTS,
  file: string,
  into: Map<string, KubeconfigEntry>,
): void {
  const items = doc[list];
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) throw fail(file, `${list} is not a list`);
  items.forEach((item: unknown, i) => {
    const name = isFields(item) ? str(item.name) : undefined;
    if (!isFields(item) || name === undefined) throw fail(file, `${list}[${i}].name is missing`);
    const fields = item[LISTS[list]] ?? {};
    if (!isFields(fields)) throw fail(file, `${list}[${name}].${LISTS[list]} is not a mapping`);
    if (!into.has(name)) into.set(name, { name, fields, file });
  });
}

function checkCluster(cluster: KubeconfigEntry): void {
  const where = `clusters[${cluster.name}]`;
  const server = str(cluster.fields.server);
  if (!server) throw fail(cluster.file, `${where}.server is missing`);
  if (!/^https?:\/\/[^/]/.test(server)) {
    throw fail(cluster.file, `${where}.server ${JSON.stringify(server)} is not an https:// or http:// URL`);
  }
  if (cluster.fields["proxy-url"] !== undefined) {
    throw fail(
      cluster.file,
      `${where}.proxy-url is not supported: zk-operator connects to the API server directly; remove it or run the operator where the server is reachable`,
    );
  }
}

function checkUser(user: KubeconfigEntry): void {
  const where = `users[${user.name}]`;
  const u = user.fields;
  for (const field of IMPERSONATION) {
    if (u[field] !== undefined) throw fail(user.file, `${where}.${field} (impersonation) is not supported`);
  }
  const hasCert = u["client-certificate"] !== undefined || u["client-certificate-data"] !== undefined;
  const hasKey = u["client-key"] !== undefined || u["client-key-data"] !== undefined;
  if (hasCert && !hasKey) throw fail(user.file, `${where}.client-key is missing (client-certificate is set)`);
  if (hasKey && !hasCert) throw fail(user.file, `${where}.client-certificate is missing (client-key is set)`);
  const exec = u.exec;
  if (exec !== undefined) {
    if (!isFields(exec)) throw fail(user.file, `${where}.exec is not a mapping`);
    if (!str(exec.command)) throw fail(user.file, `${where}.exec.command is missing`);
    const apiVersion = str(exec.apiVersion);
    if (!apiVersion) throw fail(user.file, `${where}.exec.apiVersion is missing`);
    if (!EXEC_API_VERSIONS.includes(apiVersion)) {
      throw fail(
        user.file,
        `${where}.exec.apiVersion ${JSON.stringify(apiVersion)} is not supported (${EXEC_API_VERSIONS.join(", ")})`,
      );
    }
    if (
      exec.args !== undefined &&
      !(Array.isArray(exec.args) && exec.args.every((a) => typeof a === "string"))
    ) {
      throw fail(user.file, `${where}.exec.args is not a list of strings`);
    }
    const envOk = (e: unknown) => isFields(e) && str(e.name) !== undefined && typeof e.value === "string";
    if (exec.env !== undefined && exec.env !== null && !(Array.isArray(exec.env) && exec.env.every(envOk))) {
      throw fail(user.file, `${where}.exec.env is not a list of {name, value}`);
    }
  }
  const provider = u["auth-provider"];
  if (provider !== undefined) {
    if (exec !== undefined) throw fail(user.file, `${where} has both exec and auth-provider: keep one`);
    if (!isFields(provider)) throw fail(user.file, `${where}.auth-provider is not a mapping`);
    const name = str(provider.name);
    if (!name) throw fail(user.file, `${where}.auth-provider.name is missing`);
    if (!AUTH_PROVIDERS.includes(name)) {
      throw fail(
        user.file,
        `${where}.auth-provider.name ${JSON.stringify(name)} is not supported (${AUTH_PROVIDERS.join(", ")})`,
      );
    }
  }
}

/**
 * The current context of the given files (parsed, in $KUBECONFIG order), checked, with the
 * reader it needs. Pure: files named by the kubeconfig are read later, by `connect`.
 */
export function selectKubeconfig(files: { path: string; doc: unknown }[]): SelectedKubeconfig {
  const clusters = new Map<string, KubeconfigEntry>();
  const users = new Map<string, KubeconfigEntry>();
  const contexts = new Map<string, KubeconfigEntry>();
  let current: { name: string; file: string } | undefined;
  for (const { path, doc } of files) {
    // An empty file is an empty kubeconfig, as for kubectl.
    if (doc === undefined || doc === null) continue;
    if (!isFields(doc)) throw fail(path, "is not a kubeconfig (expected a mapping)");
    collect(doc, "clusters", path, clusters);
    collect(doc, "users", path, users);
    collect(doc, "contexts", path, contexts);
    const name = str(doc["current-context"]);
    if (current === undefined && name !== undefined) current = { name, file: path };
  }
  if (!current) throw fail(files.map((f) => f.path).join(delimiter), "current-context is not set");
  const context = contexts.get(current.name);
  if (!context) throw fail(current.file, `current-context ${JSON.stringify(current.name)} is not defined`);
  const where = `contexts[${context.name}]`;
  const clusterName = str(context.fields.cluster);
  if (!clusterName) throw fail(context.file, `${where}.cluster is missing`);
  const cluster = clusters.get(clusterName);
  if (!cluster) throw fail(context.file, `${where}.cluster ${JSON.stringify(clusterName)} is not defined`);
  checkCluster(cluster);
  const userName = str(context.fields.user);
  const user = userName === undefined ? null : (users.get(userName) ?? null);
  if (userName !== undefined && !user) {
    throw fail(context.file, `${where}.user ${JSON.stringify(userName)} is not defined`);
  }
  if (user) checkUser(user);
  const plugin =
    user !== null && (user.fields.exec !== undefined || user.fields["auth-provider"] !== undefined);
  return { cluster, user, loader: plugin ? "client-node" : "lean" };
}

/** Inline base64 data, else the named file (relative to its kubeconfig), else undefined. */
function readDataOrFile(
  entry: KubeconfigEntry,
  list: string,
  dataKey: string,
  fileKey: string,
): string | undefined {
  const data = str(entry.fields[dataKey]);
  if (data) return Buffer.from(data, "base64").toString("utf8");
  const file = str(entry.fields[fileKey]);
  if (!file) return undefined;
  const path = absolute(entry.file, file);
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw fail(entry.file, `${list}[${entry.name}].${fileKey}: cannot read ${path} (${errorCode(err)})`);
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : oneLine((err as Error).message);
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

/** Builds the connection for a selected context, reading the files it names. */
export async function connect(selected: SelectedKubeconfig): Promise<KubeConnection> {
  const { cluster, user } = selected;
  const u = user?.fields ?? {};
  const server = str(cluster.fields.server) ?? "";
  const ca = readDataOrFile(cluster, "clusters", "certificate-authority-data", "certificate-authority");
  let cert = user
    ? readDataOrFile(user, "users", "client-certificate-data", "client-certificate")
    : undefined;
  let key = user ? readDataOrFile(user, "users", "client-key-data", "client-key") : undefined;
  const token = str(u.token);
  const tokenFileField = str(u.tokenFile);
  const tokenFile = user && tokenFileField ? absolute(user.file, tokenFileField) : undefined;
  const readToken = tokenFile ? tokenFileReader(tokenFile) : null;
  if (readToken && user) {
    // Read once now, so that a missing file is reported at start with its field.
    try {
      readToken();
    } catch (err) {
      throw fail(user.file, `users[${user.name}].tokenFile: cannot read ${tokenFile} (${errorCode(err)})`);
    }
  }
  const username = str(u.username);
  const password = str(u.password);
  const staticAuthorization = (): string | undefined => {
    if (token) return `Bearer ${token}`;
    if (readToken) return `Bearer ${readToken()}`;
    if (username && password) return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    return undefined;
  };
  let authorization = (): Promise<string | undefined> => Promise.resolve(staticAuthorization());
  if (selected.loader === "client-node" && user) {
    const credential = await pluginCredentials(selected, user, ca);
    // Fetched now: a broken plugin stops the operator at start, and a client certificate it
    // returns must be known before the HTTPS agents are built.
    const first = await credential();
    if (first.cert !== undefined) {
      cert = first.cert;
      key = first.key;
    }
    authorization = async () => {
      const next = await credential();
      if (next.cert !== first.cert) {
        // Our agents hold the certificate of their TLS sessions: a new one needs a new process.
        throw fail(
          user.file,
          `users[${user.name}].exec returned a new client certificate; zk-operator uses the one it got at start: restart it`,
        );
      }
      return next.authorization ?? staticAuthorization();
    };
  }
  const conn: KubeConnection = {
    server: server.replace(/\/$/, ""),
    insecureSkipTlsVerify: cluster.fields["insecure-skip-tls-verify"] === true,
    authorization,
  };
  const tlsServerName = str(cluster.fields["tls-server-name"]);
  if (ca) conn.ca = ca;
  if (cert) conn.cert = cert;
  if (key) conn.key = key;
  if (tlsServerName) conn.tlsServerName = tlsServerName;
  return conn;
}

interface PluginCredential {
  authorization: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

/**
 * The one place @kubernetes/client-node's runtime is loaded (+70 MiB RSS alone, +35 MiB on top of
 * the rest of the operator, measured on Node 24), for a user with an exec or auth-provider
 * plugin. The library gets that user alone (the server and TLS stay ours) and caches the
 * plugin's credential until its expirationTimestamp; concurrent callers share one run of it.
 */
async function pluginCredentials(
  selected: SelectedKubeconfig,
  user: KubeconfigEntry,
  ca: string | undefined,
): Promise<() => Promise<PluginCredential>> {
  const clientNode = await import("@kubernetes/client-node");
  const exec = isFields(user.fields.exec) ? user.fields.exec : undefined;
  const where = `users[${user.name}].${exec ? "exec" : "auth-provider"}`;
  let command: string | undefined;
  let libraryExec: Fields | undefined;
  if (exec) {
    const given = str(exec.command) ?? "";
    // kubectl's rule: a command with a slash is relative to the kubeconfig, a bare name is on $PATH.
    command = given.includes("/") ? absolute(user.file, given) : given;
    const cluster = selected.cluster.fields;
    // What client-go tells every plugin; the library does not, and some plugins need it.
    const info = {
      apiVersion: exec.apiVersion,
      kind: "ExecCredential",
      spec: {
        interactive: false,
        ...(exec.provideClusterInfo === true
          ? {
              cluster: {
                server: cluster.server,
                "insecure-skip-tls-verify": cluster["insecure-skip-tls-verify"] === true,
                ...(str(cluster["tls-server-name"]) ? { "tls-server-name": cluster["tls-server-name"] } : {}),
                ...(ca ? { "certificate-authority-data": Buffer.from(ca).toString("base64") } : {}),
              },
            }
          : {}),
      },
    };
    const env = Array.isArray(exec.env) ? (exec.env as unknown[]) : [];
    libraryExec = {
      ...exec,
      command,
      env: [...env, { name: "KUBERNETES_EXEC_INFO", value: JSON.stringify(info) }],
    };
  }
  const build = () => {
    const config = new clientNode.KubeConfig();
    config.loadFromOptions({
      clusters: [],
      users: [
        {
          name: user.name,
          ...(libraryExec ? { exec: libraryExec } : { authProvider: user.fields["auth-provider"] }),
        },
      ],
      contexts: [{ name: "zk-operator", cluster: "", user: user.name }],
      currentContext: "zk-operator",
    });
    return config;
  };
  let config: KubeConfig | null = null;
  const fetchCredential = async (): Promise<PluginCredential> => {
    config ??= build();
    const opts: RequestOptions = {};
    try {
      await config.applyToHTTPSOptions(opts);
    } catch (err) {
      // The library keeps what a plugin printed even when it is garbage: start afresh next time.
      config = null;
      throw fail(user.file, `${where}: ${explainPluginError(err, command, exec)}`);
    }
    const headers = (opts.headers ?? {}) as Record<string, unknown>;
    const authorization = str(headers.Authorization) ?? str(headers.authorization);
    const text = (v: unknown) =>
      typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : undefined;
    const cert = text(opts.cert);
    const key = text(opts.key);
    if (!authorization && !cert) {
      config = null;
      throw fail(
        user.file,
        `${where}: ${command ? `${command} returned an ExecCredential with no status.token and no client certificate` : "gave no token (an expired oidc id-token needs client-id, refresh-token and idp-issuer-url)"}`,
      );
    }
    if ((cert === undefined) !== (key === undefined)) {
      config = null;
      throw fail(
        user.file,
        `${where}: ${command ?? "the plugin"} returned a client certificate without its key`,
      );
    }
    return { authorization, cert, key };
  };
  let pending: Promise<PluginCredential> | null = null;
  return () =>
    (pending ??= fetchCredential().finally(() => {
      pending = null;
    }));
}

/** One line on why a plugin gave no credential; the library's own errors are terse or empty. */
function explainPluginError(err: unknown, command: string | undefined, exec: Fields | undefined): string {
  const e = err instanceof Error ? err : new Error(String(err));
  if (command === undefined) return oneLine(e.message);
  if (e instanceof SyntaxError) return `${command} did not print an ExecCredential (${oneLine(e.message)})`;
  // The library reads `status` of whatever JSON was printed.
  if (e instanceof TypeError) return `${command} printed JSON that is not an ExecCredential (no status)`;
  if (typeof (e as { code?: unknown }).code === "string") {
    const hint = str(exec?.installHint);
    return `${command} could not be run (${oneLine(e.message)})${hint ? `: ${oneLine(hint)}` : ""}`;
  }
  // A non-zero exit: the library's message is the plugin's stderr.
  return `${command} failed: ${oneLine(e.message) || "it exited non-zero with nothing on stderr"}`;
}

/** One kubeconfig file's text; `path` is where it lives (relative paths in it are relative to it). */
export async function parseKubeconfig(text: string, path: string): Promise<KubeConnection> {
  return connect(selectKubeconfig([{ path, doc: await parseDocument(text, path) }]));
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
    authorization: () => Promise.resolve(`Bearer ${readToken()}`),
  };
}

/**
 * A kubeconfig when a path is given — one file, or a `:`-separated list as in $KUBECONFIG, every
 * file of which must exist — else the pod's service account.
 */
export async function loadConnection(path: string | undefined): Promise<KubeConnection> {
  if (!path) return inClusterConnection();
  const paths = path.split(delimiter).filter((p) => p !== "");
  const files: { path: string; doc: unknown }[] = [];
  for (const file of paths) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw fail(file, `cannot be read (${errorCode(err)})`);
    }
    files.push({ path: file, doc: await parseDocument(text, file) });
  }
  if (files.length === 0) throw fail(path, "no file named");
  return connect(selectKubeconfig(files));
}
