// Every rendering of both charts (the default values and each values file in the chart's ci/
// folder, chart-testing's convention) validated by kubeconform, strictly, against JSON schemas
// made from this tier's API server (the pinned Kubernetes version), our CRD as buildCrd() makes
// it and the Prometheus Operator's CRDs: every resource must be valid, none skipped and none
// without a schema. And a rendering with wrong fields, to show that the schemas catch them.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dump, loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import type { KubeObject } from "../../../operator/src/api/objects.ts";
import { KIND } from "../../../operator/src/api/types.ts";
import { buildCrd } from "../../../operator/src/generators/crd.ts";
import { runHelm } from "../../rig/kube-control-plane.ts";
import {
  readCrdFiles,
  runKubeconform,
  schemaFile,
  writeKubeSchemas,
  type KubeconformReport,
} from "../../rig/kube-schemas.ts";
import { pinnedVersions, prometheusOperatorCrdsDir, repoRoot } from "../../rig/paths.ts";

const kubeconfig = inject("kubeconfig");
const KUBERNETES_VERSION = pinnedVersions().KUBERNETES_VERSION ?? "";
const NAMESPACE = "zk-kubeconform";
const schemaDir = mkdtempSync(join(tmpdir(), "zk-kube-schemas-"));

/** Each chart with its default values and with each of its ci/ values files. */
const RENDERINGS = ["zookeeper-operator", "zookeeper"].flatMap((chart) => {
  const ci = join(repoRoot, "charts", chart, "ci");
  const files = readdirSync(ci).filter((f) => f.endsWith(".yaml"));
  return [
    { chart, values: "the default values", args: [] as string[] },
    ...files.sort().map((f) => ({ chart, values: `ci/${f}`, args: ["-f", join(ci, f)] })),
  ];
});

/**
 * `helm template` as an install on the rig's Kubernetes version with the Prometheus Operator's
 * API present, the CRD included.
 */
function render(chart: string, args: string[]): Promise<string> {
  return runHelm(
    kubeconfig,
    [
      "template",
      chart,
      join(repoRoot, "charts", chart),
      "--namespace",
      NAMESPACE,
      "--include-crds",
      "--kube-version",
      KUBERNETES_VERSION,
      "--api-versions",
      "monitoring.coreos.com/v1",
      ...args,
    ],
    { timeoutMs: 60_000 },
  );
}

function objectsOf(manifests: string): KubeObject[] {
  return loadAll(manifests).filter((o): o is KubeObject => typeof o === "object" && o !== null);
}

const key = (kind: string | undefined, name: string | undefined): string => `${kind ?? ""}/${name ?? ""}`;

function validate(manifests: string): Promise<KubeconformReport> {
  return runKubeconform(schemaDir, manifests, KUBERNETES_VERSION);
}

beforeAll(async () => {
  const files = await writeKubeSchemas(kubeconfig, schemaDir, [
    buildCrd(),
    ...readCrdFiles(prometheusOperatorCrdsDir()),
  ]);
  // The kinds the charts render, from all three sources.
  for (const [apiVersion, kind] of [
    ["apps/v1", "Deployment"],
    ["v1", "Pod"],
    ["apiextensions.k8s.io/v1", "CustomResourceDefinition"],
    ["zookeeper.ensemble.dev/v1alpha1", KIND],
    ["monitoring.coreos.com/v1", "PrometheusRule"],
    ["monitoring.coreos.com/v1", "ServiceMonitor"],
  ] as const)
    expect(files).toContain(schemaFile(apiVersion, kind));
});

afterAll(() => {
  rmSync(schemaDir, { recursive: true, force: true });
});

describe("kubeconform -strict against the API server's schemas and the CRDs", () => {
  // Concurrent: each is a helm and a kubeconform process, and most of their time is start-up.
  test.concurrent.for(RENDERINGS)(
    "$chart with $values: every resource valid, none skipped",
    async ({ chart, args }, { expect }) => {
      const manifests = await render(chart, args);
      const objects = objectsOf(manifests);
      expect(objects.length).toBeGreaterThan(0);
      const report = await validate(manifests);
      // The failures first, so that a failing run names the resource and the field.
      expect(report.resources.filter((r) => r.status !== "statusValid")).toEqual([]);
      expect(report.summary).toEqual({ valid: objects.length, invalid: 0, errors: 0, skipped: 0 });
      expect(report.resources.map((r) => key(r.kind, r.name)).sort()).toEqual(
        objects.map((o) => key(o.kind, o.metadata?.name)).sort(),
      );
    },
  );

  test("wrong fields are invalid with the field named, in built-in kinds and both CRDs; an unknown kind is an error", async () => {
    const operator = objectsOf(await render("zookeeper-operator", ["--set", "prometheusRule.enabled=true"]));
    const zookeeper = objectsOf(await render("zookeeper", []));
    /** A copy of the chart's `kind`, renamed, with the field at `path` set to `value`. */
    const broken = (
      from: KubeObject[],
      kind: string,
      name: string,
      path: (string | number)[],
      value: unknown,
    ): KubeObject => {
      const found = from.find((o) => o.kind === kind);
      if (!found) throw new Error(`the chart rendered no ${kind}`);
      const copy = structuredClone(found);
      copy.metadata = { ...copy.metadata, name };
      let at = copy as unknown as Record<string | number, unknown>;
      for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>;
      at[path[path.length - 1] ?? ""] = value;
      return copy;
    };
    const CONTAINER = ["spec", "template", "spec", "containers", 0];
    const wrong = [
      broken(operator, "Deployment", "replicas-a-string", ["spec", "replicas"], "two"),
      // An unknown field deep inside the definitions the file embeds (PodSpec, Container).
      broken(operator, "Deployment", "container-typo", [...CONTAINER, "resource"], { limits: { cpu: "1" } }),
      broken(zookeeper, KIND, "spec-typo", ["spec", "replica"], 3),
      broken(zookeeper, KIND, "replicas-too-many", ["spec", "replicas"], 256),
      // A CRD's metadata is checked as the ObjectMeta it is.
      broken(zookeeper, KIND, "metadata-typo", ["metadata", "label"], { team: "orders" }),
      broken(operator, "PrometheusRule", "rule-typo", ["spec", "groups", 0, "rules", 0, "expression"], "up"),
      { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "no-schema" } },
    ];
    const report = await validate(wrong.map((o) => dump(o)).join("---\n"));
    const byName = new Map(report.resources.map((r) => [r.name, r]));
    // kubeconform's validationErrors stop at the first level ("/spec: validation failed"); its
    // message has every failure with the field's path.
    const failure = (name: string): string => {
      const r = byName.get(name);
      return `${r?.status ?? "not reported"}: ${r?.msg ?? ""}`;
    };

    expect(report.summary).toEqual({ valid: 0, invalid: 6, errors: 1, skipped: 0 });
    expect(failure("replicas-a-string")).toMatch(
      /^statusInvalid: .*at '\/spec\/replicas': got string, want integer/,
    );
    expect(failure("container-typo")).toMatch(
      /^statusInvalid: .*at '\/spec\/template\/spec\/containers\/0': additional properties 'resource' not allowed/,
    );
    expect(failure("spec-typo")).toMatch(
      /^statusInvalid: .*at '\/spec': additional properties 'replica' not allowed/,
    );
    expect(failure("replicas-too-many")).toMatch(
      /^statusInvalid: .*at '\/spec\/replicas': maximum: got 256, want 255/,
    );
    expect(failure("metadata-typo")).toMatch(
      /^statusInvalid: .*at '\/metadata': additional properties 'label' not allowed/,
    );
    expect(failure("rule-typo")).toMatch(
      /^statusInvalid: .*at '\/spec\/groups\/0\/rules\/0': additional properties 'expression' not allowed/,
    );
    expect(byName.get("no-schema")).toMatchObject({
      status: "statusError",
      msg: "could not find schema for Widget",
    });
  });
});
