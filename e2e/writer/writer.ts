// The writer: creates PERSISTENT_SEQUENTIAL znodes at a steady rate through one connection string
// (in a cluster: the client Service), records every acknowledgement and failure, watches the
// members' modes and epochs, and on request reads everything back from each member and judges it.
import { randomBytes } from "node:crypto";
import { ElectionTracker } from "./elections.ts";
import { renderPayload } from "./payload.ts";
import {
  countByError,
  summarizeWindow,
  type FailedWrite,
  type FaultWindow,
  type MemberState,
  type Progress,
  type Report,
} from "./report.ts";
import { longestGap, summarizeLatency } from "./stats.ts";
import {
  combineVerdicts,
  nameOf,
  unreadableMember,
  verifyMember,
  type AckedWrite,
  type MemberVerdict,
  type ReadNode,
  type Verdict,
} from "./verify.ts";
import {
  closeClient,
  connect,
  createClient,
  CreateMode,
  createSequential,
  errorName,
  getChildren,
  getData,
  mapLimit,
  mkdirp,
  replyZxid,
  watchSilence,
  ZkState,
  type ZkClient,
} from "./zk.ts";

export interface MemberTarget {
  id: number;
  /** host:port of this member's client port (in a cluster: its stable DNS name). */
  address: string;
}

/** What the writer needs to know of a member's state, from wherever it can be read. */
export interface MemberStatus {
  mode: string;
  serving: boolean;
  zxid: string | null;
  configVersion: string | null;
}

export interface WriterConfig {
  run: string;
  /** Where writes go, as an application connects (in a cluster: NAME-client.NS.svc…:2181). */
  connectionString: string;
  /** Every member, each read back separately. */
  members: MemberTarget[];
  /** Reads one member's state (in a cluster: its sidecar's /status); null: no election tracking. */
  readStatus: ((id: number) => Promise<MemberStatus>) | null;
  ratePerSecond: number;
  payloadBytes: number;
  sessionTimeoutMs: number;
  maxInFlight: number;
  statusIntervalMs: number;
  log: (message: string) => void;
}

export interface Writer {
  progress(): Progress;
  /** Opens a fault window now; its figures come with `endFault`. */
  startFault(label: string): { label: string; at: number };
  endFault(label: string): FaultWindow;
  /**
   * Reads every write acknowledged so far back from each member while writing goes on: presence
   * of all of them, content of those acknowledged since the previous check (`full`: of all).
   */
  verify(options?: { full?: boolean }): Promise<Verdict>;
  /** Stops writing, waits for creates in flight, reads everything back, reports. */
  stop(): Promise<Report>;
}

export function newRunId(): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, "")
    .slice(0, 14)}-${randomBytes(3).toString("hex")}`;
}

interface Pending {
  issuedAt: number;
  generation: number;
}

export async function startWriting(config: WriterConfig): Promise<Writer> {
  const { run, log } = config;
  const parent = `/zk-writer/${run}`;
  const fences = `/zk-writer/${run}-fences`;
  const startedAt = Date.now();

  // Set up the run's parents with a short-lived session, retrying until the ensemble serves.
  for (let attempt = 1; ; attempt++) {
    try {
      const c = await connect(config.connectionString, {
        sessionTimeoutMs: config.sessionTimeoutMs,
        timeoutMs: 10_000,
      });
      try {
        await mkdirp(c, parent);
        await mkdirp(c, fences);
      } finally {
        await closeClient(c);
      }
      break;
    } catch (err) {
      if (attempt >= 30) throw err;
      log(`setting up ${parent}: ${(err as Error).message}; retrying`);
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  const acks: AckedWrite[] = [];
  const failures: FailedWrite[] = [];
  const inFlight = new Map<number, Pending>();
  const tracker = new ElectionTracker();
  const members = new Map<number, MemberState>();
  const faults = new Map<string, { start: number; window: FaultWindow | null }>();
  let phase: Progress["phase"] = "writing";
  let seq = 0;
  let skipped = 0;
  let sessions = 0;
  let disconnects = 0;
  let silentDrops = 0;
  let generation = 0;
  let client: ZkClient | null = null;
  let stopWatch: () => void = () => undefined;
  let contentCheckedUpTo = 0;

  function openSession(): void {
    generation++;
    sessions++;
    const mine = generation;
    // retries 0: a create that fails is recorded as failed, never retried behind the record's back.
    const c = (client = createClient(config.connectionString, config.sessionTimeoutMs));
    c.on("state", (state: unknown) => {
      if (mine !== generation) return;
      if (state === ZkState.DISCONNECTED) disconnects++;
      if (state === ZkState.EXPIRED) {
        log(`session ${sessions} expired; opening a new one`);
        // Creates queued on the expired session never get an answer from the library: they failed.
        const now = Date.now();
        for (const [s, p] of inFlight)
          if (p.generation === mine) {
            inFlight.delete(s);
            failures.push({ seq: s, issuedAt: p.issuedAt, at: now, error: "SESSION_EXPIRED" });
          }
        stopWatch();
        c.close();
        openSession();
      }
    });
    stopWatch = watchSilence(
      c,
      () => (c.getSessionTimeout() * 2) / 3,
      () => {
        silentDrops++;
        log(
          `no answer on the connection for ${Math.round((c.getSessionTimeout() * 2) / 3)} ms; reconnecting`,
        );
      },
    );
    c.connect();
  }

  function issue(): void {
    const c = client;
    if (c === null) return;
    const s = ++seq;
    const issuedAt = Date.now();
    const data = Buffer.from(renderPayload({ run, seq: s, issuedAt }, config.payloadBytes));
    inFlight.set(s, { issuedAt, generation });
    c.create(`${parent}/w-`, data, CreateMode.PERSISTENT_SEQUENTIAL, (err, path) => {
      const zxid = err ? null : replyZxid(c); // first: valid only during this callback's run
      const at = Date.now();
      const pending = inFlight.get(s);
      inFlight.delete(s);
      if (err) {
        if (pending) failures.push({ seq: s, issuedAt, at, error: errorName(err) });
        return;
      }
      if (!pending) {
        // Given up as failed (session expired) and acknowledged after all: it is acknowledged.
        const i = failures.findIndex((f) => f.seq === s);
        if (i >= 0) failures.splice(i, 1);
      }
      acks.push({ seq: s, path, zxid, issuedAt, ackedAt: at });
    });
  }

  openSession();

  // Open loop at a fixed rate: a stalled cluster does not slow the schedule, so its stall shows as
  // latency and as a gap. Past maxInFlight, ticks are skipped (and counted) rather than queued.
  const scheduleStart = Date.now();
  let scheduled = 0;
  const writeTimer = setInterval(() => {
    if (phase !== "writing") return;
    const due = Math.floor(((Date.now() - scheduleStart) * config.ratePerSecond) / 1000) - scheduled;
    for (let i = 0; i < due; i++) {
      scheduled++;
      if (inFlight.size >= config.maxInFlight) skipped++;
      else issue();
    }
  }, 10);

  const polling = new Set<number>();
  const pollStatus = (): void => {
    const read = config.readStatus;
    if (read === null) return;
    for (const m of config.members) {
      if (polling.has(m.id)) continue;
      polling.add(m.id);
      read(m.id)
        .then((st) => {
          const at = Date.now();
          tracker.observe({ at, member: m.id, mode: st.mode, zxid: st.zxid });
          members.set(m.id, { id: m.id, ...st, at, error: null });
        })
        .catch((err: unknown) => {
          const at = Date.now();
          members.set(m.id, {
            id: m.id,
            mode: "unreachable",
            serving: false,
            zxid: null,
            configVersion: null,
            at,
            error: (err as Error).message,
          });
        })
        .finally(() => polling.delete(m.id));
    }
  };
  const statusTimer = setInterval(pollStatus, config.statusIntervalMs);
  pollStatus();

  /** Reads one member: a fenced write first (see below), then the parent's children and contents. */
  async function readMember(
    m: MemberTarget,
    acked: readonly AckedWrite[],
    contentFrom: number,
  ): Promise<MemberVerdict> {
    const deadline = Date.now() + 60_000;
    let lastError = "";
    while (Date.now() < deadline) {
      let c: ZkClient | null = null;
      try {
        c = await connect(m.address, { sessionTimeoutMs: config.sessionTimeoutMs, timeoutMs: 10_000 });
        // node-zookeeper-client has no `sync` (it drops the connection on the reply). A write made
        // through this member does the same job and more: its reply comes only after this member
        // applied it, and every acknowledged write was committed before it, so all of them are
        // applied here too before the reads below.
        await createSequential(c, `${fences}/m${m.id}-`, Buffer.alloc(0));
        const children = await getChildren(c, parent);
        const ackedNames = new Set(acked.map((w) => nameOf(parent, w.path)));
        const names = [
          ...acked.slice(contentFrom).map((w) => nameOf(parent, w.path)),
          ...children.filter((n) => !ackedNames.has(n)),
        ];
        const nodes = new Map<string, ReadNode>();
        const client = c;
        await mapLimit(names, 64, async (name) => {
          const node = await getData(client, `${parent}/${name}`);
          if (node !== null) nodes.set(name, node);
        });
        return verifyMember({
          member: m.id,
          run,
          parent,
          payloadBytes: config.payloadBytes,
          acked,
          read: { children, nodes },
        });
      } catch (err) {
        lastError = (err as Error).message;
        await new Promise((r) => setTimeout(r, 1_000));
      } finally {
        if (c !== null) await closeClient(c);
      }
    }
    return unreadableMember(m.id, lastError);
  }

  async function verify(options: { full?: boolean } = {}): Promise<Verdict> {
    const acked = acks.slice();
    const contentFrom = options.full === true ? 0 : Math.min(contentCheckedUpTo, acked.length);
    const verdicts = await Promise.all(config.members.map((m) => readMember(m, acked, contentFrom)));
    if (verdicts.every((v) => v.error === null)) contentCheckedUpTo = acked.length;
    const verdict = combineVerdicts(acked.length, verdicts);
    log(
      `verified ${acked.length} acknowledged writes on ${verdicts.length} members: ` +
        `${verdict.lost} lost, ${verdict.corrupted} corrupted, ${verdict.unreadable} members unreadable`,
    );
    return verdict;
  }

  function progress(): Progress {
    return {
      run,
      phase,
      now: Date.now(),
      startedAt,
      issued: seq,
      acknowledged: acks.length,
      failed: failures.length,
      inFlight: inFlight.size,
      lastAckAt: acks.at(-1)?.ackedAt ?? null,
      session: client === null ? "none" : String(client.getState()),
      elections: tracker.elections(),
      epoch: tracker.current(),
      members: [...members.values()].sort((a, b) => a.id - b.id),
      openFaults: [...faults].filter(([, f]) => f.window === null).map(([label]) => label),
    };
  }

  return {
    progress,
    startFault(label) {
      if (faults.get(label)?.window === null) throw new Error(`fault window ${label} is already open`);
      const at = Date.now();
      faults.set(label, { start: at, window: null });
      log(`fault window ${label} opened`);
      return { label, at };
    },
    endFault(label) {
      const f = faults.get(label);
      if (f === undefined) throw new Error(`no fault window ${label}`);
      if (f.window !== null) return f.window;
      f.window = summarizeWindow({
        label,
        start: f.start,
        end: Date.now(),
        acks,
        failures,
        epochs: tracker.epochs(),
      });
      log(`fault window ${label} closed: ${JSON.stringify(f.window)}`);
      return f.window;
    },
    verify,
    async stop() {
      phase = "stopping";
      clearInterval(writeTimer);
      const stoppedAt = Date.now();
      const settleBy = stoppedAt + 2 * config.sessionTimeoutMs;
      while (inFlight.size > 0 && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 100));
      clearInterval(statusTimer);
      const verdict = await verify({ full: true });
      stopWatch();
      if (client !== null) await closeClient(client);
      phase = "stopped";
      const epochs = tracker.epochs();
      const report: Report = {
        run,
        parent,
        ratePerSecond: config.ratePerSecond,
        startedAt: scheduleStart,
        stoppedAt,
        issued: seq,
        acknowledged: acks.length,
        zxidRecorded: acks.filter((a) => a.zxid !== null).length,
        failed: { count: failures.length, byError: countByError(failures), writes: failures.slice() },
        unsettled: inFlight.size,
        skipped,
        lost: verdict.lost,
        corrupted: verdict.corrupted,
        verdict,
        longestGap: longestGap(
          acks.map((a) => a.ackedAt),
          scheduleStart,
          stoppedAt,
        ),
        latency: summarizeLatency(acks.map((a) => a.ackedAt - a.issuedAt)),
        elections: Math.max(0, epochs.length - 1),
        epochs,
        faults: [...faults.entries()].map(
          ([label, f]) =>
            f.window ?? summarizeWindow({ label, start: f.start, end: stoppedAt, acks, failures, epochs }),
        ),
        sessions,
        disconnects,
        silentDrops,
      };
      return report;
    },
  };
}
