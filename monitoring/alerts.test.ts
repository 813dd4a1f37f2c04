// The alert rules (charts/zookeeper-operator/files/zookeeper-alerts.yaml, docs/monitoring.md):
// promtool accepts them and passes their unit tests, every alert has a firing and a quiet test
// case and a runbook section, and the chart's PrometheusRule carries exactly these rules. Needs
// promtool (Debian's prometheus package) and the rig's pinned helm, both installed by
// scripts/setup.sh; a missing one fails the test rather than skipping it.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { load, loadAll } from "js-yaml";
import { afterAll, describe, expect, test } from "vitest";
import { toolPath } from "../e2e/rig/kube-control-plane.ts";
import { repoRoot } from "../e2e/rig/paths.ts";

const run = promisify(execFile);

const CHART = join(repoRoot, "charts/zookeeper-operator");
const RULES_FILE = join(CHART, "files/zookeeper-alerts.yaml");
const TESTS_FILE = join(CHART, "files/zookeeper-alerts.test.yaml");
const RUNBOOK = "https://github.com/zookeeper-ensemble/zookeeper-operator/blob/main/docs/monitoring.md#";
/** Each rule group and the prefix of its alerts' names. */
const GROUPS = { zookeeper: "ZooKeeper", "zookeeper-operator": "ZooKeeperOperator" };
const TIMEOUT_MS = 60_000;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RulesFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RuleTests {
  rule_files: string[];
  tests: { name?: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[] }[];
}

const rules = load(readFileSync(RULES_FILE, "utf8")) as RulesFile;
const ruleTests = load(readFileSync(TESTS_FILE, "utf8")) as RuleTests;
const alerts = rules.groups.flatMap((g) => g.rules);

/** Runs a tool to its end; its exit code and everything it printed. A missing tool throws `missing`. */
async function runTool(
  file: string,
  args: string[],
  missing: string,
  env?: Record<string, string>,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, {
      timeout: TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as Error & { code?: string | number; stdout?: string; stderr?: string };
    if (e.code === "ENOENT") throw new Error(missing, { cause: err });
    const code = typeof e.code === "number" ? e.code : -1;
    return { code, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}

const PROMTOOL_MISSING =
  "promtool is not installed: `apt-get install prometheus` (Debian's package ships promtool; scripts/setup.sh installs it)";

function promtool(args: string[]): Promise<{ code: number; output: string }> {
  return runTool("promtool", args, PROMTOOL_MISSING);
}

// helm writes nothing for `template`, but its cache, config and data stay out of the user's own
// set-up all the same.
const helmHome = mkdtempSync(join(tmpdir(), "zk-alerts-helm-"));
afterAll(() => {
  rmSync(helmHome, { recursive: true, force: true });
});

async function helmTemplate(values: string[]): Promise<Record<string, unknown>[]> {
  const helm = toolPath("helm");
  const { code, output } = await runTool(
    helm,
    ["template", "x", CHART, "--kube-version", "1.35.0", ...values.flatMap((v) => ["--set", v])],
    `helm is not built at ${helm}: run bash e2e/rig/build-tools.sh (scripts/setup.sh does)`,
    {
      HELM_CACHE_HOME: join(helmHome, "cache"),
      HELM_CONFIG_HOME: join(helmHome, "config"),
      HELM_DATA_HOME: join(helmHome, "data"),
    },
  );
  expect(code, output).toBe(0);
  return (loadAll(output) as (Record<string, unknown> | null)[]).filter((o) => o !== null);
}

describe("alert rules", () => {
  test(
    "promtool check rules accepts the rules file",
    async () => {
      const { code, output } = await promtool(["check", "rules", RULES_FILE]);
      expect(code, output).toBe(0);
      expect(output).toContain(`SUCCESS: ${alerts.length} rules found`);
    },
    TIMEOUT_MS,
  );

  test(
    "promtool test rules passes every unit test",
    async () => {
      const { code, output } = await promtool(["test", "rules", TESTS_FILE]);
      expect(code, output).toBe(0);
    },
    TIMEOUT_MS,
  );

  test("the unit tests load the rules file and cover every alert firing and quiet", () => {
    expect(ruleTests.rule_files).toEqual(["zookeeper-alerts.yaml"]);
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const names = new Set(alerts.map((a) => a.alert));
    // A misspelt alertname with exp_alerts: [] would pass without testing anything.
    expect(cases.map((c) => c.alertname).filter((n) => !names.has(n))).toEqual([]);
    for (const name of names) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${name} has no test case where it fires`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name} has no test case where it stays quiet`,
      ).toBe(true);
    }
  });

  test("every alert is named, labelled and annotated alike, with a runbook section", () => {
    expect(rules.groups.map((g) => g.name)).toEqual(Object.keys(GROUPS));
    const docs = readFileSync(join(repoRoot, "docs/monitoring.md"), "utf8");
    const headings = new Set([...docs.matchAll(/^### (\S+)$/gm)].map((m) => m[1]));
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size, "alert names are unique").toBe(names.length);
    for (const group of rules.groups) {
      const prefix = GROUPS[group.name as keyof typeof GROUPS];
      for (const rule of group.rules) {
        const name = rule.alert;
        expect(name, `${name} in group ${group.name}`).toMatch(new RegExp(`^${prefix}[A-Z]`));
        if (group.name === "zookeeper") expect(name).not.toMatch(/^ZooKeeperOperator/);
        expect(rule.labels?.severity, name).toMatch(/^(critical|warning)$/);
        expect(Object.keys(rule.annotations ?? {}).sort(), name).toEqual([
          "description",
          "runbook_url",
          "summary",
        ]);
        expect(rule.annotations?.runbook_url, name).toBe(RUNBOOK + name.toLowerCase());
        expect(headings.has(name), `docs/monitoring.md has no "### ${name}"`).toBe(true);
      }
    }
    // Every alert section in the docs belongs to a rule (none left from a renamed alert).
    expect([...headings].filter((h) => h?.startsWith("ZooKeeper") && !names.includes(h))).toEqual([]);
  });

  test(
    "the chart's PrometheusRule carries exactly the rules file, only when enabled",
    async () => {
      const byDefault = await helmTemplate([]);
      expect(byDefault.map((o) => o.kind)).not.toContain("PrometheusRule");

      const rendered = await helmTemplate([
        "prometheusRule.enabled=true",
        "prometheusRule.labels.release=kps",
      ]);
      const found = rendered.filter((o) => o.kind === "PrometheusRule");
      expect(found).toHaveLength(1);
      const rule = found[0] as {
        apiVersion: string;
        metadata: { name: string; labels: Record<string, string> };
        spec: RulesFile;
      };
      expect(rule.apiVersion).toBe("monitoring.coreos.com/v1");
      expect(rule.metadata.name).toBe("x-zookeeper-operator");
      expect(rule.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": "zookeeper-operator",
        "app.kubernetes.io/instance": "x",
        release: "kps",
      });
      expect(rule.spec).toEqual({ groups: rules.groups });
    },
    TIMEOUT_MS,
  );
});
