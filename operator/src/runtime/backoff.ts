// Exponential backoff with jitter, shared by the work queue and the informers.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay drawn at random (0.2 → ±20 %), so retries of many keys spread out. */
  jitter: number;
}

/**
 * The delay before retry number `failures` (1 = the first retry): base × 2^(failures-1), capped,
 * with jitter. `random` is injectable so the function stays pure for tests.
 */
export function computeBackoff(
  policy: BackoffPolicy,
  failures: number,
  random: number = Math.random(),
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  const spread = exp * policy.jitter * (2 * random - 1);
  return Math.max(0, Math.min(policy.maxMs, Math.round(exp + spread)));
}
