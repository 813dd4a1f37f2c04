// The sidecar's settings from its environment: pure, so every bad value is unit-tested. Each
// problem becomes one SidecarError that names the variable and what is wrong with it.
import { CLIENT_AUTH_MODES, type ClientAuthMode, ENV, ENV_DEFAULTS, EXIT_CODES, PORTS } from "./contract.ts";

/** An error with the exit code the process ends with; its message is the one line the user sees. */
export class SidecarError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "SidecarError";
    this.exitCode = exitCode;
  }
}

/** A Node error's code (ENOENT, EACCES, ...), or the error itself as text. */
export function errCode(err: unknown): string {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : String(err);
}

export function invalidInput(message: string): SidecarError {
  return new SidecarError(message, EXIT_CODES.invalidInput);
}

export interface Identity {
  /** The pod name as given, NAME-ORDINAL. */
  podName: string;
  /** The cluster name: the pod name without its ordinal (the StatefulSet's name). */
  cluster: string;
  ordinal: number;
  /** ZooKeeper server id: ordinal + 1. */
  id: number;
}

export interface Settings {
  identity: Identity;
  namespace: string;
  headlessService: string;
  clusterDomain: string;
  ports: { client: number; quorum: number; election: number };
  /** Where the TLS Secrets are mounted (null: that TLS is off), and where ZooKeeper's stores go. */
  tls: TlsSettings;
  dataDir: string;
  confDir: string;
  operatorConfigDir: string;
  bindAddress: string;
  zkHost: string;
  httpHost: string;
  httpPort: number;
  readyCacheMs: number;
  fourLetterTimeoutMs: number;
  dnsWaitMs: number;
  rejoinWaitMs: number;
}

export interface TlsSettings {
  /** Folder of the client TLS Secret, or null: no secure client port. */
  clientDir: string | null;
  /** Folder of the quorum TLS Secret, or null: quorum and election traffic in plain text. */
  quorumDir: string | null;
  /** Where the PEM stores for ZooKeeper are written. */
  storeDir: string;
  secureClientPort: number;
  /** ZooKeeper's ssl.clientAuth for the secure client port. */
  clientAuth: ClientAuthMode;
  syncMs: number;
}

type Env = Record<string, string | undefined>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const MAX_SERVER_ID = 255;

const WILDCARD = new Set(["0.0.0.0", "::", "[::]"]);

/** True for the bind address of a pod (every interface); false for a specific one (the rig). */
export function isWildcardAddress(bindAddress: string): boolean {
  return WILDCARD.has(bindAddress);
}

/** Reads one variable: unset or empty is `undefined`; a line break anywhere is an error. */
function readVar(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  if (/[\r\n]/.test(raw)) throw invalidInput(`${name} contains a line break: ${JSON.stringify(raw)}`);
  if (raw.trim() !== raw)
    throw invalidInput(`${name} has leading or trailing spaces: ${JSON.stringify(raw)}`);
  return raw;
}

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = readVar(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw invalidInput(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw invalidInput(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function readPath(env: Env, name: string, fallback: string): string {
  const p = readVar(env, name) ?? fallback;
  if (!p.startsWith("/")) throw invalidInput(`${name} must be an absolute path, got ${JSON.stringify(p)}`);
  return p;
}

function readClientAuth(env: Env): ClientAuthMode {
  const value = readVar(env, ENV.tlsClientAuth) ?? "none";
  const mode = CLIENT_AUTH_MODES.find((m) => m === value);
  if (mode === undefined) {
    throw invalidInput(
      `${ENV.tlsClientAuth} must be one of ${CLIENT_AUTH_MODES.join(", ")}: ${JSON.stringify(value)}`,
    );
  }
  if (mode !== "none" && readVar(env, ENV.tlsClientDir) === undefined) {
    throw invalidInput(`${ENV.tlsClientAuth}=${mode} needs client TLS (${ENV.tlsClientDir})`);
  }
  return mode;
}

function readOptionalPath(env: Env, name: string): string | null {
  return readVar(env, name) === undefined ? null : readPath(env, name, "");
}

function readAddress(env: Env, name: string, fallback: string): string {
  const a = readVar(env, name) ?? fallback;
  if (!/^[A-Za-z0-9.:-]+$/.test(a)) throw invalidInput(`${name} is not an address: ${JSON.stringify(a)}`);
  return a;
}

/** NAME-ORDINAL → identity; the ordinal is the StatefulSet's, so the server id is ordinal + 1. */
export function parsePodName(podName: string, source: string): Identity {
  if (/[\r\n]/.test(podName))
    throw invalidInput(`${source} contains a line break: ${JSON.stringify(podName)}`);
  const m = /^(.+)-(\d+)$/.exec(podName);
  if (!m?.[1] || m[2] === undefined) {
    throw invalidInput(
      `pod name ${JSON.stringify(podName)} (from ${source}) has no ordinal: expected NAME-ORDINAL, e.g. zk-0`,
    );
  }
  const cluster = m[1];
  if (!DNS_LABEL.test(cluster) || cluster.length > 52) {
    throw invalidInput(
      `pod name ${JSON.stringify(podName)} (from ${source}): ${JSON.stringify(cluster)} is not a DNS label`,
    );
  }
  const ordinal = Number(m[2]);
  if (m[2].length > 1 && m[2].startsWith("0")) {
    throw invalidInput(
      `pod name ${JSON.stringify(podName)} (from ${source}): ordinal ${m[2]} has a leading zero`,
    );
  }
  if (ordinal + 1 > MAX_SERVER_ID) {
    throw invalidInput(
      `pod name ${JSON.stringify(podName)} (from ${source}): ordinal ${ordinal} gives server id ${ordinal + 1}, above ${MAX_SERVER_ID}`,
    );
  }
  return { podName, cluster, ordinal, id: ordinal + 1 };
}

/** Settings from the environment; `hostname` stands in for POD_NAME when that is unset. */
export function readSettings(env: Env, hostname: string): Settings {
  const fromEnv = readVar(env, ENV.podName);
  const identity = parsePodName(fromEnv ?? hostname, fromEnv === undefined ? "the hostname" : ENV.podName);
  const namespace = readVar(env, ENV.namespace);
  if (namespace === undefined) throw invalidInput(`${ENV.namespace} is not set`);
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    throw invalidInput(`${ENV.namespace} is not a valid namespace name: ${JSON.stringify(namespace)}`);
  }
  const headlessService = readVar(env, ENV.headlessService) ?? `${identity.cluster}-headless`;
  if (!DNS_LABEL.test(headlessService) || headlessService.length > 63) {
    throw invalidInput(
      `${ENV.headlessService} is not a valid Service name: ${JSON.stringify(headlessService)}`,
    );
  }
  const clusterDomain = readVar(env, ENV.clusterDomain) ?? ENV_DEFAULTS.clusterDomain;
  if (!DNS_NAME.test(clusterDomain)) {
    throw invalidInput(`${ENV.clusterDomain} is not a DNS domain: ${JSON.stringify(clusterDomain)}`);
  }
  const ports = {
    client: readInt(env, ENV.clientPort, PORTS.client, 1, 65535),
    quorum: readInt(env, ENV.quorumPort, PORTS.quorum, 1, 65535),
    election: readInt(env, ENV.electionPort, PORTS.election, 1, 65535),
  };
  const httpPort = readInt(env, ENV.httpPort, PORTS.sidecarHttp, 1, 65535);
  const tls: TlsSettings = {
    clientDir: readOptionalPath(env, ENV.tlsClientDir),
    quorumDir: readOptionalPath(env, ENV.tlsQuorumDir),
    storeDir: readPath(env, ENV.tlsStoreDir, ENV_DEFAULTS.tlsStoreDir),
    secureClientPort: readInt(env, ENV.secureClientPort, PORTS.secureClient, 1, 65535),
    clientAuth: readClientAuth(env),
    syncMs: readInt(env, ENV.tlsSyncMs, ENV_DEFAULTS.tlsSyncMs, 100, 3_600_000),
  };
  assertPortsDiffer([
    [ENV.clientPort, ports.client],
    ...(tls.clientDir === null ? [] : [[ENV.secureClientPort, tls.secureClientPort] as const]),
    [ENV.quorumPort, ports.quorum],
    [ENV.electionPort, ports.election],
    [ENV.httpPort, httpPort],
  ]);
  return {
    identity,
    namespace,
    headlessService,
    clusterDomain,
    ports,
    tls,
    dataDir: readPath(env, ENV.dataDir, ENV_DEFAULTS.dataDir),
    confDir: readPath(env, ENV.confDir, ENV_DEFAULTS.confDir),
    operatorConfigDir: readPath(env, ENV.operatorConfigDir, ENV_DEFAULTS.operatorConfigDir),
    bindAddress: readAddress(env, ENV.bindAddress, ENV_DEFAULTS.bindAddress),
    zkHost: readAddress(env, ENV.zkHost, ENV_DEFAULTS.zkHost),
    httpHost: readAddress(env, ENV.httpHost, ENV_DEFAULTS.httpHost),
    httpPort,
    readyCacheMs: readInt(env, ENV.readyCacheMs, ENV_DEFAULTS.readyCacheMs, 0, 60_000),
    fourLetterTimeoutMs: readInt(env, ENV.fourLetterTimeoutMs, ENV_DEFAULTS.fourLetterTimeoutMs, 50, 60_000),
    dnsWaitMs: readInt(env, ENV.dnsWaitMs, ENV_DEFAULTS.dnsWaitMs, 0, 3_600_000),
    rejoinWaitMs: readInt(env, ENV.rejoinWaitMs, ENV_DEFAULTS.rejoinWaitMs, 0, 3_600_000),
  };
}

/**
 * Every port ZooKeeper and the sidecar open in the pod must differ: one of two listeners on the
 * same port fails to bind (ZooKeeper's election listener only logs it and retries, so the server
 * would never join). One rule for all of them, naming the pair that collides.
 */
function assertPortsDiffer(ports: readonly (readonly [string, number])[]): void {
  for (const [i, [name, port]] of ports.entries()) {
    const other = ports.slice(0, i).find(([, p]) => p === port);
    if (other) throw invalidInput(`${other[0]} and ${name} must differ, both are ${port}`);
  }
}
