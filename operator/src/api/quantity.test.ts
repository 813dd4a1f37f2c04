import { expect, test } from "vitest";
import { parseHeapMiB, parseQuantity } from "./quantity.ts";

test.each([
  ["1Gi", 2 ** 30],
  ["512Mi", 512 * 2 ** 20],
  ["1.5Gi", 1.5 * 2 ** 30],
  ["1G", 1e9],
  ["100m", 0.1],
  ["1e3", 1000],
  ["42", 42],
  [7, 7],
])("parseQuantity(%s)", (q, value) => {
  expect(parseQuantity(q)).toBe(value);
});

test.each(["", "Gi", "1GB", "one", "1 Gi"])("parseQuantity rejects %j", (q) => {
  expect(() => parseQuantity(q)).toThrow("is not a Kubernetes quantity");
});

test.each([
  ["512m", 512],
  ["512M", 512],
  ["2g", 2048],
  ["1G", 1024],
])("parseHeapMiB(%s) = %i", (heap, mib) => {
  expect(parseHeapMiB(heap)).toBe(mib);
});

test.each(["0m", "1.5g", "512", "512Mi", "-1g"])("parseHeapMiB rejects %j", (heap) => {
  expect(() => parseHeapMiB(heap)).toThrow("is not a heap size");
});
