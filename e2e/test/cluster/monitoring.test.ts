// Monitoring the way platform teams run it: a real Prometheus Operator and Prometheus on the rig
// (e2e/rig/monitoring.ts), the operator chart upgraded with its ServiceMonitor, PrometheusRule and
// dashboard, and a ZooKeeperCluster whose PodMonitor the operator creates. Nothing here writes a
// scrape configuration: Prometheus scrapes what the Prometheus Operator made of our objects.
// Then every panel of the dashboard is queried and must return data.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { dashboardPanels, resolveVariables } from "../../../monitoring/dashboard/panels.ts";
import {
  renderPicturesSection,
  replacePicturesSection,
  writeDashboardPictures,
} from "../../../monitoring/pictures/write-pictures.ts";
import { runHelm, runKubectl } from "../../rig/kube-control-plane.ts";
import {
  CHART_DIR,
  localZooKeeperCluster,
  OPERATOR_NAMESPACE,
  OPERATOR_RELEASE,
  waitForQuorum,
} from "../../rig/local-cluster.ts";
import {
  activeTargets,
  installMonitoring,
  uninstallMonitoring,
  type Monitoring,
} from "../../rig/monitoring.ts";
import { repoRoot } from "../../rig/paths.ts";
import { waitFor } from "../../rig/processes.ts";

const PICTURES_DIR = "docs/images/dashboard";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `mon-${randomBytes(3).toString("hex")}`;
const name = "zk";
const kubectl = (args: string[], options: { input?: string } = {}): Promise<string> =>
  runKubectl(kubeconfig, args, { timeoutMs: 200_000, ...options });
const helm = (args: string[]): Promise<string> => runHelm(kubeconfig, args, { timeoutMs: 300_000 });
const phase = (what: string, since: number): void => {
  console.log(`[monitoring] ${what}: ${((Date.now() - since) / 1000).toFixed(1)} s`);
};

/** The operator chart's ServiceMonitor (scraped every 5 s here), PrometheusRule and dashboard, on or off. */
function chartMonitoring(on: boolean): Promise<string> {
  const values = {
    "metrics.serviceMonitor.enabled": on,
    "metrics.serviceMonitor.interval": "5s",
    "prometheusRule.enabled": on,
    "dashboard.enabled": on,
  };
  return helm([
    "upgrade",
    OPERATOR_RELEASE,
    CHART_DIR,
    "--namespace",
    OPERATOR_NAMESPACE,
    "--reuse-values",
    ...Object.entries(values).flatMap(([k, v]) => ["--set", `${k}=${String(v)}`]),
  ]);
}

let prometheus: Monitoring;
const suiteStarted = Date.now();

beforeAll(async () => {
  const started = Date.now();
  // The ensemble starts while the monitoring stack comes up.
  await kubectl(["create", "namespace", namespace]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify(
      localZooKeeperCluster({ name, namespace, replicas: 3, reclaimPolicy: "Delete", images }),
    ),
  });
  prometheus = await installMonitoring(kubectl, (m) => {
    phase(m, started);
  });
  await chartMonitoring(true);
  await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
  phase("ensemble Available, chart upgraded", started);
}, 600_000);

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => "");
  // The other test files expect a cluster without a monitoring API (no PodMonitor children, no
  // Prometheus scraping every 5 s beside them): the chart's monitoring objects off, then the stack.
  await chartMonitoring(false).catch(() => "");
  await uninstallMonitoring(kubectl).catch(() => undefined);
});

describe("a real Prometheus configured by a real Prometheus Operator", () => {
  test("scrapes every member through the operator's PodMonitor, the operator through the chart's ServiceMonitor, and the kubelet", async () => {
    const started = Date.now();
    const podMonitor = JSON.parse(
      await kubectl(["-n", namespace, "get", "podmonitor", name, "-o", "json"]),
    ) as {
      metadata: { ownerReferences: { kind: string; name: string }[] };
    };
    expect(podMonitor.metadata.ownerReferences[0]).toMatchObject({ kind: "ZooKeeperCluster", name });
    const up = async (selector: string): Promise<number[]> =>
      (await prometheus.query(`up{${selector}}`)).map((s) => Number(s.value[1]));
    await waitFor(
      "3 members, the operator and the kubelet up in Prometheus",
      async () => {
        const members = await up(`namespace="${namespace}",cluster="${name}"`);
        const operator = await up(`namespace="${OPERATOR_NAMESPACE}"`);
        const kubelet = await up(`job="kubelet"`);
        return members.length === 3 &&
          members.every((v) => v === 1) &&
          operator.some((v) => v === 1) &&
          kubelet.some((v) => v === 1)
          ? true
          : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    ).catch(async (err: unknown) => {
      const targets = await activeTargets(prometheus.url);
      throw new Error(
        `${(err as Error).message}\n${targets.map((t) => `${t.scrapePool} ${t.health} ${t.lastError}`).join("\n")}`,
      );
    });
    // Every series of the members carries the labels the alerts and the dashboard select by, and
    // exactly one member leads.
    const leader = await prometheus.query(`zookeeper_server_state{namespace="${namespace}",state="leader"}`);
    expect(
      leader.filter((s) => s.metric.cluster === name && /^zk-[0-2]$/.test(s.metric.pod ?? "")),
    ).toHaveLength(3);
    expect(leader.filter((s) => s.value[1] === "1")).toHaveLength(1);
    phase("targets up", started);
  }, 240_000);

  test("loads every alert of the chart's PrometheusRule, and none fires for a healthy ensemble", async () => {
    const file = load(readFileSync(join(CHART_DIR, "files/zookeeper-alerts.yaml"), "utf8")) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const expected = file.groups.flatMap((g) => g.rules.map((r) => r.alert ?? "")).sort();
    const loaded = await waitFor(
      "the PrometheusRule's alerts in Prometheus",
      async () => {
        const res = await fetch(`${prometheus.url}/api/v1/rules?type=alert`);
        const body = (await res.json()) as { data: { groups: { rules: { name: string }[] }[] } };
        const names = body.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
        return names.length >= expected.length ? names : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    expect(loaded).toEqual(expected);
    const alerts = await prometheus.query(`ALERTS{alertstate="firing",namespace="${namespace}"}`);
    expect(alerts.map((a) => a.metric.alertname)).toEqual([]);
  }, 180_000);

  test("every panel of the dashboard returns data", async () => {
    const started = Date.now();
    // Some writes, so that the request rates and latencies have something to show.
    await kubectl([
      "-n",
      namespace,
      "exec",
      `${name}-0`,
      "-c",
      "zookeeper",
      "--",
      "bash",
      "-c",
      "for i in $(seq 1 20); do zkCli.sh -server 127.0.0.1:2181 create /mon-$i x >/dev/null 2>&1; done",
    ]);
    const panels = dashboardPanels();
    expect(panels.length).toBeGreaterThan(10);
    const variables = { namespace, cluster: name, rateInterval: "1m" };
    let empty: string[] = [];
    await waitFor(
      "data in every panel",
      async () => {
        empty = [];
        for (const panel of panels) {
          for (const q of panel.queries) {
            const result = await prometheus.query(resolveVariables(q.expr, variables));
            if (result.length === 0) empty.push(`${panel.title} [${q.refId}]: ${q.expr}`);
          }
        }
        return empty.length === 0 ? true : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 5000 },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nempty:\n${empty.join("\n")}`);
    });
    const queries = panels.reduce((n, p) => n + p.queries.length, 0);
    console.log(`[monitoring] ${panels.length} panels, ${queries} queries, each with data`);
    phase("every panel with data", started);
    // `WRITE_DASHBOARD_PICTURES=1`: the pictures in docs/monitoring.md, from this very run.
    if (process.env.WRITE_DASHBOARD_PICTURES === "1") {
      // A few minutes of clients on every member first, so that the pictures show some motion.
      await Promise.all(
        [0, 1, 2].map((i) =>
          kubectl([
            "-n",
            namespace,
            "exec",
            `${name}-${i}`,
            "-c",
            "zookeeper",
            "--",
            "bash",
            "-c",
            `for j in $(seq 1 60); do zkCli.sh -server 127.0.0.1:2181 create /pic-${i}-$j x >/dev/null 2>&1; zkCli.sh -server 127.0.0.1:2181 get /pic-${i}-$j >/dev/null 2>&1; done`,
          ]),
        ),
      );
      const written = await writeDashboardPictures(prometheus, variables, {
        outDir: join(repoRoot, PICTURES_DIR),
        seconds: Math.round((Date.now() - suiteStarted) / 1000),
        stepSeconds: 10,
      });
      const page = join(repoRoot, "docs/monitoring.md");
      const section = renderPicturesSection(
        written,
        relative(join(repoRoot, "docs"), join(repoRoot, PICTURES_DIR)),
      );
      writeFileSync(page, replacePicturesSection(readFileSync(page, "utf8"), section));
      console.log(`[monitoring] wrote ${written.length} pictures to ${PICTURES_DIR}`);
    }
  }, 900_000);
});
