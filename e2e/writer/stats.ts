// Figures over the writer's record: latency percentiles and the longest stretch of time in which
// no write was acknowledged. Pure functions of the record, so the report can be recomputed and
// tested without a cluster.

export interface LatencySummary {
  count: number;
  /** Milliseconds; null when there is nothing to summarise. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface Gap {
  /** Milliseconds without an acknowledged write. */
  ms: number;
  /** When the gap began (the last acknowledgement before it, or the start of the range). */
  start: number;
  end: number;
}

/** Nearest-rank percentile (`p` in 0..100) of `values`; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

export function summarizeLatency(values: readonly number[]): LatencySummary {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length === 0 ? null : Math.max(...values),
  };
}

/**
 * The longest interval without an acknowledgement that overlaps [from, to]. `ackTimes` must be
 * sorted ascending. A gap that was already running at `from` counts from its real start (the last
 * acknowledgement before `from`); one still running at `to` counts until `to`, so a writer that
 * has not recovered by then shows it; with no acknowledgement before `from`, `from` is the start.
 */
export function longestGap(ackTimes: readonly number[], from: number, to: number): Gap {
  const first = lowerBound(ackTimes, from);
  let previous = first > 0 ? (ackTimes[first - 1] ?? from) : from;
  let best: Gap = { ms: 0, start: previous, end: previous };
  const consider = (t: number): void => {
    if (t - previous > best.ms) best = { ms: t - previous, start: previous, end: t };
    previous = t;
  };
  for (let i = first; i < ackTimes.length; i++) {
    const t = ackTimes[i] ?? to;
    if (t >= to) break;
    consider(t);
  }
  if (to > from) consider(to);
  return best;
}

/** Index of the first element of sorted `values` that is >= `x` (binary search). */
export function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] ?? Infinity) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
