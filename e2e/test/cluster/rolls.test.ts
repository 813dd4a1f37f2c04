// Rolling restarts, proved: one 3-member ensemble managed by the operator, under one writer's
// steady traffic, rolled by each thing that changes its pods (the image, spec.config, the restart
// annotation with the operator's pod deleted mid-roll), then by an image that cannot start (the
// roll halts on one member; reverting completes it). `kubectl rollout restart` is one more template
// change the same roll acts on; the kube tier proves the operator keeps kubectl's annotation.
// Each roll is watched pod by pod: never more than one member down, each member restarted once,
// the leader last, exactly one election, every acknowledged write read back from each member.
// Each prints its row of docs/reliability.md's roll table.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { OPERATOR_NAMESPACE } from "../../rig/local-cluster.ts";
import { nodeContainerdAddress } from "../../rig/node/node.ts";
import { waitFor } from "../../rig/processes.ts";
import {
  ensembleUnderTraffic,
  expectNothingLost,
  fmtS,
  printTable,
  type Disruption,
  type Steady,
} from "./under-traffic.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `rolls-${randomBytes(3).toString("hex")}`;
const name = "zk";
const MEMBERS = 3;
const RESTART_ANNOTATION = "zookeeper.ensemble.dev/restartedAt";

const rig = ensembleUnderTraffic({ kubeconfig, namespace, name, members: MEMBERS, images });
const { kubectl, zkPods, clusterJson, clusterEvents, podOf } = rig;

/** A second tag of the ZooKeeper image built here: the same bytes, another reference. */
const SECOND_TAG = images.zookeeper.ref.replace(/:[^:/]+$/, ":roll-second");
/** An image the node does not have; with pull policy Never the kubelet refuses it at once. */
const MISSING_IMAGE = images.zookeeper.ref.replace(/:[^:/]+$/, ":does-not-exist");

/** Tags `ref` as `tag` in the node's containerd, where the kubelet finds images. */
async function tagOnNode(ref: string, tag: string): Promise<void> {
  const address = nodeContainerdAddress();
  if (address === null) throw new Error("the rig's node has no containerd socket");
  await promisify(execFile)(
    "ctr",
    ["--address", address, "--namespace", "k8s.io", "images", "tag", "--force", ref, tag],
    { timeout: 30_000 },
  );
}

async function patchSpec(spec: object): Promise<void> {
  await kubectl([
    "-n",
    namespace,
    "patch",
    "zookeepercluster",
    name,
    "--type=merge",
    "-p",
    JSON.stringify({ spec }),
  ]);
}

// ---------------------------------------------------------------- watching a roll

/** What the test saw of the pods while a roll ran. */
interface Watched {
  /** Pod name → every uid seen, in order (the first is the pod before the roll). */
  uids: Map<string, string[]>;
  /** Pods in the order their replacement first appeared. */
  order: string[];
  /** The most members seen not ready (or missing) at once. */
  maxDown: number;
}

/**
 * Polls the pods until `done` holds, recording each replacement and the most members down at
 * once (a 1 s poll is enough: a restarting member is down for many seconds); `onFirstReplaced`
 * runs once, when the first member's replacement appears.
 */
async function watchRoll(
  before: Steady,
  done: () => Promise<boolean>,
  onFirstReplaced?: () => Promise<void>,
): Promise<Watched> {
  const watched: Watched = {
    uids: new Map([...before.pods.values()].map((p) => [p.name, [p.uid]])),
    order: [],
    maxDown: 0,
  };
  await waitFor(
    "the roll to finish",
    async () => {
      const pods = await zkPods();
      const readyNow = [...pods.values()].filter((p) => p.ready).length;
      watched.maxDown = Math.max(watched.maxDown, MEMBERS - readyNow);
      const replacedBefore = watched.order.length;
      for (const p of pods.values()) {
        const seen = watched.uids.get(p.name) ?? [];
        if (!seen.includes(p.uid)) {
          seen.push(p.uid);
          watched.uids.set(p.name, seen);
          if (!watched.order.includes(p.name)) watched.order.push(p.name);
        }
      }
      if (replacedBefore === 0 && watched.order.length > 0) await onFirstReplaced?.();
      return done();
    },
    { timeoutMs: 300_000, intervalMs: 1_000 },
  );
  return watched;
}

/** Every member ready on the StatefulSet's current template and the status says the roll is done. */
async function rolledAndSettled(): Promise<boolean> {
  const c = await clusterJson();
  const progressing = c.status?.conditions?.find((x) => x.type === "Progressing");
  return (
    c.status?.updatedReplicas === MEMBERS &&
    (c.status.members ?? []).every((m) => m.ready && m.upToDate === true) &&
    progressing?.reason === "UpToDate"
  );
}

interface RollRow {
  scenario: string;
  rollMs: number;
  result: Disruption;
  watched: Watched;
  note: string;
}

const rows: RollRow[] = [];

function rowLine(r: RollRow): string {
  const w = r.result.window;
  return (
    `| ${r.scenario} | ${fmtS(r.rollMs)} | ${r.watched.order.join(" → ")} | ${w.elections.length} | ` +
    `${fmtS(w.longestGap.ms)} | ${w.latency.p99 ?? "–"} ms | ${w.acknowledged} | ${w.failed} | ` +
    `${r.result.verdict.lost} | ${r.result.verdict.corrupted} |`
  );
}

function record(row: RollRow): void {
  rows.push(row);
  process.stderr.write(
    `[rolls] ${row.scenario}: rolled in ${fmtS(row.rollMs)}, order ${row.watched.order.join(" → ")}, ` +
      `at most ${row.watched.maxDown} down at once, elections ${row.result.window.elections.length}, ` +
      `longest write gap ${fmtS(row.result.window.longestGap.ms)}, write p99 ${row.result.window.latency.p99 ?? "–"} ms, ` +
      `acknowledged ${row.result.window.acknowledged}, failed ${row.result.window.failed}, ` +
      `lost ${row.result.verdict.lost}, corrupted ${row.result.verdict.corrupted}${row.note ? `; ${row.note}` : ""}\n` +
      `[rolls] row: ${rowLine(row)}\n`,
  );
}

/**
 * Runs one full roll under the writer: `trigger` changes something, then the pods are watched
 * until every member runs the new template and the status says UpToDate; `during` runs once
 * after the first member was replaced (the operator-deletion scenario).
 */
async function roll(
  label: string,
  trigger: () => Promise<void>,
  during?: () => Promise<void>,
): Promise<{ result: Disruption; watched: Watched; rollMs: number }> {
  let watched: Watched | undefined;
  let rolledAt = 0;
  const result = await rig.disrupt(label, {
    inject: trigger,
    effect: async (before) => {
      watched = await watchRoll(
        before,
        async () => (await rolledAndSettled()) && (await zkPods()).size === MEMBERS,
        during,
      );
      rolledAt = Date.now();
    },
    quorumTimeoutMs: 420_000,
  });
  if (watched === undefined) throw new Error("the roll was not watched");
  return { result, watched, rollMs: rolledAt - result.injectedAt };
}

/** The assertions every full roll of the 3 members must pass. */
function expectOneCleanRoll(r: { result: Disruption; watched: Watched }): void {
  expectNothingLost(r.result.verdict);
  const leaderPod = podOf(r.result.before.leader);
  // Every member replaced exactly once (its first uid, then one new one), the leader last.
  expect([...r.watched.uids.entries()].map(([pod, uids]) => [pod, uids.length]).sort()).toEqual(
    [0, 1, 2].map((i) => [`${name}-${i}`, 2]),
  );
  expect(r.watched.order).toHaveLength(MEMBERS);
  expect(r.watched.order.at(-1)).toBe(leaderPod);
  // Never a second member away while one restarts.
  expect(r.watched.maxDown).toBeLessThanOrEqual(1);
  // One election: the leader's own restart.
  expect(r.result.window.elections).toHaveLength(1);
}

// ---------------------------------------------------------------- the suite

beforeAll(async () => {
  await rig.start();
  await tagOnNode(images.zookeeper.ref, SECOND_TAG);
  process.stderr.write(`[rolls] ${namespace}/${name}: writer ${rig.writer().pod} writing 50/s\n`);
});

afterAll(async () => {
  printTable(
    "rolls",
    "| roll | all 3 restarted in | order (leader last) | elections | longest write gap | write p99 in the roll | writes acknowledged | writes failed | lost | corrupted |",
    rows.map(rowLine),
  );
  await rig.remove();
});

describe("rolling restarts of a 3-member ensemble under a steady writer", () => {
  const dumpOnFailure = (): void => {
    rig.dumpOnFailure("rolls");
  };

  test("a new ZooKeeper image rolls all 3 members one at a time, leader last, one election, nothing lost", async () => {
    dumpOnFailure();
    const r = await roll("roll-image", () => patchSpec({ image: SECOND_TAG }));
    record({ scenario: "ZooKeeper image changed", ...r, note: `image ${SECOND_TAG}` });
    expectOneCleanRoll(r);
    expect([...(await zkPods()).values()].map((p) => p.image)).toEqual(Array(MEMBERS).fill(SECOND_TAG));
    // One Normal Event per member restarted, naming it.
    const restarted = (await clusterEvents()).filter((e) => e.reason === "Restarted").map((e) => e.note);
    for (const pod of r.watched.order)
      expect(restarted.some((n) => n.includes(`Evicted ${pod} `))).toBe(true);
  });

  test("a change of spec.config rolls every member, and each runs the new setting", async () => {
    dumpOnFailure();
    const r = await roll("roll-config", () => patchSpec({ config: { maxClientCnxns: 500 } }));
    record({ scenario: "spec.config changed", ...r, note: "maxClientCnxns 500" });
    expectOneCleanRoll(r);
    for (const pod of r.watched.order) expect((await rig.zooCfg(pod)).get("maxClientCnxns"), pod).toBe("500");
  });

  test("the restart annotation rolls every member; the operator's pod deleted mid-roll, the new one finishes it without restarting a member twice", async () => {
    dumpOnFailure();
    const [oldOperator] = await rig.operatorPods();
    expect(oldOperator).toBeDefined();
    const r = await roll(
      "roll-annotation-operator-deleted",
      async () => {
        await kubectl([
          "-n",
          namespace,
          "annotate",
          "--overwrite",
          "zookeepercluster",
          name,
          `${RESTART_ANNOTATION}=${new Date().toISOString()}`,
        ]);
      },
      async () => {
        await kubectl(["-n", OPERATOR_NAMESPACE, "delete", "pod", oldOperator?.name ?? "", "--wait=false"]);
      },
    );
    const newOperator = (await rig.operatorPods()).find((p) => p.uid !== oldOperator?.uid);
    record({
      scenario: "restart annotation, operator pod deleted mid-roll",
      ...r,
      note: `operator ${oldOperator?.name ?? "?"} deleted after the first member; ${newOperator?.name ?? "?"} finished`,
    });
    expect(newOperator).toBeDefined();
    expectOneCleanRoll(r);
  });

  test("an image that cannot start: the roll halts after one member, the others keep quorum and take writes; status and Event name the pod and reason; reverting completes the roll", async () => {
    dumpOnFailure();
    const before = await rig.steady();
    const mark = await rig.writer().markFault("roll-halted");
    const injectedAt = Date.now();
    await patchSpec({ image: MISSING_IMAGE });

    // Halted: Degraded=RollHalted names the pod and the kubelet's reason.
    const halted = await waitFor(
      "the roll to halt",
      async () => {
        const c = await clusterJson();
        const degraded = c.status?.conditions?.find((x) => x.type === "Degraded");
        return degraded?.status === "True" && degraded.reason === "RollHalted" ? { c, degraded } : false;
      },
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    const haltedAt = Date.now();
    const pod = halted.c.status?.lastRestart?.pod ?? "";
    expect(pod).toMatch(new RegExp(`^${name}-[0-2]$`));
    expect(pod).not.toBe(podOf(before.leader));
    expect(halted.degraded.message).toContain(pod);
    expect(halted.degraded.message).toContain("ErrImageNeverPull");
    expect(halted.c.status?.conditions?.find((x) => x.type === "Progressing")?.reason).toBe("RollHalted");
    expect(
      (await clusterEvents()).some(
        (e) => e.type === "Warning" && e.reason === "RollHalted" && e.note.includes(pod),
      ),
    ).toBe(true);

    // For 20 s more: no other member is taken, the other two keep serving and writes flow.
    await new Promise((r) => setTimeout(r, 20_000));
    const pods = await zkPods();
    for (const p of before.pods.values()) {
      if (p.name === pod) continue;
      expect(pods.get(p.name)?.uid, p.name).toBe(p.uid);
      expect(pods.get(p.name)?.ready, p.name).toBe(true);
    }
    await rig.waitForWritesAfter(haltedAt + 20_000);

    // Reverting the spec repairs that member first and completes the roll.
    const revertedAt = Date.now();
    await patchSpec({ image: SECOND_TAG });
    await waitFor("the roll to complete after the revert", rolledAndSettled, {
      timeoutMs: 240_000,
      intervalMs: 1_000,
    });
    const completedAt = Date.now();
    const quorum = await rig.waitForFullQuorum(completedAt, 120_000);
    await rig.waitForWritesAfter(quorum.at);
    const window = await mark.end();
    const verdict = await rig.writer().verify();
    const after = await zkPods();
    const replaced = [...before.pods.values()]
      .filter((p) => after.get(p.name)?.uid !== p.uid)
      .map((p) => p.name);
    process.stderr.write(
      `[rolls] halted roll: ${pod} halted ${fmtS(haltedAt - injectedAt)} after the bad image; ` +
        `reverted, complete ${fmtS(completedAt - revertedAt)} later; replaced ${replaced.join(", ")}; ` +
        `elections ${window.elections.length}, longest write gap ${fmtS(window.longestGap.ms)}, ` +
        `acknowledged ${window.acknowledged}, lost ${verdict.lost}, corrupted ${verdict.corrupted}\n`,
    );
    expectNothingLost(verdict);
    // Only the member the roll halted on was ever touched; the leader kept leading.
    expect(replaced).toEqual([pod]);
    expect(window.elections).toEqual([]);
    expect([...after.values()].map((p) => p.image)).toEqual(Array(MEMBERS).fill(SECOND_TAG));
  });
});
