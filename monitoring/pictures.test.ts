// The dashboard's pictures (monitoring/pictures/): Grafana's legend names, the units a picture
// writes, the SVG of each kind of panel (well-formed, labelled, one path per line, the same bytes
// every time and in every time zone), one file per panel from an in-memory Prometheus, and the
// docs section they go into. The end-to-end dashboard run feeds the same code a real Prometheus.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { repoRoot } from "../e2e/rig/paths.ts";
import { dashboardPanels, type DashboardPanel } from "./dashboard/panels.ts";
import { formatLegend } from "./pictures/legend.ts";
import { renderPanelSvg, type PanelSeries } from "./pictures/render-panel.ts";
import { formatValue } from "./pictures/units.ts";
import {
  renderPicturesSection,
  replacePicturesSection,
  slug,
  writeDashboardPictures,
  type RangeQuerier,
} from "./pictures/write-pictures.ts";

const panels = dashboardPanels();
function panel(title: string): DashboardPanel {
  const found = panels.find((p) => p.title === title);
  if (found === undefined) throw new Error(`no panel ${title}`);
  return found;
}

/** 2023-11-14 22:13:20 UTC, then every 15 s. */
const T0 = 1_700_000_000;
const points = (n: number, value: (i: number) => number): [number, number][] =>
  Array.from({ length: n }, (_, i) => [T0 + 15 * i, value(i)]);

/**
 * The SVG's tags nest and close, with one `<svg>` root and nothing outside it: a check that it
 * parses as XML, without an XML parser.
 */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith("<svg ")).toBe(true);
  expect(svg.endsWith("</svg>")).toBe(true);
  const open: string[] = [];
  for (const [tag = "", closing, name = "", selfClosing] of svg.matchAll(
    /<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g,
  )) {
    if (selfClosing === "/") continue;
    if (closing === "") open.push(name);
    else expect(open.pop(), tag).toBe(name);
    if (open.length === 0) expect(svg.slice(svg.indexOf(tag) + tag.length), "text after the root").toBe("");
  }
  expect(open).toEqual([]);
}

const linePaths = (svg: string): number =>
  [...svg.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*><path /g)].length;
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(([, t = ""]) => t);

describe("formatLegend", () => {
  test.each<[string, Record<string, string>, string]>([
    ["{{pod}}", { pod: "zk-0", namespace: "zk" }, "zk-0"],
    ["{{pod}} {{state}}", { pod: "zk-1", state: "leader" }, "zk-1 leader"],
    ["{{ pod }} reads", { pod: "zk-2" }, "zk-2 reads"],
    ["majority needed", { pod: "zk-0" }, "majority needed"],
    ["{{verb}} {{code}}", { verb: "PATCH", code: "" }, "PATCH "],
    // Grafana leaves a label the series does not have as it was written.
    ["{{pod}} {{missing}}", { pod: "zk-0" }, "zk-0 {{missing}}"],
    ["", { __name__: "up", job: "zk", instance: "10.0.0.1:8080" }, 'up{instance="10.0.0.1:8080", job="zk"}'],
    ["", { pod: "zk-0", cluster: "zk" }, '{cluster="zk", pod="zk-0"}'],
    ["__auto", { pod: "zk-0" }, '{pod="zk-0"}'],
    ["", {}, "{}"],
  ])("%j with %j is %j", (format, metric, name) => {
    expect(formatLegend(format, metric)).toBe(name);
  });
});

describe("formatValue", () => {
  test.each<[string, number, string]>([
    ["s", 0.0123, "12.3 ms"],
    ["s", 0.00045, "450 µs"],
    ["s", 0, "0 s"],
    ["s", 42, "42 s"],
    ["s", 7200, "2 h"],
    ["ms", 1500, "1.5 s"],
    ["bytes", 1.5 * 1024 * 1024, "1.5 MiB"],
    ["bytes", 512, "512 B"],
    ["Bps", 2500, "2.5 kB/s"],
    ["percentunit", 0.5, "50%"],
    ["reqps", 0.25, "0.25 req/s"],
    ["reqps", 1500, "1.5k req/s"],
    ["ops", 3, "3 ops/s"],
    ["short", 2_000_000, "2M"],
    ["none", 3, "3"],
    ["none", 123456, "123456"],
    ["no-such-unit", 0.5, "0.5"],
  ])("%s %d is %j", (unit, value, shown) => {
    expect(formatValue(unit, value)).toBe(shown);
  });
});

describe("renderPanelSvg", () => {
  const latency: PanelSeries[] = [
    { legend: "zk-0 average", points: points(40, (i) => 0.002 + 0.001 * Math.sin(i / 4)) },
    { legend: "zk-0 max", points: points(40, (i) => (i < 20 ? 0.012 : 0.022)) },
  ];

  test("a time series is a line per series, with the title, the legend, the unit and UTC times", async () => {
    const svg = await renderPanelSvg(panel("Request latency"), latency);
    expectWellFormed(svg);
    expect(svg).toMatch(/^<svg [^>]*width="640" height="240"/);
    expect(linePaths(svg)).toBe(2);
    const shown = texts(svg);
    expect(shown).toEqual(expect.arrayContaining(["Request latency", "zk-0 average", "zk-0 max", "20 ms"]));
    expect(shown).toContain("22:14:00");
  });

  test("a stat panel is drawn as lines with each series' last value under the title", async () => {
    const svg = await renderPanelSvg(panel("Members serving"), [
      { legend: "serving", points: points(20, (i) => (i < 5 ? 2 : 3)) },
      { legend: "scraped", points: points(20, () => 3) },
    ]);
    expectWellFormed(svg);
    expect(linePaths(svg)).toBe(2);
    expect(texts(svg)).toEqual(expect.arrayContaining(["Members serving", "serving 3 · scraped 3"]));
  });

  test("a table panel is a table of each series' labels and last value", async () => {
    const svg = await renderPanelSvg(panel("Member roles"), [
      { legend: "zk-0", labels: { pod: "zk-0", state: "follower" }, points: points(3, () => 1) },
      { legend: "zk-1", labels: { pod: "zk-1", state: "leader" }, points: points(3, () => 1) },
    ]);
    expectWellFormed(svg);
    expect(linePaths(svg)).toBe(0);
    expect(texts(svg)).toEqual([
      "pod",
      "state",
      "value",
      "zk-0",
      "follower",
      "1",
      "zk-1",
      "leader",
      "1",
      "Member roles",
    ]);
  });

  test("two series with one legend stay two lines, and a one-point series is still drawn", async () => {
    const svg = await renderPanelSvg(panel("Znodes"), [
      { legend: "zk-0", points: points(5, () => 10) },
      { legend: "zk-0", points: points(1, () => 12) },
    ]);
    expect(linePaths(svg)).toBe(2);
    expect(texts(svg)).toEqual(expect.arrayContaining(["zk-0", "zk-0 (2)"]));
    expect(svg).toContain('class="mark-symbol role-mark');
  });

  test("no series says so", async () => {
    const svg = await renderPanelSvg(panel("Znodes"), [{ legend: "zk-0", points: [] }]);
    expectWellFormed(svg);
    expect(texts(svg)).toEqual(expect.arrayContaining(["Znodes", "No data"]));
  });

  test("the same data gives the same bytes, whatever was drawn before and in any time zone", async () => {
    const zone = process.env.TZ;
    try {
      process.env.TZ = "UTC";
      const first = await renderPanelSvg(panel("Request latency"), latency);
      await renderPanelSvg(panel("Member roles"), [{ legend: "x", points: points(1, () => 1) }]);
      process.env.TZ = "Pacific/Chatham";
      expect(await renderPanelSvg(panel("Request latency"), latency)).toBe(first);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});

describe("writeDashboardPictures", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "zk-pictures-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Three members for every query, one sample of which Prometheus could not compute. */
  const asked: string[] = [];
  const prometheus: RangeQuerier = {
    queryRange(expr, seconds, step) {
      asked.push(expr);
      return Promise.resolve(
        ["zk-0", "zk-1", "zk-2"].map((pod, n) => ({
          metric: { pod, state: n === 0 ? "leader" : "follower", version: "3.9.3", result: "success" },
          values: Array.from({ length: seconds / step }, (_, i): [number, string] => [
            T0 + i * step,
            i === 3 ? "NaN" : i === 4 ? "+Inf" : String(n + i / 10),
          ]),
        })),
      );
    },
  };

  test("writes one picture per panel, in page order, from the queries with the variables filled in", async () => {
    const variables = { namespace: "zk-ns", cluster: "zk-name", rateInterval: "1m" };
    const written = await writeDashboardPictures(prometheus, variables, {
      outDir: dir,
      seconds: 600,
      stepSeconds: 15,
    });

    expect(written.map((w) => w.title)).toEqual(panels.map((p) => p.title));
    expect(written.map((w) => w.file)).toEqual(panels.map((p) => `${slug(p.title)}.svg`));
    expect((await readdir(dir)).sort()).toEqual(written.map((w) => w.file).sort());
    expect(written.map((w) => w.series)).toEqual(panels.map((p) => 3 * p.queries.length));
    expect(asked).toHaveLength(panels.flatMap((p) => p.queries).length);
    for (const expr of asked) expect(expr).not.toContain("$");
    expect(asked.join("\n")).toContain('cluster="zk-name"');

    for (const { file } of written) expectWellFormed(await readFile(join(dir, file), "utf8"));
    const roles = texts(await readFile(join(dir, "member-roles.svg"), "utf8"));
    expect(roles).toEqual(expect.arrayContaining(["pod", "state", "zk-0", "leader", "zk-2", "follower"]));
    const latency = await readFile(join(dir, "request-latency.svg"), "utf8");
    expect(linePaths(latency)).toBe(6);
    expect(texts(latency)).toEqual(expect.arrayContaining(["zk-0 average", "zk-2 max"]));
  });

  test("a title becomes a file name", () => {
    expect(slug("ZooKeeper memory (working set)")).toBe("zookeeper-memory-working-set");
    expect(slug("Read and write latency (p99)")).toBe("read-and-write-latency-p99");
  });
});

describe("the docs section", () => {
  const written = [
    { title: "Members serving", file: "members-serving.svg", series: 2 },
    { title: "Quorum", file: "quorum.svg", series: 2 },
    { title: "Request latency", file: "request-latency.svg", series: 6 },
  ];

  test("groups the pictures under their dashboard rows", () => {
    expect(renderPicturesSection(written, "images/dashboard/")).toBe(
      [
        "**Ensemble overview**",
        "",
        "![Members serving](images/dashboard/members-serving.svg)",
        "![Quorum](images/dashboard/quorum.svg)",
        "",
        "**Latency and throughput**",
        "",
        "![Request latency](images/dashboard/request-latency.svg)",
      ].join("\n"),
    );
  });

  const page = (middle: string): string => `## Dashboard\n\nText.\n\n${middle}\n\n### Panels\n`;
  const PLACEHOLDER = "<!-- panel pictures: added by the e2e dashboard run -->";

  test("replaces the placeholder line with the marked section, then the section between the markers", () => {
    const first = replacePicturesSection(page(PLACEHOLDER), "![A](a.svg)\n");
    expect(first).toBe(
      page("<!-- BEGIN dashboard pictures -->\n\n![A](a.svg)\n\n<!-- END dashboard pictures -->"),
    );
    const second = replacePicturesSection(first, "![B](b.svg)");
    expect(second).toBe(
      page("<!-- BEGIN dashboard pictures -->\n\n![B](b.svg)\n\n<!-- END dashboard pictures -->"),
    );
    expect(replacePicturesSection(second, "![B](b.svg)")).toBe(second);
  });

  test("refuses a page with neither the markers nor the placeholder, or with one marker", () => {
    expect(() => replacePicturesSection(page("nothing"), "x")).toThrow(/neither/);
    expect(() => replacePicturesSection(page("<!-- BEGIN dashboard pictures -->"), "x")).toThrow(/neither/);
  });

  test("docs/monitoring.md has a place for the pictures", async () => {
    const monitoring = await readFile(join(repoRoot, "docs/monitoring.md"), "utf8");
    expect(replacePicturesSection(monitoring, "PICTURES")).toContain("PICTURES");
  });
});
