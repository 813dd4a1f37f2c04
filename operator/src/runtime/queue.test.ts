import { describe, expect, test } from "vitest";
import { computeBackoff } from "./backoff.ts";
import { WorkQueue, type HandlerResult } from "./queue.ts";

const DONE: HandlerResult = { outcome: "success" };

const fast = { baseMs: 5, maxMs: 40, jitter: 0 };

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("computeBackoff", () => {
  test.each([
    [1, 0.5, 100],
    [2, 0.5, 200],
    [4, 0.5, 800],
    [20, 0.5, 1000],
    [1, 0, 80],
    [1, 1, 120],
  ])("failure %i with random %f → %i ms", (failures, random, expected) => {
    expect(computeBackoff({ baseMs: 100, maxMs: 1000, jitter: 0.2 }, failures, random)).toBe(expected);
  });
});

describe("WorkQueue", () => {
  test("collapses duplicate keys that wait", async () => {
    const runs: string[] = [];
    const gate = deferred();
    const q = new WorkQueue(
      async (key) => {
        await gate.promise;
        runs.push(key);
        return DONE;
      },
      { workers: 1, backoff: fast },
    );
    q.add("a"); // starts, blocks on the gate
    q.add("b");
    q.add("b");
    q.add("c");
    q.add("b");
    expect(q.depth).toBe(2);
    gate.resolve();
    await q.idle();
    expect(runs).toEqual(["a", "b", "c"]);
  });

  test("never runs one key twice at once, and runs it again when it was added meanwhile", async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const gate = deferred();
    const q = new WorkQueue(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs++;
        if (runs === 1) await gate.promise;
        concurrent--;
        return DONE;
      },
      { workers: 4, backoff: fast },
    );
    q.add("k");
    q.add("k"); // while running: marks it dirty
    q.add("k");
    gate.resolve();
    await q.idle();
    await new Promise((r) => setTimeout(r, 10));
    await q.idle();
    expect(maxConcurrent).toBe(1);
    expect(runs).toBe(2);
  });

  test("retries a failing key with growing delays and forgets them after a success", async () => {
    const times: number[] = [];
    const outcomes: string[] = [];
    const done = deferred();
    const q = new WorkQueue(
      () => {
        times.push(performance.now());
        if (times.length < 4) return Promise.reject(new Error("boom"));
        done.resolve();
        return Promise.resolve(DONE);
      },
      {
        workers: 1,
        backoff: { baseMs: 20, maxMs: 1000, jitter: 0 },
        onResult: (_k, o) => outcomes.push(o),
      },
    );
    q.add("x");
    await done.promise;
    await q.idle();
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(outcomes).toEqual(["error", "error", "error", "success"]);
    // After the success the next failure starts from the base delay again.
    expect(q.addRateLimited("x")).toBe(20);
    await q.shutdown();
  });

  test("requeue-after runs the key again after the delay; an earlier add wins over a later delay", async () => {
    let runs = 0;
    const second = deferred();
    const q = new WorkQueue(
      (): Promise<HandlerResult> => {
        runs++;
        if (runs === 2) second.resolve();
        return Promise.resolve(runs === 1 ? { outcome: "requeue", requeueAfterMs: 30 } : DONE);
      },
      { workers: 1, backoff: fast },
    );
    const started = performance.now();
    q.add("r");
    await second.promise;
    await q.idle();
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    q.addAfter("r", 10_000);
    expect(q.delayed).toBe(1);
    q.add("r");
    expect(q.delayed).toBe(0);
    await q.idle();
    expect(runs).toBe(3);
    await q.shutdown();
  });

  test("reports terminal results and does not retry them", async () => {
    const outcomes: string[] = [];
    const q = new WorkQueue(() => Promise.resolve({ outcome: "terminal" } as const), {
      workers: 1,
      backoff: fast,
      onResult: (_k, o) => outcomes.push(o),
    });
    q.add("t");
    await q.idle();
    await new Promise((r) => setTimeout(r, 50));
    expect(outcomes).toEqual(["terminal"]);
    expect(q.delayed).toBe(0);
  });
});
