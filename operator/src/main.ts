// zk-operator: wires configuration, the API client, leader election, the controller, the HTTP
// server and signal handling. Everything else lives in modules with their own tests.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { pino, type Logger } from "pino";
import { parseConfig, type OperatorConfig } from "./config.ts";
import { createMetrics, type OperatorMetrics } from "./metrics.ts";
import { Controller } from "./runtime/controller.ts";
import { reconfigure } from "./runtime/reconfigure.ts";
import { httpStatusReader } from "./runtime/sidecar-status.ts";
import { EventRecorder } from "./runtime/events.ts";
import { KubeClient, NotLeaderError, loadKubeConfig } from "./runtime/kube.ts";
import { LeaderElector } from "./runtime/leader.ts";
import { buildServer } from "./server.ts";

export const FIELD_MANAGER = "zk-operator";

function inClusterNamespace(): string | null {
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim() || null;
  } catch {
    return null;
  }
}

export interface RunningOperator {
  controller: Controller;
  client: KubeClient;
  elector: LeaderElector | null;
  metrics: OperatorMetrics;
  httpAddress: string;
  /** Stops workers, then releases the lease, then closes the server. */
  stop(): Promise<void>;
}

/** Starts the operator in this process. main() below and in-process tests both use it. */
export async function startOperator(
  config: OperatorConfig,
  options: { logger?: Logger; onFatal?: (reason: string) => void } = {},
): Promise<RunningOperator> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { component: "zk-operator" } });
  const metrics = createMetrics();
  const conn = await loadKubeConfig(config.kubeconfig ?? undefined);
  let elector: LeaderElector | null = null;
  const isLeader = () => (elector ? elector.isLeader() : true);
  const onRequest = (verb: string, code: number) => {
    metrics.kubeRequests.inc({ verb, code: String(code) });
  };
  const client = new KubeClient(conn, {
    fieldManager: FIELD_MANAGER,
    onRequest,
    // A process that is not (or no longer) the leader sends no write at all.
    beforeWrite: () => {
      if (!isLeader()) throw new NotLeaderError();
    },
  });
  const le = config.leaderElection;
  if (le.enabled) {
    // Its own client: the lease must be written while not (yet) the leader.
    const leaseClient = new KubeClient(conn, { fieldManager: FIELD_MANAGER, onRequest });
    elector = new LeaderElector(
      leaseClient,
      {
        namespace: le.namespace,
        name: le.name,
        identity: le.identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
      },
      logger,
    );
  }
  const events = new EventRecorder(client, { controller: FIELD_MANAGER, instance: le.identity }, logger);
  const controller = new Controller({
    client,
    log: logger,
    namespaces: config.namespaces,
    workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs,
    maxConcurrentRolls: config.maxConcurrentRolls,
    memberReadyTimeoutMs: config.memberReadyTimeoutMs,
    clusterDomain: config.clusterDomain,
    operatorNamespace: config.operatorNamespace,
    ...(config.sidecarImage ? { sidecarImage: config.sidecarImage } : {}),
    // Members' modes from their sidecars: 1 s each, all members at once.
    readSidecarStatus: httpStatusReader(1_000),
    // Membership steps: ZooKeeper's reconfig as the super user, 10 s per call.
    reconfigure: (request) => reconfigure(request),
    recordEvent: (regarding, event) => events.record(regarding, event),
    onResult: (outcome, seconds) => {
      metrics.reconciles.inc({ result: outcome });
      metrics.reconcileDuration.observe({ result: outcome }, seconds);
    },
  });
  metrics.setSources({
    queueDepth: () => controller.queue.depth,
    isLeader,
    clusters: () => controller.clusters(),
    informers: () => controller.informerStates(),
    rollingClusters: () => controller.rollSlots.rolling,
  });
  const server = buildServer({
    logger,
    registry: metrics.registry,
    synced: () => controller.synced,
    informers: () => controller.informerStates(),
    leader: () => ({
      leading: isLeader(),
      identity: le.identity,
      leader: elector ? elector.leader : le.identity,
    }),
  });
  const httpAddress = await server.listen({ host: config.httpHost, port: config.httpPort });
  logger.info(
    {
      http: httpAddress,
      namespaces: config.namespaces.length ? config.namespaces : "all",
      leaderElection: le.enabled,
    },
    "zk-operator started",
  );

  controller.startInformers();
  const startWorkers = async () => {
    // Reconciling from a cache that has not listed yet would recreate children that exist.
    while (!controller.synced) await new Promise((r) => setTimeout(r, 100));
    controller.startWorkers();
    logger.info("reconciling");
  };
  if (elector) {
    elector.onStartedLeading = () => void startWorkers();
    elector.onStoppedLeading = () => {
      // client-go exits here too: a fresh process rejoins as a candidate with clean state.
      (options.onFatal ?? defaultFatal)("lost the leader lease");
    };
    elector.start();
  } else {
    void startWorkers();
  }

  return {
    controller,
    client,
    elector,
    metrics,
    httpAddress,
    async stop() {
      await controller.stop();
      await elector?.stop({ release: true });
      await server.close();
      client.close();
    },
  };
}

function defaultFatal(reason: string): never {
  process.stderr.write(`zk-operator: ${reason}; exiting\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  const parsed = parseConfig(process.argv.slice(2), process.env, {
    hostname: hostname(),
    pid: process.pid,
    inClusterNamespace: inClusterNamespace(),
  });
  if (!parsed.ok) {
    if ("help" in parsed) {
      process.stdout.write(parsed.help + "\n");
      process.exit(0);
    }
    process.stderr.write(
      `zk-operator: invalid configuration:\n${parsed.errors.map((e) => `  - ${e}`).join("\n")}\n`,
    );
    process.exit(2);
  }
  const operator = await startOperator(parsed.config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`zk-operator: ${signal}; stopping\n`);
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    operator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => {
    shutdown("SIGTERM");
  });
  process.on("SIGINT", () => {
    shutdown("SIGINT");
  });
  // Reconcile every cluster now (as the periodic resync does); a converged cluster writes nothing.
  process.on("SIGUSR2", () => {
    operator.controller.resyncAll();
  });
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`zk-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
