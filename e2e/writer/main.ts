// The writer pod's entry point: `node main.ts` (Node 24 strips the types). Settings come from the
// environment (config.ts); an HTTP server on HTTP_PORT drives and reports the run:
//   GET  /progress                 counts so far, members' modes, elections (JSON)
//   POST /faults/LABEL/start       opens a fault window            → { label, at }
//   POST /faults/LABEL/end         closes it                       → its figures (FaultWindow)
//   POST /verify[?full=1]          reads back while writing goes on → Verdict
//   POST /stop                     stops, reads everything back    → Report (also GET /report after)
// It imports nothing from the operator or the sidecar but the sidecar's /status type and, with
// client TLS (ZK_TLS_CA), the operator's TLS tunnels: node-zookeeper-client speaks plain TCP only,
// so every address is reached through a loopback tunnel that verifies the member's certificate
// (the rig mounts that one file at the same relative path in the pod).
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { openTlsTunnels } from "../../operator/src/runtime/tls-tunnel.ts";
import type { SidecarStatus } from "../../sidecar/src/contract.ts";
import { parseWriterEnv, type WriterSettings } from "./config.ts";
import type { Report } from "./report.ts";
import { newRunId, startWriting, type MemberStatus, type Writer } from "./writer.ts";

const log = (message: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
};

function loadSettings(): WriterSettings {
  try {
    return parseWriterEnv(process.env);
  } catch (err) {
    process.stderr.write(`zk-writer: ${(err as Error).message}\n`);
    process.exit(3);
  }
}
const settings = loadSettings();

// The record in memory is the point of the run: an error thrown from inside the client library's
// socket handlers is logged (and shows in the pod's log) rather than ending the process with it.
process.on("uncaughtException", (err) => {
  log(`uncaught: ${err.stack ?? err.message}`);
});
const { statusUrls } = settings;

async function readSidecarStatus(id: number): Promise<MemberStatus> {
  const url = statusUrls.get(id);
  if (url === undefined) throw new Error(`no status URL for member ${id}`);
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  const s = (await res.json()) as SidecarStatus;
  return { mode: s.mode, serving: s.serving, zxid: s.lastZxid, configVersion: s.config?.version ?? null };
}

const run = settings.run ?? newRunId();
let writer: Writer | null = null;
let startError: string | null = null;
let stopping: Promise<Report> | null = null;
let report: Report | null = null;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** The answer to one request, as [HTTP status, JSON body]. */
async function answer(req: IncomingMessage): Promise<[number, unknown]> {
  const url = new URL(req.url ?? "/", "http://writer");
  const route = `${req.method ?? "GET"} ${url.pathname}`;
  if (route === "GET /healthz") return [200, { ok: true }];
  if (route === "GET /report") return report === null ? [404, { error: "not stopped yet" }] : [200, report];
  if (writer === null)
    return [503, { run, phase: "starting", error: startError ?? "connecting to ZooKeeper" }];
  if (route === "GET /progress") return [200, writer.progress()];
  const fault = /^POST \/faults\/([A-Za-z0-9._-]+)\/(start|end)$/.exec(route);
  if (fault?.[1] && fault[2]) {
    try {
      return [200, fault[2] === "start" ? writer.startFault(fault[1]) : writer.endFault(fault[1])];
    } catch (err) {
      return [409, { error: (err as Error).message }];
    }
  }
  if (route === "POST /verify")
    return [200, await writer.verify({ full: url.searchParams.get("full") === "1" })];
  if (route === "POST /stop") {
    stopping ??= writer.stop().then((r) => (report = r));
    return [200, await stopping];
  }
  return [404, { error: `no route ${route}` }];
}

const server = createServer((req, res) => {
  answer(req).then(
    ([status, body]) => {
      send(res, status, body);
    },
    (err: unknown) => {
      send(res, 500, { error: (err as Error).message });
    },
  );
});
server.listen(settings.httpPort, "0.0.0.0", () => {
  log(`zk-writer ${run}: HTTP on :${settings.httpPort}, writing to ${settings.connectionString}`);
});

/** The connection string and member addresses to use: through TLS tunnels with ZK_TLS_CA. */
async function addresses(): Promise<{ connectionString: string; members: WriterSettings["members"] }> {
  if (settings.tlsCaFile === null)
    return { connectionString: settings.connectionString, members: settings.members };
  const tls = {
    ca: readFileSync(settings.tlsCaFile, "utf8"),
    ...(settings.tlsClient
      ? {
          cert: readFileSync(settings.tlsClient.certFile, "utf8"),
          key: readFileSync(settings.tlsClient.keyFile, "utf8"),
        }
      : {}),
  };
  const client = await openTlsTunnels(settings.connectionString.split(","), tls);
  const members = await openTlsTunnels(
    settings.members.map((m) => m.address),
    tls,
  );
  log(
    `client TLS: ${settings.connectionString} and ${settings.members.length} members through TLS tunnels${settings.tlsClient ? ", presenting a client certificate" : ""}`,
  );
  return {
    connectionString: client.hosts.join(","),
    members: settings.members.map((m, i) => ({ id: m.id, address: members.hosts[i] ?? m.address })),
  };
}

addresses()
  .then(({ connectionString, members }) =>
    startWriting({
      run,
      connectionString,
      members,
      readStatus: statusUrls.size > 0 ? readSidecarStatus : null,
      ratePerSecond: settings.ratePerSecond,
      payloadBytes: settings.payloadBytes,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      maxInFlight: settings.maxInFlight,
      statusIntervalMs: settings.statusIntervalMs,
      log,
    }),
  )
  .then(
    (w) => {
      writer = w;
      log(`writing ${settings.ratePerSecond}/s under /zk-writer/${run}`);
    },
    (err: unknown) => {
      startError = (err as Error).message;
      log(`could not start: ${startError}`);
    },
  );
