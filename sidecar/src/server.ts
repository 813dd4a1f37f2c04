// The sidecar's HTTP app: /livez /readyz /status /metrics. Built by a function so tests drive it
// with inject(); main.ts starts it.
import Fastify from "fastify";
import type { Logger } from "pino";
import { HTTP_PATHS } from "./contract.ts";
import type { SidecarMetrics } from "./metrics.ts";
import type { ZooKeeperProbe } from "./probe.ts";
import { renderZooKeeperMetrics } from "./zk-metrics.ts";

export interface ServerDeps {
  probe: ZooKeeperProbe;
  metrics: SidecarMetrics;
  logger: Logger;
}

export function buildServer(deps: ServerDeps) {
  const { probe, metrics, logger } = deps;
  // Probes arrive every few seconds from the kubelet: one log line each would drown the rest.
  const app = Fastify({ loggerInstance: logger, disableRequestLogging: true });
  let lastReady: boolean | null = null;

  app.get(HTTP_PATHS.live, async (_req, reply) => {
    const stop = metrics.probeDuration.startTimer({ probe: "live" });
    const result = await probe.live();
    stop();
    metrics.probes.inc({ probe: "live", outcome: result.live ? "pass" : "fail" });
    return reply.code(result.live ? 200 : 503).send({ live: result.live, reason: result.reason });
  });

  app.get(HTTP_PATHS.ready, async (_req, reply) => {
    const stop = metrics.probeDuration.startTimer({ probe: "ready" });
    const result = await probe.ready();
    stop();
    metrics.probes.inc({ probe: "ready", outcome: result.ready ? "pass" : "fail" });
    metrics.ready.set(result.ready ? 1 : 0);
    if (lastReady !== result.ready) {
      logger.info({ ready: result.ready, mode: result.mode, reason: result.reason }, "readiness changed");
      lastReady = result.ready;
    }
    return reply
      .code(result.ready ? 200 : 503)
      .send({ ready: result.ready, mode: result.mode, reason: result.reason });
  });

  app.get(HTTP_PATHS.status, async () => probe.status());

  app.get(HTTP_PATHS.metrics, async (_req, reply) => {
    const mntr = await probe.mntr();
    let zkText = [
      "# HELP zookeeper_up 1 when the local ZooKeeper answered mntr (it only does while serving in a quorum).",
      "# TYPE zookeeper_up gauge",
      `zookeeper_up ${mntr ? 1 : 0}`,
      "",
    ].join("\n");
    if (mntr) {
      const rendered = renderZooKeeperMetrics(mntr);
      zkText += rendered.text;
      if (rendered.skipped.length > 0) {
        metrics.mntrValuesSkipped.inc(rendered.skipped.length);
        logger.warn(
          { skipped: rendered.skipped.slice(0, 5), count: rendered.skipped.length },
          "mntr values skipped",
        );
      }
    }
    const own = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(own + zkText);
  });

  return app;
}
export type SidecarApp = ReturnType<typeof buildServer>;
