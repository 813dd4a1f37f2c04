// zk-operator's configuration: flags win over environment variables, which win over defaults.
// Parsed and validated once at start (pure, table-tested); a bad value is reported with the flag
// and variable names and the process exits non-zero before it touches the cluster.
import { LEADER_ELECTION_DEFAULTS, checkLeaderElectionConfig } from "./runtime/leader.ts";
import { PORTS } from "../../sidecar/src/contract.ts";

export interface OperatorConfig {
  /** Path of a kubeconfig; null: in-cluster service account (or the default kubeconfig). */
  kubeconfig: string | null;
  /** Namespaces to watch; empty: all namespaces. */
  namespaces: string[];
  httpHost: string;
  httpPort: number;
  workers: number;
  resyncPeriodMs: number;
  /** At most this many clusters roll their members at once. */
  maxConcurrentRolls: number;
  /** How long a restarted member may take to serve and sync before its roll halts. */
  memberReadyTimeoutMs: number;
  clusterDomain: string;
  /** The operator's own namespace ($POD_NAMESPACE, else the in-cluster one); null outside a cluster. */
  operatorNamespace: string | null;
  sidecarImage: string | null;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
}

interface Option {
  flag: string;
  env: string;
  help: string;
  default?: string;
}

export const OPTIONS = {
  kubeconfig: {
    flag: "kubeconfig",
    env: "KUBECONFIG",
    help: "kubeconfig file (default: in-cluster service account)",
  },
  namespaces: {
    flag: "namespaces",
    env: "ZK_OPERATOR_NAMESPACES",
    help: "comma-separated namespaces to watch (default: all namespaces)",
    default: "",
  },
  httpHost: {
    flag: "http-host",
    env: "ZK_OPERATOR_HTTP_HOST",
    help: "address of /healthz /readyz /metrics",
    default: "0.0.0.0",
  },
  httpPort: {
    flag: "http-port",
    env: "ZK_OPERATOR_HTTP_PORT",
    help: "port of /healthz /readyz /metrics (0: any free port)",
    default: String(PORTS.operatorHttp),
  },
  workers: {
    flag: "workers",
    env: "ZK_OPERATOR_WORKERS",
    help: "clusters reconciled at once (1-64)",
    default: "4",
  },
  resyncPeriod: {
    flag: "resync-period",
    env: "ZK_OPERATOR_RESYNC_PERIOD",
    help: "how often every cluster is reconciled even without a change (0: never)",
    default: "10m",
  },
  maxConcurrentRolls: {
    flag: "max-concurrent-rolls",
    env: "ZK_OPERATOR_MAX_CONCURRENT_ROLLS",
    help: "how many clusters may roll their members at the same time; the others wait (an operator upgrade that changes the sidecar image rolls them one after another)",
    default: "1",
  },
  memberReadyTimeout: {
    flag: "member-ready-timeout",
    env: "ZK_OPERATOR_MEMBER_READY_TIMEOUT",
    help: "how long a member restarted in a roll may take to serve and sync before the roll halts",
    default: "10m",
  },
  clusterDomain: {
    flag: "cluster-domain",
    env: "ZK_CLUSTER_DOMAIN",
    help: "the cluster's DNS domain",
    default: "cluster.local",
  },
  sidecarImage: {
    flag: "sidecar-image",
    env: "ZK_OPERATOR_SIDECAR_IMAGE",
    help: "sidecar image for clusters that do not set spec.sidecar.image",
  },
  logLevel: {
    flag: "log-level",
    env: "ZK_OPERATOR_LOG_LEVEL",
    help: "fatal, error, warn, info, debug, trace",
    default: "info",
  },
  leaderElect: {
    flag: "leader-elect",
    env: "ZK_OPERATOR_LEADER_ELECT",
    help: "run leader election so only one replica writes (true/false)",
    default: "true",
  },
  leaderElectionNamespace: {
    flag: "leader-election-namespace",
    env: "ZK_OPERATOR_LEADER_ELECTION_NAMESPACE",
    help: "namespace of the Lease (default: POD_NAMESPACE, else the in-cluster namespace)",
  },
  leaderElectionId: {
    flag: "leader-election-id",
    env: "ZK_OPERATOR_LEADER_ELECTION_ID",
    help: "name of the Lease",
    default: "zk-operator",
  },
  identity: {
    flag: "identity",
    env: "POD_NAME",
    help: "this replica's identity in the Lease (default: hostname + pid)",
  },
  leaseDuration: {
    flag: "lease-duration",
    env: "ZK_OPERATOR_LEASE_DURATION",
    help: "how long a standby waits before taking over an unrenewed lease",
    default: `${LEADER_ELECTION_DEFAULTS.leaseDurationMs / 1000}s`,
  },
  renewDeadline: {
    flag: "renew-deadline",
    env: "ZK_OPERATOR_RENEW_DEADLINE",
    help: "how long the leader keeps trying to renew before it stops leading",
    default: `${LEADER_ELECTION_DEFAULTS.renewDeadlineMs / 1000}s`,
  },
  retryPeriod: {
    flag: "retry-period",
    env: "ZK_OPERATOR_RETRY_PERIOD",
    help: "time between lease attempts",
    default: `${LEADER_ELECTION_DEFAULTS.retryPeriodMs / 1000}s`,
  },
} as const satisfies Record<string, Option>;

type OptionName = keyof typeof OPTIONS;

export type ParseResult =
  | { ok: true; config: OperatorConfig }
  | { ok: false; errors: string[] }
  | { ok: false; help: string; errors: [] };

/** `1500ms`, `15s`, `10m`, `1h`, or a combination like `1m30s`. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const n = Number(m[1]);
    const unit = m[2];
    total += n * (unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000);
    consumed = re.lastIndex;
  }
  return consumed === t.length && consumed > 0 ? Math.round(total) : null;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function helpText(): string {
  const lines = [
    "Usage: zk-operator [flags]",
    "",
    "Every flag can also be set by its environment variable.",
    "",
  ];
  for (const o of Object.values(OPTIONS) as Option[]) {
    const def = o.default === undefined || o.default === "" ? "" : ` (default ${o.default})`;
    lines.push(`  --${o.flag.padEnd(28)} $${o.env.padEnd(40)} ${o.help}${def}`);
  }
  return lines.join("\n");
}

export function parseConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  defaults: { hostname: string; pid: number; inClusterNamespace: string | null },
): ParseResult {
  const errors: string[] = [];
  const flags = new Map<string, string>();
  const byFlag = new Map<string, OptionName>(
    (Object.entries(OPTIONS) as [OptionName, Option][]).map(([k, o]) => [o.flag, k]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") return { ok: false, help: helpText(), errors: [] };
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1]) {
      errors.push(`unexpected argument ${JSON.stringify(arg)} (flags look like --name=value)`);
      continue;
    }
    const name = byFlag.get(m[1]);
    if (!name) {
      errors.push(`unknown flag --${m[1]} (see --help)`);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) {
        if (name === "leaderElect") value = "true";
        else {
          errors.push(`--${m[1]} needs a value`);
          continue;
        }
      } else {
        value = next;
        i++;
      }
    }
    flags.set(name, value);
  }

  const raw = (name: OptionName): { value: string | undefined; source: string } => {
    const o: Option = OPTIONS[name];
    const f = flags.get(name);
    if (f !== undefined) return { value: f, source: `--${o.flag}` };
    const e = env[o.env];
    if (e !== undefined && e !== "") return { value: e, source: `$${o.env}` };
    return { value: o.default, source: `default of --${o.flag}` };
  };
  const int = (name: OptionName, min: number, max: number): number => {
    const { value, source } = raw(name);
    const n = Number(value);
    if (value === undefined || !/^\d+$/.test(value.trim()) || n < min || n > max) {
      errors.push(`${source}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return min;
    }
    return n;
  };
  const duration = (name: OptionName): number => {
    const { value, source } = raw(name);
    const ms = value === undefined ? null : parseDuration(value);
    if (ms === null) {
      errors.push(`${source}: must be a duration like 15s, 500ms or 10m, got ${JSON.stringify(value)}`);
      return 0;
    }
    return ms;
  };
  const bool = (name: OptionName): boolean => {
    const { value, source } = raw(name);
    if (value === "true" || value === "1") return true;
    if (value === "false" || value === "0") return false;
    errors.push(`${source}: must be true or false, got ${JSON.stringify(value)}`);
    return false;
  };

  const namespacesRaw = raw("namespaces");
  const namespaces = (namespacesRaw.value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const ns of namespaces) {
    if (!DNS_LABEL.test(ns) || ns.length > 63) {
      errors.push(`${namespacesRaw.source}: ${JSON.stringify(ns)} is not a valid namespace name`);
    }
  }
  const logLevelRaw = raw("logLevel");
  const levels = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
  const logLevel = levels.find((l) => l === logLevelRaw.value);
  if (!logLevel)
    errors.push(
      `${logLevelRaw.source}: must be one of ${levels.join(", ")}, got ${JSON.stringify(logLevelRaw.value)}`,
    );

  const clusterDomainRaw = raw("clusterDomain");
  const clusterDomain = clusterDomainRaw.value ?? "";
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(clusterDomain)) {
    errors.push(`${clusterDomainRaw.source}: ${JSON.stringify(clusterDomain)} is not a DNS domain`);
  }
  const sidecarImage = raw("sidecarImage").value ?? null;
  if (sidecarImage !== null && /\s/.test(sidecarImage))
    errors.push(`--sidecar-image: ${JSON.stringify(sidecarImage)} is not an image reference`);

  const enabled = bool("leaderElect");
  const leNsRaw = raw("leaderElectionNamespace");
  const leNamespace = leNsRaw.value ?? env.POD_NAMESPACE ?? defaults.inClusterNamespace ?? "";
  if (enabled && leNamespace === "") {
    errors.push(
      "leader election needs a namespace for its Lease: set --leader-election-namespace (or $POD_NAMESPACE), or --leader-elect=false",
    );
  } else if (enabled && !DNS_LABEL.test(leNamespace)) {
    errors.push(`${leNsRaw.source}: ${JSON.stringify(leNamespace)} is not a valid namespace name`);
  }
  const leName = raw("leaderElectionId").value ?? "zk-operator";
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(leName))
    errors.push(`--leader-election-id: ${JSON.stringify(leName)} is not a valid name`);
  const timings = {
    leaseDurationMs: duration("leaseDuration"),
    renewDeadlineMs: duration("renewDeadline"),
    retryPeriodMs: duration("retryPeriod"),
  };
  if (enabled && errors.length === 0) {
    const problem = checkLeaderElectionConfig(timings);
    if (problem) errors.push(`leader election: ${problem}`);
  }

  const memberReadyTimeoutMs = duration("memberReadyTimeout");
  if (memberReadyTimeoutMs <= 0 && errors.length === 0)
    errors.push("--member-ready-timeout: must be longer than 0 (a restarted member needs time to sync)");

  const config: OperatorConfig = {
    kubeconfig: raw("kubeconfig").value ?? null,
    namespaces,
    httpHost: raw("httpHost").value ?? "0.0.0.0",
    httpPort: int("httpPort", 0, 65535),
    workers: int("workers", 1, 64),
    resyncPeriodMs: duration("resyncPeriod"),
    maxConcurrentRolls: int("maxConcurrentRolls", 1, 1000),
    memberReadyTimeoutMs,
    clusterDomain,
    operatorNamespace: env.POD_NAMESPACE ?? defaults.inClusterNamespace ?? null,
    sidecarImage,
    logLevel: logLevel ?? "info",
    leaderElection: {
      enabled,
      namespace: leNamespace,
      name: leName,
      identity: raw("identity").value ?? `${defaults.hostname}_${defaults.pid}`,
      ...timings,
    },
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
