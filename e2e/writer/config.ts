// The writer pod's settings, from its environment. Pure, so every refusal is unit-tested.

export const WRITER_DEFAULTS = {
  ratePerSecond: 50,
  payloadBytes: 128,
  // Kafka's default (zookeeper.session.timeout.ms); the silence watchdog drops a connection after
  // two thirds of it, as the Java client does.
  sessionTimeoutMs: 18_000,
  maxInFlight: 2_000,
  statusIntervalMs: 300,
} as const;

export interface WriterSettings {
  run: string | null;
  connectionString: string;
  members: { id: number; address: string }[];
  /** Member id → URL of its sidecar's /status. */
  statusUrls: Map<number, string>;
  ratePerSecond: number;
  payloadBytes: number;
  sessionTimeoutMs: number;
  maxInFlight: number;
  statusIntervalMs: number;
  httpPort: number;
  /** PEM file of the CA to verify members with: set, every address is a TLS port (main.ts). */
  tlsCaFile: string | null;
  /** PEM certificate and key files to present when the members require client certificates. */
  tlsClient: { certFile: string; keyFile: string } | null;
}

/** Environment variables the writer reads. */
export const WRITER_ENV = {
  run: "WRITER_RUN",
  connect: "ZK_CONNECT",
  /** `1=host:2181,2=host:2181,…` */
  members: "ZK_MEMBERS",
  /** `1=http://host:8081/status,…` (optional: without it, no election tracking). */
  statusUrls: "ZK_STATUS_URLS",
  rate: "WRITE_RATE",
  payloadBytes: "PAYLOAD_BYTES",
  sessionTimeoutMs: "SESSION_TIMEOUT_MS",
  maxInFlight: "MAX_IN_FLIGHT",
  statusIntervalMs: "STATUS_INTERVAL_MS",
  httpPort: "HTTP_PORT",
  /** Path of a PEM CA file: the connection string and members are TLS ports (client TLS). */
  tlsCa: "ZK_TLS_CA",
  /** Paths of the PEM certificate and key to present (both or neither; with ZK_TLS_CA). */
  tlsCert: "ZK_TLS_CERT",
  tlsKey: "ZK_TLS_KEY",
} as const;

export const DEFAULT_HTTP_PORT = 8090;

function parseIdList(name: string, text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const item of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)=(\S+)$/.exec(item);
    if (!m?.[1] || !m[2]) throw new Error(`${name}: expected ID=VALUE, got ${JSON.stringify(item)}`);
    const id = Number(m[1]);
    if (out.has(id)) throw new Error(`${name}: id ${id} appears twice`);
    out.set(id, m[2]);
  }
  return out;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Reads the settings; throws an Error naming the bad variable. */
export function parseWriterEnv(env: Record<string, string | undefined>): WriterSettings {
  const connectionString = env[WRITER_ENV.connect];
  if (!connectionString)
    throw new Error(`${WRITER_ENV.connect} is required (host:port of the client Service)`);
  const membersText = env[WRITER_ENV.members];
  if (!membersText) throw new Error(`${WRITER_ENV.members} is required (ID=host:port,…)`);
  const members = [...parseIdList(WRITER_ENV.members, membersText)]
    .map(([id, address]) => ({ id, address }))
    .sort((a, b) => a.id - b.id);
  if (members.length === 0) throw new Error(`${WRITER_ENV.members}: no members`);
  const statusUrls = parseIdList(WRITER_ENV.statusUrls, env[WRITER_ENV.statusUrls] ?? "");
  for (const id of statusUrls.keys())
    if (!members.some((m) => m.id === id))
      throw new Error(`${WRITER_ENV.statusUrls}: id ${id} is not in ${WRITER_ENV.members}`);
  const run = env[WRITER_ENV.run] ?? null;
  if (run !== null && !/^[A-Za-z0-9-]+$/.test(run))
    throw new Error(`${WRITER_ENV.run}: letters, digits and '-' only, got ${JSON.stringify(run)}`);
  return {
    run,
    connectionString,
    members,
    statusUrls,
    ratePerSecond: positiveInt(WRITER_ENV.rate, env[WRITER_ENV.rate], WRITER_DEFAULTS.ratePerSecond),
    payloadBytes: positiveInt(
      WRITER_ENV.payloadBytes,
      env[WRITER_ENV.payloadBytes],
      WRITER_DEFAULTS.payloadBytes,
    ),
    sessionTimeoutMs: positiveInt(
      WRITER_ENV.sessionTimeoutMs,
      env[WRITER_ENV.sessionTimeoutMs],
      WRITER_DEFAULTS.sessionTimeoutMs,
    ),
    maxInFlight: positiveInt(
      WRITER_ENV.maxInFlight,
      env[WRITER_ENV.maxInFlight],
      WRITER_DEFAULTS.maxInFlight,
    ),
    statusIntervalMs: positiveInt(
      WRITER_ENV.statusIntervalMs,
      env[WRITER_ENV.statusIntervalMs],
      WRITER_DEFAULTS.statusIntervalMs,
    ),
    httpPort: positiveInt(WRITER_ENV.httpPort, env[WRITER_ENV.httpPort], DEFAULT_HTTP_PORT),
    tlsCaFile: env[WRITER_ENV.tlsCa] || null,
    tlsClient: parseTlsClient(env),
  };
}

function parseTlsClient(env: Record<string, string | undefined>): WriterSettings["tlsClient"] {
  const [certFile, keyFile] = [env[WRITER_ENV.tlsCert] || null, env[WRITER_ENV.tlsKey] || null];
  if (certFile === null && keyFile === null) return null;
  if (certFile === null || keyFile === null || !env[WRITER_ENV.tlsCa]) {
    throw new Error(`${WRITER_ENV.tlsCert} and ${WRITER_ENV.tlsKey} go together, with ${WRITER_ENV.tlsCa}`);
  }
  return { certFile, keyFile };
}
