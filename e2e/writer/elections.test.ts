import { describe, expect, test } from "vitest";
import {
  countElections,
  ElectionTracker,
  epochOf,
  normalizeZxid,
  type StatusObservation,
} from "./elections.ts";

const obs = (at: number, member: number, mode: string, zxid: string | null): StatusObservation => ({
  at,
  member,
  mode,
  zxid,
});

test("epochOf takes the high 32 bits", () => {
  expect(epochOf("0x100000003")).toBe(1);
  expect(epochOf("0x5000001f4")).toBe(5);
  expect(epochOf("0x0")).toBe(0);
  expect(epochOf("not a zxid")).toBeNull();
  expect(normalizeZxid("0x000000010000000A")).toBe("0x10000000a");
  expect(normalizeZxid(0x200000000n)).toBe("0x200000000");
});

describe("elections from sidecar observations", () => {
  test("a steady ensemble: no election, the leader recorded", () => {
    const r = countElections([
      obs(1, 1, "follower", "0x100000010"),
      obs(1, 2, "leader", "0x100000010"),
      obs(1, 3, "follower", "0x10000000f"),
      obs(2, 2, "leader", "0x100000020"),
    ]);
    expect(r.elections).toBe(0);
    expect(r.epochs).toEqual([{ epoch: 1, firstSeenAt: 1, leader: 2, leaderSeenAt: 1 }]);
  });

  test("the leader killed: one new epoch, led by another member; the gap in answers is not an election", () => {
    const r = countElections([
      obs(1, 2, "leader", "0x100000010"),
      obs(2, 2, "unreachable", null),
      obs(2, 1, "not-serving", null),
      obs(3, 1, "follower", "0x100000011"), // not caught up yet: the old epoch
      obs(4, 3, "leader", "0x200000000"),
      obs(5, 1, "follower", "0x200000004"),
      obs(9, 2, "follower", "0x200000009"), // the old leader rejoins as a follower
    ]);
    expect(r.elections).toBe(1);
    expect(r.epochs.map((e) => [e.epoch, e.leader, e.firstSeenAt])).toEqual([
      [1, 2, 1],
      [2, 3, 4],
    ]);
  });

  test("an epoch seen only on followers still counts, with its leader unknown", () => {
    const r = countElections([obs(1, 1, "leader", "0x100000001"), obs(2, 2, "follower", "0x200000001")]);
    expect(r.elections).toBe(1);
    expect(r.epochs[1]).toEqual({ epoch: 2, firstSeenAt: 2, leader: null, leaderSeenAt: null });
  });

  test("two elections in a row, the same member re-elected, count twice", () => {
    const r = countElections([
      obs(1, 1, "leader", "0x100000001"),
      obs(2, 1, "leader", "0x200000000"),
      obs(3, 1, "leader", "0x300000000"),
    ]);
    expect(r.elections).toBe(2);
  });

  test("a restarted member reporting an epoch older than the first seen is not an election", () => {
    const r = countElections([obs(1, 1, "leader", "0x300000001"), obs(2, 2, "follower", "0x200000050")]);
    expect(r.elections).toBe(0);
  });

  test("electionsBetween excludes the first epoch and filters by first sight", () => {
    const t = new ElectionTracker();
    t.observe(obs(1, 1, "leader", "0x100000001"));
    t.observe(obs(10, 2, "leader", "0x200000000"));
    t.observe(obs(20, 3, "leader", "0x300000000"));
    expect(t.electionsBetween(0, 15).map((e) => e.epoch)).toEqual([2]);
    expect(t.electionsBetween(0, 100).map((e) => e.epoch)).toEqual([2, 3]);
    expect(t.current()?.leader).toBe(3);
  });
});
