// Leader elections as seen from outside: the writer polls every member's sidecar /status and
// feeds each answer here. A zxid's high 32 bits are the epoch of the leader that proposed it, and
// each successful election starts a new epoch (a new leader sets its last processed zxid to
// epoch << 32 as soon as it serves, its followers take the epoch on their first commit in it).
// So elections = distinct epochs seen after the first one. Epochs older than the first one seen
// (a server that restarts and reports what its disk holds before it syncs) are not elections.

export interface StatusObservation {
  /** Milliseconds since the epoch. */
  at: number;
  /** Server id (myid). */
  member: number;
  /** The sidecar's mode: leader, follower, observer, standalone, not-serving, unreachable. */
  mode: string;
  /** `0x…` as ZooKeeper prints it; null when the server does not serve. */
  zxid: string | null;
}

export interface EpochRecord {
  epoch: number;
  /** When any member first reported a zxid of this epoch. */
  firstSeenAt: number;
  /** The member seen leading in this epoch, null if the poller never caught it leading. */
  leader: number | null;
  leaderSeenAt: number | null;
}

const SERVING = new Set(["leader", "follower", "observer", "standalone"]);

/** The epoch of a zxid (`0x…` or decimal); null when it is not a number. */
export function epochOf(zxid: string): number | null {
  try {
    return Number(BigInt(zxid.trim()) >> 32n);
  } catch {
    return null;
  }
}

/** Canonical `0x…` form (lower case, no leading zeros) of a zxid in any notation BigInt accepts. */
export function normalizeZxid(zxid: string | bigint): string {
  return `0x${(typeof zxid === "bigint" ? zxid : BigInt(zxid.trim())).toString(16)}`;
}

/**
 * Folds observations, in the order they were made, into the epochs seen. No I/O: the writer feeds
 * it, and the unit tests feed it series of observations.
 */
export class ElectionTracker {
  #epochs = new Map<number, EpochRecord>();
  #first: number | null = null;

  observe(o: StatusObservation): void {
    if (!SERVING.has(o.mode) || o.zxid === null) return;
    const epoch = epochOf(o.zxid);
    if (epoch === null) return;
    if (this.#first === null) this.#first = epoch;
    if (epoch < this.#first) return;
    let record = this.#epochs.get(epoch);
    if (record === undefined) {
      record = { epoch, firstSeenAt: o.at, leader: null, leaderSeenAt: null };
      this.#epochs.set(epoch, record);
    }
    record.firstSeenAt = Math.min(record.firstSeenAt, o.at);
    if (o.mode === "leader" && (record.leaderSeenAt === null || o.at < record.leaderSeenAt)) {
      record.leader = o.member;
      record.leaderSeenAt = o.at;
    }
  }

  /** Every epoch seen, oldest first. */
  epochs(): EpochRecord[] {
    return [...this.#epochs.values()].sort((a, b) => a.epoch - b.epoch).map((r) => ({ ...r }));
  }

  /** The newest epoch seen, or null before any serving member answered. */
  current(): EpochRecord | null {
    return this.epochs().at(-1) ?? null;
  }

  /** Elections since the first epoch seen. */
  elections(): number {
    return Math.max(0, this.#epochs.size - 1);
  }

  /** Epochs (elections) first seen within [from, to], excluding the very first epoch. */
  electionsBetween(from: number, to: number): EpochRecord[] {
    return this.epochs()
      .slice(1)
      .filter((r) => r.firstSeenAt >= from && r.firstSeenAt <= to);
  }
}

/** Counts the elections in a series of observations (see ElectionTracker). */
export function countElections(observations: readonly StatusObservation[]): {
  elections: number;
  epochs: EpochRecord[];
} {
  const tracker = new ElectionTracker();
  for (const o of observations) tracker.observe(o);
  return { elections: tracker.elections(), epochs: tracker.epochs() };
}
