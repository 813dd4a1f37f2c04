// A keyed work queue in the manner of client-go's workqueue: a key waits at most once
// (duplicates collapse), a key is never processed by two workers at once (a key added while it
// runs is processed again afterwards), failures retry with per-key exponential backoff and
// jitter, and a handler may ask to run again after a delay.
import { computeBackoff, type BackoffPolicy } from "./backoff.ts";

/**
 * How one run of a key ended: done ("success"), done but to be run again after a delay
 * ("requeue"), done but failed for good until something changes ("terminal"), or thrown
 * ("error", retried with backoff). The metrics' result label takes the same values.
 */
export type Outcome = "success" | "requeue" | "terminal" | "error";

/** What a handler returns; an error is a throw, never a return value. */
export type HandlerResult =
  { outcome: "success" } | { outcome: "terminal" } | { outcome: "requeue"; requeueAfterMs: number };

export type QueueHandler = (key: string) => Promise<HandlerResult>;

export interface QueueOptions {
  workers: number;
  backoff: BackoffPolicy;
  /** Called after each run with its outcome (and, for "error", what was thrown). */
  onResult?: (key: string, outcome: Outcome, seconds: number, err?: unknown) => void;
}

export class WorkQueue {
  private readonly handler: QueueHandler;
  private readonly options: QueueOptions;
  /** Keys waiting to run, in order; `queued` mirrors it for O(1) dedupe. */
  private readonly order: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while they were running: they run once more when the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private active = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(handler: QueueHandler, options: QueueOptions) {
    this.handler = handler;
    this.options = options;
  }

  /** Keys waiting to run (not counting delayed ones or those running). */
  get depth(): number {
    return this.queued.size;
  }

  get delayed(): number {
    return this.timers.size;
  }

  get running(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    // An immediate add supersedes a delayed one.
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
    }
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Adds the key after `ms`; an earlier pending delay for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Retries after this key's next backoff delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = computeBackoff(this.options.backoff, n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forgets a key's failures (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Stops taking work; resolves when running handlers have finished. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.order.length = 0;
    this.head = 0;
    this.queued.clear();
    await this.idle();
  }

  /** Resolves when nothing is queued or running (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queued.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): string | undefined {
    while (this.head < this.order.length) {
      const key = this.order[this.head++];
      if (this.head > 1024 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
      if (key !== undefined && this.queued.has(key)) return key;
    }
    return undefined;
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.workers) {
      const key = this.next();
      if (key === undefined) break;
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.runOne(key);
    }
    if (this.active === 0 && this.queued.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async runOne(key: string): Promise<void> {
    const started = performance.now();
    try {
      const result = await this.handler(key);
      const seconds = (performance.now() - started) / 1000;
      this.forget(key);
      this.options.onResult?.(key, result.outcome, seconds);
      if (result.outcome === "requeue") this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const seconds = (performance.now() - started) / 1000;
      this.options.onResult?.(key, "error", seconds, err);
      this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
