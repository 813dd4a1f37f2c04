// zk-sidecar: `init` renders myid and zoo.cfg once before ZooKeeper starts; `serve` answers the
// kubelet's probes, the operator's status reads and Prometheus until SIGTERM.
import { hostname } from "node:os";
import { ENV, ENV_DEFAULTS, EXIT_CODES } from "./contract.ts";
import { createLogger, type Logger } from "./log.ts";
import { readSettings, type Settings, SidecarError } from "./settings.ts";
import type { TlsStatus } from "./tls-files.ts";

const USAGE = `usage: zk-sidecar init | serve

  init    write myid, zoo.cfg and the dynamic membership file, then exit
  serve   serve /livez /readyz /status /metrics until SIGTERM

Configuration comes from environment variables only; see docs/sidecar.md.`;

function usageError(message: string): SidecarError {
  return new SidecarError(`${message} (usage: zk-sidecar init | serve)`, EXIT_CODES.usage);
}

/** The subcommand; anything else on the command line is a usage error. */
export function parseArgs(argv: string[]): "init" | "serve" | "help" {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || command === "help") return "help";
  if (command === undefined) throw usageError("missing subcommand");
  if (command !== "init" && command !== "serve")
    throw usageError(`unknown subcommand ${JSON.stringify(command)}`);
  const extra = rest[0];
  if (extra !== undefined) {
    throw usageError(
      extra.startsWith("-")
        ? `unknown flag ${extra} for ${command}`
        : `unexpected argument ${JSON.stringify(extra)} for ${command}`,
    );
  }
  return command;
}

async function init(): Promise<void> {
  const settings = readSettings(process.env, hostname());
  const logger = createLogger({
    base: { component: "zk-sidecar", command: "init", pod: settings.identity.podName },
  });
  // Loaded here so that `serve` does not carry init's modules (dns, fs/promises) all its life.
  const { runInit } = await import("./init.ts");
  const { plan, moved } = await runInit(settings, { logger });
  logger.info(
    {
      myid: settings.identity.id,
      data: plan.emptyData.kind,
      dynamicConfig: plan.dynamic.name,
      source: plan.dynamic.kind,
      why: plan.dynamic.reason,
      movedAside: moved,
    },
    "config rendered",
  );
}

async function serve(): Promise<void> {
  const settings = readSettings(process.env, hostname());
  // Loaded here so that `init`, which runs before every ZooKeeper start, does not load the HTTP
  // server and prom-client.
  const [{ createMetrics }, { ZooKeeperProbe }, { buildServer }] = await Promise.all([
    import("./metrics.ts"),
    import("./probe.ts"),
    import("./server.ts"),
  ]);
  const logger = createLogger({
    base: { component: "zk-sidecar", command: "serve", pod: settings.identity.podName },
  });
  const metrics = createMetrics();
  const probe = new ZooKeeperProbe({
    host: settings.zkHost,
    port: settings.ports.client,
    myid: settings.identity.id,
    timeoutMs: settings.fourLetterTimeoutMs,
    cacheMs: settings.readyCacheMs,
    metrics,
  });
  const tls = await startTlsSync(settings, logger);
  const app = buildServer({ probe, metrics, logger, tls: tls.status });
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(EXIT_CODES.ok),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(EXIT_CODES.failure);
      },
    );
  };
  process.once("SIGTERM", () => {
    shutdown("SIGTERM");
  });
  process.once("SIGINT", () => {
    shutdown("SIGINT");
  });
  startHeapTrimming(() => app.requests);
  await app.listen({ host: settings.httpHost, port: settings.httpPort });
  logger.info({ host: settings.httpHost, port: settings.httpPort }, "serving");
}

/**
 * With TLS on, compares the mounted TLS Secrets with ZooKeeper's stores every ZK_TLS_SYNC_MS
 * (tls-files.ts syncTls). With TLS off nothing is loaded: the module and node:crypto stay out of
 * the sidecar's memory.
 */
async function startTlsSync(
  settings: Settings,
  logger: Logger,
): Promise<{ status: () => TlsStatus | undefined }> {
  if (settings.tls.clientDir === null && settings.tls.quorumDir === null) return { status: () => undefined };
  const { syncTls } = await import("./tls-files.ts");
  let last: TlsStatus = await syncTls(settings, logger, new Date());
  let running = false;
  setInterval(() => {
    if (running) return;
    running = true;
    syncTls(settings, logger, new Date(), last)
      .then((s) => {
        last = s;
      })
      .catch((err: unknown) => {
        logger.error({ err }, "TLS sync failed");
      })
      .finally(() => {
        running = false;
      });
  }, settings.tls.syncMs).unref();
  return { status: () => last };
}

/**
 * With `--expose-gc` (sidecar/bin/zk-sidecar passes it), a full GC every 10 s once at least 100
 * requests were answered since the last one. Node's HTTP server promotes about 3 KB per request
 * to V8's old generation, and V8 lets that garbage grow the heap from 10 to 15 MiB before it
 * collects it (6-7 MiB are live): under steady probing that was 5 MiB of the sidecar's RSS. One
 * collection takes ~6 ms, between requests, at most every 10 s; an idle sidecar never needs it.
 */
function startHeapTrimming(requests: () => number): void {
  const gc = globalThis.gc;
  if (gc === undefined) return;
  let last = 0;
  setInterval(() => {
    if (requests() - last < 100) return;
    last = requests();
    gc();
  }, 10_000).unref();
}

async function main(argv: string[]): Promise<void> {
  const command = parseArgs(argv);
  if (command === "help") {
    process.stdout.write(USAGE + "\n");
    return;
  }
  await (command === "init" ? init() : serve());
}

/**
 * Writes the failure to the container's termination message file, so that the pod's status
 * (`kubectl describe pod`, the operator) shows why beside the exit code. Only into a file that
 * exists: the kubelet creates it for every container, and outside a pod (tests, a developer's
 * machine) nothing is created. Best effort: the message is on stderr as well.
 */
function writeTerminationMessage(message: string): void {
  const path = process.env[ENV.terminationMessagePath] || ENV_DEFAULTS.terminationMessagePath;
  // Loaded only here, on the way out: `serve` never needs it otherwise.
  const { closeSync, constants, openSync, writeSync } = process.getBuiltinModule("node:fs");
  try {
    // No O_CREAT: never create the file outside a pod.
    const fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
    try {
      writeSync(fd, message);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Missing or not writable: stderr (the container's log) has the message.
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof SidecarError) {
    process.stderr.write(`zk-sidecar: ${err.message}\n`);
    writeTerminationMessage(`zk-sidecar: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(
    `zk-sidecar: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  writeTerminationMessage(
    `zk-sidecar: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(EXIT_CODES.failure);
});
