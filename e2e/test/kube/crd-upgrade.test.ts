// The CRD's upgrade path (docs/chart.md "The CRD"): the chart installs and upgrades the CRD as a
// template. A release of a chart whose CRD lacks a field (the one before spec.metrics.podMonitor)
// is upgraded to this chart: afterwards the API server serves the new field, and uninstall keeps
// the CRD, so no ZooKeeperCluster is ever deleted with it.
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump, load } from "js-yaml";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { CRD_FILE, CRD_NAME, type CustomResourceDefinition } from "../../../operator/src/generators/crd.ts";
import { API_VERSION, KIND } from "../../../operator/src/api/types.ts";
import { runHelm, runKubectl } from "../../rig/kube-control-plane.ts";
import { repoRoot } from "../../rig/paths.ts";

const kubeconfig = inject("kubeconfig");
const namespace = `crd-upgrade-${randomBytes(3).toString("hex")}`;
const release = "zk-operator-upgrade";
const chart = join(repoRoot, "charts/zookeeper-operator");
const previousChart = mkdtempSync(join(tmpdir(), "zk-previous-chart-"));

const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? {} : { input });
const helm = (args: string[]): Promise<string> => runHelm(kubeconfig, args, { timeoutMs: 120_000 });

/** A cluster that sets the new field; `kubectl create` validates fields strictly. */
const cluster = (name: string): string =>
  JSON.stringify({
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: { metrics: { podMonitor: { enabled: false } } },
  });

beforeAll(async () => {
  // The previous chart: this one, with the field its CRD did not have yet taken out.
  cpSync(chart, previousChart, { recursive: true });
  const file = join(previousChart, CRD_FILE.replace("charts/zookeeper-operator/", ""));
  const crd = load(readFileSync(file, "utf8")) as CustomResourceDefinition;
  const metrics = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec?.properties?.metrics;
  if (!metrics?.properties?.podMonitor) throw new Error("the CRD has no spec.metrics.podMonitor to take out");
  delete metrics.properties.podMonitor;
  writeFileSync(file, dump(crd, { lineWidth: -1, noRefs: true }));
  // Other test files apply the CRD with kubectl; Helm does not take over what it did not create.
  await kubectl(["delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true", "--timeout=60s"]);
  await kubectl(["create", "namespace", namespace]);
});

afterAll(async () => {
  await helm(["uninstall", release, "--namespace", namespace]).catch(() => "");
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
  rmSync(previousChart, { recursive: true, force: true });
});

test("helm upgrade upgrades the CRD: a field the previous CRD refused is served afterwards, and uninstall keeps the CRD", async () => {
  await helm(["install", release, previousChart, "--namespace", namespace]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
  await expect(kubectl(["create", "-f", "-"], cluster("before"))).rejects.toThrow(
    'unknown field "spec.metrics.podMonitor"',
  );

  await helm(["upgrade", release, chart, "--namespace", namespace]);
  await kubectl(["create", "-f", "-"], cluster("after"));
  const stored = JSON.parse(
    await kubectl(["-n", namespace, "get", "zookeepercluster", "after", "-o", "json"]),
  ) as { spec: { metrics: { podMonitor?: { enabled: boolean; interval: string } } } };
  // Stored as given, and defaulted by the upgraded schema.
  expect(stored.spec.metrics.podMonitor).toEqual({ enabled: false, interval: "30s" });

  const out = await helm(["uninstall", release, "--namespace", namespace]);
  expect(out).toContain("kept due to the resource policy");
  expect(await kubectl(["get", "crd", CRD_NAME, "-o", "name"])).toContain(CRD_NAME);
  expect(await kubectl(["-n", namespace, "get", "zookeepercluster", "after", "-o", "name"])).toContain(
    "after",
  );
});
