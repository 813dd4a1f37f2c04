// buildServer(deps) on a loopback port against a real ZooKeeper (a one-member quorum): the cache
// turns a burst of probes into one four-letter word, and /status, /metrics read the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { readFileSync } from "node:fs";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { ZooKeeperProbe } from "../../src/probe.ts";
import { buildServer, type SidecarApp } from "../../src/server.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "./sidecar-rig.ts";

/**
 * Long enough that a burst of 50 requests lands within 3/4 of it (past that, an answer is served
 * while a background refresh runs) even on a loaded 2-core machine: at 300 ms the burst sometimes
 * took longer under a concurrent e2e run and cost a second srvr.
 */
const CACHE_MS = 2000;

interface Answer {
  statusCode: number;
  headers: Headers;
  body: string;
  json(): unknown;
}

describe("buildServer against a real ZooKeeper", () => {
  let se: SidecarEnsemble;
  let app: SidecarApp;
  let probe: ZooKeeperProbe;
  let base = "";

  const request = async (path: string, method = "GET"): Promise<Answer> => {
    const res = await fetch(base + path, { method, signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    return {
      statusCode: res.status,
      headers: res.headers,
      body,
      json: () => JSON.parse(body) as unknown,
    };
  };

  beforeAll(async () => {
    se = await createSidecarEnsemble({ size: 1, name: "server" });
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
    app = buildServer({ probe, metrics, logger: createLogger({ level: "silent" }) });
    const port = await app.listen({ host: server.ip, port: 0 });
    base = `http://${server.ip}:${port}`;
  });

  afterAll(async () => {
    await app.close();
    await se.destroy();
  });

  it("answers a burst of 50 readiness probes with one srvr", async () => {
    await sleep(CACHE_MS);
    const before = probe.sent;
    const answers = await Promise.all(Array.from({ length: 50 }, () => request("/readyz")));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(50).fill(200));
    expect(answers[0]?.json()).toEqual({ ready: true, mode: "leader", reason: "serving as leader" });
    expect(probe.sent - before).toBe(1);
    // After the cache interval the next probe asks ZooKeeper again.
    await sleep(CACHE_MS + 50);
    await request("/readyz");
    expect(probe.sent - before).toBe(2);
  });

  it("is live", async () => {
    const res = await request("/livez");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ live: true, reason: "ZooKeeper answers ruok" });
  });

  it("reports status: myid, mode, zxid and the committed config", async () => {
    const res = await request("/status");
    expect(res.statusCode).toBe(200);
    const st = res.json() as Record<string, unknown>;
    expect(st).toMatchObject({ myid: 1, mode: "leader", serving: true, ready: true, lastError: null });
    // The only member leads and has no followers to sync.
    expect(st.syncedFollowers).toBe(0);
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
    const res = await request("/metrics");
    expect(res.statusCode).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(res.body).toMatch(/^zookeeper_server_state\{state="leader"\} 1$/m);
    expect(res.body).toMatch(/^zookeeper_quorum_size 1$/m);
    expect(res.body).toMatch(/^zk_sidecar_probes_total\{probe="ready",outcome="pass"\} \d+$/m);
    expect(res.body).toMatch(/^zk_sidecar_process_resident_memory_bytes \d+$/m);
  });

  it("answers HEAD without a body, other methods with 405 and unknown paths with 404", async () => {
    const head = await request("/readyz", "HEAD");
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");
    const post = await request("/readyz", "POST");
    expect(post.statusCode).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const missing = await request("/nope");
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: "not found", path: "/nope" });
    // A query string (some probes add one) does not change the route.
    expect((await request("/livez?verbose=1")).statusCode).toBe(200);
  });

  it("refreshes an answer past 3/4 of its life in the background, so a probe does not wait for ZooKeeper", async () => {
    const server = se.ens.server(1);
    let t = 0;
    const p = new ZooKeeperProbe({
      host: server.ip,
      port: 2181,
      myid: 1,
      timeoutMs: 2000,
      cacheMs: 1000,
      metrics: createMetrics(),
      now: () => t,
    });
    expect((await p.ready()).ready).toBe(true);
    t = 700;
    await p.ready();
    expect(p.sent).toBe(1);
    server.freeze();
    try {
      // SIGSTOP takes effect asynchronously: wait until every thread of the JVM has stopped.
      const pid = server.process?.pid ?? NaN;
      await waitFor("ZooKeeper to stop", () => readFileSync(`/proc/${pid}/stat`, "utf8").includes(") T "), {
        timeoutMs: 5000,
      });
      // Past 3/4 of its life: answered from the cache at once although ZooKeeper cannot answer,
      // with one refresh in flight that later probes share.
      t = 750;
      expect(await p.ready()).toMatchObject({ ready: true, mode: "leader" });
      expect(p.sent).toBe(2);
      t = 900;
      expect((await p.ready()).ready).toBe(true);
      expect(p.sent).toBe(2);
      // Expired: the probe waits for the refresh in flight, which times out.
      t = 1100;
      expect(await p.ready()).toMatchObject({ ready: false, mode: "unreachable" });
      expect(p.sent).toBe(2);
    } finally {
      server.thaw();
    }
    t = 2200;
    expect((await p.ready()).ready).toBe(true);
    expect(p.sent).toBe(3);
  });
});
