// An initialized ensemble never re-bootstraps silently (DESIGN.md): once the operator has written
// `initialized-at`, `zk-sidecar init` refuses a server whose volume was lost (exit 7, nothing
// written), and starts it empty only when the operator lists it in `rejoin-empty`; it then syncs
// the ensemble's data from the leader.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { connectZk, createZnode, readZnode } from "../../../e2e/rig/zk-client.ts";
import type { ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { CONFIGMAP_KEYS, ENV, EXIT_CODES } from "../../src/contract.ts";
import { createSidecarEnsemble, runSidecar, type SidecarEnsemble, sidecarEnv } from "./sidecar-rig.ts";

const INITIALIZED_AT = "2026-01-01T00:00:00.000Z";

describe("zk-sidecar init: a lost volume of an initialized ensemble", () => {
  let se: SidecarEnsemble;
  let victim: ZkServer;

  beforeAll(async () => {
    se = await createSidecarEnsemble({ size: 3, name: "lost" });
    await se.ens.startAll();
    const leader = await se.ens.waitForQuorum();
    const writer = await connectZk(se.ens.connectionString([leader.id]));
    try {
      await createZnode(writer, "/written-before", "kept");
    } finally {
      writer.close();
    }
    // A follower, so the other two keep their quorum (and leader) throughout.
    const follower = se.ens.servers.find((s) => s !== leader);
    if (!follower) throw new Error("no follower");
    victim = follower;
  });

  afterAll(async () => {
    await se.destroy();
  });

  function dumpLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await se.ens.logs());
    });
  }

  it("refuses the wiped server with exit 7, says why in the termination log, and writes nothing", async () => {
    dumpLogsOnFailure();
    await victim.stop();
    // A lost volume: the PVC is new, so both mounts of it (data, and conf as its subPath) are empty.
    for (const dir of [victim.dataDir, victim.confDir])
      for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true });
    // The operator recorded that the ensemble reached quorum.
    writeFileSync(join(se.operatorConfigDir, CONFIGMAP_KEYS.initializedAt), `${INITIALIZED_AT}\n`);
    const env = sidecarEnv(se.ens, victim, se.operatorConfigDir);
    const terminationLog = env[ENV.terminationMessagePath] ?? "";
    expect(dirname(terminationLog)).toBe(dirname(victim.dataDir));
    writeFileSync(terminationLog, ""); // the kubelet creates it for every container

    const r = await runSidecar(["init"], { ...env, [ENV.rejoinWaitMs]: "0" });
    expect(r.code).toBe(EXIT_CODES.emptyDataRefused);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      `zk-sidecar: pod lost-${victim.id - 1} (server ${victim.id}): the data directory ${victim.dataDir} holds no ZooKeeper database, but the ensemble has been initialized since ${INITIALIZED_AT}`,
    );
    expect(r.stderr).toContain('docs/operations.md "Lost volumes"');
    expect(readFileSync(terminationLog, "utf8")).toBe(r.stderr);
    expect(readdirSync(victim.dataDir)).toEqual([]);
    expect(readdirSync(victim.confDir)).toEqual([]);
  });

  it("listed in rejoin-empty a moment later, it starts empty, syncs from the leader and serves the znode written before", async () => {
    dumpLogsOnFailure();
    // The rig's prepare hook runs init with the default ZK_REJOIN_WAIT_MS: init (started well
    // within the second, normally) waits, re-reading the ConfigMap every 2 s, and picks the
    // operator's change up without failing first. (main.test.ts pins the wait down exactly.)
    const starting = victim.start();
    await sleep(1000);
    writeFileSync(join(se.operatorConfigDir, CONFIGMAP_KEYS.rejoinEmpty), `${victim.id}\n`);
    await starting;
    expect(readFileSync(join(victim.dataDir, "myid"), "utf8")).toBe(`${victim.id}\n`);
    await waitFor(`server ${victim.id} following`, async () => (await victim.mode()) === "follower", {
      timeoutMs: 60_000,
    });
    const reader = await connectZk(se.ens.connectionString([victim.id]));
    try {
      expect(await readZnode(reader, "/written-before")).toBe("kept");
    } finally {
      reader.close();
    }
    // It now holds the ensemble's data on its own volume: a later restart needs no permission.
    expect(readdirSync(join(victim.dataDir, "version-2")).some((f) => f.startsWith("snapshot."))).toBe(true);
    await victim.restart();
    await se.ens.waitForQuorum({ ids: se.ens.servers.map((s) => s.id) });
  });
});
