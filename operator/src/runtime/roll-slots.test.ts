import { expect, test } from "vitest";
import { RollSlotLimiter } from "./roll-slots.ts";

test("one slot: the first cluster to roll holds it, the next waits until it is released", () => {
  const slots = new RollSlotLimiter(1);
  expect(slots.state("ns/a")).toBe("free");
  slots.acquire("ns/a");
  expect(slots.state("ns/a")).toBe("held");
  expect(slots.state("ns/b")).toBe("taken");
  // Taking a slot that is not free does nothing: b stays queued.
  slots.acquire("ns/b");
  expect(slots.state("ns/b")).toBe("taken");
  expect(slots.rolling).toBe(1);
  slots.release("ns/a");
  expect(slots.state("ns/b")).toBe("free");
  expect(slots.rolling).toBe(0);
});

test("two slots: two clusters roll, the third waits; releasing a cluster that holds none is harmless", () => {
  const slots = new RollSlotLimiter(2);
  slots.acquire("ns/a");
  slots.acquire("ns/b");
  expect(slots.state("ns/c")).toBe("taken");
  slots.release("ns/c");
  expect(slots.rolling).toBe(2);
  slots.acquire("ns/a");
  expect(slots.rolling).toBe(2);
});

test("a limit below 1 is refused", () => {
  expect(() => new RollSlotLimiter(0)).toThrow("max concurrent rolls must be ≥ 1, got 0");
});
