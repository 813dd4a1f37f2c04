// The operator's admin client over TLS against real servers whose plain client port the operator
// could not reach in a pod: it goes to the members' secure ports through its TLS tunnels
// (operator/src/runtime/tls-tunnel.ts), verifying each member's certificate against the cluster's
// CA and its stable DNS name. TLS is set up by the real `zk-sidecar init` (sidecar/test/zk).
import { readFileSync } from "node:fs";
import type { LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type CertPair, createCa } from "../../../e2e/rig/certs.ts";
import { PORTS } from "../../../sidecar/src/contract.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "../../../sidecar/test/zk/sidecar-rig.ts";
import { RigTlsSecrets } from "../../../sidecar/test/zk/tls-secrets.ts";
import { reconfigure } from "../../src/runtime/reconfigure.ts";
import { connectZkAdmin, ZkAdminError } from "../../src/runtime/zk-admin.ts";

const PASSWORD = "tls-admin";

describe("the admin client over TLS", () => {
  let se: SidecarEnsemble;
  let secrets: RigTlsSecrets;
  let ca: CertPair;
  let otherCa: CertPair;
  let secureHosts: string[];
  let lookup: LookupFunction;

  beforeAll(async () => {
    se = await createSidecarEnsemble({
      size: 3,
      name: "admintls",
      superPassword: PASSWORD,
      env: (s) => secrets.env(s),
    });
    const dir = se.ens.block.path("tls");
    secrets = new RigTlsSecrets(dir);
    [ca, otherCa] = await Promise.all([createCa(dir, "ca", "zk-ca"), createCa(dir, "other", "other-ca")]);
    for (const s of se.ens.servers) await secrets.writeSecret(s, ca, [ca], "a");
    await se.ens.startAll();
    await se.ens.waitForQuorum();
    secureHosts = se.ens.servers.map((s) => `${s.dnsName}:${PORTS.secureClient}`);
    // The rig's stable names resolve only in its hosts file (Java's); Node is given them here.
    const byName = new Map(se.ens.servers.map((s) => [s.dnsName, s.ip]));
    lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      const ip = byName.get(hostname);
      if (ip === undefined)
        callback(Object.assign(new Error(`unknown host ${hostname}`), { code: "ENOTFOUND" }));
      else if (options.all) callback(null, [{ address: ip, family: 4 }]);
      else callback(null, ip, 4);
    }) as unknown as LookupFunction;
  }, 180_000);

  afterAll(async () => {
    await se.destroy();
  });

  it("reads the config, removes and re-adds a member, all through the secure ports", async () => {
    onTestFailed(async () => {
      console.error(await se.ens.logs());
    });
    const tls = { ca: readFileSync(ca.cert, "utf8"), lookup };
    const admin = await connectZkAdmin({ hosts: secureHosts, password: PASSWORD, tls });
    const config = await admin.readConfig().finally(() => admin.close());
    expect(config.members.map((m) => m.id)).toEqual([1, 2, 3]);

    // A follower goes and comes back (removing the leader would end every session with an election).
    const leader = await se.ens.leader();
    const victim = [1, 2, 3].find((id) => id !== leader.id) ?? 0;
    const staying = [1, 2, 3].filter((id) => id !== victim);
    const hostsOf = (ids: number[]): string[] => ids.map((id) => secureHosts[id - 1] ?? "");
    const removed = await reconfigure({
      hosts: hostsOf(staying),
      password: PASSWORD,
      tls,
      remove: [victim],
      decidedOn: { version: config.version, members: config.members.map(({ id, role }) => ({ id, role })) },
    });
    if (!("version" in removed)) throw new Error(`remove refused: ${removed.refused}`);
    const added = await reconfigure({
      hosts: hostsOf(staying),
      password: PASSWORD,
      tls,
      add: [se.ens.serverLine(victim)],
      decidedOn: {
        version: removed.version,
        members: staying.map((id) => ({ id, role: "participant" as const })),
      },
    });
    if (!("version" in added)) throw new Error(`add refused: ${added.refused}`);
    await se.ens.waitForQuorum({ ids: [1, 2, 3] });
  });

  it("refuses members whose certificates do not chain to the CA it was given, and says why", async () => {
    const err = await connectZkAdmin({
      hosts: secureHosts,
      password: PASSWORD,
      tls: { ca: readFileSync(otherCa.cert, "utf8"), lookup },
      connectTimeoutMs: 3000,
    }).then(
      async (a) => {
        await a.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ZkAdminError);
    expect((err as ZkAdminError).message).toMatch(
      /TLS: .*(self-signed|unable to verify|unable to get local issuer)/i,
    );
  });
});
