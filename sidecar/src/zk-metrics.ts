// ZooKeeper's `mntr` as Prometheus metrics (pure). Names follow Prometheus conventions: a
// `zookeeper_` prefix, base units (ZooKeeper's milliseconds become `_seconds`, sizes `_bytes`),
// `_total` on counters. Well-known values have their type written down here; ZooKeeper's summary
// sets (zk_{avg,min,max,cnt,sum,p50,...}_NAME) become summaries; every other number is one of
// ZooKeeper's counters. A value that is not a number is skipped and counted, never thrown.
import type { Mntr } from "./zk.ts";

type Kind = "gauge" | "counter";

interface Known {
  name: string;
  kind: Kind;
  help: string;
  /** Multiplier to the base unit (0.001 for milliseconds to seconds). */
  scale?: number;
}

const MS = 0.001;

/** mntr keys (without `zk_`) with a fixed name, type and unit. */
export const KNOWN_MNTR_METRICS: Record<string, Known> = {
  avg_latency: {
    name: "zookeeper_avg_latency_seconds",
    kind: "gauge",
    help: "Average request latency.",
    scale: MS,
  },
  min_latency: {
    name: "zookeeper_min_latency_seconds",
    kind: "gauge",
    help: "Minimum request latency.",
    scale: MS,
  },
  max_latency: {
    name: "zookeeper_max_latency_seconds",
    kind: "gauge",
    help: "Maximum request latency.",
    scale: MS,
  },
  packets_received: {
    name: "zookeeper_packets_received_total",
    kind: "counter",
    help: "Packets received from clients.",
  },
  packets_sent: { name: "zookeeper_packets_sent_total", kind: "counter", help: "Packets sent to clients." },
  num_alive_connections: {
    name: "zookeeper_num_alive_connections",
    kind: "gauge",
    help: "Open client connections.",
  },
  outstanding_requests: {
    name: "zookeeper_outstanding_requests",
    kind: "gauge",
    help: "Requests queued, not yet processed.",
  },
  znode_count: { name: "zookeeper_znode_count", kind: "gauge", help: "Znodes in the data tree." },
  watch_count: { name: "zookeeper_watch_count", kind: "gauge", help: "Watches set by clients." },
  ephemerals_count: { name: "zookeeper_ephemerals_count", kind: "gauge", help: "Ephemeral znodes." },
  approximate_data_size: {
    name: "zookeeper_approximate_data_size_bytes",
    kind: "gauge",
    help: "Approximate size of the data tree.",
  },
  open_file_descriptor_count: {
    name: "zookeeper_open_file_descriptor_count",
    kind: "gauge",
    help: "Open file descriptors.",
  },
  max_file_descriptor_count: {
    name: "zookeeper_max_file_descriptor_count",
    kind: "gauge",
    help: "File descriptor limit.",
  },
  uptime: {
    name: "zookeeper_uptime_seconds",
    kind: "gauge",
    help: "Time since this server started serving.",
    scale: MS,
  },
  global_sessions: { name: "zookeeper_global_sessions", kind: "gauge", help: "Global sessions." },
  local_sessions: { name: "zookeeper_local_sessions", kind: "gauge", help: "Local sessions." },
  quorum_size: {
    name: "zookeeper_quorum_size",
    kind: "gauge",
    help: "Voting members in the ensemble config.",
  },
  connection_drop_probability: {
    name: "zookeeper_connection_drop_probability",
    kind: "gauge",
    help: "Probability of dropping a new connection (throttling).",
  },
  outstanding_tls_handshake: {
    name: "zookeeper_outstanding_tls_handshake",
    kind: "gauge",
    help: "TLS handshakes in progress.",
  },
  non_mtls_local_conn_count: {
    name: "zookeeper_non_mtls_local_conn_count",
    kind: "gauge",
    help: "Local connections without mutual TLS.",
  },
  non_mtls_remote_conn_count: {
    name: "zookeeper_non_mtls_remote_conn_count",
    kind: "gauge",
    help: "Remote connections without mutual TLS.",
  },
  last_client_response_size: {
    name: "zookeeper_last_client_response_size_bytes",
    kind: "gauge",
    help: "Size of the last client response (-1: none yet).",
  },
  min_client_response_size: {
    name: "zookeeper_min_client_response_size_bytes",
    kind: "gauge",
    help: "Smallest client response (-1: none yet).",
  },
  max_client_response_size: {
    name: "zookeeper_max_client_response_size_bytes",
    kind: "gauge",
    help: "Largest client response (-1: none yet).",
  },
  watch_bytes: { name: "zookeeper_watch_bytes", kind: "gauge", help: "Memory held by watches, in bytes." },
  // Leader only.
  learners: { name: "zookeeper_learners", kind: "gauge", help: "Learners connected to this leader." },
  synced_followers: {
    name: "zookeeper_synced_followers",
    kind: "gauge",
    help: "Voting followers in sync with this leader.",
  },
  synced_non_voting_followers: {
    name: "zookeeper_synced_non_voting_followers",
    kind: "gauge",
    help: "Non-voting followers in sync with this leader.",
  },
  synced_observers: {
    name: "zookeeper_synced_observers",
    kind: "gauge",
    help: "Observers in sync with this leader.",
  },
  pending_syncs: {
    name: "zookeeper_pending_syncs",
    kind: "gauge",
    help: "Learners syncing with this leader.",
  },
  leader_uptime: {
    name: "zookeeper_leader_uptime_seconds",
    kind: "gauge",
    help: "Time since this server became leader.",
    scale: MS,
  },
  last_proposal_size: {
    name: "zookeeper_last_proposal_size_bytes",
    kind: "gauge",
    help: "Size of the last proposal (-1: none yet).",
  },
  min_proposal_size: {
    name: "zookeeper_min_proposal_size_bytes",
    kind: "gauge",
    help: "Smallest proposal (-1: none yet).",
  },
  max_proposal_size: {
    name: "zookeeper_max_proposal_size_bytes",
    kind: "gauge",
    help: "Largest proposal (-1: none yet).",
  },
};

/** Server states the `zookeeper_server_state` gauge always reports (1 for the current one). */
export const SERVER_STATES = ["leader", "follower", "observer", "standalone"] as const;

/** mntr keys that are text, shown as labels or in /status rather than as numbers. */
const TEXT_KEYS = new Set(["version", "server_state", "peer_state"]);

const SUMMARY_PARTS = ["avg", "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999"] as const;
const QUANTILES: Record<string, string> = { p50: "0.5", p95: "0.95", p99: "0.99", p999: "0.999" };

/** ZooKeeper measures times in milliseconds; these names hold times. */
function isMilliseconds(name: string): boolean {
  return name.endsWith("_ms") || /(time|latency)$/.test(name) || name.includes("_time_");
}

/** Prometheus name of a summary set NAME (`zookeeper_NAME_seconds` for times). */
export function summaryName(set: string): string {
  return isMilliseconds(set) ? `zookeeper_${set.replace(/_ms$/, "")}_seconds` : `zookeeper_${set}`;
}

const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  // Avoid float noise from the unit conversion (0.001 * 3 = 0.0030000000000000001).
  return String(Number(v.toPrecision(15)));
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export interface RenderedMetrics {
  text: string;
  /** mntr values skipped because they were not numbers where numbers belong, or malformed lines. */
  skipped: string[];
}

/** Renders `mntr` as Prometheus text exposition (version 0.0.4). */
export function renderZooKeeperMetrics(mntr: Mntr): RenderedMetrics {
  const out: string[] = [];
  const skipped = mntr.malformed.map((l) => `malformed line ${JSON.stringify(l.slice(0, 80))}`);
  const numbers = new Map<string, number>();
  for (const [key, raw] of mntr.values) {
    if (TEXT_KEYS.has(key)) continue;
    if (!NUMBER.test(raw.trim())) {
      skipped.push(`zk_${key}: not a number: ${JSON.stringify(raw.slice(0, 80))}`);
      continue;
    }
    numbers.set(key, Number(raw.trim()));
  }
  const family = (name: string, kind: string, help: string, samples: string[]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, ...samples);
  };

  const state = mntr.values.get("server_state");
  if (state !== undefined) {
    const states: string[] = [...SERVER_STATES];
    if (!states.includes(state)) states.push(state);
    family(
      "zookeeper_server_state",
      "gauge",
      "The server's state from mntr zk_server_state (1 for the current state).",
      states.map((s) => `zookeeper_server_state{state="${escapeLabel(s)}"} ${s === state ? 1 : 0}`),
    );
  }
  const version = mntr.values.get("version");
  if (version !== undefined) {
    const short = /^\S+?(?=-|,|$)/.exec(version)?.[0] ?? version;
    family("zookeeper_build_info", "gauge", "ZooKeeper version (always 1).", [
      `zookeeper_build_info{version="${escapeLabel(short)}"} 1`,
    ]);
  }

  // Summary sets: every NAME with both zk_cnt_NAME and zk_sum_NAME.
  const setNames = new Set<string>();
  for (const key of numbers.keys()) {
    const m = /^cnt_(.+)$/.exec(key);
    if (m?.[1] && numbers.has(`sum_${m[1]}`)) setNames.add(m[1]);
  }
  const used = new Set<string>();
  for (const set of [...setNames].sort()) {
    const name = summaryName(set);
    const scale = isMilliseconds(set) ? MS : 1;
    const samples: string[] = [];
    for (const part of SUMMARY_PARTS) used.add(`${part}_${set}`);
    for (const [part, q] of Object.entries(QUANTILES)) {
      const v = numbers.get(`${part}_${set}`);
      if (v !== undefined) samples.push(`${name}{quantile="${q}"} ${formatValue(v * scale)}`);
    }
    samples.push(`${name}_sum ${formatValue((numbers.get(`sum_${set}`) ?? 0) * scale)}`);
    samples.push(`${name}_count ${formatValue(numbers.get(`cnt_${set}`) ?? 0)}`);
    family(
      name,
      "summary",
      `ZooKeeper summary ${set} (mntr zk_*_${set})${scale === MS ? ", in seconds" : ""}.`,
      samples,
    );
  }

  // Code-unit order, not localeCompare: the keys are ASCII, and ICU's collator cost 13 ms on the
  // first scrape and 2.5 MiB of RSS (its data pages) for the same order (bench/sidecar-readyz.ts).
  for (const [key, v] of [...numbers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (used.has(key)) continue;
    const known = KNOWN_MNTR_METRICS[key];
    if (known) {
      family(known.name, known.kind, `${known.help} (mntr zk_${key})`, [
        `${known.name} ${formatValue(v * (known.scale ?? 1))}`,
      ]);
    } else {
      // Everything else mntr prints as a plain number is one of ZooKeeper's ServerMetrics counters.
      const name = `zookeeper_${key}_total`;
      family(name, "counter", `ZooKeeper counter (mntr zk_${key}).`, [`${name} ${formatValue(v)}`]);
    }
  }
  return { text: out.length > 0 ? out.join("\n") + "\n" : "", skipped };
}
