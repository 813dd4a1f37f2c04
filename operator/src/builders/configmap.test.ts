import { expect, test } from "vitest";
import { parseMembersFile } from "../../../sidecar/src/contract.ts";
import { buildConfigMap } from "./configmap.ts";
import { renderStaticConfig } from "./zoo-cfg.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";

test.each([
  ["bootstrap of three", [1, 2, 3], "0"],
  ["after a reconfiguration", [1, 2, 3, 4, 5], "100000007"],
  ["a single server", [1], "0"],
])("NAME-config: %s", (_, ids, version) => {
  const cluster = testCluster();
  const spec = resolvedFor(cluster);
  const members = ids.map((id) => ({ id, role: "participant" as const }));
  const cm = buildConfigMap(cluster, spec, members, version);
  expect(cm.metadata).toEqual({
    name: "zk-config",
    namespace: "prod",
    labels: LABELS_OF_ZK,
    ownerReferences: [OWNER],
  });
  expect(Object.keys(cm.data ?? {})).toEqual(["zoo.cfg.static", "members", "logback.xml"]);
  expect(cm.data?.["logback.xml"]).toContain('<root level="INFO">');
  expect(cm.data?.["zoo.cfg.static"]).toBe(renderStaticConfig(spec));
  expect(parseMembersFile(cm.data?.members ?? "")).toEqual({ version, members });
});

test("members are written in id order whatever the input order", () => {
  const cluster = testCluster();
  const cm = buildConfigMap(
    cluster,
    resolvedFor(cluster),
    [
      { id: 3, role: "participant" },
      { id: 1, role: "participant" },
      { id: 2, role: "observer" },
    ],
    "0",
  );
  expect(cm.data?.members).toBe("version=0\n1=participant\n2=observer\n3=participant\n");
});

test("the server joining now is named beside the members that list it; none: no key", () => {
  const cluster = testCluster();
  const members = [1, 2, 3, 4].map((id) => ({ id, role: "participant" as const }));
  const joining = buildConfigMap(cluster, resolvedFor(cluster), members, "100000000", {
    initializedAt: "2026-01-01T00:00:00Z",
    rejoinEmpty: [],
    joining: 4,
  });
  expect(joining.data?.joining).toBe("4");
  const none = buildConfigMap(cluster, resolvedFor(cluster), members.slice(0, 3), "100000000", {
    initializedAt: "2026-01-01T00:00:00Z",
    rejoinEmpty: [],
    joining: null,
  });
  expect(none.data && "joining" in none.data).toBe(false);
});
