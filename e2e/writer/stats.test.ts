import { describe, expect, test } from "vitest";
import { longestGap, lowerBound, percentile, summarizeLatency } from "./stats.ts";

describe("percentile (nearest rank)", () => {
  test.each([
    [[], 50, null],
    [[7], 50, 7],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2],
    [[4, 3, 2, 1], 100, 4],
    [[4, 3, 2, 1], 0, 1],
  ])("%j p%d = %s", (values, p, want) => {
    expect(percentile(values, p)).toBe(want);
  });

  test("p99 of 1..100 is 99 and of 1..1000 is 990", () => {
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
    expect(percentile(range(100), 99)).toBe(99);
    expect(percentile(range(1000), 99)).toBe(990);
  });

  test("summarizeLatency", () => {
    expect(summarizeLatency([])).toEqual({ count: 0, p50: null, p99: null, max: null });
    expect(summarizeLatency([5, 1, 9])).toEqual({ count: 3, p50: 5, p99: 9, max: 9 });
  });
});

describe("longestGap", () => {
  test("between acknowledgements", () => {
    expect(longestGap([100, 120, 500, 520], 100, 520)).toEqual({ ms: 380, start: 120, end: 500 });
  });

  test("from the start of the range to the first acknowledgement", () => {
    expect(longestGap([900, 910], 0, 1000)).toEqual({ ms: 900, start: 0, end: 900 });
  });

  test("a writer that has not recovered by the end shows a gap up to the end", () => {
    expect(longestGap([10, 20, 30], 0, 5000)).toEqual({ ms: 4970, start: 30, end: 5000 });
  });

  test("a gap running at the start counts from its real start; the end bounds it", () => {
    expect(longestGap([0, 50, 2000, 3000], 100, 1000)).toEqual({ ms: 950, start: 50, end: 1000 });
    expect(longestGap([0, 50, 120, 2000], 100, 1000)).toEqual({ ms: 880, start: 120, end: 1000 });
    expect(longestGap([], 100, 400)).toEqual({ ms: 300, start: 100, end: 400 });
  });

  test("an empty range has no gap", () => {
    expect(longestGap([1, 2], 5, 5).ms).toBe(0);
  });
});

test("lowerBound", () => {
  expect(lowerBound([1, 3, 3, 5], 3)).toBe(1);
  expect(lowerBound([1, 3, 3, 5], 4)).toBe(3);
  expect(lowerBound([1, 3, 3, 5], 9)).toBe(4);
  expect(lowerBound([], 1)).toBe(0);
});
