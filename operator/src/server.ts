// The operator's HTTP server: /healthz (the process serves), /readyz (every informer has synced;
// the body says whether this process leads), /metrics (Prometheus). Built in a function so tests
// can use inject() without a port; main.ts starts it.
import Fastify from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface ServerDeps {
  logger: Logger;
  registry: Registry;
  synced: () => boolean;
  informers: () => { name: string; synced: boolean; objects: number }[];
  leader: () => { leading: boolean; identity: string; leader: string };
}

export function buildServer(deps: ServerDeps) {
  // One pino logger for the process, at warn for fastify: a log line per probe request is noise.
  const app = Fastify({ loggerInstance: deps.logger.child({ component: "http" }, { level: "warn" }) });

  app.get("/healthz", (_req, reply) => reply.send({ ok: true }));

  app.get("/readyz", (_req, reply) => {
    const synced = deps.synced();
    const notSynced = deps
      .informers()
      .filter((i) => !i.synced)
      .map((i) => i.name);
    return reply.code(synced ? 200 : 503).send({ ready: synced, notSynced, ...deps.leader() });
  });

  app.get("/metrics", async (_req, reply) => {
    const text = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(text);
  });

  return app;
}

export type OperatorServer = ReturnType<typeof buildServer>;
