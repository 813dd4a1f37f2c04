// The Grafana dashboard (monitoring/dashboard/, docs/monitoring.md "Dashboard"): every panel is
// described and queried, every metric it names is one the sidecar or the operator exports (or one
// of the kubelet's cAdvisor series), every query selects one ensemble and parses with promtool,
// and the chart's JSON is the generator's output. Needs promtool (Debian's prometheus package,
// installed by scripts/setup.sh); a missing one fails the test rather than skipping it.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { dump } from "js-yaml";
import { describe, expect, test } from "vitest";
import { repoRoot } from "../e2e/rig/paths.ts";
import { CONTAINERS } from "../operator/src/builders/statefulset.ts";
import { renderGeneratedFiles } from "../operator/src/generators/generate.ts";
import { createMetrics as createOperatorMetrics } from "../operator/src/metrics.ts";
import { createLogger } from "../sidecar/src/log.ts";
import { createMetrics as createSidecarMetrics } from "../sidecar/src/metrics.ts";
import { ZooKeeperProbe } from "../sidecar/src/probe.ts";
import { buildServer } from "../sidecar/src/server.ts";
import { dashboardPanels, resolveVariables } from "./dashboard/panels.ts";
import { buildZooKeeperDashboard, DASHBOARD_FILE } from "./dashboard/zookeeper-dashboard.ts";

const run = promisify(execFile);
const TIMEOUT_MS = 60_000;

/** The kubelet's cAdvisor series the dashboard may use: the ZooKeeper image has no JVM exporter. */
const CADVISOR_METRICS = ["container_memory_working_set_bytes", "container_cpu_usage_seconds_total"];
const VALUES = { namespace: "zk", cluster: "zk", rateInterval: "1m" };

const model = buildZooKeeperDashboard();
const panels = dashboardPanels();
const queries = panels.flatMap((p) => p.queries.map((q) => ({ panel: p.title, ...q })));

/** Sample names a text exposition's families produce (a histogram's _bucket, _sum, _count, ...). */
function exposedNames(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name = "", type]) => {
    if (type === "histogram") return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
    if (type === "summary") return [name, `${name}_sum`, `${name}_count`];
    return [name];
  });
}

/**
 * A real 3.8.0 leader's `mntr` answer, served on a loopback port as ZooKeeper serves four-letter
 * words, so the sidecar's own /metrics route renders it.
 */
function serveMntr(answer: string): Promise<Server> {
  // The client half-closes after its word; the answer follows, then the server closes.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.resume();
    socket.on("end", () => {
      socket.end(answer);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve(server);
    });
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  return address.port;
}

/** Everything the sidecar's /metrics serves for a leader: its own registry and ZooKeeper's mntr. */
async function sidecarMetricNames(): Promise<string[]> {
  const mntr = readFileSync(join(repoRoot, "sidecar/src/testdata/mntr-3.8.0-leader.txt"), "utf8");
  const zookeeper = await serveMntr(mntr);
  const metrics = createSidecarMetrics();
  const probe = new ZooKeeperProbe({
    host: "127.0.0.1",
    port: portOf(zookeeper),
    myid: 1,
    timeoutMs: 5_000,
    cacheMs: 0,
    metrics,
  });
  const app = buildServer({ probe, metrics, logger: createLogger({ level: "silent" }) });
  try {
    const port = await app.listen({ host: "127.0.0.1", port: 0 });
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return exposedNames(await res.text());
  } finally {
    await app.close();
    await new Promise((resolve) => zookeeper.close(resolve));
  }
}

interface Selector {
  metric: string;
  /** The label matchers between the braces, "" when there are none. */
  matchers: string;
}

/** A PromQL double-quoted string. */
const STRING = /"(?:[^"\\]|\\.)*"/g;
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/**
 * The metrics an expression selects, with their matchers. Enough PromQL for this dashboard: label
 * matchers, strings, range windows and grouping lists are set aside before the names are read,
 * and a name followed by "(" is a function.
 */
function selectors(expr: string): Selector[] {
  const matchers: string[] = [];
  const bare = expr
    .replace(/\{([^}]*)\}/g, (_m, inner: string) => `{#${matchers.push(inner) - 1}}`)
    .replace(STRING, '""')
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()(?:\s*\{#(\d+)\})?/g)]
    .filter(([, name = ""]) => !KEYWORDS.has(name.toLowerCase()))
    .map(([, metric = "", index]) => ({
      metric,
      matchers: index === undefined ? "" : (matchers[Number(index)] ?? ""),
    }));
}

describe("the dashboard's panels", () => {
  test("every panel has a title, a description, a unit, a kind and at least one query", () => {
    expect(panels.length).toBeGreaterThan(0);
    for (const p of panels) {
      expect(p.title, JSON.stringify(p)).not.toBe("");
      expect(p.description, p.title).not.toBe("");
      expect(p.unit, p.title).not.toBe("");
      expect(["timeseries", "stat", "table"], p.title).toContain(p.kind);
      expect(p.queries.length, p.title).toBeGreaterThan(0);
      expect(
        p.queries.map((q) => q.refId),
        p.title,
      ).toEqual(p.queries.map((_q, i) => String.fromCharCode(65 + i)));
      for (const q of p.queries) expect(q.legend, `${p.title} ${q.refId}`).not.toBe("");
    }
    const titles = panels.map((p) => p.title);
    expect(new Set(titles).size, "panel titles are unique").toBe(titles.length);
  });

  test("the rows are the ones the issue asks for, and every panel queries the chosen Prometheus", () => {
    const rows = (model.panels ?? []).filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).toEqual([
      "Ensemble overview",
      "Latency and throughput",
      "Connections",
      "Znodes",
      "Watches",
      "Data size",
      "JVM and process",
      "Operator",
    ]);
    for (const p of model.panels ?? [])
      if (p.type !== "row")
        expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: "${datasource}" });
  });

  test("the variables exist: datasource, namespace, cluster", () => {
    const list = model.templating.list ?? [];
    expect(list.map((v) => [v.name, v.type])).toEqual([
      ["datasource", "datasource"],
      ["namespace", "query"],
      ["cluster", "query"],
    ]);
    const [datasource, namespace, cluster] = list;
    expect(datasource?.query).toBe("prometheus");
    expect(namespace?.query).toBe("label_values(zookeeper_server_state, namespace)");
    expect(cluster?.query).toBe('label_values(zookeeper_server_state{namespace="$namespace"}, cluster)');
    // Every variable a query uses is one of these (resolveVariables throws on any other).
    for (const q of queries) expect(resolveVariables(q.expr, VALUES)).not.toMatch(/\$[A-Za-z_{]/);
  });

  test(
    "every metric a query names is exported by the sidecar or the operator, or is cAdvisor's",
    async () => {
      const known = new Set([
        ...(await sidecarMetricNames()),
        ...exposedNames(await createOperatorMetrics().registry.metrics()),
        ...CADVISOR_METRICS,
      ]);
      // The sources were read: a name from each of them.
      for (const name of ["zookeeper_up", "zookeeper_looking_count_total", "zk_operator_leader"])
        expect(known.has(name), name).toBe(true);
      for (const q of queries) {
        const names = selectors(q.expr).map((s) => s.metric);
        expect(names.length, `${q.panel} ${q.refId}: ${q.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(known.has(name), `${q.panel} ${q.refId}: ${name}`).toBe(true);
      }
    },
    TIMEOUT_MS,
  );

  test("every query selects the chosen ensemble, and every rate window is $__rate_interval", () => {
    const ensemble = ['namespace="$namespace"', 'cluster="$cluster"'];
    const containers = [
      'namespace="$namespace"',
      'pod=~"$cluster-[0-9]+"',
      `container="${CONTAINERS.zookeeper}"`,
    ];
    for (const q of queries) {
      const where = `${q.panel} ${q.refId}: ${q.expr}`;
      for (const s of selectors(q.expr)) {
        const matchers = s.matchers.split(/,\s*/);
        if (/^(zookeeper|zk_sidecar)_/.test(s.metric))
          expect(matchers, where).toEqual(expect.arrayContaining(ensemble));
        if (CADVISOR_METRICS.includes(s.metric))
          expect(matchers, where).toEqual(expect.arrayContaining(containers));
      }
      const outsideStrings = q.expr.replace(STRING, '""');
      for (const [window] of outsideStrings.matchAll(/\[[^\]]*\]/g))
        expect(window, where).toBe("[$__rate_interval]");
    }
  });

  test(
    "promtool parses every query, variables resolved",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "zk-dashboard-"));
      try {
        const file = join(dir, "dashboard-queries.yaml");
        const rules = queries.map((q, i) => ({
          record: `dashboard_query_${i}`,
          expr: resolveVariables(q.expr, VALUES),
        }));
        writeFileSync(file, dump({ groups: [{ name: "dashboard", rules }] }, { lineWidth: -1 }));
        const { code, output } = await promtool(["check", "rules", file]);
        expect(code, output).toBe(0);
        expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  test("docs/monitoring.md lists every panel with its queries", () => {
    const docs = readFileSync(join(repoRoot, "docs/monitoring.md"), "utf8");
    const start = docs.indexOf("\n## Dashboard\n");
    expect(start, 'docs/monitoring.md has a "## Dashboard" section').toBeGreaterThan(0);
    const section = docs.slice(start);
    for (const p of panels) {
      const row = section.split("\n").find((line) => line.startsWith(`| ${p.title} `));
      expect(row, `no table row for panel ${p.title}`).toBeDefined();
      for (const q of p.queries) expect(row, p.title).toContain(`\`${q.expr.replaceAll("|", "\\|")}\``);
    }
  });

  test("the chart's dashboard JSON is the generator's output", async () => {
    const generated = (await renderGeneratedFiles())[DASHBOARD_FILE];
    expect(generated).toBeDefined();
    expect(readFileSync(join(repoRoot, DASHBOARD_FILE), "utf8")).toBe(generated);
    expect(JSON.parse(generated ?? "")).toEqual(JSON.parse(JSON.stringify(model)));
  });
});

describe("resolveVariables", () => {
  test("replaces the dashboard's variables in every form Grafana accepts", () => {
    expect(
      resolveVariables(
        'rate(x{namespace="$namespace", pod=~"${cluster}-[0-9]+", c="${cluster:regex}"}[$__rate_interval]) + y[${__rate_interval}]',
        { namespace: "ns", cluster: "zk", rateInterval: "2m" },
      ),
    ).toBe('rate(x{namespace="ns", pod=~"zk-[0-9]+", c="zk"}[2m]) + y[2m]');
  });

  test("keeps label_replace groups and refuses a variable it does not know", () => {
    expect(resolveVariables('label_replace(up, "a", "$1", "b", "(.+)")', VALUES)).toBe(
      'label_replace(up, "a", "$1", "b", "(.+)")',
    );
    expect(() => resolveVariables("rate(x[$__interval])", VALUES)).toThrow(/unknown variable \$__interval/);
  });
});

/** Runs promtool to its end: its exit code and everything it printed. */
async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run("promtool", args, { timeout: TIMEOUT_MS });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as Error & { code?: string | number; stdout?: string; stderr?: string };
    if (e.code === "ENOENT")
      throw new Error(
        "promtool is not installed: `apt-get install prometheus` (scripts/setup.sh installs it)",
        {
          cause: err,
        },
      );
    return { code: typeof e.code === "number" ? e.code : -1, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}
