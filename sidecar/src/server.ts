// The sidecar's HTTP app: /livez /readyz /status /metrics. Built by a function so tests drive it
// on a loopback port; main.ts starts it.
//
// Plain node:http, not fastify: four GET routes need no framework, and fastify loads http2,
// https, crypto and tls (26 MiB on a bare Node 24); dropping it, with prom-client's index, took
// 11 MiB off the sidecar's peak RSS against a 60 MiB budget (bench/sidecar-readyz.ts,
// docs/sidecar.md).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "./log.ts";
import { HTTP_PATHS } from "./contract.ts";
import type { SidecarMetrics } from "./metrics.ts";
import type { TlsStatus } from "./tls-files.ts";
import type { ZooKeeperProbe } from "./probe.ts";
import { renderZooKeeperMetrics } from "./zk-metrics.ts";

// Not `import ... from "node:http"`: an ES module import of a built-in reads every export, and
// node:http's lazy WebSocket getters then load undici, crypto, http2 and zlib (about 13 MiB).
const { createServer } = process.getBuiltinModule("node:http");

export interface ServerDeps {
  probe: ZooKeeperProbe;
  metrics: SidecarMetrics;
  logger: Logger;
  /** The TLS Secrets' state for /status; undefined (or absent) when TLS is off. */
  tls?: () => TlsStatus | undefined;
}

interface Reply {
  status: number;
  type: string;
  body: string;
}

const JSON_TYPE = "application/json; charset=utf-8";

function json(status: number, value: unknown): Reply {
  return { status, type: JSON_TYPE, body: JSON.stringify(value) };
}

export interface SidecarApp {
  /** Requests received so far. */
  readonly requests: number;
  /** Listens on host:port; resolves with the port (useful with port 0). */
  listen(options: { host: string; port: number }): Promise<number>;
  /** Stops accepting connections and resolves once in-flight requests are answered. */
  close(): Promise<void>;
}

export function buildServer(deps: ServerDeps): SidecarApp {
  const { probe, metrics, logger } = deps;
  let lastReady: boolean | null = null;

  const routes = new Map<string, () => Promise<Reply>>([
    [
      HTTP_PATHS.live,
      async () => {
        const stop = metrics.probeDuration.startTimer({ probe: "live" });
        const result = await probe.live();
        stop();
        metrics.probes.inc({ probe: "live", outcome: result.live ? "pass" : "fail" });
        return json(result.live ? 200 : 503, { live: result.live, reason: result.reason });
      },
    ],
    [
      HTTP_PATHS.ready,
      async () => {
        const stop = metrics.probeDuration.startTimer({ probe: "ready" });
        const result = await probe.ready();
        stop();
        metrics.probes.inc({ probe: "ready", outcome: result.ready ? "pass" : "fail" });
        metrics.ready.set(result.ready ? 1 : 0);
        if (lastReady !== result.ready) {
          logger.info({ ready: result.ready, mode: result.mode, reason: result.reason }, "readiness changed");
          lastReady = result.ready;
        }
        return json(result.ready ? 200 : 503, {
          ready: result.ready,
          mode: result.mode,
          reason: result.reason,
        });
      },
    ],
    [
      HTTP_PATHS.status,
      async () => {
        const tls = deps.tls?.();
        return json(200, tls === undefined ? await probe.status() : { ...(await probe.status()), tls });
      },
    ],
    [
      HTTP_PATHS.metrics,
      async () => {
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
        return { status: 200, type: metrics.registry.contentType, body: own + zkText };
      },
    ],
  ]);

  const send = (req: IncomingMessage, res: ServerResponse, reply: Reply): void => {
    res.writeHead(reply.status, {
      "content-type": reply.type,
      "content-length": Buffer.byteLength(reply.body),
    });
    res.end(req.method === "HEAD" ? undefined : reply.body);
  };

  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    // A probe carries no body; drain anything sent anyway so the connection stays usable.
    req.resume();
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const route = routes.get(path);
    if (route === undefined) {
      send(req, res, json(404, { error: "not found", path }));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(req, res, json(405, { error: `method ${req.method ?? ""} not allowed` }));
      return;
    }
    route().then(
      (reply) => {
        send(req, res, reply);
      },
      (err: unknown) => {
        logger.error({ err, path }, "request failed");
        send(req, res, json(500, { error: "internal error" }));
      },
    );
  });

  return {
    get requests() {
      return requests;
    },
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address();
          resolve(typeof address === "object" && address !== null ? address.port : port);
        });
      }),
    close: () =>
      new Promise((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        // close() waits for in-flight requests; idle keep-alive connections (Prometheus) are
        // closed at once so they do not hold the shutdown.
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
