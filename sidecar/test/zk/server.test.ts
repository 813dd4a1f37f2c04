// buildServer(deps) driven with inject() against a real ZooKeeper (a one-member quorum): the
// cache turns a burst of probes into one four-letter word, and /status, /metrics read the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { createMetrics } from "../../src/metrics.ts";
import { ZooKeeperProbe } from "../../src/probe.ts";
import { buildServer, type SidecarApp } from "../../src/server.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "./sidecar-rig.ts";

const CACHE_MS = 300;

describe("buildServer with inject() against a real ZooKeeper", () => {
  let se: SidecarEnsemble;
  let app: SidecarApp;
  let probe: ZooKeeperProbe;

  beforeAll(async () => {
    se = await createSidecarEnsemble({ size: 1, name: "inject" });
    await se.ens.startAll();
    await se.ens.waitForQuorum();
    const metrics = createMetrics();
    const server = se.ens.server(1);
    probe = new ZooKeeperProbe({
      host: server.ip,
      port: 2181,
      myid: 1,
      timeoutMs: 1000,
      cacheMs: CACHE_MS,
      metrics,
    });
    app = buildServer({ probe, metrics, logger: pino({ level: "silent" }) });
  });

  afterAll(async () => {
    await app.close();
    await se.destroy();
  });

  it("answers a burst of 50 readiness probes with one srvr", async () => {
    await sleep(CACHE_MS);
    const before = probe.sent;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => app.inject({ method: "GET", url: "/readyz" })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(50).fill(200));
    expect(answers[0]?.json()).toEqual({ ready: true, mode: "leader", reason: "serving as leader" });
    expect(probe.sent - before).toBe(1);
    // After the cache interval the next probe asks ZooKeeper again.
    await sleep(CACHE_MS + 50);
    await app.inject({ method: "GET", url: "/readyz" });
    expect(probe.sent - before).toBe(2);
  });

  it("is live", async () => {
    const res = await app.inject({ method: "GET", url: "/livez" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ live: true, reason: "ZooKeeper answers ruok" });
  });

  it("reports status: myid, mode, zxid and the committed config", async () => {
    const res = await app.inject({ method: "GET", url: "/status" });
    expect(res.statusCode).toBe(200);
    const st = res.json<Record<string, unknown>>();
    expect(st).toMatchObject({ myid: 1, mode: "leader", serving: true, ready: true, lastError: null });
    expect(st.lastZxid).toMatch(/^0x[0-9a-f]+$/);
    const host = se.ens.dnsName(1);
    expect(st.config).toEqual({
      version: expect.stringMatching(/^[0-9a-f]+$/) as unknown,
      members: [
        {
          id: 1,
          host,
          quorumPort: 2888,
          electionPort: 3888,
          role: "participant",
          clientAddress: host,
          clientPort: 2181,
        },
      ],
    });
  });

  it("exports mntr and the sidecar's own metrics in one scrape", async () => {
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toMatch(/^zookeeper_server_state\{state="leader"\} 1$/m);
    expect(res.body).toMatch(/^zookeeper_quorum_size 1$/m);
    expect(res.body).toMatch(/^zk_sidecar_probes_total\{probe="ready",outcome="pass"\} \d+$/m);
    expect(res.body).toMatch(/^zk_sidecar_process_resident_memory_bytes \d+$/m);
  });
});
