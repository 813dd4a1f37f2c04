// A restart never changes membership: a restarted server (init runs again, as in a new pod on the
// same volume) keeps its id, its data and the membership ZooKeeper committed, also when a reconfig
// changed that membership while it ran. A server removed and added again starts from a clean
// data directory, its old files moved aside on the same volume.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { connectZk, createZnode, readZnode } from "../../../e2e/rig/zk-client.ts";
import type { ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "./sidecar-rig.ts";

interface StatusBody {
  myid: number;
  serving: boolean;
  config: { version: string; members: { id: number; role: string }[] } | null;
}

describe("restarts keep membership and data", () => {
  let se: SidecarEnsemble;

  beforeAll(async () => {
    se = await createSidecarEnsemble({ size: 3, name: "keep", superPassword: "secret" });
    await se.ens.startAll();
    for (const server of se.ens.servers) await se.startSidecar(server);
    await se.ens.waitForQuorum();
  });

  afterAll(async () => {
    await se.destroy();
  });

  function dumpLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await se.ens.logs());
    });
  }

  async function status(server: ZkServer): Promise<StatusBody> {
    return JSON.parse((await se.get(server, "/status")).body) as StatusBody;
  }

  async function readThrough(server: ZkServer, path: string): Promise<string> {
    const client = await connectZk(se.ens.connectionString([server.id]));
    try {
      return await waitFor(
        `${path} through server ${server.id}`,
        () => readZnode(client, path).catch(() => undefined),
        {
          timeoutMs: 20_000,
        },
      );
    } finally {
      client.close();
    }
  }

  async function waitServing(server: ZkServer, ids: number[]): Promise<StatusBody> {
    return waitFor(
      `server ${server.id} serving with members ${ids.join(",")}`,
      async () => {
        const st = await status(server);
        const members = st.config?.members.map((m) => m.id);
        return st.serving && JSON.stringify(members) === JSON.stringify(ids) ? st : undefined;
      },
      { timeoutMs: 60_000 },
    );
  }

  it("a restarted server keeps its id, its membership and a znode written before", async () => {
    dumpLogsOnFailure();
    const writer = await connectZk(se.ens.connectionString([1]));
    try {
      await createZnode(writer, "/written-before", "kept");
    } finally {
      writer.close();
    }
    const s2 = se.ens.server(2);
    const before = await status(s2);
    await s2.restart();
    const after = await waitServing(s2, [1, 2, 3]);
    expect(after.myid).toBe(2);
    expect(after.config?.version).toBe(before.config?.version);
    expect(readFileSync(join(s2.dataDir, "myid"), "utf8")).toBe("2\n");
    expect(await readThrough(s2, "/written-before")).toBe("kept");
  });

  it("after a reconfig removed server 3 while server 2 ran, a restart of 2 keeps the committed membership", async () => {
    dumpLogsOnFailure();
    const leader = await se.ens.waitForQuorum();
    const out = await se.ens.cli(leader.id, ["addauth digest super:secret", "reconfig -remove 3"]);
    expect(out).toContain("Committed new configuration");
    const s2 = se.ens.server(2);
    const committed = await waitServing(s2, [1, 2]);
    // The operator's ConfigMap still says version 0 with members 1,2,3: ZooKeeper's own, newer
    // dynamic file on the volume wins.
    await s2.restart();
    const after = await waitServing(s2, [1, 2]);
    expect(after.config?.version).toBe(committed.config?.version);
    const cfg = readFileSync(join(s2.confDir, "zoo.cfg"), "utf8");
    expect(cfg).toContain(`dynamicConfigFile=${s2.confDir}/zoo.cfg.dynamic.${committed.config?.version}`);
    expect(await readThrough(s2, "/written-before")).toBe("kept");
  });

  it("server 3, removed and added again, starts from a clean data directory with its old files moved aside", async () => {
    dumpLogsOnFailure();
    const s3 = se.ens.server(3);
    // Removed servers keep running as non-voters and learn the new config; then the pod goes.
    await waitFor("server 3 to learn it was removed", () =>
      readdirSync(s3.confDir).some((f) => {
        if (!f.startsWith("zoo.cfg.dynamic.")) return false;
        return !readFileSync(join(s3.confDir, f), "utf8").includes("server.3=");
      }),
    );
    await s3.stop();
    await se.sidecars.get(3)?.stop();
    const committed = (await status(se.ens.server(1))).config;
    if (!committed) throw new Error("no committed config");
    // The operator adds server 3 back: the committed config plus the one joiner.
    se.setMembers(
      [
        { id: 1, role: "participant" },
        { id: 2, role: "participant" },
        { id: 3, role: "participant" },
      ],
      committed.version,
    );
    await s3.start();
    await se.startSidecar(s3);
    const stale = readdirSync(s3.dataDir).filter((f) => f.startsWith("stale-"));
    expect(stale).toHaveLength(1);
    expect(existsSync(join(s3.dataDir, stale[0] ?? "", "version-2"))).toBe(true);
    expect(readdirSync(s3.confDir).filter((f) => f.startsWith("stale-"))).toHaveLength(1);

    const leader = await se.ens.waitForQuorum({ ids: [1, 2] });
    const host = se.ens.dnsName(3);
    const out = await se.ens.cli(leader.id, [
      "addauth digest super:secret",
      `reconfig -add server.3=${host}:2888:3888:participant;${host}:2181`,
    ]);
    expect(out).toContain("Committed new configuration");
    const st = await waitServing(s3, [1, 2, 3]);
    expect(st.myid).toBe(3);
    expect(await readThrough(s3, "/written-before")).toBe("kept");
  });
});
