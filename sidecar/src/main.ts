// zk-sidecar: `init` renders myid and zoo.cfg once before ZooKeeper starts; `serve` answers the
// kubelet's probes, the operator's status reads and Prometheus until SIGTERM.
import { hostname } from "node:os";
import { pino } from "pino";
import { EXIT_CODES } from "./contract.ts";
import { runInit } from "./init.ts";
import { readSettings, SidecarError } from "./settings.ts";

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
  const logger = pino({ base: { component: "zk-sidecar", command: "init", pod: settings.identity.podName } });
  const { plan, moved } = await runInit(settings);
  logger.info(
    {
      myid: settings.identity.id,
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
  // Loaded here so that `init`, which runs before every ZooKeeper start, does not load fastify.
  const [{ createMetrics }, { ZooKeeperProbe }, { buildServer }] = await Promise.all([
    import("./metrics.ts"),
    import("./probe.ts"),
    import("./server.ts"),
  ]);
  const logger = pino({
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
  const app = buildServer({ probe, metrics, logger });
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
  await app.listen({ host: settings.httpHost, port: settings.httpPort });
}

async function main(argv: string[]): Promise<void> {
  const command = parseArgs(argv);
  if (command === "help") {
    process.stdout.write(USAGE + "\n");
    return;
  }
  await (command === "init" ? init() : serve());
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof SidecarError) {
    process.stderr.write(`zk-sidecar: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(
    `zk-sidecar: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(EXIT_CODES.failure);
});
