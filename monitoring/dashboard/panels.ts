// The dashboard's panels and their PromQL, read from the built model (zookeeper-dashboard.ts), for
// the tests that check them: the unit test (names, promtool) and the end-to-end run that queries
// a real Prometheus and fails on an empty panel.
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import { buildZooKeeperDashboard } from "./zookeeper-dashboard.ts";

export interface PanelQuery {
  refId: string;
  expr: string;
  legend: string;
}

export interface DashboardPanel {
  title: string;
  description: string;
  unit: string;
  kind: string;
  queries: PanelQuery[];
}

function isRow(panel: dashboard.Panel | dashboard.RowPanel): panel is dashboard.RowPanel {
  return panel.type === "row";
}

function isPrometheusQuery(query: cog.Dataquery): query is prometheus.dataquery {
  return typeof (query as Partial<prometheus.dataquery>).expr === "string";
}

/** Every panel of the dashboard in page order, rows left out (a collapsed row's panels included). */
export function dashboardPanels(): DashboardPanel[] {
  const panels = (buildZooKeeperDashboard().panels ?? []).flatMap((p) => (isRow(p) ? p.panels : [p]));
  return panels.map((panel) => ({
    title: panel.title ?? "",
    description: panel.description ?? "",
    unit: panel.fieldConfig?.defaults.unit ?? "",
    kind: panel.type,
    queries: (panel.targets ?? []).map((target) => {
      if (!isPrometheusQuery(target))
        throw new Error(`panel ${JSON.stringify(panel.title)} has a query that is not PromQL`);
      return { refId: target.refId, expr: target.expr, legend: target.legendFormat ?? "" };
    }),
  }));
}

/** The values of the dashboard's variables, and of Grafana's `$__rate_interval`. */
export interface VariableValues {
  namespace: string;
  cluster: string;
  rateInterval: string;
}

const VARIABLE = /\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g;

/**
 * An expression as Grafana sends it to Prometheus: `$namespace`, `$cluster`, `$__rate_interval`
 * and their `${name}` / `${name:format}` forms replaced by the values given. Any other variable
 * throws, so a query cannot reach Prometheus with a `$` Grafana would have filled in. `$1` (a
 * label_replace group) is not a variable and stays.
 */
export function resolveVariables(expr: string, v: VariableValues): string {
  const values = new Map([
    ["namespace", v.namespace],
    ["cluster", v.cluster],
    ["__rate_interval", v.rateInterval],
  ]);
  return expr.replace(VARIABLE, (match, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? "";
    if (/^\d+$/.test(name)) return match;
    const value = values.get(name);
    if (value === undefined) throw new Error(`unknown variable ${match} in ${expr}`);
    return value;
  });
}
