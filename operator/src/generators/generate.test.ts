import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, test } from "vitest";
import { buildCrd, CRD_FILE, CRD_NAME, PRINTER_COLUMNS } from "./crd.ts";
import { renderGeneratedFiles } from "./generate.ts";

const repoRoot = resolve(import.meta.dirname, "../../..");

test("the committed generated files are what the schema generates (npm run generate)", async () => {
  for (const [path, text] of Object.entries(await renderGeneratedFiles())) {
    expect(readFileSync(resolve(repoRoot, path), "utf8"), path).toBe(text);
  }
});

test("the CRD names, scope, subresource and printer columns", () => {
  const crd = buildCrd();
  expect(crd.metadata.name).toBe(CRD_NAME);
  expect(crd.spec.names).toMatchObject({
    kind: "ZooKeeperCluster",
    plural: "zookeeperclusters",
    shortNames: ["zk", "zkc"],
  });
  expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([["v1alpha1", true, true]]);
  expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });
  expect(PRINTER_COLUMNS.map((c) => c.name)).toEqual([
    "Replicas",
    "Ready",
    "Leader",
    "Version",
    "Available",
    "Age",
  ]);
  expect(CRD_FILE).toBe("charts/zookeeper-operator/files/zookeeper.ensemble.dev_zookeeperclusters.yaml");
});
