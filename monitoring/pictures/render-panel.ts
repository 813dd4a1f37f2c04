// A picture of one dashboard panel's data, for the docs: Vega-Lite specs rendered to SVG by Vega's
// headless View (no browser, no canvas, no native module). Time runs in UTC and nothing random or
// "now" goes into the spec, so the same data always gives the same bytes.
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { DashboardPanel } from "../dashboard/panels.ts";
import { formatNumber, formatValue, unitStep } from "./units.ts";

/** One line of a panel: its legend and its points (unix seconds, value), finite values only. */
export interface PanelSeries {
  legend: string;
  points: [number, number][];
  /** The series' labels, which a table panel shows as its columns (the legend when absent). */
  labels?: Record<string, string>;
}

const WIDTH = 640;
const HEIGHT = 240;
/** More legend entries than fit beside a 240 px chart are summarised as "…N entries". */
const LEGEND_ENTRIES = 12;
/** A table picture shows this many rows, then how many more there were. */
const TABLE_ROWS = 10;
const TABLE_ROW_HEIGHT = 22;

/** The panel as a standalone SVG document of about 640×240 px. */
export async function renderPanelSvg(panel: DashboardPanel, series: PanelSeries[]): Promise<string> {
  const drawn = series.filter((s) => s.points.length > 0);
  if (drawn.length === 0) return renderSpec(noDataSpec(panel));
  if (panel.kind === "table") return renderSpec(tableSpec(panel, drawn));
  return renderSpec(lineSpec(panel, withUniqueLegends(drawn)));
}

async function renderSpec(spec: TopLevelSpec): Promise<string> {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...args: readonly unknown[]) => {
      throw new Error(args.map(String).join(" "));
    },
    warn: (...args: readonly unknown[]) => (warnings.push(args.map(String).join(" ")), logger),
    info: () => logger,
    debug: () => logger,
  };
  const compiled = compile(spec, { logger }).spec;
  // A warning is a spec this module got wrong (a dropped format, an ignored channel): the specs
  // depend on the data only through values, so the unit test meets every warning first.
  if (warnings.length > 0) throw new Error(`vega-lite: ${warnings.join("; ")}`);
  const view = new View(parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const PADDING = 8;
const INNER_WIDTH = WIDTH - 2 * PADDING;
const BASE = {
  width: WIDTH,
  background: "white",
  padding: PADDING,
  // No ARIA labels: an SVG shown as an image exposes none of its own (the docs give each its alt
  // text), and Vega would label each line by its first point only.
  config: { aria: false, font: "DejaVu Sans, Helvetica, Arial, sans-serif", view: { stroke: null } },
} as const;

function title(panel: DashboardPanel, subtitle?: string): TopLevelSpec["title"] {
  return {
    text: panel.title,
    anchor: "start",
    fontSize: 14,
    limit: INNER_WIDTH,
    ...(subtitle === undefined ? {} : { subtitle, subtitleFontSize: 18, subtitleFontWeight: "bold" }),
  };
}

/** A string as a literal in a Vega expression (Vega expressions take JavaScript's string syntax). */
const literal = (text: string): string => JSON.stringify(text);

/**
 * A line per series, coloured in the order given. A stat panel is drawn the same way, with each
 * series' last value written large under the title, as the stat panel shows it.
 */
function lineSpec(panel: DashboardPanel, series: PanelSeries[]): TopLevelSpec {
  const largest = Math.max(...series.flatMap((s) => s.points.map(([, v]) => Math.abs(v))));
  const { factor, suffix } = unitStep(panel.unit, largest);
  const values = series.flatMap((s) =>
    s.points.map(([t, v]) => ({ time: t * 1000, value: v / factor, series: s.legend })),
  );
  const lasts = series.map((s) => `${s.legend} ${formatValue(panel.unit, s.points.at(-1)?.[1] ?? 0)}`);
  const subtitle = panel.kind === "stat" ? lasts.join(" · ") : undefined;
  return {
    ...BASE,
    height: HEIGHT,
    autosize: { type: "fit", contains: "padding" },
    title: title(panel, subtitle),
    data: { values },
    // A line of one point would draw nothing: such data gets its points marked.
    mark: { type: "line", strokeWidth: 1.5, point: series.some((s) => s.points.length === 1) },
    encoding: {
      x: {
        field: "time",
        type: "temporal",
        scale: { type: "utc" },
        axis: {
          title: null,
          labelExpr: "utcFormat(datum.value, '%H:%M:%S')",
          tickCount: 6,
          labelFlush: true,
        },
      },
      y: {
        field: "value",
        type: "quantitative",
        axis: { title: null, labelExpr: `format(datum.value, ',~r') + ${literal(suffix)}`, tickCount: 5 },
      },
      color: {
        field: "series",
        type: "nominal",
        scale: { domain: series.map((s) => s.legend) },
        legend: {
          title: null,
          orient: "right",
          labelFontSize: 11,
          labelLimit: 220,
          symbolLimit: LEGEND_ENTRIES,
        },
      },
    },
  };
}

/** Legends made unique (`zk-0`, `zk-0 (2)`), so that two series never merge into one line. */
function withUniqueLegends(series: PanelSeries[]): PanelSeries[] {
  const seen = new Map<string, number>();
  return series.map((s) => {
    const n = (seen.get(s.legend) ?? 0) + 1;
    seen.set(s.legend, n);
    return n === 1 ? s : { ...s, legend: `${s.legend} (${n})` };
  });
}

const CELL = {
  x: { field: "column", type: "ordinal", bandPosition: 0 },
  text: { field: "text", type: "nominal" },
} as const;

/**
 * The table Grafana shows for an instant query: a row per series, its labels as columns (or its
 * legend), and its last value. The header is the table's first row, so that it lines up with the
 * cells under it.
 */
function tableSpec(panel: DashboardPanel, series: PanelSeries[]): TopLevelSpec {
  const labelled = series.every((s) => s.labels !== undefined);
  const keys = labelled ? [...new Set(series.flatMap((s) => Object.keys(s.labels ?? {})))] : ["series"];
  const columns = [...keys.filter((k) => k !== "__name__"), "value"];
  const cell = (s: PanelSeries, column: string): string => {
    if (column === "value") return formatValue(panel.unit, s.points.at(-1)?.[1] ?? 0);
    return labelled ? (s.labels?.[column] ?? "") : s.legend;
  };
  const shown = series.slice(0, TABLE_ROWS);
  const more = series.length - shown.length;
  const rows = [
    columns,
    ...shown.map((s) => columns.map((column) => cell(s, column))),
    ...(more > 0 ? [[`… ${formatNumber(more)} more`]] : []),
  ];
  const values = rows.flatMap((texts, row) => texts.map((text, column) => ({ row, column, text })));
  const cellMark = {
    type: "text",
    align: "left",
    dx: 6,
    fontSize: 12,
    limit: INNER_WIDTH / columns.length - 12,
  } as const;
  return {
    ...BASE,
    // A step height rules out "fit": the table is as tall as its rows, its cells as wide as the rest.
    width: INNER_WIDTH,
    title: title(panel),
    height: { step: TABLE_ROW_HEIGHT },
    data: { values },
    encoding: {
      y: { field: "row", type: "ordinal", axis: null },
      x: {
        field: "column",
        type: "ordinal",
        scale: { type: "band", domain: columns.map((_, i) => i), paddingInner: 0, paddingOuter: 0 },
        axis: null,
      },
    },
    layer: [
      {
        // Every other row shaded, as Grafana's table does, to lead the eye along a row.
        transform: [{ filter: "datum.column === 0 && datum.row % 2 === 1" }],
        mark: { type: "rect", color: "#f2f2f2" },
        encoding: { x: { value: 0 }, x2: { value: "width" } },
      },
      // The weight is a mark property, not a channel: the header is a layer of its own.
      {
        transform: [{ filter: "datum.row === 0" }],
        mark: { ...cellMark, fontWeight: "bold" },
        encoding: CELL,
      },
      { transform: [{ filter: "datum.row > 0" }], mark: cellMark, encoding: CELL },
    ],
  };
}

function noDataSpec(panel: DashboardPanel): TopLevelSpec {
  return {
    ...BASE,
    height: HEIGHT,
    autosize: { type: "fit", contains: "padding" },
    title: title(panel),
    data: { values: [{ text: "No data" }] },
    mark: { type: "text", fontSize: 16, color: "#888" },
    encoding: { text: { field: "text" } },
  };
}
