// The operator's ZooKeeper admin client against real servers (Debian's ZooKeeper 3.8, one JVM per
// server, started as the product runs them: reconfigEnabled=true and a super digest). One ensemble
// of three is shared by every test; each test leaves it with members 1..3 and a quorum. A client
// error that escaped the library's socket handler would end this worker, and vitest would fail the
// run: every refusal below must come back as a ZkAdminError instead.
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { connectZk, readZnode } from "../../../e2e/rig/zk-client.ts";
import { createEnsemble, type ZkEnsemble, type ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { parseServerLine } from "../../../sidecar/src/contract.ts";
import { computeSuperDigest } from "../../src/builders/admin-secret.ts";
import {
  connectZkAdmin,
  parseEnsembleConfig,
  QUORUM_MARKER_PATH,
  ZkAdminError,
  type EnsembleConfig,
  type ZkAdmin,
  type ZkAdminOptions,
} from "../../src/runtime/zk-admin.ts";
import { reconfigure } from "../../src/runtime/reconfigure.ts";

const PASSWORD = "admin-secret";

describe("ZooKeeper admin client (reconfig, quorum marker, errors)", () => {
  let ens: ZkEnsemble;

  beforeAll(async () => {
    ens = await createEnsemble({ size: 3, name: "admin", superPassword: PASSWORD, syncLimit: 2 });
    await ens.startAll();
    await ens.waitForQuorum();
  });

  afterAll(async () => {
    await ens.destroy();
  });

  function dumpLogsOnFailure(): void {
    onTestFailed(async () => {
      console.error(await ens.logs());
    });
  }

  function hosts(ids: number[] = [1, 2, 3]): string[] {
    return ids.map((id) => `${ens.server(id).ip}:2181`);
  }

  async function withAdmin<T>(
    fn: (admin: ZkAdmin) => Promise<T>,
    options: Partial<ZkAdminOptions> = {},
  ): Promise<T> {
    const admin = await connectZkAdmin({ hosts: hosts(), password: PASSWORD, ...options });
    try {
      return await fn(admin);
    } finally {
      await admin.close();
    }
  }

  /** The ZkAdminError `promise` rejects with, and how long that took. */
  async function failure(promise: Promise<unknown>): Promise<{ err: ZkAdminError; ms: number }> {
    const started = Date.now();
    try {
      await promise;
    } catch (err) {
      if (err instanceof ZkAdminError) return { err, ms: Date.now() - started };
      throw err;
    }
    throw new Error("expected a ZkAdminError, the call succeeded");
  }

  const ids = (config: EnsembleConfig): number[] => config.members.map((m) => m.id);
  const newer = (a: string, b: string): boolean => BigInt(`0x${a}`) > BigInt(`0x${b}`);

  /** Waits until `conf` of every server in `ids` shows `config`, and `srvr` one leader, the rest followers. */
  async function expectServersAgree(config: EnsembleConfig, serverIds: number[]): Promise<void> {
    await waitFor(
      `servers ${serverIds.join(",")} to show config ${config.version}`,
      async () => {
        const seen = await Promise.all(
          serverIds.map(async (id) => parseEnsembleConfig(await ens.server(id).fourLetter("conf"))),
        );
        return seen.every((c) => JSON.stringify(c) === JSON.stringify(config));
      },
      { timeoutMs: 20_000 },
    );
    const modes = await Promise.all(serverIds.map((id) => ens.server(id).mode()));
    expect(modes.filter((m) => m === "leader")).toHaveLength(1);
    expect(modes.filter((m) => m === "follower")).toHaveLength(serverIds.length - 1);
  }

  it("adds server 4, then 5, then removes 5 and 4, one reconfig at a time, each committed and seen by every server", async () => {
    dumpLogsOnFailure();
    await withAdmin(async (admin) => {
      let config = await admin.readConfig();
      expect(ids(config)).toEqual([1, 2, 3]);
      expect(config.members[0]).toEqual(parseServerLine(ens.serverLine(1)));

      for (const id of [4, 5]) {
        // A joiner starts from the committed config plus itself, and syncs (not yet voting) first.
        const joiner = ens.addServer({
          version: config.version,
          servers: [...config.members.map((m) => ens.serverLine(m.id)), ens.serverLine(id)],
        });
        expect(joiner.id).toBe(id);
        await joiner.start();
        await waitFor(`server ${id} to sync`, async () => (await joiner.mode()) !== null, {
          timeoutMs: 30_000,
        });

        const before = config.version;
        config = await admin.reconfig({ add: [ens.serverLine(id)], fromVersion: before });
        expect(ids(config)).toEqual([1, 2, 3, 4, 5].filter((n) => n <= id));
        expect(config.members.at(-1)).toEqual(parseServerLine(ens.serverLine(id)));
        expect(newer(config.version, before)).toBe(true);
        expect(await admin.readConfig()).toEqual(config);
        await admin.writeQuorumMarker(config.version);
        await expectServersAgree(config, ids(config));
      }

      for (const id of [5, 4]) {
        const before = config.version;
        config = await admin.reconfig({ remove: [id], fromVersion: before });
        expect(ids(config)).toEqual([1, 2, 3, 4].filter((n) => n < id));
        expect(newer(config.version, before)).toBe(true);
        expect(await admin.readConfig()).toEqual(config);
        // The progress guarantee: a quorum write under the new config before the server goes.
        await admin.writeQuorumMarker(config.version);
        await ens.server(id).stop();
        await expectServersAgree(config, ids(config));
      }

      // Anyone may read the marker; only the super user may write it.
      const reader = await connectZk(ens.connectionString([1]));
      try {
        expect(JSON.parse(await readZnode(reader, QUORUM_MARKER_PATH))).toMatchObject({
          configVersion: config.version,
        });
        const acl = await new Promise<string[]>((resolve, reject) => {
          reader.getACL(QUORUM_MARKER_PATH, (err, acls) => {
            if (err) reject(new Error(String(err)));
            // The library's ACL has `permission`; @types/node-zookeeper-client calls it `perms`.
            else
              resolve(
                acls.map(
                  (a) => `${a.id.scheme}:${a.id.id}:${(a as unknown as { permission: number }).permission}`,
                ),
              );
          });
        });
        // The super user may do all (31), anyone may read (1). ZooKeeper shows a reader without
        // ADMIN on the node the digest's identity, with its hash replaced by "x".
        expect(acl).toEqual([
          `digest:${computeSuperDigest(PASSWORD).replace(/:.*/, ":x")}:31`,
          "world:anyone:1",
        ]);
      } finally {
        reader.close();
      }
    });
  });

  it("refuses a reconfig from a stale version with BadVersion, and changes nothing", async () => {
    dumpLogsOnFailure();
    await withAdmin(async (admin) => {
      const current = await admin.readConfig();
      const stale = (BigInt(`0x${current.version}`) - 1n).toString(16);
      const { err } = await failure(admin.reconfig({ remove: [3], fromVersion: stale }));
      expect(err.code).toBe("BadVersion");
      expect(err.zkCode).toBe(-103);
      expect(err.message).toContain(`the ensemble config changed since it was read (version ${stale})`);
      expect(err.message).toContain("read it again and decide again");
      expect(await admin.readConfig()).toEqual(current);
    });
  });

  it("reconfigure (the operator's step) sends nothing when the committed members are not the ones the step was decided on", async () => {
    dumpLogsOnFailure();
    const before = await withAdmin((admin) => admin.readConfig());
    const result = await reconfigure({
      hosts: hosts(),
      password: PASSWORD,
      remove: [3],
      // Decided on a view that had a 4th member: the config moved on since.
      decidedOn: {
        version: before.version,
        members: [1, 2, 3, 4].map((id) => ({ id, role: "participant" as const })),
      },
    });
    expect(result).toEqual({
      refused: `the committed config is version ${before.version} with members 1:participant,2:participant,3:participant, not the 1:participant,2:participant,3:participant,4:participant (version ${before.version}) the step was decided on; nothing was sent`,
    });
    expect(await withAdmin((admin) => admin.readConfig())).toEqual(before);
    // ZooKeeper's own refusals come back as refusals too, not as errors: a wrong password.
    const noAuth = await reconfigure({
      hosts: hosts(),
      password: "wrong",
      remove: [3],
      decidedOn: {
        version: before.version,
        members: before.members.map((m) => ({ id: m.id, role: m.role })),
      },
    });
    expect("refused" in noAuth && noAuth.refused).toContain("not authorised (NoAuth)");
    expect(await withAdmin((admin) => admin.readConfig())).toEqual(before);
  });

  it("refuses a change whose new config has no live quorum with NewConfigNoQuorum (-13), and changes nothing", async () => {
    dumpLogsOnFailure();
    const down = ens.server(3);
    await down.stop();
    try {
      await ens.waitForQuorum({ ids: [1, 2] });
      await withAdmin(
        async (admin) => {
          const current = await admin.readConfig();
          expect(ids(current)).toEqual([1, 2, 3]);
          // Without 2 the new config is {1, 3}, with only 1 up: no quorum of two.
          const { err } = await failure(admin.reconfig({ remove: [2], fromVersion: current.version }));
          expect(err.code).toBe("NewConfigNoQuorum");
          expect(err.zkCode).toBe(-13);
          expect(err.message).toContain("nothing was changed");
          expect(await admin.readConfig()).toEqual(current);
        },
        { hosts: hosts([1, 2]) },
      );
    } finally {
      await down.start();
      await ens.waitForQuorum({ ids: [1, 2, 3] });
    }
  });

  it("with quorum lost (2 of 3 stopped) a reconfig fails within its bound and nothing is sent; the config is unchanged once quorum returns", async () => {
    dumpLogsOnFailure();
    const admin = await connectZkAdmin({ hosts: hosts(), password: PASSWORD, requestTimeoutMs: 3000 });
    let before: EnsembleConfig;
    const survivor = ens.server(1);
    const stopped = [ens.server(2), ens.server(3)];
    try {
      before = await admin.readConfig();
      await Promise.all(stopped.map((s) => s.stop()));
      // The survivor stops serving and drops its clients; a new session is refused from then on.
      await waitFor("server 1 to stop serving", async () => (await survivor.mode()) === null, {
        timeoutMs: 20_000,
      });
      await waitFor("the admin session to be dropped", () => admin.server === null, { timeoutMs: 10_000 });

      const { err, ms } = await failure(admin.reconfig({ remove: [3], fromVersion: before.version }));
      expect(err.code).toBe("Timeout");
      expect(ms).toBeGreaterThanOrEqual(2900);
      expect(ms).toBeLessThan(4500);
      expect(err.message).toContain("no ZooKeeper session with any of");
      expect(err.message).toContain(`${survivor.ip}:2181: closed the connection before a session began`);
      expect(err.message).toContain("nothing was sent");
    } finally {
      await admin.close();
      await Promise.all(stopped.map((s) => s.start()));
      await ens.waitForQuorum({ ids: [1, 2, 3] });
    }
    await withAdmin(async (fresh) => {
      expect(await fresh.readConfig()).toEqual(before);
    });
  });

  it("answers NoAuth to a client whose password does not match the super digest, and changes nothing", async () => {
    dumpLogsOnFailure();
    const current = await withAdmin(async (admin) => {
      // The marker exists, as after any reconfig, so that the wrong password meets its ACL.
      const c = await admin.readConfig();
      await admin.writeQuorumMarker(c.version);
      return c;
    });
    await withAdmin(
      async (wrong) => {
        // The config is world-readable; changing it or writing the marker is not.
        expect(await wrong.readConfig()).toEqual(current);
        const rc = await failure(wrong.reconfig({ remove: [3], fromVersion: current.version }));
        expect(rc.err.code).toBe("NoAuth");
        expect(rc.err.zkCode).toBe(-102);
        expect(rc.err.message).toContain("the password does not match the servers' super digest");
        const marker = await failure(wrong.writeQuorumMarker(current.version));
        expect(marker.err.code).toBe("NoAuth");
        expect(await wrong.readConfig()).toEqual(current);
      },
      { password: "not-the-password" },
    );
  });

  it("gives up with Timeout within its bound on hosts that refuse or never answer the handshake", async () => {
    const silent: Server = createServer(() => {
      // Accepts and never answers, as a hung server does.
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    try {
      const refused = "127.0.0.1:1";
      const hung = `127.0.0.1:${address.port}`;
      const { err, ms } = await failure(
        // A 2 s session timeout gives each host a 1 s attempt, so both are tried within the bound.
        connectZkAdmin({
          hosts: [refused, hung],
          password: PASSWORD,
          connectTimeoutMs: 2000,
          sessionTimeoutMs: 2000,
        }),
      );
      expect(err.code).toBe("Timeout");
      expect(err.operation).toBe("connect");
      expect(ms).toBeGreaterThanOrEqual(1900);
      expect(ms).toBeLessThan(3500);
      expect(err.message).toContain(`${refused}: connection refused`);
      expect(err.message).toContain(`${hung}: accepted the connection`);
    } finally {
      silent.close();
    }
  });

  it("bounds every call when the connected server hangs (SIGSTOP), and close() returns at once", async () => {
    dumpLogsOnFailure();
    const frozen: ZkServer = ens.server(3);
    const admin = await connectZkAdmin({ hosts: hosts([3]), password: PASSWORD, requestTimeoutMs: 1500 });
    const current = await admin.readConfig();
    frozen.freeze();
    try {
      const read = await failure(admin.readConfig());
      expect(read.err.code).toBe("Timeout");
      expect(read.ms).toBeLessThan(2500);
      expect(read.err.message).toContain(`${frozen.ip}:2181 did not answer within 1500 ms`);
      // The silent connection was dropped; the reconnection meets the same hung server.
      const change = await failure(admin.reconfig({ remove: [3], fromVersion: current.version }));
      expect(change.err.code).toBe("Timeout");
      expect(change.ms).toBeLessThan(2500);
      expect(change.err.message).toContain("nothing was sent");
      const started = Date.now();
      await admin.close();
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      frozen.thaw();
      await admin.close();
    }
    await ens.waitForQuorum({ ids: [1, 2, 3] });
    await withAdmin(async (fresh) => {
      expect(await fresh.readConfig()).toEqual(current);
    });
  });
});
