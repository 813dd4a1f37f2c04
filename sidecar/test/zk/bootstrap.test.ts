// The configs `zk-sidecar init` renders are used by real ZooKeeper as they are: ensembles of 3
// and of 5 form a quorum from nothing, and every sidecar reports it.
import { afterEach, describe, expect, it, onTestFailed } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "./sidecar-rig.ts";

interface StatusBody {
  myid: number;
  mode: string;
  serving: boolean;
  config: { version: string; members: { id: number; host: string; role: string }[] } | null;
}

describe("zk-sidecar init: ensembles form from nothing", () => {
  let se: SidecarEnsemble | null = null;

  afterEach(async () => {
    await se?.destroy();
    se = null;
  });

  for (const size of [3, 5]) {
    it(`${size} members: ZooKeeper uses the rendered configs and a quorum forms`, async () => {
      const s = await createSidecarEnsemble({ size, name: `boot${size}` });
      se = s;
      onTestFailed(async () => {
        console.error(await s.ens.logs());
      });
      await s.ens.startAll();
      for (const server of s.ens.servers) await s.startSidecar(server);
      const leader = await s.ens.waitForQuorum({ timeoutMs: 90_000 });

      // Each server runs the zoo.cfg init rendered, with its own data dir and the dynamic file.
      for (const server of s.ens.servers) {
        const cfg = readFileSync(join(server.confDir, "zoo.cfg"), "utf8");
        expect(cfg).toContain(`dataDir=${server.dataDir}`);
        expect(cfg).toContain("4lw.commands.whitelist=ruok,srvr,mntr,conf");
        expect(readFileSync(join(server.dataDir, "myid"), "utf8")).toBe(`${server.id}\n`);
      }

      // Every sidecar is ready, and /status shows the committed membership by stable DNS names.
      await waitFor(
        "every sidecar ready",
        async () => {
          const codes = await Promise.all(
            s.ens.servers.map(async (srv) => (await s.get(srv, "/readyz")).status),
          );
          return codes.every((c) => c === 200);
        },
        { timeoutMs: 30_000 },
      );
      const statuses = await Promise.all(
        s.ens.servers.map(async (srv) => JSON.parse((await s.get(srv, "/status")).body) as StatusBody),
      );
      expect(statuses.map((st) => st.myid)).toEqual(s.ens.servers.map((srv) => srv.id));
      expect(statuses.filter((st) => st.mode === "leader")).toHaveLength(1);
      expect(statuses.find((st) => st.mode === "leader")?.myid).toBe(leader.id);
      for (const st of statuses) {
        expect(st.serving).toBe(true);
        expect(st.config?.members.map((m) => m.id)).toEqual(s.ens.servers.map((srv) => srv.id));
        expect(st.config?.members.every((m) => m.role === "participant")).toBe(true);
        // Every server sees every member by its stable DNS name: no bind address leaked into
        // the committed config through the leader's own line.
        expect(st.config?.members.map((m) => m.host)).toEqual(s.ens.servers.map((srv) => srv.dnsName));
        // The first leader gives the initial config the version of its first zxid.
        expect(st.config?.version).toMatch(/^[0-9a-f]+$/);
        expect(st.config?.version).not.toBe("0");
      }
    });
  }
});
