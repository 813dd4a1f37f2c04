// Every metric docs/sidecar.md lists is present, with the documented type, on a real server; and
// zookeeper_znode_count follows the data tree.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../../e2e/rig/paths.ts";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { connectZk, createZnode } from "../../../e2e/rig/zk-client.ts";
import type { ZkServer } from "../../../e2e/rig/zk-ensemble.ts";
import { createSidecarEnsemble, type SidecarEnsemble } from "./sidecar-rig.ts";

interface DocumentedMetric {
  name: string;
  type: string;
  leaderOnly: boolean;
}

/** The metric tables of docs/sidecar.md: rows "| `name` | type | meaning |" after "## Metrics". */
function documentedMetrics(): DocumentedMetric[] {
  const doc = readFileSync(join(repoRoot, "docs/sidecar.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Metrics"), doc.indexOf("## Exit codes"));
  const out: DocumentedMetric[] = [];
  let leaderOnly = false;
  for (const line of section.split("\n")) {
    if (line.startsWith("Leader only")) leaderOnly = true;
    if (line.startsWith("The sidecar's own")) leaderOnly = false;
    const m = /^\|\s*`([a-z_]+)`\s*\|\s*(gauge|counter|summary|histogram)\s*\|/.exec(line);
    if (m?.[1] && m[2]) out.push({ name: m[1], type: m[2], leaderOnly });
  }
  return out;
}

/** `# TYPE name type` lines of a Prometheus text exposition. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) if (m[1] && m[2]) out.set(m[1], m[2]);
  return out;
}

function sample(text: string, name: string): number | null {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m?.[1] === undefined ? null : Number(m[1]);
}

describe("zk-sidecar serve: /metrics on a real ensemble", () => {
  let se: SidecarEnsemble;
  let leader: ZkServer;

  beforeAll(async () => {
    se = await createSidecarEnsemble({ size: 3, name: "metrics" });
    await se.ens.startAll();
    for (const server of se.ens.servers) await se.startSidecar(server);
    leader = await se.ens.waitForQuorum();
  });

  afterAll(async () => {
    await se.destroy();
  });

  it("lists at least 40 metrics in the docs", () => {
    expect(documentedMetrics().length).toBeGreaterThanOrEqual(40);
  });

  it("exports every documented metric with its documented type (leader-only ones on the leader)", async () => {
    onTestFailed(async () => {
      console.error(await se.ens.logs());
    });
    const docs = documentedMetrics();
    // Four-letter words have been answered by now, so the labelled sidecar series exist too.
    await waitFor("all sidecars ready", async () =>
      (await Promise.all(se.ens.servers.map(async (s) => (await se.get(s, "/readyz")).status))).every(
        (c) => c === 200,
      ),
    );
    for (const server of se.ens.servers) {
      const res = await se.get(server, "/metrics");
      expect(res.status).toBe(200);
      const found = families(res.body);
      const isLeader = server === leader;
      for (const metric of docs) {
        if (metric.leaderOnly && !isLeader) {
          expect(found.has(metric.name), `${metric.name} on follower ${server.id}`).toBe(false);
          continue;
        }
        expect(found.get(metric.name), `${metric.name} on server ${server.id}`).toBe(metric.type);
      }
      expect(res.body).toMatch(
        new RegExp(`^zookeeper_server_state\\{state="${isLeader ? "leader" : "follower"}"\\} 1$`, "m"),
      );
      expect(sample(res.body, "zookeeper_up")).toBe(1);
      expect(sample(res.body, "zookeeper_quorum_size")).toBe(3);
    }
    // Nothing in a healthy server's mntr had to be skipped.
    expect(sample((await se.get(leader, "/metrics")).body, "zk_sidecar_mntr_values_skipped_total")).toBe(0);
  });

  it("zookeeper_znode_count grows when znodes are created", async () => {
    const count = async (): Promise<number> => {
      await new Promise((r) => setTimeout(r, 300)); // past the sidecar's cache interval
      const value = sample((await se.get(leader, "/metrics")).body, "zookeeper_znode_count");
      if (value === null) throw new Error("no zookeeper_znode_count");
      return value;
    };
    const before = await count();
    const client = await connectZk(se.ens.connectionString([leader.id]));
    try {
      for (let i = 0; i < 5; i++) await createZnode(client, `/metrics-${i}`, "x");
    } finally {
      client.close();
    }
    expect(await count()).toBe(before + 5);
  });
});
