// The writer against real ZooKeeper servers (the zk tier's JVMs on 127.x): what it counts as
// acknowledged is really there after a leader dies, the zxid it records for a create is the one
// ZooKeeper stored, the election is counted, and a silent server's connection is dropped.
import { afterAll, beforeAll, describe, expect, onTestFailed, test } from "vitest";
import { waitFor } from "../../../rig/processes.ts";
import { createEnsemble, type ZkEnsemble, type ZkServer } from "../../../rig/zk-ensemble.ts";
import { newRunId, startWriting, type MemberStatus } from "../../writer.ts";
import { closeClient, connect, watchSilence } from "../../zk.ts";

/** What the sidecar's /status would say, from `srvr` (there is no sidecar on this tier). */
async function srvrStatus(server: ZkServer): Promise<MemberStatus> {
  const srvr = await server.fourLetter("srvr");
  const mode = /^Mode: (\w+)/m.exec(srvr)?.[1] ?? "not-serving";
  const zxid = /^Zxid: (0x[0-9a-f]+)/m.exec(srvr)?.[1] ?? null;
  return { mode, serving: mode !== "not-serving", zxid, configVersion: null };
}

describe("the writer on a real ensemble", () => {
  let ens: ZkEnsemble;

  beforeAll(async () => {
    ens = await createEnsemble({ size: 3, name: "wr", syncLimit: 2 });
    await ens.startAll();
    await ens.waitForQuorum();
  });

  afterAll(async () => {
    await ens.destroy();
  });

  test("keeps every acknowledged write through a leader's SIGKILL, with the zxids ZooKeeper stored", async () => {
    onTestFailed(async () => {
      console.error(await ens.logs());
    });
    const lines: string[] = [];
    const writer = await startWriting({
      run: newRunId(),
      connectionString: ens.connectionString(),
      members: ens.servers.map((s) => ({ id: s.id, address: `${s.ip}:2181` })),
      readStatus: (id) => srvrStatus(ens.server(id)),
      ratePerSecond: 100,
      payloadBytes: 128,
      sessionTimeoutMs: 6_000,
      maxInFlight: 2_000,
      statusIntervalMs: 200,
      log: (m) => lines.push(m),
    });
    onTestFailed(() => {
      console.error(lines.join("\n"));
    });
    await waitFor("writes flowing and the leader seen", () => {
      const p = writer.progress();
      return p.acknowledged >= 100 && p.epoch?.leader != null;
    });
    const leader = await ens.leader();
    writer.startFault("kill-leader");
    await leader.kill();
    const before = writer.progress().acknowledged;
    await ens.waitForQuorum({
      ids: ens.servers.filter((s) => s !== leader).map((s) => s.id),
      timeoutMs: 30_000,
    });
    await waitFor("writes to resume", () => writer.progress().acknowledged >= before + 100, {
      timeoutMs: 30_000,
    });
    const window = writer.endFault("kill-leader");
    await leader.start();
    await ens.waitForQuorum({ timeoutMs: 60_000 });
    await waitFor("the old leader serving again", async () => (await leader.mode()) === "follower", {
      timeoutMs: 30_000,
    });
    const checkpoint = await writer.verify();
    expect(checkpoint).toMatchObject({ lost: 0, corrupted: 0, unreadable: 0 });
    const report = await writer.stop();
    process.stderr.write(
      `[zk] writer: ${report.acknowledged} acknowledged, ${report.failed.count} failed ` +
        `(${JSON.stringify(report.failed.byError)}), gap during the kill ${window.longestGap.ms} ms, ` +
        `p99 ${window.latency.p99} ms, elections ${report.elections}\n`,
    );
    expect(report.lost).toBe(0);
    expect(report.corrupted).toBe(0);
    expect(report.verdict.unreadable).toBe(0);
    expect(report.verdict.members.map((m) => m.foreign)).toEqual([[], [], []]);
    // The zxid recorded at acknowledgement is the czxid read back (verifyMember compares them).
    expect(report.zxidRecorded).toBe(report.acknowledged);
    expect(report.verdict.members.every((m) => m.contentChecked === report.acknowledged)).toBe(true);
    expect(window.elections).toHaveLength(1);
    expect(window.elections[0]?.leader).not.toBe(leader.id);
    expect(report.elections).toBe(1);
    expect(window.acknowledged).toBeGreaterThan(0);
  });

  test("drops the connection to a frozen server after two thirds of the session timeout", async () => {
    const leader = await ens.leader();
    const follower = ens.servers.find((s) => s !== leader);
    if (follower === undefined) throw new Error("no follower");
    const client = await connect(`${follower.ip}:2181`, { sessionTimeoutMs: 6_000, timeoutMs: 10_000 });
    const drops: number[] = [];
    const stop = watchSilence(
      client,
      () => (client.getSessionTimeout() * 2) / 3,
      () => drops.push(Date.now()),
    );
    try {
      // Idle but healthy: the library's pings are answered, nothing is dropped.
      await new Promise((r) => setTimeout(r, 5_000));
      expect(drops).toEqual([]);
      const frozenAt = Date.now();
      follower.freeze();
      try {
        await waitFor("the silent connection dropped", () => drops.length > 0, { timeoutMs: 20_000 });
      } finally {
        follower.thaw();
      }
      const after = (drops[0] ?? 0) - frozenAt;
      process.stderr.write(`[zk] silent connection dropped ${after} ms after the freeze (session 6 s)\n`);
      expect(after).toBeGreaterThan(0);
    } finally {
      stop();
      await closeClient(client, 15_000);
    }
  });
});
