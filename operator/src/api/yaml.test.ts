import { expect, test } from "vitest";
import { renderYaml } from "./yaml.ts";

test("block style with plain scalars where they read back the same, quotes elsewhere", () => {
  expect(
    renderYaml({
      a: "plain text.",
      b: ["x", { c: 1, d: true }, [], {}],
      e: { f: null, g: "10Gi", h: "yes", i: "a: b", j: "line\nbreak", k: "-lead", l: "" },
      "x-key": [["m"], "n"],
    }),
  ).toBe(
    [
      "a: plain text.",
      "b:",
      "- x",
      "- c: 1",
      "  d: true",
      "- []",
      "- {}",
      "e:",
      "  f: null",
      '  g: "10Gi"',
      '  h: "yes"',
      '  i: "a: b"',
      '  j: "line\\nbreak"',
      '  k: "-lead"',
      '  l: ""',
      "x-key:",
      "-",
      "  - m",
      '- "n"',
      "",
    ].join("\n"),
  );
});
