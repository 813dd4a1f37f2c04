// Benchmark: /readyz latency of the real sidecar process against a real ZooKeeper, at a steady
// request rate, and the sidecar's peak RSS. Each request opens a new TCP connection, as the
// kubelet's HTTP probes do.
//
//   node bench/sidecar-readyz.ts [--rate 50] [--seconds 30] [--mode image|source]
//
// --mode image (default) runs the sidecar as its image does: compiled by tsc with
// sidecar/tsconfig.build.json and started through sidecar/bin/zk-sidecar (with its Node flags;
// ZK_SIDECAR_NODE_FLAGS overrides them). --mode source runs `node sidecar/src/main.ts serve`.
//
// Targets (DESIGN.md): p99 ≤ 5 ms at 50 requests/s, RSS ≤ 60 MiB.
import { request } from "node:http";
import { execFileSync } from "node:child_process";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../e2e/rig/paths.ts";
import { createSidecarEnsemble, MAIN } from "../sidecar/test/zk/sidecar-rig.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "50" },
    seconds: { type: "string", default: "30" },
    mode: { type: "string", default: "image" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);

function get(host: string, path: string): Promise<{ status: number; ms: number }> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host, port: 8081, path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - start) / 1e6 });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** A /proc/PID/status memory field in MiB (VmHWM = peak RSS, VmRSS, RssAnon, RssFile). */
function memMiB(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m?.[1] ? Number((Number(m[1]) / 1024).toFixed(1)) : NaN;
}

/** A quantile of the sidecar's own zk_sidecar_probe_duration_seconds{probe="ready"}, as a bucket bound. */
function histogramQuantileMs(metrics: string, q: number): number {
  const buckets = [
    ...metrics.matchAll(/^zk_sidecar_probe_duration_seconds_bucket\{le="([^"]+)",probe="ready"\} (\d+)$/gm),
  ].map((m) => ({ le: m[1] === "+Inf" ? Infinity : Number(m[1]), count: Number(m[2]) }));
  const total = buckets.at(-1)?.count ?? 0;
  return (buckets.find((b) => b.count >= q * total)?.le ?? NaN) * 1000;
}

const se = await createSidecarEnsemble({ size: 1, name: "bench" });
try {
  await se.ens.startAll();
  await se.ens.waitForQuorum();
  const server = se.ens.server(1);
  // The probe cache as deployed (ZK_READY_CACHE_MS default 1000), not the tests' shorter one.
  const env: Record<string, string> = { ZK_READY_CACHE_MS: "1000", ZK_4LW_TIMEOUT_MS: "1000" };
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
  for (let i = 0; i < 20; i++) await get(server.ip, "/readyz"); // warm-up

  const latencies: number[] = [];
  let failures = 0;
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      get(server.ip, "/readyz").then(
        (r) => {
          if (r.status === 200) latencies.push(r.ms);
          else failures++;
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  const load = os.loadavg()[0] ?? NaN;
  const metrics = await new Promise<string>((res, rej) => {
    request({ host: server.ip, port: 8081, path: "/metrics", agent: false }, (r) => {
      let body = "";
      r.on("data", (c: Buffer) => (body += c.toString()));
      r.on("end", () => {
        res(body);
      });
    })
      .on("error", rej)
      .end();
  });
  latencies.sort((a, b) => a - b);
  const result = {
    requests: total,
    ok: latencies.length,
    failures,
    seconds: Number(elapsed.toFixed(1)),
    achievedRate: Number((total / elapsed).toFixed(1)),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    maxMs: Number((latencies.at(-1) ?? NaN).toFixed(2)),
    serverP50MsAtMost: histogramQuantileMs(metrics, 0.5),
    serverP99MsAtMost: histogramQuantileMs(metrics, 0.99),
    srvrSent: Number(
      /^zk_sidecar_four_letter_word_duration_seconds_count\{word="srvr"\} (\d+)$/m.exec(metrics)?.[1],
    ),
    sidecarPeakRssMiB: memMiB(sidecar.pid, "VmHWM"),
    sidecarRssMiB: memMiB(sidecar.pid, "VmRSS"),
    sidecarRssAnonMiB: memMiB(sidecar.pid, "RssAnon"),
    sidecarRssFileMiB: memMiB(sidecar.pid, "RssFile"),
    loadAverage1m: Number(load.toFixed(2)),
    cores: os.availableParallelism(),
    node: process.version,
    mode: values.mode,
    nodeFlags: values.mode === "image" ? (process.env.ZK_SIDECAR_NODE_FLAGS ?? "wrapper defaults") : "none",
  };
  console.log(JSON.stringify(result, null, 2));
  const pass = result.failures === 0 && result.p99Ms <= 5 && result.sidecarPeakRssMiB <= 60;
  console.log(pass ? "PASS: p99 ≤ 5 ms and RSS ≤ 60 MiB" : "FAIL: a target was missed");
  process.exitCode = pass ? 0 : 1;
} finally {
  await se.destroy();
}
