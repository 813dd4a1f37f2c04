// Proves the ZooKeeper half of the rig is real: three JVMs form a quorum through their stable
// DNS names, data written through one server is read through another, and the ensemble survives
// losing its leader.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { createEnsemble, type ZkEnsemble } from "../../rig/zk-ensemble.ts";
import { waitFor } from "../../rig/processes.ts";
import { connectZk, createZnode, readZnode } from "../../rig/zk-client.ts";

describe("ZooKeeper ensemble rig", () => {
  let ens: ZkEnsemble;

  beforeAll(async () => {
    ens = await createEnsemble({ size: 3, name: "smoke", syncLimit: 2 });
    await ens.startAll();
  });

  afterAll(async () => {
    await ens.destroy();
  });

  function dumpLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await ens.logs());
    });
  }

  it("forms a quorum of three with exactly one leader, and srvr shows each server's mode", async () => {
    dumpLogsOnFailure();
    const leader = await ens.waitForQuorum();
    const modes = await Promise.all(ens.servers.map((s) => s.mode()));
    expect(modes.filter((m) => m === "leader")).toHaveLength(1);
    expect(modes.filter((m) => m === "follower")).toHaveLength(2);
    expect(await leader.mode()).toBe("leader");
    // Each server answers on its own address with the ports a pod has.
    expect(ens.servers.map((s) => s.ip)).toEqual([1, 2, 3].map((n) => ens.block.ip(n)));
  });

  it("reads through server 3 a znode written through server 1", async () => {
    dumpLogsOnFailure();
    const writer = await connectZk(ens.connectionString([1]));
    const reader = await connectZk(ens.connectionString([3]));
    try {
      await createZnode(writer, "/rig-smoke", "written-through-1");
      // Reads are local to a server: wait until server 3 has applied the write.
      const seen = await waitFor("server 3 to see the znode", () =>
        readZnode(reader, "/rig-smoke").catch(() => undefined),
      );
      expect(seen).toBe("written-through-1");
    } finally {
      writer.close();
      reader.close();
    }
  });

  it("elects a new leader after SIGKILL of the leader and keeps serving", async () => {
    dumpLogsOnFailure();
    const oldLeader = await ens.waitForQuorum();
    await oldLeader.kill();
    const survivors = ens.servers.filter((s) => s !== oldLeader).map((s) => s.id);
    const newLeader = await ens.waitForQuorum({ ids: survivors, timeoutMs: 30_000 });
    expect(newLeader.id).not.toBe(oldLeader.id);
    expect(await oldLeader.mode()).toBeNull();

    const client = await connectZk(ens.connectionString(survivors));
    try {
      await createZnode(client, "/after-failover", "still-serving");
      expect(await readZnode(client, "/after-failover")).toBe("still-serving");
    } finally {
      client.close();
    }

    // The killed server comes back with its data and rejoins as a follower.
    await oldLeader.start();
    await ens.waitForQuorum({ ids: [1, 2, 3] });
    expect(await oldLeader.mode()).toBe("follower");
  });
});
