// The operator's Prometheus metrics, all in one registry created here. Base units, `_total` for
// counters, labels with small fixed value sets.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { CONDITION_TYPES, type ZooKeeperCluster } from "./api/types.ts";
import { CONDITION_REASONS } from "./reconcile/status.ts";

export interface MetricsSources {
  queueDepth: () => number;
  isLeader: () => boolean;
  clusters: () => ZooKeeperCluster[];
  informers: () => { name: string; synced: boolean; objects: number }[];
  /** Clusters holding a roll slot now (runtime/roll-slots.ts). */
  rollingClusters?: () => number;
}

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<"result">;
  reconcileDuration: Histogram<"result">;
  kubeRequests: Counter<"verb" | "code">;
  setSources(sources: MetricsSources): void;
}

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let sources: MetricsSources | null = null;

  const reconciles = new Counter({
    name: "zk_operator_reconcile_total",
    help: "Reconcile passes by result: success, requeue, error (retried with backoff), terminal (invalid spec, not retried).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: "zk_operator_reconcile_duration_seconds",
    help: "Duration of one reconcile pass.",
    labelNames: ["result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const kubeRequests = new Counter({
    name: "zk_operator_kube_requests_total",
    help: "Requests the operator sent to the API server, by HTTP verb and response code.",
    labelNames: ["verb", "code"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "zk_operator_workqueue_depth",
    help: "Cluster keys waiting to be reconciled.",
    registers: [registry],
    collect() {
      this.set(sources?.queueDepth() ?? 0);
    },
  });
  new Gauge({
    name: "zk_operator_leader",
    help: "1 while this process holds the leader lease (or runs without leader election).",
    registers: [registry],
    collect() {
      this.set(sources?.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: "zk_operator_informer_synced",
    help: "1 when the informer has listed successfully and is watching.",
    labelNames: ["informer"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of sources?.informers() ?? []) this.set({ informer: i.name }, i.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: "zk_operator_clusters",
    help: "ZooKeeperClusters by condition type and status (True, False, Unknown).",
    labelNames: ["condition", "status"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const type of CONDITION_TYPES)
        for (const st of ["True", "False", "Unknown"]) counts.set(`${type}|${st}`, 0);
      for (const c of sources?.clusters() ?? []) {
        for (const type of CONDITION_TYPES) {
          const st = c.status?.conditions?.find((x) => x.type === type)?.status ?? "Unknown";
          const k = `${type}|${st}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
      }
      for (const [k, n] of counts) {
        const [condition = "", status = ""] = k.split("|");
        this.set({ condition, status }, n);
      }
    },
  });
  new Gauge({
    name: "zk_operator_clusters_by_reason",
    help: "ZooKeeperClusters by each condition's current reason (every reason of the status table is present, 0 when no cluster has it): how many are scaling, refusing a step, rolling, halted.",
    labelNames: ["condition", "reason"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const type of CONDITION_TYPES)
        for (const reason of Object.keys(CONDITION_REASONS[type])) counts.set(`${type}|${reason}`, 0);
      for (const c of sources?.clusters() ?? []) {
        for (const x of c.status?.conditions ?? []) {
          const k = `${x.type}|${x.reason}`;
          if (counts.has(k)) counts.set(k, (counts.get(k) ?? 0) + 1);
        }
      }
      for (const [k, n] of counts) {
        const [condition = "", reason = ""] = k.split("|");
        this.set({ condition, reason }, n);
      }
    },
  });
  new Gauge({
    name: "zk_operator_rolling_clusters",
    help: "ZooKeeperClusters rolling their members now (each holds one of --max-concurrent-rolls slots; a halted roll keeps its slot).",
    registers: [registry],
    collect() {
      this.set(sources?.rollingClusters?.() ?? 0);
    },
  });
  new Gauge({
    name: "zk_operator_roll_halted_clusters",
    help: "ZooKeeperClusters whose rolling restart halted on a member that did not come back (Progressing reason RollHalted).",
    registers: [registry],
    collect() {
      const halted = (sources?.clusters() ?? []).filter((c) =>
        c.status?.conditions?.some((x) => x.type === "Progressing" && x.reason === "RollHalted"),
      );
      this.set(halted.length);
    },
  });
  return {
    registry,
    reconciles,
    reconcileDuration,
    kubeRequests,
    setSources(s) {
      sources = s;
    },
  };
}
