// The Grafana dashboard for the ZooKeeper ensembles the operator runs, and for the operator,
// written with Grafana's Foundation SDK (typed builders, no hand-written panel JSON).
// `npm run generate` writes it to DASHBOARD_FILE; docs/monitoring.md ("Dashboard") lists every
// panel. Queries use only series that exist on a healthy ensemble: the sidecars' `zookeeper_*`
// (labels `namespace`, `pod`, `cluster`), the kubelet's container series (cAdvisor or /metrics/resource) of the `zookeeper`
// container, and the operator's `zk_operator_*` (monitoring/dashboard.test.ts checks the names
// against the sidecar's and the operator's registries).
import * as common from "@grafana/grafana-foundation-sdk/common";
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { format } from "prettier";
import { CONTAINERS } from "../../operator/src/builders/statefulset.ts";

export const DASHBOARD_FILE = "charts/zookeeper-operator/files/zookeeper-dashboard.json";
export const DASHBOARD_UID = "zookeeper-ensemble";

/** Every panel queries the Prometheus the `datasource` variable names. */
const DATASOURCE: dashboard.DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** One ensemble's sidecar series, selected as the alert rules do (zookeeper-alerts.yaml). */
const ZK = 'namespace="$namespace", cluster="$cluster"';
/**
 * The kubelet's container series (cAdvisor's or /metrics/resource's) of the ensemble's ZooKeeper containers. They carry no `cluster`
 * label, so the members are selected by their pod names, NAME-N.
 */
const ZK_CONTAINER = `namespace="$namespace", pod=~"$cluster-[0-9]+", container="${CONTAINERS.zookeeper}"`;
const RATE = "$__rate_interval";

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  /** Grafana's unit id (`s`, `bytes`, `short`, ...). */
  unit: string;
  queries: Query[];
  /** Width in grid columns (of 24). */
  span: number;
  /** Height in grid rows, when not the kind's usual one. */
  height?: number;
}

/** What the SDK's panel builders have in common (timeseries, stat and table alike). */
interface PanelBuilder<T> extends cog.Builder<dashboard.Panel> {
  title(title: string): T;
  description(description: string): T;
  unit(unit: string): T;
  datasource(datasource: dashboard.DataSourceRef): T;
  withTarget(target: cog.Builder<cog.Dataquery>): T;
  span(w: number): T;
  height(h: number): T;
}

/** Query refIds: A, B, C, ... in the order given. */
function refId(index: number): string {
  return String.fromCharCode("A".charCodeAt(0) + index);
}

function configure<T extends PanelBuilder<T>>(
  builder: T,
  spec: PanelSpec,
  defaultHeight: number,
  query: (q: prometheus.DataqueryBuilder) => prometheus.DataqueryBuilder = (q) => q.range(),
): T {
  builder
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(DATASOURCE)
    .span(spec.span)
    .height(spec.height ?? defaultHeight);
  spec.queries.forEach((q, i) =>
    builder.withTarget(
      query(new prometheus.DataqueryBuilder().refId(refId(i)).expr(q.expr).legendFormat(q.legend)),
    ),
  );
  return builder;
}

function timeSeriesPanel(spec: PanelSpec): timeseries.PanelBuilder {
  return configure(new timeseries.PanelBuilder(), spec, 8)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    )
    .fillOpacity(10);
}

/** A stat of each query's last value; `name` shows the legend instead (a pod's name, a version). */
function statPanel(spec: PanelSpec, text = common.BigValueTextMode.ValueAndName): stat.PanelBuilder {
  return configure(new stat.PanelBuilder(), spec, 4)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .textMode(text)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.None);
}

/** A table of an instant query's labels (its time and value hidden), `columns` renaming them. */
function tablePanel(spec: PanelSpec, columns: Record<string, string>): table.PanelBuilder {
  return configure(new table.PanelBuilder(), spec, 8, (q) =>
    q.instant().format(prometheus.PromQueryFormat.Table),
  ).withTransformation({
    id: "organize",
    options: {
      excludeByName: { Time: true, Value: true },
      renameByName: columns,
    },
  });
}

/** The ensemble's members, their roles and the quorum. */
function overviewRow(): cog.Builder<dashboard.Panel>[] {
  return [
    statPanel({
      title: "Members serving",
      description:
        "Members serving as leader, follower or observer, and members whose sidecar Prometheus scrapes. Fewer serving than scraped: a member runs but is outside the quorum (electing, or syncing with the leader); 0 serving is a lost quorum.",
      unit: "none",
      span: 4,
      queries: [
        {
          expr: `count(zookeeper_server_state{${ZK}, state=~"leader|follower|observer"} == 1) or vector(0)`,
          legend: "serving",
        },
        { expr: `count(zookeeper_up{${ZK}})`, legend: "scraped" },
      ],
    }),
    statPanel({
      title: "Quorum",
      description:
        "Voting members serving (leader and followers) against the majority of the voting members in the ensemble's config. Below the majority the ensemble serves nothing (alert ZooKeeperQuorumLost); the difference is how many more voters it can lose.",
      unit: "none",
      span: 4,
      queries: [
        {
          expr: `count(zookeeper_server_state{${ZK}, state=~"leader|follower"} == 1) or vector(0)`,
          legend: "voters serving",
        },
        { expr: `floor(max(zookeeper_quorum_size{${ZK}}) / 2) + 1`, legend: "majority needed" },
      ],
    }),
    statPanel(
      {
        title: "Leader",
        description:
          "The pod serving as leader. The operator restarts it last in a roll; `kubectl get zk` shows the same in its Leader column.",
        unit: "none",
        span: 4,
        queries: [
          { expr: `max by (pod) (zookeeper_server_state{${ZK}, state="leader"} == 1)`, legend: "{{pod}}" },
        ],
      },
      common.BigValueTextMode.Name,
    ),
    statPanel({
      title: "Time since the last election",
      description:
        "How long the current leader has led (mntr zk_leader_uptime): the time since the ensemble last elected a leader. A short time without a roll in progress means an unplanned election.",
      unit: "s",
      span: 4,
      queries: [{ expr: `max(zookeeper_leader_uptime_seconds{${ZK}})`, legend: "leader for" }],
    }),
    statPanel({
      title: "Followers in sync",
      description:
        "Voting followers in sync with the leader, and all learners (followers and observers) connected to it, as the leader counts them. A 3-member ensemble has 2 of each when healthy; the operator waits for every follower to be in sync before its next roll or scale step.",
      unit: "none",
      span: 4,
      queries: [
        { expr: `max(zookeeper_synced_followers{${ZK}})`, legend: "synced followers" },
        { expr: `max(zookeeper_learners{${ZK}})`, legend: "learners" },
      ],
    }),
    statPanel({
      title: "ZooKeeper version",
      description:
        "Members by the ZooKeeper version they run (mntr zk_version). Two versions at once: an image change is rolling through the ensemble.",
      unit: "none",
      span: 4,
      queries: [{ expr: `count by (version) (zookeeper_build_info{${ZK}})`, legend: "{{version}}" }],
    }),
    tablePanel(
      {
        title: "Member roles",
        description:
          "Each member's role now (mntr zk_server_state). A member missing here does not serve (its sidecar gets no mntr answer) or is not scraped; `kubectl get zk NAME -o jsonpath='{.status.members}'` gives the operator's view.",
        unit: "none",
        span: 8,
        queries: [{ expr: `max by (pod, state) (zookeeper_server_state{${ZK}} == 1)`, legend: "{{pod}}" }],
      },
      { pod: "member", state: "role" },
    ),
    timeSeriesPanel({
      title: "Leader elections",
      description:
        "Times each member went LOOKING (into leader election). Every voting member goes LOOKING once per election, so a step on every line is one election; a step on one line is that member restarting or losing its leader. A roll costs one election (leader last). Alert ZooKeeperFrequentLeaderElections fires above 3 in 15 minutes.",
      unit: "short",
      span: 8,
      queries: [{ expr: `increase(zookeeper_looking_count_total{${ZK}}[${RATE}])`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Election time",
      description:
        "Mean time each member took to finish a leader election since it started (mntr zk_*_election_time): how long the ensemble stays without a leader when it elects. A few hundred milliseconds is usual.",
      unit: "s",
      span: 8,
      queries: [
        {
          expr: `zookeeper_election_time_seconds_sum{${ZK}} / zookeeper_election_time_seconds_count{${ZK}}`,
          legend: "{{pod}}",
        },
      ],
    }),
  ];
}

/** How fast the ensemble answers, and how much. */
function latencyRow(): cog.Builder<dashboard.Panel>[] {
  return [
    timeSeriesPanel({
      title: "Request latency",
      description:
        "Each member's average and maximum request latency since its statistics were last reset (server start). A healthy server answers in a few milliseconds; alert ZooKeeperAverageLatencyHigh fires above 100ms. It moves slowly: a sudden slowdown shows first in the p99 panel.",
      unit: "s",
      span: 12,
      queries: [
        { expr: `zookeeper_avg_latency_seconds{${ZK}}`, legend: "{{pod}} average" },
        { expr: `zookeeper_max_latency_seconds{${ZK}}`, legend: "{{pod}} max" },
      ],
    }),
    timeSeriesPanel({
      title: "Read and write latency (p99)",
      description:
        "The slowest 1% of reads and of writes (create, set, delete) on each member, ZooKeeper's own percentiles over recent requests. A write waits for a quorum to log it, so slow writes point at disks, the network between members or the leader; alert ZooKeeperUpdateLatencyHigh fires above 500ms.",
      unit: "s",
      span: 12,
      queries: [
        { expr: `zookeeper_readlatency_seconds{${ZK}, quantile="0.99"}`, legend: "{{pod}} read" },
        { expr: `zookeeper_updatelatency_seconds{${ZK}, quantile="0.99"}`, legend: "{{pod}} write" },
      ],
    }),
    timeSeriesPanel({
      title: "Requests",
      description:
        "Reads and writes answered per second by each member to its own clients. Reads are served locally and scale with members; every write goes through the leader and a quorum.",
      unit: "reqps",
      span: 12,
      queries: [
        { expr: `rate(zookeeper_readlatency_seconds_count{${ZK}}[${RATE}])`, legend: "{{pod}} reads" },
        { expr: `rate(zookeeper_updatelatency_seconds_count{${ZK}}[${RATE}])`, legend: "{{pod}} writes" },
      ],
    }),
    timeSeriesPanel({
      title: "Packets",
      description:
        "Packets each member received from and sent to its clients per second: the client load, spread across members by the clients' connection strings.",
      unit: "pps",
      span: 12,
      queries: [
        { expr: `rate(zookeeper_packets_received_total{${ZK}}[${RATE}])`, legend: "{{pod}} received" },
        { expr: `rate(zookeeper_packets_sent_total{${ZK}}[${RATE}])`, legend: "{{pod}} sent" },
      ],
    }),
    timeSeriesPanel({
      title: "Outstanding requests",
      description:
        "Requests queued in each member, not yet processed. Near 0 when the server keeps up; alert ZooKeeperOutstandingRequestsHigh fires above 10 for 5 minutes.",
      unit: "short",
      span: 12,
      queries: [{ expr: `zookeeper_outstanding_requests{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Transaction log fsync time",
      description:
        "Mean time of a transaction log fsync on each member (ZooKeeper keeps no percentiles of it). Every write waits for the fsyncs of the leader and a quorum; a healthy disk takes a few milliseconds. Alert ZooKeeperFsyncTimeHigh fires above 100ms. Gaps: no write in the interval.",
      unit: "s",
      span: 12,
      queries: [
        {
          expr: `rate(zookeeper_fsynctime_seconds_sum{${ZK}}[${RATE}]) / rate(zookeeper_fsynctime_seconds_count{${ZK}}[${RATE}])`,
          legend: "{{pod}}",
        },
      ],
    }),
  ];
}

/** Client connections and sessions. */
function connectionsRow(): cog.Builder<dashboard.Panel>[] {
  return [
    timeSeriesPanel({
      title: "Client connections",
      description:
        "Open client connections on each member. Clients reconnect to another member when theirs restarts, so a roll moves the connections around.",
      unit: "short",
      span: 8,
      queries: [{ expr: `zookeeper_num_alive_connections{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Sessions",
      description:
        "Client sessions each member knows: global sessions (tracked by the whole ensemble) and local ones (on this member only, when localSessionsEnabled). A session outlives its connection until its timeout.",
      unit: "short",
      span: 8,
      queries: [
        { expr: `zookeeper_global_sessions{${ZK}}`, legend: "{{pod}} global" },
        { expr: `zookeeper_local_sessions{${ZK}}`, legend: "{{pod}} local" },
      ],
    }),
    timeSeriesPanel({
      title: "New connections",
      description:
        "Connections each member accepted per second, and those it rejected (connection limits, throttling) or dropped. A steady stream of new connections is often a client in a reconnect loop.",
      unit: "cps",
      span: 8,
      queries: [
        {
          expr: `rate(zookeeper_connection_request_count_total{${ZK}}[${RATE}])`,
          legend: "{{pod}} requested",
        },
        { expr: `rate(zookeeper_connection_rejected_total{${ZK}}[${RATE}])`, legend: "{{pod}} rejected" },
        { expr: `rate(zookeeper_connection_drop_count_total{${ZK}}[${RATE}])`, legend: "{{pod}} dropped" },
      ],
    }),
  ];
}

/** The data tree. */
function znodesRow(): cog.Builder<dashboard.Panel>[] {
  return [
    timeSeriesPanel({
      title: "Znodes",
      description:
        "Znodes in each member's data tree. Every member holds the whole tree, so the lines lie on each other; one apart is a member still syncing.",
      unit: "short",
      span: 12,
      queries: [{ expr: `zookeeper_znode_count{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Ephemeral znodes",
      description:
        "Ephemeral znodes (deleted when their session ends: locks, leader latches, registrations). A drop all at once is sessions expiring, for example clients that lost the ensemble for longer than their session timeout.",
      unit: "short",
      span: 12,
      queries: [{ expr: `zookeeper_ephemerals_count{${ZK}}`, legend: "{{pod}}" }],
    }),
  ];
}

/** Watches set by clients and the notifications they cause. */
function watchesRow(): cog.Builder<dashboard.Panel>[] {
  const fired = (event: string): Query => ({
    expr: `sum(rate(zookeeper_node_${event}_watch_count_sum{${ZK}}[${RATE}]))`,
    legend: event,
  });
  return [
    timeSeriesPanel({
      title: "Watches",
      description:
        "Watches the clients connected to each member have set. Watches live in the member's memory; many of them (hundreds of thousands) slow down every change they match.",
      unit: "short",
      span: 8,
      queries: [{ expr: `zookeeper_watch_count{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Memory held by watches",
      description: "Memory each member's watch tables take (mntr zk_watch_bytes).",
      unit: "bytes",
      span: 8,
      queries: [{ expr: `zookeeper_watch_bytes{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Watch notifications",
      description:
        "Watch notifications the ensemble sent per second, by the change that fired them (a znode created, deleted, its data changed, its children changed). 0 when no client watches what changes.",
      unit: "cps",
      span: 8,
      queries: ["created", "deleted", "changed", "children"].map(fired),
    }),
  ];
}

/** How much data the ensemble holds and moves. */
function dataSizeRow(): cog.Builder<dashboard.Panel>[] {
  return [
    timeSeriesPanel({
      title: "Data tree size",
      description:
        "Approximate size of each member's data tree (znode paths and data). ZooKeeper holds it all in the JVM heap, so it bounds the heap it needs (spec.jvm.heap); snapshots on the data volume are about this size.",
      unit: "bytes",
      span: 6,
      queries: [{ expr: `zookeeper_approximate_data_size_bytes{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Client bytes",
      description: "Bytes each member received from its clients and sent to them per second.",
      unit: "Bps",
      span: 6,
      queries: [
        { expr: `rate(zookeeper_bytes_received_count_total{${ZK}}[${RATE}])`, legend: "{{pod}} received" },
        { expr: `rate(zookeeper_response_bytes_total{${ZK}}[${RATE}])`, legend: "{{pod}} sent" },
      ],
    }),
    timeSeriesPanel({
      title: "Proposal size",
      description:
        "Size of the last and of the largest write proposal the leader sent to its followers (-1: none yet). A write larger than jute.maxbuffer (1 MiB by default) is refused.",
      unit: "bytes",
      span: 6,
      queries: [
        { expr: `max(zookeeper_last_proposal_size_bytes{${ZK}})`, legend: "last" },
        { expr: `max(zookeeper_max_proposal_size_bytes{${ZK}})`, legend: "largest" },
      ],
    }),
    timeSeriesPanel({
      title: "Snapshots taken",
      description:
        "Snapshots of the data tree each member wrote to its data volume. ZooKeeper takes one every snapCount transactions (100,000 by default), so 0 is usual under light writes.",
      unit: "short",
      span: 6,
      queries: [{ expr: `increase(zookeeper_snap_count_total{${ZK}}[${RATE}])`, legend: "{{pod}}" }],
    }),
  ];
}

/** The ZooKeeper JVM (seen from its container) and the sidecar's process. */
function processRow(): cog.Builder<dashboard.Panel>[] {
  return [
    timeSeriesPanel({
      title: "ZooKeeper memory (working set)",
      description:
        "Working set of each member's zookeeper container, from the kubelet (its /metrics/resource or cAdvisor's /metrics/cadvisor; max, so that scraping both counts once): the JVM's heap and everything else it maps. The kubelet kills the container when this reaches spec.resources.limits.memory.",
      unit: "bytes",
      span: 8,
      queries: [
        { expr: `max by (pod) (container_memory_working_set_bytes{${ZK_CONTAINER}})`, legend: "{{pod}}" },
      ],
    }),
    timeSeriesPanel({
      title: "ZooKeeper CPU",
      description:
        "CPU cores each member's zookeeper container uses, from the kubelet (/metrics/resource or /metrics/cadvisor). At its CPU limit the JVM is throttled, which shows as latency and, at worst, as followers dropped by the leader.",
      unit: "short",
      span: 8,
      queries: [
        {
          expr: `max by (pod) (rate(container_cpu_usage_seconds_total{${ZK_CONTAINER}}[${RATE}]))`,
          legend: "{{pod}}",
        },
      ],
    }),
    timeSeriesPanel({
      title: "File descriptors",
      description:
        "File descriptors each ZooKeeper process has open (connections, log and snapshot files), and the limit. At the limit it refuses new connections; alert ZooKeeperFileDescriptorsNearLimit fires at 80%.",
      unit: "short",
      span: 8,
      queries: [
        { expr: `zookeeper_open_file_descriptor_count{${ZK}}`, legend: "{{pod}} open" },
        { expr: `max(zookeeper_max_file_descriptor_count{${ZK}})`, legend: "limit" },
      ],
    }),
    timeSeriesPanel({
      title: "ZooKeeper uptime",
      description:
        "Time since each member's server last started serving: a restart, or a new election (which restarts serving on every member), sets it back to 0.",
      unit: "s",
      span: 12,
      queries: [{ expr: `zookeeper_uptime_seconds{${ZK}}`, legend: "{{pod}}" }],
    }),
    timeSeriesPanel({
      title: "Sidecar memory",
      description:
        "Resident memory of each member's sidecar process (zk-sidecar serve: probes, status and these metrics). Its budget is 60 MiB.",
      unit: "bytes",
      span: 12,
      queries: [{ expr: `zk_sidecar_process_resident_memory_bytes{${ZK}}`, legend: "{{pod}}" }],
    }),
  ];
}

/**
 * The operator. Each replica exports the same counts from its cache, so the gauges take the max
 * over replicas and the counters (only the leader reconciles) the sum, as the alerts do.
 */
function operatorRow(): cog.Builder<dashboard.Panel>[] {
  const reconcileQuantile = (q: string, legend: string): Query => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(zk_operator_reconcile_duration_seconds_bucket[${RATE}])))`,
    legend,
  });
  return [
    timeSeriesPanel({
      title: "Reconciles",
      description:
        "Reconcile passes per second by result: success, requeue (by default a healthy cluster is looked at again every 30s, every 5s while it rolls or scales), error (retried with backoff), terminal (an invalid spec, not retried).",
      unit: "ops",
      span: 8,
      queries: [
        {
          expr: `sum by (result) (rate(zk_operator_reconcile_total[${RATE}]))`,
          legend: "{{result}}",
        },
      ],
    }),
    timeSeriesPanel({
      title: "Reconcile errors",
      description:
        "Failed reconcile passes per second: errors are retried with backoff, terminal ones (an invalid spec) wait for a spec change. 0 when nothing fails; alert ZooKeeperOperatorReconcileErrors fires above 0.1/s for 15 minutes.",
      unit: "ops",
      span: 8,
      queries: [
        {
          expr: `sum(rate(zk_operator_reconcile_total{result="error"}[${RATE}])) or vector(0)`,
          legend: "error (retried)",
        },
        {
          expr: `sum(rate(zk_operator_reconcile_total{result="terminal"}[${RATE}])) or vector(0)`,
          legend: "terminal",
        },
      ],
    }),
    timeSeriesPanel({
      title: "Reconcile duration",
      description:
        "Median and 99th percentile of a reconcile pass, all results together. A pass reads its caches and the sidecars' /status, so a slow one usually waits for a sidecar or the API server.",
      unit: "s",
      span: 8,
      queries: [reconcileQuantile("0.5", "median"), reconcileQuantile("0.99", "p99")],
    }),
    timeSeriesPanel({
      title: "Work queue depth",
      description:
        "Cluster keys waiting to be reconciled. It drains within seconds; a queue that stays long means more clusters change than the workers (--workers) keep up with.",
      unit: "short",
      span: 8,
      queries: [{ expr: "max(zk_operator_workqueue_depth)", legend: "waiting" }],
    }),
    timeSeriesPanel({
      title: "API server requests",
      description:
        "Requests the operator sent to the API server per second, by verb and response code. At steady state a no-op resync writes nothing, so writes mean something changed.",
      unit: "reqps",
      span: 8,
      queries: [
        {
          expr: `sum by (verb, code) (rate(zk_operator_kube_requests_total[${RATE}]))`,
          legend: "{{verb}} {{code}}",
        },
      ],
    }),
    statPanel({
      title: "Operator leadership",
      height: 8,
      description:
        "Operator replicas holding the leader Lease (exactly 1: only the leader reconciles; alert ZooKeeperOperatorNoLeader fires at 0), and whether every informer of every replica has listed and watches (1) or not (0).",
      unit: "none",
      span: 8,
      queries: [
        { expr: "sum(zk_operator_leader)", legend: "leaders" },
        { expr: "min(zk_operator_informer_synced)", legend: "informers synced" },
      ],
    }),
    timeSeriesPanel({
      title: "Clusters by condition",
      description:
        "ZooKeeperClusters whose condition is True: Available (a quorum serves), Progressing (a change is under way), Degraded (members not ready). Healthy and settled: all Available, none Progressing or Degraded.",
      unit: "short",
      span: 8,
      queries: [
        {
          expr: 'max by (condition) (zk_operator_clusters{status="True"})',
          legend: "{{condition}}",
        },
      ],
    }),
    timeSeriesPanel({
      title: "Rolls and scale steps",
      description:
        "Clusters rolling their members now, and those whose roll halted on a member that did not come back (alert ZooKeeperOperatorRollHalted); clusters waiting for a roll slot (RollQueued), taking a membership step (Scaling), or refused one (ScalingRefused, ReconfigRefused: alerts ZooKeeperOperatorScalingRefused and ZooKeeperOperatorScalingStuck).",
      unit: "short",
      span: 8,
      queries: [
        { expr: "max(zk_operator_rolling_clusters)", legend: "rolling" },
        { expr: "max(zk_operator_roll_halted_clusters)", legend: "roll halted" },
        {
          expr: 'max by (reason) (zk_operator_clusters_by_reason{condition="Progressing", reason=~"RollQueued|Scaling|ScalingRefused|ReconfigRefused"})',
          legend: "{{reason}}",
        },
      ],
    }),
    timeSeriesPanel({
      title: "Operator memory",
      description:
        "Resident memory of each operator replica (prom-client's process metrics, kept to the operator's pods by joining on zk_operator_leader). It grows with the number of clusters and children in its caches.",
      unit: "bytes",
      span: 8,
      queries: [
        {
          expr: "process_resident_memory_bytes and on (namespace, pod) zk_operator_leader",
          legend: "{{pod}}",
        },
      ],
    }),
  ];
}

const ROWS: [string, () => cog.Builder<dashboard.Panel>[]][] = [
  ["Ensemble overview", overviewRow],
  ["Latency and throughput", latencyRow],
  ["Connections", connectionsRow],
  ["Znodes", znodesRow],
  ["Watches", watchesRow],
  ["Data size", dataSizeRow],
  ["JVM and process", processRow],
  ["Operator", operatorRow],
];

/** The dashboard model, as Grafana loads it. */
export function buildZooKeeperDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder("ZooKeeper")
    .uid(DASHBOARD_UID)
    .description(
      "ZooKeeper ensembles run by the zookeeper-operator, and the operator itself (docs/monitoring.md).",
    )
    .tags(["zookeeper", "zookeeper-operator"])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: "now-1h", to: "now" })
    .refresh("30s")
    // Grafana's own annotations (alerts, manual notes), as every dashboard it saves carries them.
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name("Annotations & Alerts")
        .datasource({ type: "grafana", uid: "-- Grafana --" })
        .type("dashboard")
        .builtIn(1)
        .enable(true)
        .hide(true)
        .iconColor("rgba(0, 211, 255, 1)"),
    )
    .withVariable(
      new dashboard.DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder("namespace")
        .label("Namespace")
        .datasource(DATASOURCE)
        .query("label_values(zookeeper_server_state, namespace)")
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder("cluster")
        .label("ZooKeeperCluster")
        .datasource(DATASOURCE)
        .query('label_values(zookeeper_server_state{namespace="$namespace"}, cluster)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc),
    );
  for (const [title, panels] of ROWS) {
    builder.withRow(new dashboard.RowBuilder(title));
    for (const panel of panels()) builder.withPanel(panel);
  }
  const model = builder.build();
  // Stable ids in the order of the page: Grafana links to a panel by its id (viewPanel=N).
  model.panels?.forEach((panel, i) => {
    panel.id = i + 1;
  });
  return model;
}

/** The dashboard as the chart ships it: pretty, stable JSON. */
export async function renderDashboardJson(): Promise<string> {
  return format(JSON.stringify(buildZooKeeperDashboard(), null, 2), { parser: "json", printWidth: 110 });
}
