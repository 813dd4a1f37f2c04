// Benchmark: /readyz latency of the real sidecar process against a real ZooKeeper, at a steady
// request rate, and the sidecar's peak RSS. Each request opens a new TCP connection, as the
// kubelet's HTTP probes do.
//
//   node bench/sidecar-readyz.ts [--rate 50] [--seconds 30] [--mode image|source] [--cache-ms 1000]
//
// --mode image (default) runs the sidecar as its image does: compiled by tsc with
// sidecar/tsconfig.build.json and started through sidecar/bin/zk-sidecar (with its Node flags;
// ZK_SIDECAR_NODE_FLAGS overrides them). --mode source runs `node sidecar/src/main.ts serve`.
// --cache-ms sets ZK_READY_CACHE_MS (default 1000, as deployed); a large value takes ZooKeeper
// out of the request path, which tells the cost of the four-letter word apart from the rest.
//
// A latency figure on a shared machine means little without the machine's state, so the bench
// reports, for the measured interval: the load average before and after, the CPU time of the
// sidecar, of ZooKeeper, of the load generator and of everything else on the machine (and the
// busiest other processes), the sidecar's own handling time, GC pauses and event-loop lag, and
// how late the load generator itself was. The load generator runs in its own process (this file
// with --generate), so its CPU time and scheduling delays are measured apart from the sidecar's.
//
// Targets (DESIGN.md): p99 ≤ 5 ms at 50 requests/s, RSS ≤ 60 MiB.
import { request } from "node:http";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "50" },
    seconds: { type: "string", default: "30" },
    mode: { type: "string", default: "image" },
    "cache-ms": { type: "string", default: "1000" },
    // The load generator (internal): --generate --url URL --out FILE.
    generate: { type: "boolean", default: false },
    url: { type: "string" },
    out: { type: "string" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const TARGET_P99_MS = 5;
const TARGET_RSS_MIB = 60;
/** USER_HZ: the unit of the CPU times in /proc (100 on every Linux we run on). */
const TICK_MS = 10;

interface Sample {
  /** ms since the run started that the request was due. */
  due: number;
  /** How late the generator sent it (its own scheduling delay), ms. */
  late: number;
  /** Request start to end of response, ms; NaN on failure. */
  ms: number;
  status: number;
}

interface GeneratorResult {
  samples: Sample[];
  errors: string[];
  wallSeconds: number;
  /** CPU time of the measured run. */
  cpuMs: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

function get(url: string): Promise<{ status: number; ms: number }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - start) / 1e6 });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        resolve(body);
      });
    })
      .on("error", reject)
      .end();
  });
}

/** The load generator: `rate` requests a second for `seconds`, each on a new connection. */
async function generate(url: string, out: string): Promise<void> {
  for (let i = 0; i < 20; i++) await get(url); // warm-up of both ends
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  const samples: Sample[] = [];
  const errors: string[] = [];
  const total = Math.round(rate * seconds);
  const started = performance.now();
  loop.enable();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = (i * 1000) / rate;
    const wait = started + due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const late = performance.now() - started - due;
    inflight.push(
      get(url).then(
        (r) => {
          samples.push({ due, late, ms: r.ms, status: r.status });
        },
        (err: unknown) => {
          samples.push({ due, late, ms: NaN, status: 0 });
          if (errors.length < 5) errors.push(String(err));
        },
      ),
    );
  }
  await Promise.all(inflight);
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const result: GeneratorResult = {
    samples,
    errors,
    wallSeconds: (performance.now() - started) / 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
  };
  writeFileSync(out, JSON.stringify(result));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** A /proc/PID/status memory field in MiB (VmHWM = peak RSS, VmRSS, RssAnon, RssFile). */
function memMiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m?.[1] ? round(Number(m[1]) / 1024, 1) : NaN;
}

/** CPU time (user + system, all threads) of every process, in ms, with its name. */
function processCpu(): Map<number, { comm: string; ms: number }> {
  const out = new Map<number, { comm: string; ms: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      // Fields 14 and 15 (utime, stime); fields[0] is field 3.
      const ticks = Number(fields[11]) + Number(fields[12]);
      out.set(Number(entry), { comm: stat.slice(stat.indexOf("(") + 1, close), ms: ticks * TICK_MS });
    } catch {
      // The process ended while we read /proc.
    }
  }
  return out;
}

/** Busy and total CPU time of the whole machine (all cores), in ms, from /proc/stat. */
function machineCpu(): { busyMs: number; totalMs: number; stealMs: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1, 9);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    fields.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busyMs: busy * TICK_MS, totalMs: (busy + idle + iowait) * TICK_MS, stealMs: steal * TICK_MS };
}

/** Prometheus text as a map from `name{labels}` to value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** after - before for every series (counters, histogram buckets). */
function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/** A quantile of a histogram, as the upper bound of the bucket it falls in (ms). */
function histogramQuantileMs(m: Map<string, number>, name: string, label: string, q: number): number {
  const buckets: { le: number; count: number }[] = [];
  for (const [k, v] of m) {
    const b = new RegExp(`^${name}_bucket\\{le="([^"]+)",${label}\\}$`).exec(k);
    if (b?.[1]) buckets.push({ le: b[1] === "+Inf" ? Infinity : Number(b[1]), count: v });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  return (buckets.find((b) => b.count >= q * total)?.le ?? NaN) * 1000;
}

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

async function bench(): Promise<void> {
  const { repoRoot } = await import("../e2e/rig/paths.ts");
  const { RigProcess } = await import("../e2e/rig/processes.ts");
  const { createSidecarEnsemble, MAIN } = await import("../sidecar/test/zk/sidecar-rig.ts");
  const se = await createSidecarEnsemble({ size: 1, name: "bench" });
  try {
    await se.ens.startAll();
    await se.ens.waitForQuorum();
    const server = se.ens.server(1);
    const env: Record<string, string> = { ZK_READY_CACHE_MS: values["cache-ms"], ZK_4LW_TIMEOUT_MS: "1000" };
    let command = { command: process.execPath, args: [MAIN, "serve"] };
    if (values.mode === "image") {
      const out = se.ens.block.path("sidecar-build");
      execFileSync(process.execPath, [
        join(repoRoot, "node_modules/typescript/bin/tsc"),
        "-p",
        join(repoRoot, "sidecar/tsconfig.build.json"),
        "--outDir",
        out,
      ]);
      // As in the image: package.json beside the code, node_modules above it.
      writeFileSync(join(out, "package.json"), '{ "type": "module" }\n');
      symlinkSync(join(repoRoot, "node_modules"), join(out, "node_modules"));
      env.ZK_SIDECAR_MAIN = join(out, "main.js");
      // The wrapper runs `node`: the project's Node 24, as in the image.
      env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;
      command = { command: join(repoRoot, "sidecar/bin/zk-sidecar"), args: ["serve"] };
    } else if (values.mode !== "source") {
      throw new Error(`--mode must be image or source, got ${values.mode}`);
    }
    const sidecar = await se.startSidecar(server, env, command);
    const zkPid = server.process?.pid ?? NaN;
    const base = `http://${server.ip}:8081`;

    await getText(`${base}/metrics`); // warm-up: the interpreter compiles the scrape's code once
    const metrics0 = parseMetrics(await getText(`${base}/metrics`));
    const load0 = loadAverage();
    const procs0 = processCpu();
    const machine0 = machineCpu();
    const self0 = process.cpuUsage();
    const window0 = performance.now();
    const resultFile = join(se.ens.block.path("generator"), "result.json");
    const generator = new RigProcess(se.ens.block, {
      name: "load-generator",
      command: process.execPath,
      args: [
        join(repoRoot, "bench/sidecar-readyz.ts"),
        "--generate",
        `--rate=${rate}`,
        `--seconds=${seconds}`,
        `--url=${base}/readyz`,
        `--out=${resultFile}`,
      ],
    });
    const genPid = generator.pid;
    const code = await generator.exited;
    if (code !== 0) throw new Error(`load generator exited with ${code}: ${await generator.log()}`);
    const self = process.cpuUsage(self0);
    const windowMs = performance.now() - window0;
    const machine1 = machineCpu();
    const procs1 = processCpu();
    const load1 = loadAverage();
    const scrapeStart = performance.now();
    const metrics1 = parseMetrics(await getText(`${base}/metrics`));
    const scrapeMs = performance.now() - scrapeStart;
    const gen = JSON.parse(readFileSync(resultFile, "utf8")) as GeneratorResult;

    const cpuOf = (pid: number): number => (procs1.get(pid)?.ms ?? NaN) - (procs0.get(pid)?.ms ?? 0);
    const sidecarCpuMs = cpuOf(sidecar.pid);
    const zkCpuMs = cpuOf(zkPid);
    const benchCpuMs = (self.user + self.system) / 1000;
    const cores = os.availableParallelism();
    // /proc/stat's idle time of a tickless CPU is only brought up to date when it wakes, so the
    // machine's busy share is taken relative to its own total rather than to the wall clock.
    const machineBusyMs =
      ((machine1.busyMs - machine0.busyMs) / (machine1.totalMs - machine0.totalMs)) * cores * windowMs;
    const ours = new Set([sidecar.pid, zkPid, genPid, process.pid]);
    const others = [...procs1]
      .filter(([pid]) => !ours.has(pid))
      .map(([pid, p]) => ({ comm: p.comm, pid, ms: p.ms - (procs0.get(pid)?.ms ?? 0) }))
      .filter((p) => p.ms > 0)
      .sort((a, b) => b.ms - a.ms);
    const busiestOthers = others
      .slice(0, 5)
      .map((p) => `${p.comm}(${p.pid}) ${round((100 * p.ms) / windowMs, 0)}%`);

    const ok = gen.samples.filter((s) => s.status === 200);
    const failures = gen.samples.length - ok.length;
    const latencies = ok.map((s) => s.ms).sort((a, b) => a - b);
    const late = gen.samples.map((s) => s.late).sort((a, b) => a - b);
    const d = delta(metrics0, metrics1);
    const gcCount = [...d].filter(([k]) => /^zk_sidecar_nodejs_gc_duration_seconds_count\{/.test(k));
    const gcOver1ms = [...d]
      .filter(([k]) => /^zk_sidecar_nodejs_gc_duration_seconds_bucket\{le="0.001",/.test(k))
      .reduce(
        (n, [, v]) => n - v,
        gcCount.reduce((n, [, v]) => n + v, 0),
      );
    const slow = ok.filter((s) => s.ms > TARGET_P99_MS).sort((a, b) => a.due - b.due);
    // CPU use over the measured window (generator start to exit), in % of one core.
    const pct = (ms: number): number => round((100 * ms) / windowMs, 1);

    const result = {
      requests: gen.samples.length,
      ok: ok.length,
      failures,
      errors: gen.errors,
      seconds: round(gen.wallSeconds, 1),
      achievedRate: round(gen.samples.length / gen.wallSeconds, 1),
      p50Ms: round(percentile(latencies, 50)),
      p90Ms: round(percentile(latencies, 90)),
      p99Ms: round(percentile(latencies, 99)),
      maxMs: round(latencies.at(-1) ?? NaN),
      over5Ms: slow.length,
      // When in the run (s) the requests over 5 ms were due: a cluster is one stall of the machine
      // or of a process, a period of 10 s would be the heap trimming, of ~0.75 s the srvr refresh.
      over5MsAtSeconds: slow.slice(0, 40).map((s) => round(s.due / 1000, 1)),
      sidecar: {
        handlingP50MsAtMost: histogramQuantileMs(
          d,
          "zk_sidecar_probe_duration_seconds",
          'probe="ready"',
          0.5,
        ),
        handlingP99MsAtMost: histogramQuantileMs(
          d,
          "zk_sidecar_probe_duration_seconds",
          'probe="ready"',
          0.99,
        ),
        srvrSent: d.get('zk_sidecar_four_letter_word_duration_seconds_count{word="srvr"}') ?? NaN,
        srvrMaxMsAtMost: histogramQuantileMs(
          d,
          "zk_sidecar_four_letter_word_duration_seconds",
          'word="srvr"',
          1,
        ),
        gcCount: gcCount.reduce((n, [, v]) => n + v, 0),
        gcOver1ms,
        gcSumMs: round(
          [...d]
            .filter(([k]) => /^zk_sidecar_nodejs_gc_duration_seconds_sum\{/.test(k))
            .reduce((n, [, v]) => n + v * 1000, 0),
        ),
        // Includes the stall of rendering the scrape before the run (prom-client resets the
        // event-loop histogram while rendering); metricsScrapeMs is what one scrape takes.
        eventLoopLagMaxMs: round((metrics1.get("zk_sidecar_nodejs_eventloop_lag_max_seconds") ?? NaN) * 1000),
        metricsScrapeMs: round(scrapeMs),
        peakRssMiB: memMiB(sidecar.pid, "VmHWM"),
        rssMiB: memMiB(sidecar.pid, "VmRSS"),
        rssAnonMiB: memMiB(sidecar.pid, "RssAnon"),
        rssFileMiB: memMiB(sidecar.pid, "RssFile"),
        heapUsedMiB: round((metrics1.get("zk_sidecar_nodejs_heap_size_used_bytes") ?? NaN) / 2 ** 20, 1),
        heapTotalMiB: round((metrics1.get("zk_sidecar_nodejs_heap_size_total_bytes") ?? NaN) / 2 ** 20, 1),
      },
      generator: {
        sendLateP99Ms: round(percentile(late, 99)),
        sendLateMaxMs: round(late.at(-1) ?? NaN),
        eventLoopDelayP99Ms: round(gen.loopDelayP99Ms),
        eventLoopDelayMaxMs: round(gen.loopDelayMaxMs),
      },
      machine: {
        cores,
        loadAverageBefore: load0,
        loadAverageAfter: load1,
        // CPU use during the run in % of one core (200 % = both cores of a 2-core machine busy):
        // the whole machine, each of our processes, and every other process (those alive at the
        // end; short-lived ones, e.g. compilers of an image build, only show in busyPercentOfOneCore).
        busyPercentOfOneCore: pct(machineBusyMs),
        // CPU time the hypervisor gave to other guests while this VM wanted it.
        stealPercentOfOneCore: pct(
          ((machine1.stealMs - machine0.stealMs) / (machine1.totalMs - machine0.totalMs)) * cores * windowMs,
        ),
        sidecarCpuPercent: pct(sidecarCpuMs),
        zookeeperCpuPercent: pct(zkCpuMs),
        generatorCpuPercent: round((100 * gen.cpuMs) / (gen.wallSeconds * 1000), 1),
        benchCpuPercent: pct(benchCpuMs),
        otherProcessesCpuPercent: pct(others.reduce((n, p) => n + p.ms, 0)),
        busiestOthers,
      },
      node: process.version,
      mode: values.mode,
      cacheMs: Number(values["cache-ms"]),
      nodeFlags: values.mode === "image" ? (process.env.ZK_SIDECAR_NODE_FLAGS ?? "wrapper defaults") : "none",
    };
    console.log(JSON.stringify(result, null, 2));
    const pass =
      result.failures === 0 && result.p99Ms <= TARGET_P99_MS && result.sidecar.peakRssMiB <= TARGET_RSS_MIB;
    console.log(
      pass
        ? `PASS: p99 ≤ ${TARGET_P99_MS} ms and peak RSS ≤ ${TARGET_RSS_MIB} MiB`
        : `FAIL: a target was missed (p99 ≤ ${TARGET_P99_MS} ms, peak RSS ≤ ${TARGET_RSS_MIB} MiB, no failures)`,
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    await se.destroy();
  }
}

if (values.generate) {
  if (values.url === undefined || values.out === undefined)
    throw new Error("--generate needs --url and --out");
  await generate(values.url, values.out);
} else {
  await bench();
}
