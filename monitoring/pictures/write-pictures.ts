// One picture per dashboard panel from a Prometheus's range queries, and the docs section that
// shows them. The end-to-end dashboard run calls this against the rig's real Prometheus; the unit
// test against an in-memory one.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { dashboardPanels, resolveVariables, type VariableValues } from "../dashboard/panels.ts";
import { buildZooKeeperDashboard } from "../dashboard/zookeeper-dashboard.ts";
import { formatLegend } from "./legend.ts";
import { renderPanelSvg, type PanelSeries } from "./render-panel.ts";
import { replaceBetween } from "../../operator/src/generators/section.ts";

/** What the pictures need of a Prometheus: its range query (e2e/rig/monitoring.ts has one). */
export interface RangeQuerier {
  queryRange(
    expr: string,
    seconds: number,
    stepSeconds: number,
  ): Promise<{ metric: Record<string, string>; values: [number, string][] }[]>;
}

export interface WrittenPicture {
  title: string;
  /** The file's name inside the output folder: `slug(title).svg`. */
  file: string;
  /** How many series the picture draws (0: it says "No data"). */
  series: number;
}

/** A title as a file name: `ZooKeeper memory (working set)` → `zookeeper-memory-working-set`. */
export function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Writes `${outDir}/${slug(title)}.svg` for every panel of the dashboard, in page order: each
 * query with the dashboard's variables filled in, over the last `seconds`, one series per result
 * named by the query's legend format. Prometheus's NaN and ±Inf samples are left out (Grafana
 * draws a gap); a series left with no samples is not drawn.
 */
export async function writeDashboardPictures(
  prometheus: RangeQuerier,
  variables: VariableValues,
  options: { outDir: string; seconds: number; stepSeconds: number },
): Promise<WrittenPicture[]> {
  await mkdir(options.outDir, { recursive: true });
  const written: WrittenPicture[] = [];
  for (const panel of dashboardPanels()) {
    const file = `${slug(panel.title)}.svg`;
    if (written.some((w) => w.file === file)) throw new Error(`two panels would both be pictured as ${file}`);
    const results = await Promise.all(
      panel.queries.map(async (query) => {
        const expr = resolveVariables(query.expr, variables);
        const found = await prometheus.queryRange(expr, options.seconds, options.stepSeconds);
        return found.map(({ metric, values }): PanelSeries => ({
          legend: formatLegend(query.legend, metric),
          labels: metric,
          points: values
            .map(([t, v]): [number, number] => [t, Number(v)])
            .filter(([, v]) => Number.isFinite(v)),
        }));
      }),
    );
    const series = results.flat().filter((s) => s.points.length > 0);
    await writeFile(join(options.outDir, file), await renderPanelSvg(panel, series));
    written.push({ title: panel.title, file, series: series.length });
  }
  return written;
}

function isRow(panel: dashboard.Panel | dashboard.RowPanel): panel is dashboard.RowPanel {
  return panel.type === "row";
}

/** Each panel's row on the dashboard, by panel title. */
function panelRows(): Map<string, string> {
  const rows = new Map<string, string>();
  let row = "";
  for (const panel of buildZooKeeperDashboard().panels ?? []) {
    if (!isRow(panel)) rows.set(panel.title ?? "", row);
    else {
      row = panel.title ?? "";
      // A collapsed row holds its panels; an open one is followed by them.
      for (const inner of panel.panels) rows.set(inner.title ?? "", row);
    }
  }
  return rows;
}

/** Markdown's image syntax for a picture, its title as the alternative text. */
function image(picture: WrittenPicture, relativeDir: string): string {
  const alt = picture.title.replace(/[[\]\\]/g, (c) => `\\${c}`);
  return `![${alt}](${relativeDir.replace(/\/$/, "")}/${picture.file})`;
}

/**
 * The docs' section of pictures: under each dashboard row's name (bold), that row's pictures in the
 * order given, linked at `relativeDir` (relative to the page).
 */
export function renderPicturesSection(written: WrittenPicture[], relativeDir: string): string {
  const rows = panelRows();
  const groups: { row: string; pictures: WrittenPicture[] }[] = [];
  for (const picture of written) {
    const row = rows.get(picture.title) ?? "";
    const last = groups.at(-1);
    if (last?.row === row) last.pictures.push(picture);
    else groups.push({ row, pictures: [picture] });
  }
  return groups
    .map(({ row, pictures }) => {
      const images = pictures.map((p) => image(p, relativeDir)).join("\n");
      return row === "" ? images : `**${row}**\n\n${images}`;
    })
    .join("\n\n");
}

const BEGIN = "<!-- BEGIN dashboard pictures -->";
const END = "<!-- END dashboard pictures -->";
const PLACEHOLDER = "<!-- panel pictures: added by the e2e dashboard run -->";

/**
 * The page with `section` between its `<!-- BEGIN dashboard pictures -->` and `<!-- END dashboard
 * pictures -->` markers, or, on a page that has only the placeholder line the docs start with, that
 * line replaced by the markers around `section`. Anything else on the page is kept as it was.
 */
export function replacePicturesSection(page: string, section: string): string {
  const replaced = replaceBetween(page, BEGIN, END, section);
  if (replaced !== null) return replaced;
  if (!page.includes(BEGIN) && !page.includes(END) && page.includes(PLACEHOLDER))
    return page.replace(PLACEHOLDER, `${BEGIN}\n\n${section.trim()}\n\n${END}`);
  throw new Error(`the page has neither "${BEGIN}" … "${END}" nor the line "${PLACEHOLDER}"`);
}
