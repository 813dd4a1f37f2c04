// Readiness and liveness under faults, each server with its real sidecar: readiness means "serves
// in a quorum", liveness means "the process answers". The steps build on each other in order.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "../../../e2e/rig/processes.ts";
import type { ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "./sidecar-rig.ts";

const SYNC_LIMIT = 2;
const TICK_MS = 2000;
const CACHE_MS = 250; // sidecar-rig.ts sets ZK_READY_CACHE_MS=250
const FOUR_LETTER_TIMEOUT_MS = 500; // and ZK_4LW_TIMEOUT_MS=500

describe("zk-sidecar serve: readiness follows the quorum, liveness follows the process", () => {
  let se: SidecarEnsemble;

  beforeAll(async () => {
    se = await createSidecarEnsemble({ size: 3, name: "ready", syncLimit: SYNC_LIMIT, tickTime: TICK_MS });
    await se.ens.startAll();
    for (const server of se.ens.servers) await se.startSidecar(server);
  });

  afterAll(async () => {
    await se.destroy();
  });

  function dumpLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await se.ens.logs());
    });
  }

  const code = async (server: ZkServer, path: string): Promise<number> => (await se.get(server, path)).status;
  const readyBody = async (server: ZkServer): Promise<{ ready: boolean; mode: string; reason: string }> =>
    JSON.parse((await se.get(server, "/readyz")).body) as { ready: boolean; mode: string; reason: string };

  async function waitAllReady(servers: ZkServer[], timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `servers ${servers.map((s) => s.id).join(",")} ready`,
      async () => (await Promise.all(servers.map((s) => code(s, "/readyz")))).every((c) => c === 200),
      { timeoutMs },
    );
  }

  it("all three are ready and live at quorum", async () => {
    dumpLogsOnFailure();
    await se.ens.waitForQuorum();
    await waitAllReady(se.ens.servers);
    for (const s of se.ens.servers) expect(await code(s, "/livez")).toBe(200);
    const modes = await Promise.all(se.ens.servers.map(async (s) => (await readyBody(s)).mode));
    expect(modes.sort()).toEqual(["follower", "follower", "leader"]);
  });

  it("SIGKILL one follower: the other two stay ready, the dead member's sidecar says not ready", async () => {
    dumpLogsOnFailure();
    const leader = await se.ens.waitForQuorum();
    const victim = se.ens.servers.find((s) => s !== leader);
    if (!victim) throw new Error("no follower");
    await victim.kill();
    const others = se.ens.servers.filter((s) => s !== victim);
    // Stays ready: sampled for longer than syncLimit × tickTime, so a lost quorum would show.
    const until = Date.now() + SYNC_LIMIT * TICK_MS + 1000;
    while (Date.now() < until) {
      for (const s of others) expect(await code(s, "/readyz")).toBe(200);
      await sleep(200);
    }
    const dead = await se.get(victim, "/readyz");
    expect(dead.status).toBe(503);
    expect(dead.body).toContain("ECONNREFUSED");
    expect(await code(victim, "/livez")).toBe(503);
    for (const s of others) expect(await code(s, "/livez")).toBe(200);
  });

  it("kill a second: the survivor says not ready (no quorum) but stays live", async () => {
    dumpLogsOnFailure();
    const survivors = se.ens.servers.filter((s) => s.running);
    expect(survivors).toHaveLength(2);
    const [victim, survivor] = survivors as [ZkServer, ZkServer];
    await victim.kill();
    const body = await waitFor(
      "the survivor to report not ready",
      async () => {
        const r = await se.get(survivor, "/readyz");
        return r.status === 503 ? r.body : undefined;
      },
      { timeoutMs: SYNC_LIMIT * TICK_MS + CACHE_MS + 5000 },
    );
    expect(body).toContain("not serving");
    expect(await code(survivor, "/livez")).toBe(200);
    const status = JSON.parse((await se.get(survivor, "/status")).body) as { serving: boolean; mode: string };
    expect(status).toMatchObject({ serving: false, mode: "not-serving" });
  });

  it("restart both: all three are ready again", async () => {
    dumpLogsOnFailure();
    const down = se.ens.servers.filter((s) => !s.running);
    expect(down).toHaveLength(2);
    await Promise.all(down.map((s) => s.start()));
    await se.ens.waitForQuorum();
    await waitAllReady(se.ens.servers);
    for (const s of se.ens.servers) expect(await code(s, "/livez")).toBe(200);
  });

  it("SIGSTOP the leader: readiness follows ZooKeeper within syncLimit × tickTime plus the cache interval", async () => {
    dumpLogsOnFailure();
    const leader = await se.ens.waitForQuorum();
    const followers = se.ens.servers.filter((s) => s !== leader);
    leader.freeze();
    const frozenAt = Date.now();
    try {
      // The frozen leader's sidecar cannot get an answer: neither ready nor live.
      await waitFor(
        "the frozen leader's sidecar to say not ready",
        async () => (await code(leader, "/readyz")) === 503,
        {
          timeoutMs: CACHE_MS + FOUR_LETTER_TIMEOUT_MS + 2000,
        },
      );
      expect(await code(leader, "/livez")).toBe(503);

      // The followers notice after syncLimit × tickTime and elect a new leader among themselves.
      // Sample ZooKeeper itself (srvr, through the rig) and the sidecars side by side: the
      // sidecars must report each change no later than the cache interval after ZooKeeper does.
      type Sample = { zkServing: boolean; sidecarReady: boolean };
      const firstAt = { zkLeft: 0, sidecarLeft: 0, zkBack: 0, sidecarBack: 0 };
      const deadline = frozenAt + SYNC_LIMIT * TICK_MS + 15_000;
      while (Date.now() < deadline && (firstAt.zkBack === 0 || firstAt.sidecarBack === 0)) {
        const samples: Sample[] = await Promise.all(
          followers.map(async (s) => {
            const [mode, body] = await Promise.all([s.mode(), readyBody(s)]);
            return { zkServing: mode !== null, sidecarReady: body.ready };
          }),
        );
        const now = Date.now() - frozenAt;
        if (!firstAt.zkLeft && samples.some((x) => !x.zkServing)) firstAt.zkLeft = now;
        if (!firstAt.sidecarLeft && samples.some((x) => !x.sidecarReady)) firstAt.sidecarLeft = now;
        if (firstAt.zkLeft && !firstAt.zkBack && samples.every((x) => x.zkServing)) firstAt.zkBack = now;
        if (firstAt.sidecarLeft && !firstAt.sidecarBack && samples.every((x) => x.sidecarReady)) {
          firstAt.sidecarBack = now;
        }
        await sleep(25);
      }
      const slack = CACHE_MS + 300; // the cache interval, plus one sampling round on a busy machine
      // ZooKeeper itself leaves the frozen leader after about syncLimit × tickTime.
      expect(firstAt.zkLeft).toBeGreaterThan(0);
      expect(firstAt.zkLeft).toBeLessThanOrEqual(SYNC_LIMIT * TICK_MS + 2000);
      // The sidecars follow within the cache interval, going down and coming back up.
      expect(firstAt.sidecarLeft).toBeGreaterThan(0);
      expect(firstAt.sidecarLeft).toBeLessThanOrEqual(firstAt.zkLeft + slack);
      expect(firstAt.zkBack).toBeGreaterThan(0);
      expect(firstAt.sidecarBack).toBeGreaterThan(0);
      expect(firstAt.sidecarBack).toBeLessThanOrEqual(firstAt.zkBack + slack);
      // And once settled, the sidecars say what ZooKeeper says: a new leader and a follower.
      await sleep(CACHE_MS);
      const zkModes = await Promise.all(followers.map((s) => s.mode()));
      const sidecarModes = await Promise.all(followers.map(async (s) => (await readyBody(s)).mode));
      expect(sidecarModes).toEqual(zkModes);
      expect([...sidecarModes].sort()).toEqual(["follower", "leader"]);
      for (const s of followers) expect(await code(s, "/livez")).toBe(200);
    } finally {
      leader.thaw();
    }
    await se.ens.waitForQuorum({ timeoutMs: 60_000 });
    await waitAllReady(se.ens.servers);
  });
});
