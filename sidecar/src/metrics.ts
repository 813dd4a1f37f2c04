// The sidecar's own metrics, in the one prom-client registry of the process. ZooKeeper's metrics
// are rendered from `mntr` on each scrape (zk-metrics.ts) and appended to this registry's text.
import type * as Prom from "prom-client";

// prom-client's modules one by one, not its index: the index also loads the Pushgateway and the
// cluster aggregator, which pull in node:http, https, zlib, crypto, tls and cluster. The sidecar
// uses none of them and they cost about 4 MiB of RSS in every pod (bench/sidecar-readyz.ts).
// prom-client has no `exports` map, so these paths are public; the version is pinned exactly.
const require = process.getBuiltinModule("node:module").createRequire(import.meta.url);
const Registry = require("prom-client/lib/registry") as typeof Prom.Registry;
const Counter = require("prom-client/lib/counter") as typeof Prom.Counter;
const Gauge = require("prom-client/lib/gauge") as typeof Prom.Gauge;
const Histogram = require("prom-client/lib/histogram") as typeof Prom.Histogram;
const collectDefaultMetrics = require("prom-client/lib/defaultMetrics") as typeof Prom.collectDefaultMetrics;

export type ProbeName = "live" | "ready";

export interface SidecarMetrics {
  registry: Prom.Registry;
  probes: Prom.Counter<"probe" | "outcome">;
  probeDuration: Prom.Histogram<"probe">;
  fourLetterDuration: Prom.Histogram<"word">;
  fourLetterErrors: Prom.Counter<"word" | "reason">;
  mntrValuesSkipped: Prom.Counter;
  ready: Prom.Gauge;
}

const LATENCY_BUCKETS = [
  0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

export function createMetrics(): SidecarMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "zk_sidecar_" });
  const registers = [registry];
  return {
    registry,
    probes: new Counter({
      name: "zk_sidecar_probes_total",
      help: "Probe answers given, by probe (live, ready) and outcome (pass, fail).",
      labelNames: ["probe", "outcome"],
      registers,
    }),
    probeDuration: new Histogram({
      name: "zk_sidecar_probe_duration_seconds",
      help: "Time to answer a probe, cached answers included.",
      labelNames: ["probe"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    fourLetterDuration: new Histogram({
      name: "zk_sidecar_four_letter_word_duration_seconds",
      help: "Time of one four-letter word sent to the local ZooKeeper, failures included.",
      labelNames: ["word"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    fourLetterErrors: new Counter({
      name: "zk_sidecar_four_letter_word_errors_total",
      help: "Four-letter words that failed, by word and reason (timeout, connection, not_serving, not_whitelisted, empty, malformed).",
      labelNames: ["word", "reason"],
      registers,
    }),
    mntrValuesSkipped: new Counter({
      name: "zk_sidecar_mntr_values_skipped_total",
      help: "mntr lines or values that could not be read as metrics and were skipped.",
      registers,
    }),
    ready: new Gauge({
      name: "zk_sidecar_ready",
      help: "1 when the last readiness answer was ready, else 0.",
      registers,
    }),
  };
}
