// The contract between the operator and the sidecar: every port, path, environment variable,
// ConfigMap key and line format that both sides must agree on lives here, and only here. The
// operator imports this module; the sidecar never imports the operator.

export const PORTS = {
  client: 2181,
  /** ZooKeeper's TLS client port (secureClientPort), open when client TLS is on. */
  secureClient: 2281,
  quorum: 2888,
  election: 3888,
  /** The sidecar's HTTP server: /livez /readyz /status /metrics. */
  sidecarHttp: 8081,
  /** The operator's HTTP server: /healthz /readyz /metrics. */
  operatorHttp: 8080,
} as const;

export const HTTP_PATHS = {
  live: "/livez",
  ready: "/readyz",
  status: "/status",
  metrics: "/metrics",
} as const;

/** Mount points inside the ZooKeeper pod. */
export const POD_PATHS = {
  /** The PVC: myid, snapshots, logs, and the dynamic membership files ZooKeeper writes. */
  data: "/data",
  /**
   * zoo.cfg and the dynamic membership files: the `init` container renders them here, the
   * zookeeper container reads them and ZooKeeper rewrites them after a reconfig. It must be on the
   * data volume (the `data` PVC mounted with subPath CONF_SUBPATH_ON_DATA_VOLUME), not an emptyDir.
   */
  conf: "/conf",
  /** The NAME-config ConfigMap, mounted read-only. */
  operatorConfig: "/etc/zookeeper-operator",
  /** The NAME-admin Secret, mounted read-only into the sidecar only. */
  admin: "/etc/zookeeper-admin",
  /** The client TLS Secret (TLS_SECRET_KEYS), mounted read-only, when client TLS is on. */
  tlsClient: "/etc/zookeeper-tls/client",
  /** The quorum TLS Secret (TLS_SECRET_KEYS), mounted read-only, when quorum TLS is on. */
  tlsQuorum: "/etc/zookeeper-tls/quorum",
  /**
   * The PEM key and trust stores ZooKeeper reads (TLS_STORE_FILES), written by the sidecar from
   * the TLS Secrets: an emptyDir in memory shared by the sidecar and ZooKeeper, so private keys
   * never land on the data volume.
   */
  tlsStores: "/var/run/zookeeper/tls",
} as const;

/**
 * Keys of a TLS Secret, in cert-manager's layout (and kubernetes.io/tls's, plus the CA): the
 * certificate chain (leaf first), its private key and the CA certificates to trust.
 */
export const TLS_SECRET_KEYS = {
  cert: "tls.crt",
  key: "tls.key",
  ca: "ca.crt",
} as const;

/**
 * ZooKeeper's `ssl.clientAuth` values: `none` asks clients for no certificate; `want` asks and
 * authenticates those that send one; `need` refuses a client without one. The CRD's
 * spec.tls.client.clientAuth takes the same words.
 */
export const CLIENT_AUTH_MODES = ["none", "want", "need"] as const;
export type ClientAuthMode = (typeof CLIENT_AUTH_MODES)[number];

/** The three files of a TLS Secret (TLS_SECRET_KEYS), as text. */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

/**
 * The files the sidecar writes for ZooKeeper under POD_PATHS.tlsStores. ZooKeeper's PEM key store
 * wants the private key and its certificate chain in one file, which a Secret does not hold.
 */
export const TLS_STORE_FILES = {
  clientKeyStore: "client-keystore.pem",
  clientTrustStore: "client-truststore.pem",
  quorumKeyStore: "quorum-keystore.pem",
  quorumTrustStore: "quorum-truststore.pem",
} as const;

/** Keys of the NAME-config ConfigMap (each becomes a file under POD_PATHS.operatorConfig). */
export const CONFIGMAP_KEYS = {
  /**
   * zoo.cfg settings the operator renders from the spec (tickTime, limits, user keys), one
   * `key=value` per line. Part of the pod template's config hash: a change rolls the pods.
   */
  staticConfig: "zoo.cfg.static",
  /**
   * The membership the operator wants, as `MembersFile` (see renderMembersFile). Not part of the
   * config hash: a membership change never restarts a pod.
   */
  members: "members",
  /**
   * Present once the ensemble first reached quorum: the time, ISO 8601. From then on an empty data
   * directory is a lost volume, not a new cluster, and `init` refuses it (EXIT_CODES.emptyDataRefused)
   * unless the server's id is in `rejoinEmpty`. Absent: a new ensemble, empty data is expected.
   */
  initializedAt: "initialized-at",
  /**
   * Server ids the operator re-adds on purpose with an empty data directory, comma-separated
   * (e.g. `2` or `2,3`; empty or absent: none). The operator lists an id only when the rest of the
   * ensemble serves a quorum without it (so it resyncs from the leader), or when a person asked
   * for it (docs/operations.md).
   */
  rejoinEmpty: "rejoin-empty",
  /**
   * The id of the server being added to the ensemble now (at most one; absent: none). The members
   * file then lists the committed members plus this server. It may start on an empty data volume
   * of an initialized ensemble (it syncs from the leader as a non-voting follower), and whatever
   * its volume holds from an earlier membership is moved aside first, so that a server added
   * again starts clean. Once ZooKeeper has committed it, its own dynamic file wins as for anyone.
   */
  joining: "joining",
} as const;

/** Keys of the NAME-admin Secret. */
export const ADMIN_SECRET_KEYS = {
  /** The super user's password, used by the operator to authenticate `reconfig`. */
  password: "password",
  /** `super:<base64 sha1>` for -Dzookeeper.DigestAuthenticationProvider.superDigest. */
  superDigest: "superDigest",
} as const;

/** Environment variables the operator sets on the init container and the sidecar. */
export const ENV = {
  podName: "POD_NAME",
  namespace: "POD_NAMESPACE",
  headlessService: "ZK_HEADLESS_SERVICE",
  clusterDomain: "ZK_CLUSTER_DOMAIN",
  clientPort: "ZK_CLIENT_PORT",
  quorumPort: "ZK_QUORUM_PORT",
  electionPort: "ZK_ELECTION_PORT",
  dataDir: "ZK_DATA_DIR",
  confDir: "ZK_CONF_DIR",
  operatorConfigDir: "ZK_OPERATOR_CONFIG_DIR",
  /** Address the sidecar's HTTP server listens on (default 0.0.0.0). */
  httpHost: "ZK_SIDECAR_HTTP_HOST",
  httpPort: "ZK_SIDECAR_HTTP_PORT",
  /**
   * Address this server binds its quorum, election, client and admin ports to (default 0.0.0.0,
   * right in a pod). The loopback test rig runs several servers on one host and sets each one's
   * own 127.x address here.
   */
  bindAddress: "ZK_BIND_ADDRESS",
  /** Address of the local ZooKeeper for four-letter words (default 127.0.0.1). */
  zkHost: "ZK_SERVER_HOST",
  /** How long a readiness answer is reused, in milliseconds. */
  readyCacheMs: "ZK_READY_CACHE_MS",
  /** How long one four-letter word may take before it counts as failed, in milliseconds. */
  fourLetterTimeoutMs: "ZK_4LW_TIMEOUT_MS",
  /**
   * How long `init` waits for this pod's own stable DNS name to resolve before ZooKeeper starts,
   * in milliseconds (only with the wildcard bind address, i.e. in a pod; 0 skips the wait).
   */
  dnsWaitMs: "ZK_DNS_WAIT_MS",
  /**
   * How long `init` waits, re-reading CONFIGMAP_KEYS.rejoinEmpty every 2 s, before it refuses an
   * empty data directory of an initialized ensemble (EXIT_CODES.emptyDataRefused), in milliseconds
   * (0: refuse at once). The kubelet updates mounted ConfigMap files up to about a minute after a
   * change, so a server the operator lists a moment later starts without a crash-loop backoff.
   */
  rejoinWaitMs: "ZK_REJOIN_WAIT_MS",
  /**
   * The container's terminationMessagePath: where a failing `init` or `serve` writes its one-line
   * message, so that the pod's status shows it. Written only when the file exists (the kubelet
   * creates it); must match the container's terminationMessagePath when that is not the default.
   */
  terminationMessagePath: "ZK_TERMINATION_MESSAGE_PATH",
  /** Folder of the mounted client TLS Secret; set: client TLS on (the secure client port opens). */
  tlsClientDir: "ZK_TLS_CLIENT_DIR",
  /** Folder of the mounted quorum TLS Secret; set: quorum and election traffic use TLS. */
  tlsQuorumDir: "ZK_TLS_QUORUM_DIR",
  /** Where the sidecar writes the PEM stores ZooKeeper reads (TLS_STORE_FILES). */
  tlsStoreDir: "ZK_TLS_STORE_DIR",
  secureClientPort: "ZK_SECURE_CLIENT_PORT",
  /**
   * Whether clients of the secure port must present a certificate of the client Secret's CA
   * (CLIENT_AUTH_MODES, ZooKeeper's `ssl.clientAuth`); with `want` or `need` ZooKeeper's `x509`
   * provider authenticates them by it. Default `none`.
   */
  tlsClientAuth: "ZK_TLS_CLIENT_AUTH",
  /**
   * How often `serve` compares the mounted quorum TLS Secret with the stores ZooKeeper reads, in
   * milliseconds; a renewed certificate is written there and ZooKeeper reloads it (tls.ts).
   */
  tlsSyncMs: "ZK_TLS_SYNC_MS",
} as const;

/** What the sidecar assumes when a variable of ENV is not set. POD_NAMESPACE has no default. */
export const ENV_DEFAULTS = {
  clusterDomain: "cluster.local",
  dataDir: POD_PATHS.data,
  confDir: POD_PATHS.conf,
  operatorConfigDir: POD_PATHS.operatorConfig,
  httpHost: "0.0.0.0",
  bindAddress: "0.0.0.0",
  zkHost: "127.0.0.1",
  readyCacheMs: 1000,
  fourLetterTimeoutMs: 1000,
  dnsWaitMs: 60_000,
  rejoinWaitMs: 60_000,
  /** Kubernetes' default terminationMessagePath. */
  terminationMessagePath: "/dev/termination-log",
  tlsStoreDir: POD_PATHS.tlsStores,
  tlsSyncMs: 10_000,
} as const;

/**
 * Where ZooKeeper's dynamic membership files live. ZooKeeper writes the file of a new config
 * version beside the zoo.cfg it was started with (`<zoo.cfg path>.dynamic.<hex version>`, see
 * QuorumPeer.makeDynamicConfigFilename), not beside `dynamicConfigFile`, and rewrites zoo.cfg to
 * point at it. For a reconfiguration to survive a pod restart, POD_PATHS.conf must therefore be on
 * the data volume: the pod mounts the `data` PVC a second time at POD_PATHS.conf with this subPath.
 */
export const CONF_SUBPATH_ON_DATA_VOLUME = "conf";

/** File names the sidecar writes or reads. */
export const FILES = {
  zooCfg: "zoo.cfg",
  /** Prefix of dynamic membership files; the suffix is the config version in hex. */
  dynamicConfigPrefix: "zoo.cfg.dynamic.",
  myid: "myid",
} as const;

/**
 * zoo.cfg keys the sidecar renders itself. The operator's `zoo.cfg.static` must not contain them
 * (`zk-sidecar init` refuses it); `server.`, `group.` and `weight.` are prefixes.
 */
export const SIDECAR_OWNED_ZOO_CFG_KEYS = [
  "dataDir",
  "dynamicConfigFile",
  "standaloneEnabled",
  "reconfigEnabled",
  "4lw.commands.whitelist",
  "clientPort",
  "clientPortAddress",
  "admin.enableServer",
  "admin.serverAddress",
  "admin.serverPort",
  "quorumListenOnAllIPs",
  "peerType",
  // TLS (tls.ts): the sidecar renders these from the mounted Secrets, or nothing when TLS is off.
  "serverCnxnFactory",
  "secureClientPort",
  "secureClientPortAddress",
  "sslQuorum",
  "sslQuorumReloadCertFiles",
  "portUnification",
  "client.portUnification",
  "authProvider.x509",
  "ssl.",
  "server.",
  "group.",
  "weight.",
] as const;

/**
 * Why a zoo.cfg value is refused, or null when it is safe. ZooKeeper reads zoo.cfg with Java's
 * Properties.load, which gives a backslash meaning: at the end of a value it joins the next line
 * of zoo.cfg into it (that setting is silently lost), and `\u` followed by anything but four hex
 * digits makes ZooKeeper exit ("Malformed \uxxxx encoding"). No zoo.cfg setting needs a
 * backslash, so none is allowed: every value then means exactly what it says. A line break would
 * start a setting of its own, and other control characters are never meant (a tab is: Java reads
 * it as a space). The CRD's CEL rules say the same (api/schema.ts).
 */
export function zooCfgValueProblem(value: string): string | null {
  if (/[\r\n]/.test(value)) return "contains a line break";
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(value)) return "contains a control character";
  if (value.includes("\\")) return "contains a backslash (Java properties would read it as an escape)";
  return null;
}

/** Exit codes of `zk-sidecar init` and `zk-sidecar serve`. */
export const EXIT_CODES = {
  ok: 0,
  /** An unexpected failure (a bug, or an I/O error other than the ones below). */
  failure: 1,
  /** Unknown subcommand or flag. */
  usage: 2,
  /** Bad input: a variable, the pod name, the members file or the static settings. */
  invalidInput: 3,
  /** The data volume contradicts the input (e.g. a myid of another server); nothing was changed. */
  conflict: 4,
  /** A directory the sidecar must write to is missing or not writable. */
  notWritable: 5,
  /** This pod's own stable DNS name did not resolve within ZK_DNS_WAIT_MS; the kubelet retries. */
  dnsNotReady: 6,
  /**
   * The data directory is empty but the ensemble was initialized (CONFIGMAP_KEYS.initializedAt)
   * and the operator has not listed this server in CONFIGMAP_KEYS.rejoinEmpty (re-read for
   * ENV.rejoinWaitMs before giving up): starting would risk an empty server voting as if it held
   * the ensemble's data. Nothing was written; the kubelet retries, and the operator reads this
   * code (and the message, from the termination message file) in the init container's status.
   */
  emptyDataRefused: 7,
} as const;

/**
 * Parses CONFIGMAP_KEYS.rejoinEmpty: ids separated by commas (spaces allowed); throws on anything
 * else. `init` also refuses an id above 255, the largest id the members file allows.
 */
export function parseRejoinEmpty(text: string): number[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  return trimmed.split(",").map((part) => {
    const t = part.trim();
    if (!/^[1-9][0-9]{0,2}$/.test(t))
      throw new Error(`rejoin-empty: ${JSON.stringify(t)} is not a server id`);
    return Number(t);
  });
}

/** Renders CONFIGMAP_KEYS.rejoinEmpty (sorted, deduplicated). */
export function renderRejoinEmpty(ids: readonly number[]): string {
  return [...new Set(ids)].sort((a, b) => a - b).join(",");
}

/** The only four-letter words the sidecar uses; zoo.cfg whitelists exactly these. */
/** The client address of every server line when client TLS is on: the plain port for the sidecar only. */
export const LOOPBACK_CLIENT_ADDRESS = "127.0.0.1";

export const FOUR_LETTER_WORDS = ["ruok", "srvr", "mntr", "conf"] as const;

export type MemberRole = "participant" | "observer";

export interface Member {
  /** ZooKeeper server id, 1-based: pod ordinal + 1. */
  id: number;
  role: MemberRole;
}

/**
 * The members file the operator writes into the ConfigMap. `version` is the committed ensemble
 * config version (hex, as ZooKeeper prints it after `version=`) the operator last observed,
 * or "0" before any reconfiguration. It is only what a server without a config of its own starts
 * from: the sidecar prefers ZooKeeper's own dynamic file on the data volume whenever that one
 * lists the server, whatever the versions (a hand edit of the ConfigMap never reaches it).
 */
export interface MembersFile {
  version: string;
  members: Member[];
}

/** Stable DNS name of member `id` (DESIGN.md): NAME-(id-1).NAME-headless.NAMESPACE.svc.DOMAIN */
export function memberHost(
  cluster: string,
  id: number,
  namespace: string,
  headlessService: string,
  clusterDomain: string,
): string {
  return `${cluster}-${id - 1}.${headlessService}.${namespace}.svc.${clusterDomain}`;
}

/**
 * `server.ID=HOST:QUORUM:ELECTION:ROLE;[CLIENT_ADDRESS:]CLIENT_PORT`, the line format of
 * ZooKeeper's dynamic config. Without a client address the client port binds every interface.
 */
export function renderServerLine(
  id: number,
  host: string,
  role: MemberRole,
  ports: { quorum: number; election: number; client: number } = PORTS,
  clientAddress: string | null = null,
): string {
  const client = clientAddress === null ? `${ports.client}` : `${clientAddress}:${ports.client}`;
  return `server.${id}=${host}:${ports.quorum}:${ports.election}:${role};${client}`;
}

export interface ServerLine {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: MemberRole;
  clientAddress: string | null;
  clientPort: number | null;
}

const SERVER_LINE =
  /^server\.(\d+)=([^:;\s]+):(\d+):(\d+)(?::(participant|observer))?(?:;(?:([^:;\s]+):)?(\d+))?$/;

/** Parses one `server.N=...` line as ZooKeeper writes it; null when it is not one. */
export function parseServerLine(line: string): ServerLine | null {
  const m = SERVER_LINE.exec(line.trim());
  if (!m) return null;
  const [, id, host, quorum, election, role, clientAddress, clientPort] = m;
  if (id === undefined || host === undefined || quorum === undefined || election === undefined) return null;
  return {
    id: Number(id),
    host,
    quorumPort: Number(quorum),
    electionPort: Number(election),
    role: role === "observer" ? "observer" : "participant",
    clientAddress: clientAddress ?? null,
    clientPort: clientPort === undefined ? null : Number(clientPort),
  };
}

/** What a server is doing, as `/status` and `/readyz` report it. */
export type SidecarMode = "leader" | "follower" | "observer" | "standalone" | "not-serving" | "unreachable";

/** The JSON body of the sidecar's `/status` (docs/sidecar.md). */
export interface SidecarStatus {
  /** This server's id, from the pod name. */
  myid: number;
  /** leader/follower/observer from `srvr`; not-serving: answers but serves no quorum; unreachable: no answer. */
  mode: SidecarMode;
  /** Serves in a quorum (mode is leader, follower, observer or standalone). */
  serving: boolean;
  /** What /readyz answers: serving as leader, follower or observer. */
  ready: boolean;
  reason: string;
  /** Last zxid from `srvr` (0x...), null when not serving. */
  lastZxid: string | null;
  /**
   * On the leader only, the followers that have synced with it (`mntr` zk_synced_followers,
   * voting followers only; observers are not counted); null on any other member or when `mntr`
   * did not answer. The operator restarts a member only when every other voter is synced.
   */
  syncedFollowers: number | null;
  /** The committed ensemble config as this server sees it (`conf`); null when not serving. */
  config: { version: string | null; members: ServerLine[] } | null;
  /** The last failed four-letter word, if any since the sidecar started. */
  lastError: {
    word: string;
    reason: "timeout" | "connection" | "not_serving" | "not_whitelisted" | "empty" | "malformed";
    message: string;
    /** ISO 8601 time. */
    at: string;
  } | null;
  /** ISO 8601 time of this answer. */
  checkedAt: string;
  /** With TLS on: the mounted TLS Secrets, per role (tls-files.ts); absent with TLS off. */
  tls?: Partial<Record<"client" | "quorum", SidecarTlsStatus>>;
}

/** One mounted TLS Secret as /status reports it: never the key. */
export interface SidecarTlsStatus {
  subject: string;
  issuer: string;
  notAfter: string;
  /** SHA-256 fingerprint of the mounted leaf certificate. */
  fingerprint: string;
  /**
   * The mounted Secret differs from what ZooKeeper serves and ZooKeeper cannot reload it (a
   * client certificate on 3.8): the server must restart to use it. The operator then rolls the
   * members, leader last (reconcile/client-certificate.ts).
   */
  restartNeeded: boolean;
  /** Why the mounted Secret is not used, when it is refused (the stores keep the last good one). */
  problem: string | null;
}

/** Renders the members file: `version=HEX` then one `ID=ROLE` line per member, sorted by id. */
export function renderMembersFile(file: MembersFile): string {
  const lines = [`version=${file.version}`];
  for (const m of [...file.members].sort((a, b) => a.id - b.id)) lines.push(`${m.id}=${m.role}`);
  return lines.join("\n") + "\n";
}

/** Parses the members file; throws an Error naming the bad line. */
export function parseMembersFile(text: string): MembersFile {
  let version: string | null = null;
  const members: Member[] = [];
  const seen = new Set<number>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const v = /^version=([0-9a-f]+)$/.exec(line);
    if (v?.[1]) {
      version = v[1];
      continue;
    }
    const m = /^(\d+)=(participant|observer)$/.exec(line);
    if (!m?.[1] || !m[2])
      throw new Error(
        `members file line ${i + 1}: expected ID=participant|observer, got ${JSON.stringify(raw)}`,
      );
    const id = Number(m[1]);
    if (id < 1 || id > 255) throw new Error(`members file line ${i + 1}: server id ${id} is outside 1..255`);
    if (seen.has(id)) throw new Error(`members file line ${i + 1}: server id ${id} appears twice`);
    seen.add(id);
    members.push({ id, role: m[2] as MemberRole });
  }
  if (version === null) throw new Error("members file: the version=HEX line is missing");
  if (members.length === 0) throw new Error("members file: no members");
  return { version, members: members.sort((a, b) => a.id - b.id) };
}
