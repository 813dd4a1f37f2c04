// The static part of zoo.cfg, rendered from the spec into the ConfigMap key `zoo.cfg.static`; the
// sidecar's `init` adds what it owns (paths, ports, membership, reconfiguration switches, the
// 4lw whitelist) when it writes /conf/zoo.cfg.
//
// Precedence, in one place:
//   1. keys the operator and sidecar own (defaults.ts OWNED_CONFIG_KEYS / _PREFIXES) — never
//      rendered here, and rejected in spec.config.additional by the schema and by resolveSpec;
//   2. the typed fields of spec.config (tickTime, initLimit, syncLimit, maxClientCnxns,
//      autopurge.*), with their defaults — repeating one in `additional` is rejected too;
//   3. spec.config.additional, rendered after the typed keys in key order.
//   4. the metrics provider, when spec.metrics.enabled (its keys are owned, see 1).
// Because every source owns disjoint keys, no key can appear twice in the output.
import { createHash } from "node:crypto";
import type { ResolvedSpec } from "../api/resolve.ts";

export const PROMETHEUS_PROVIDER = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

export function renderStaticConfig(spec: ResolvedSpec): string {
  const c = spec.config;
  const lines = [
    `tickTime=${c.tickTime}`,
    `initLimit=${c.initLimit}`,
    `syncLimit=${c.syncLimit}`,
    `maxClientCnxns=${c.maxClientCnxns}`,
    `autopurge.snapRetainCount=${c.autopurge.snapRetainCount}`,
    `autopurge.purgeInterval=${c.autopurge.purgeInterval}`,
  ];
  for (const key of Object.keys(c.additional).sort()) lines.push(`${key}=${c.additional[key] ?? ""}`);
  if (spec.metrics.enabled) {
    // httpPort must always be set: its default is 7000 in 3.9 but -1 (startup fails) in 3.10.
    lines.push(
      `metricsProvider.className=${PROMETHEUS_PROVIDER}`,
      `metricsProvider.httpPort=${spec.metrics.port}`,
      "metricsProvider.exportJvmInfo=true",
    );
  }
  return lines.join("\n") + "\n";
}

/** Short stable hash of the static configuration, for the pod template annotation. */
export function computeConfigHash(staticConfig: string): string {
  return createHash("sha256").update(staticConfig).digest("hex").slice(0, 16);
}
