import { expect, test } from "vitest";
import { countByError, summarizeWindow } from "./report.ts";
import type { AckedWrite } from "./verify.ts";

const ack = (seq: number, issuedAt: number, ackedAt: number): AckedWrite => ({
  seq,
  path: `/p/w-${seq}`,
  zxid: null,
  issuedAt,
  ackedAt,
});

test("a fault window's figures: acknowledgements, failures, gap, latency of writes issued in it, elections", () => {
  const acks = [ack(1, 0, 10), ack(2, 20, 30), ack(3, 100, 4100), ack(4, 4120, 4130), ack(5, 9000, 9010)];
  const failures = [
    { seq: 6, issuedAt: 40, at: 1000, error: "CONNECTION_LOSS" },
    { seq: 7, issuedAt: 40, at: 8000, error: "CONNECTION_LOSS" },
  ];
  const epochs = [
    { epoch: 1, firstSeenAt: 0, leader: 1, leaderSeenAt: 0 },
    { epoch: 2, firstSeenAt: 3000, leader: 2, leaderSeenAt: 3000 },
  ];
  const w = summarizeWindow({ label: "kill", start: 50, end: 5000, acks, failures, epochs });
  expect(w).toMatchObject({ label: "kill", acknowledged: 2, failed: 1 });
  expect(w.longestGap).toEqual({ ms: 4070, start: 30, end: 4100 });
  expect(w.latency).toEqual({ count: 2, p50: 10, p99: 4000, max: 4000 });
  expect(w.elections.map((e) => e.epoch)).toEqual([2]);
});

test("countByError", () => {
  expect(
    countByError([
      { seq: 1, issuedAt: 0, at: 0, error: "A" },
      { seq: 2, issuedAt: 0, at: 0, error: "B" },
      { seq: 3, issuedAt: 0, at: 0, error: "A" },
    ]),
  ).toEqual({ A: 2, B: 1 });
});
