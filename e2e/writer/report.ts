// What the writer reports, and the pure functions that compute it from its record. The e2e rig
// imports these types to read the writer's JSON.
import type { EpochRecord } from "./elections.ts";
import { longestGap, summarizeLatency, type Gap, type LatencySummary } from "./stats.ts";
import type { AckedWrite, Verdict } from "./verify.ts";

export interface FailedWrite {
  seq: number;
  issuedAt: number;
  /** When the failure was reported. */
  at: number;
  /** The client's error: CONNECTION_LOSS (outcome unknown), SESSION_EXPIRED, … */
  error: string;
}

/** A member as the writer last saw it through its sidecar's /status. */
export interface MemberState {
  id: number;
  mode: string;
  serving: boolean;
  zxid: string | null;
  /** The committed ensemble config version this member reports (hex), null when not serving. */
  configVersion: string | null;
  /** When the answer arrived. */
  at: number;
  error: string | null;
}

export interface Progress {
  run: string;
  phase: "starting" | "writing" | "stopping" | "stopped";
  now: number;
  startedAt: number;
  issued: number;
  acknowledged: number;
  failed: number;
  inFlight: number;
  lastAckAt: number | null;
  /** The client's session state (SYNC_CONNECTED, DISCONNECTED, EXPIRED, …). */
  session: string;
  elections: number;
  epoch: EpochRecord | null;
  members: MemberState[];
  openFaults: string[];
}

/** The figures of one marked fault window [start, end]. */
export interface FaultWindow {
  label: string;
  start: number;
  end: number;
  /** Writes acknowledged within the window. */
  acknowledged: number;
  /** Writes that failed within the window. */
  failed: number;
  /** Longest stretch within the window without an acknowledged write. */
  longestGap: Gap;
  /** Latency of the writes issued within the window that were acknowledged (whenever). */
  latency: LatencySummary;
  /** Epochs (elections) first seen within the window. */
  elections: EpochRecord[];
}

export interface Report {
  run: string;
  parent: string;
  ratePerSecond: number;
  startedAt: number;
  stoppedAt: number;
  issued: number;
  acknowledged: number;
  /** Acknowledged writes for which the reply's zxid was recorded. */
  zxidRecorded: number;
  failed: { count: number; byError: Record<string, number>; writes: FailedWrite[] };
  /** Creates still unanswered when the writer gave up waiting at stop (outcome unknown). */
  unsettled: number;
  /** Ticks skipped because too many creates were in flight. */
  skipped: number;
  /** Acknowledged writes missing on some member (must be 0). */
  lost: number;
  /** Acknowledged writes read back different on some member (must be 0). */
  corrupted: number;
  verdict: Verdict;
  longestGap: Gap;
  latency: LatencySummary;
  elections: number;
  epochs: EpochRecord[];
  faults: FaultWindow[];
  sessions: number;
  disconnects: number;
  /** Connections the writer dropped because the server went silent (see zk.ts watchSilence). */
  silentDrops: number;
}

/** The figures of [start, end] from the record; `acks` in acknowledgement order. */
export function summarizeWindow(input: {
  label: string;
  start: number;
  end: number;
  acks: readonly AckedWrite[];
  failures: readonly FailedWrite[];
  epochs: readonly EpochRecord[];
}): FaultWindow {
  const { start, end } = input;
  const within = (t: number): boolean => t >= start && t <= end;
  const ackTimes = input.acks.map((a) => a.ackedAt);
  return {
    label: input.label,
    start,
    end,
    acknowledged: ackTimes.filter(within).length,
    failed: input.failures.filter((f) => within(f.at)).length,
    longestGap: longestGap(ackTimes, start, end),
    latency: summarizeLatency(
      input.acks.filter((a) => within(a.issuedAt)).map((a) => a.ackedAt - a.issuedAt),
    ),
    elections: input.epochs.slice(1).filter((e) => within(e.firstSeenAt)),
  };
}

export function countByError(failures: readonly FailedWrite[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of failures) out[f.error] = (out[f.error] ?? 0) + 1;
  return out;
}
