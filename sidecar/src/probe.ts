// What the sidecar knows about its ZooKeeper, from four-letter words. Each word's answer is
// reused for `cacheMs` and concurrent askers share one call in flight, so a burst of probes costs
// one TCP round trip to ZooKeeper. An answer past 3/4 of its life is refreshed in the background
// while it is still served, so under steady asking (a short probe period, Prometheus, the
// benchmark) no request waits for ZooKeeper; no answer served is ever older than `cacheMs`.
import type { SidecarMetrics } from "./metrics.ts";
import {
  FourLetterError,
  parseConf,
  parseMntr,
  parseSrvr,
  type Mntr,
  sendFourLetterWord,
  type Srvr,
} from "./zk.ts";
import type { SidecarMode, SidecarStatus } from "./contract.ts";

export type Word = "ruok" | "srvr" | "mntr" | "conf";

type Answer = { ok: true; text: string } | { ok: false; error: FourLetterError };

export type LastError = SidecarStatus["lastError"] & {};

export interface Readiness {
  ready: boolean;
  mode: SidecarMode;
  reason: string;
  zxid: string | null;
}

export interface Liveness {
  live: boolean;
  reason: string;
}

export type Status = SidecarStatus;

export interface ProbeOptions {
  host: string;
  port: number;
  myid: number;
  timeoutMs: number;
  cacheMs: number;
  metrics: SidecarMetrics;
  /** Replaceable clock, for tests of the cache. */
  now?: () => number;
}

interface CacheEntry {
  /** When the answer arrived. */
  at: number;
  answer: Answer;
}

export class ZooKeeperProbe {
  private readonly options: ProbeOptions;
  private readonly now: () => number;
  private readonly cache = new Map<Word, CacheEntry>();
  private readonly inFlight = new Map<Word, Promise<Answer>>();
  private lastErrorValue: LastError | null = null;
  /** Four-letter words actually sent (not answered from the cache). */
  sent = 0;

  constructor(options: ProbeOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get lastError(): LastError | null {
    return this.lastErrorValue;
  }

  /**
   * The answer to `word`, from the cache when it is younger than cacheMs (past 3/4 of that, a
   * refresh starts in the background); otherwise from ZooKeeper, sharing a call in flight.
   */
  ask(word: Word): Promise<Answer> {
    const hit = this.cache.get(word);
    const age = hit ? this.now() - hit.at : Infinity;
    if (hit && age < this.options.cacheMs) {
      // The request that finds the answer expired waits for ZooKeeper's round trip (a JVM that
      // may itself wait for a CPU); refreshing ahead keeps that wait off the probes, and the last
      // quarter of the interval leaves the refresh ample time to arrive.
      if (age >= (this.options.cacheMs * 3) / 4) void this.fetch(word);
      return Promise.resolve(hit.answer);
    }
    return this.fetch(word);
  }

  /** Sends `word` unless it is already in flight; the answer replaces the cached one. */
  private fetch(word: Word): Promise<Answer> {
    const pending = this.inFlight.get(word);
    if (pending) return pending;
    const answer = this.send(word).then((a) => {
      this.cache.set(word, { at: this.now(), answer: a });
      this.inFlight.delete(word);
      return a;
    });
    this.inFlight.set(word, answer);
    return answer;
  }

  private async send(word: Word): Promise<Answer> {
    const { host, port, timeoutMs, metrics } = this.options;
    this.sent++;
    const stop = metrics.fourLetterDuration.startTimer({ word });
    try {
      const text = await sendFourLetterWord(host, port, word, timeoutMs);
      return { ok: true, text };
    } catch (err) {
      const error =
        err instanceof FourLetterError ? err : new FourLetterError(word, "connection", String(err));
      this.recordError(word, error.reason, error.message);
      return { ok: false, error };
    } finally {
      stop();
    }
  }

  private recordError(word: string, reason: LastError["reason"], message: string): void {
    this.options.metrics.fourLetterErrors.inc({ word, reason });
    this.lastErrorValue = { word, reason, message, at: new Date(this.now()).toISOString() };
  }

  /** Live when the process answers `ruok` with `imok`; quorum plays no part. */
  async live(): Promise<Liveness> {
    const a = await this.ask("ruok");
    if (!a.ok) return { live: false, reason: a.error.message };
    if (a.text !== "imok")
      return { live: false, reason: `ruok answered ${JSON.stringify(a.text.slice(0, 80))}` };
    return { live: true, reason: "ZooKeeper answers ruok" };
  }

  /**
   * Ready when `srvr` reports leader, follower or observer. ZooKeeper answers `srvr` with a Mode
   * only while its ZooKeeperServer runs inside an established quorum (a follower after syncing
   * with the leader); while electing or syncing it answers "not currently serving requests".
   */
  async ready(): Promise<Readiness> {
    const a = await this.ask("srvr");
    if (!a.ok) {
      if (a.error.reason === "not_serving") {
        return {
          ready: false,
          mode: "not-serving",
          reason: "ZooKeeper is not serving: no quorum, electing or syncing",
          zxid: null,
        };
      }
      return { ready: false, mode: "unreachable", reason: a.error.message, zxid: null };
    }
    let srvr: Srvr;
    try {
      srvr = parseSrvr(a.text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.recordError("srvr", "malformed", message);
      return { ready: false, mode: "unreachable", reason: message, zxid: null };
    }
    if (srvr.mode === "standalone") {
      return {
        ready: false,
        mode: srvr.mode,
        reason: "ZooKeeper runs standalone, not in a quorum",
        zxid: srvr.zxid,
      };
    }
    return { ready: true, mode: srvr.mode, reason: `serving as ${srvr.mode}`, zxid: srvr.zxid };
  }

  async status(): Promise<Status> {
    const [readiness, conf] = await Promise.all([this.ready(), this.ask("conf")]);
    let config: Status["config"] = null;
    if (conf.ok) {
      const parsed = parseConf(conf.text);
      if (parsed.members.length > 0) config = { version: parsed.version, members: parsed.members };
      else this.recordError("conf", "malformed", "conf answer has no server lines");
    }
    const serving = readiness.mode !== "not-serving" && readiness.mode !== "unreachable";
    // mntr is 16 KB; only the leader knows who is synced, so only the leader is asked.
    const syncedFollowers = readiness.mode === "leader" ? await this.syncedFollowers() : null;
    return {
      myid: this.options.myid,
      mode: readiness.mode,
      serving,
      ready: readiness.ready,
      reason: readiness.reason,
      lastZxid: readiness.zxid,
      syncedFollowers,
      config,
      lastError: this.lastErrorValue,
      checkedAt: new Date(this.now()).toISOString(),
    };
  }

  /** The leader's zk_synced_followers, null when mntr does not answer or lacks a number. */
  private async syncedFollowers(): Promise<number | null> {
    const value = (await this.mntr())?.values.get("synced_followers");
    const n = value === undefined ? NaN : Number(value);
    return Number.isInteger(n) && n >= 0 ? n : null;
  }

  /** `mntr`, parsed; null when ZooKeeper does not answer it (not serving, down). */
  async mntr(): Promise<Mntr | null> {
    const a = await this.ask("mntr");
    return a.ok ? parseMntr(a.text) : null;
  }
}
