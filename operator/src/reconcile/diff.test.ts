import { describe, expect, test } from "vitest";
import {
  APPLIED_HASH_ANNOTATION,
  computeApplyReason,
  isSubset,
  sameQuantity,
  withAppliedHash,
} from "./diff.ts";

const desired = {
  apiVersion: "v1",
  kind: "Service",
  metadata: {
    name: "zk-client",
    namespace: "ns",
    labels: { app: "zk" } as Record<string, string>,
    annotations: {},
  },
  spec: { type: "ClusterIP", ports: [{ name: "client", port: 2181 }] },
};

/** What the API server returns: our fields, defaults, other managers' fields, and our hash. */
function live(overrides: Record<string, unknown> = {}) {
  const stamped = withAppliedHash(desired);
  return {
    ...stamped,
    metadata: {
      ...stamped.metadata,
      uid: "u1",
      resourceVersion: "7",
      annotations: { ...stamped.metadata.annotations, "example.com/other-tool": "x" },
    },
    spec: {
      ...desired.spec,
      clusterIP: "10.96.0.5",
      ports: [{ name: "client", port: 2181, protocol: "TCP" }],
    },
    ...overrides,
  };
}

describe("computeApplyReason", () => {
  test.each([
    ["a missing child", undefined, "missing"],
    ["a child that matches, with defaults and other tools' fields", live(), null],
    [
      "a child whose owned field was changed by someone else",
      live({ spec: { ...desired.spec, type: "NodePort" } }),
      "drifted",
    ],
    [
      "a child applied from another desired state (hash differs)",
      { ...live(), metadata: { ...live().metadata, annotations: { [APPLIED_HASH_ANNOTATION]: "old" } } },
      "changed",
    ],
  ])("%s → %s", (_what, liveObj, expected) => {
    expect(computeApplyReason(desired, liveObj)).toBe(expected);
  });

  test("a field we stopped setting needs an apply (only a new apply removes it)", () => {
    const fewer = { ...desired, metadata: { ...desired.metadata, labels: {} } };
    expect(computeApplyReason(fewer, live())).toBe("changed");
  });
});

describe("isSubset", () => {
  test.each([
    [{ a: 1 }, { a: 1, b: 2 }, true],
    [{ a: [1, 2] }, { a: [1, 2] }, true],
    [{ a: [1, 2] }, { a: [1, 2, 3] }, false],
    [{ a: [{ x: 1 }] }, { a: [{ x: 1, y: 2 }] }, true],
    [{ a: {} }, {}, true],
    [{ a: [] }, {}, true],
    [{ a: "x" }, {}, false],
    [{ cpu: "0.5" }, { cpu: "500m" }, true],
    [{ mem: "1Gi" }, { mem: "1073741824" }, true],
    [{ mem: "1Gi" }, { mem: "1G" }, false],
  ])("%j ⊆ %j is %s", (want, have, expected) => {
    expect(isSubset(want, have)).toBe(expected);
  });
});

describe("sameQuantity", () => {
  test("compares values, not spellings", () => {
    expect(sameQuantity("1000m", "1")).toBe(true);
    expect(sameQuantity("2Ki", "2048")).toBe(true);
    expect(sameQuantity("abc", "abc2")).toBe(false);
  });
});
