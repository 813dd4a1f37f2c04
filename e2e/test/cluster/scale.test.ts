// Membership changes, proved: one ensemble managed by the operator, under one writer's steady
// traffic, changed one server at a time through ZooKeeper's dynamic reconfiguration: 3 → 5 → 3
// participants, then 2 observers added and removed; a removal refused while a member is down
// (and carried out once it is back); the operator's pod deleted between a `reconfig -remove` and
// the StatefulSet's shrink; and a hand-edited members ConfigMap, restored without touching the
// ensemble. Each step is timed from the status (the committed members, each ready and in sync);
// its write gap, p99 and elections come from the writer, and every acknowledged write is read
// back from members 1..3 (the ones that stay) after each phase. Each step prints its row of
// docs/reliability.md's scale table.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { statefulSetPolicy } from "../../rig/admission-policy.ts";
import { OPERATOR_NAMESPACE } from "../../rig/local-cluster.ts";
import { waitFor } from "../../rig/processes.ts";
import type { FaultWindow } from "../../writer/report.ts";
import {
  ensembleUnderTraffic,
  expectNothingLost,
  fmtS,
  printTable,
  type ClusterJson,
} from "./under-traffic.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `scale-${randomBytes(3).toString("hex")}`;
const name = "zk";

/**
 * The goal for any step's longest write gap (DESIGN.md): one leader election plus 2 s. A leader
 * election on this rig takes under 4 s (the fault suite measures it: writes resume ≤ 5 s after the
 * leader's pod is killed, detection included).
 */
const ELECTION_PLUS_2S = 6_000;

const rig = ensembleUnderTraffic({ kubeconfig, namespace, name, members: 3, images });
const { kubectl, zkPods, clusterJson, clusterEvents } = rig;

type Role = "participant" | "observer";
/** `[1, 2, 3]` participants, then observers: the membership a step should end in. */
const membership = (participants: number, observers = 0): { id: number; role: Role }[] =>
  Array.from({ length: participants + observers }, (_, i) => ({
    id: i + 1,
    role: i < participants ? "participant" : "observer",
  }));

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

/** The status lists exactly `expected` as committed members, each ready and in sync. */
async function committedAre(expected: { id: number; role: Role }[]): Promise<ClusterJson | false> {
  const c = await clusterJson();
  const members = c.status?.members ?? [];
  const same =
    members.length === expected.length &&
    expected.every((e) => members.some((m) => m.id === e.id && m.role === e.role && m.ready && m.synced));
  return same ? c : false;
}

interface StepRow {
  step: string;
  ms: number;
  window: FaultWindow;
}
const rows: StepRow[] = [];

function rowLine(r: StepRow): string {
  const w = r.window;
  return (
    `| ${r.step} | ${fmtS(r.ms)} | ${w.elections.length} | ${fmtS(w.longestGap.ms)} | ` +
    `${w.latency.p99 ?? "–"} ms | ${w.acknowledged} | ${w.failed} |`
  );
}

/**
 * Changes the spec once and times each membership the operator passes through: one writer window
 * per step, closed when the status shows that step's members committed, ready and in sync. The
 * windows follow each other, so a step's gap and elections are its own. Returns the rows.
 */
async function scaleThrough(
  label: string,
  change: object,
  steps: { step: string; members: { id: number; role: Role }[] }[],
): Promise<StepRow[]> {
  await rig.steady();
  const out: StepRow[] = [];
  // Window labels are path segments of the writer's API: the label and the step's number.
  let mark = await rig.writer().markFault(`${label}-1`);
  let startedAt = Date.now();
  await patchSpec(change);
  for (const [i, s] of steps.entries()) {
    await waitFor(`${s.step}: committed, ready and in sync`, () => committedAre(s.members), {
      timeoutMs: 180_000,
      intervalMs: 500,
    });
    const doneAt = Date.now();
    const next = steps[i + 1];
    const window = await mark.end();
    if (next) mark = await rig.writer().markFault(`${label}-${i + 2}`);
    const row = { step: s.step, ms: doneAt - startedAt, window };
    out.push(row);
    rows.push(row);
    process.stderr.write(
      `[scale] ${s.step}: ${fmtS(row.ms)}, elections ${window.elections.length}, longest write gap ` +
        `${fmtS(window.longestGap.ms)}, write p99 ${window.latency.p99 ?? "–"} ms, acknowledged ` +
        `${window.acknowledged}, failed ${window.failed}\n[scale] row: ${rowLine(row)}\n`,
    );
    startedAt = doneAt;
  }
  return out;
}

/** Pods of the ensemble, once the StatefulSet has exactly `n` and they are all ready. */
async function podsSettle(n: number): Promise<void> {
  rig.expectPods(n);
  await waitFor(
    `${n} ready pods`,
    async () => {
      const pods = await zkPods();
      return pods.size === n && [...pods.values()].every((p) => p.ready);
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}

/** Every acknowledged write so far, read back from members 1..3: nothing lost. */
async function expectWritesKept(): Promise<void> {
  const verdict = await rig.writer().verify();
  process.stderr.write(
    `[scale] verified ${verdict.acknowledged} acknowledged writes: lost ${verdict.lost}, corrupted ${verdict.corrupted}\n`,
  );
  expectNothingLost(verdict);
}

/** The server's own committed config, as its sidecar reports it: ids and roles. */
async function configOf(pod: string): Promise<string> {
  const out = await kubectl(["-n", namespace, "exec", pod, "-c", "zookeeper", "--", "cat", "/conf/zoo.cfg"]);
  const dynamicPath = /^dynamicConfigFile=(.+)$/m.exec(out)?.[1] ?? "";
  const dynamic = await kubectl(["-n", namespace, "exec", pod, "-c", "zookeeper", "--", "cat", dynamicPath]);
  return dynamic
    .split("\n")
    .map((l) => /^server\.(\d+)=[^:]+:\d+:\d+:(participant|observer)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}${m[2] === "observer" ? "o" : ""}`)
    .join(",");
}

beforeAll(async () => {
  await rig.start();
  process.stderr.write(`[scale] ${namespace}/${name}: writer ${rig.writer().pod} writing 50/s\n`);
});

afterAll(async () => {
  printTable(
    "scale",
    "| step | took | elections | longest write gap | write p99 | writes acknowledged | writes failed |",
    rows.map(rowLine),
  );
  await rig.remove();
});

describe("membership changes of a running ensemble under a steady writer", () => {
  const dumpOnFailure = (): void => {
    rig.dumpOnFailure("scale");
  };

  test("a hand edit of the members ConfigMap is restored and changes nothing in the ensemble", async () => {
    dumpOnFailure();
    const before = await rig.steady();
    const committed = (await clusterJson()).status?.ensembleConfigVersion;
    expect(committed).toBeDefined();
    const cm = () =>
      kubectl(["-n", namespace, "get", "configmap", `${name}-config`, "-o", "jsonpath={.data.members}"]);
    const original = await cm();
    expect(original).toBe(`version=${committed}\n1=participant\n2=participant\n3=participant\n`);
    const forged =
      "version=ffffffff\n1=participant\n2=participant\n3=participant\n4=participant\n5=participant\n";
    await kubectl([
      "-n",
      namespace,
      "patch",
      "configmap",
      `${name}-config`,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { members: forged } }),
    ]);
    await waitFor("the members file restored", async () => (await cm()) === original, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    expect(
      (await clusterEvents()).some(
        (e) => e.reason === "Restored" && e.note.includes(`ConfigMap ${name}-config`),
      ),
    ).toBe(true);
    // Nothing in the ensemble moved: the same pods, the same committed config on every server.
    await new Promise((r) => setTimeout(r, 5_000));
    const after = await rig.steady();
    expect([...after.pods.values()].map((p) => p.uid)).toEqual([...before.pods.values()].map((p) => p.uid));
    expect((await clusterJson()).status?.ensembleConfigVersion).toBe(committed);
    for (const pod of after.pods.keys()) expect(await configOf(pod), pod).toBe("1,2,3");
  });

  test("3 → 5 → 3 participants, one server at a time, quorum kept and nothing lost", async () => {
    dumpOnFailure();
    const up = await scaleThrough("up", { replicas: 5 }, [
      { step: "3 → 4 participants", members: membership(4) },
      { step: "4 → 5 participants", members: membership(5) },
    ]);
    await podsSettle(5);
    for (const pod of ["zk-0", "zk-4"]) expect(await configOf(pod), pod).toBe("1,2,3,4,5");
    const added = (await clusterEvents()).filter((e) => e.reason === "MemberAdded").map((e) => e.note);
    expect(added.some((n) => n.startsWith("Added server 4 (zk-3) as participant"))).toBe(true);
    expect(added.some((n) => n.startsWith("Added server 5 (zk-4) as participant"))).toBe(true);
    await expectWritesKept();

    // Down one change per step: a removal commits in a second or two, so with 5 → 3 in one change
    // the status may show the 4 members for less than a poll, and a step could not be timed alone.
    const down = [
      ...(await scaleThrough("down-5", { replicas: 4 }, [
        { step: "5 → 4 participants", members: membership(4) },
      ])),
    ];
    await podsSettle(4);
    down.push(
      ...(await scaleThrough("down-4", { replicas: 3 }, [
        { step: "4 → 3 participants", members: membership(3) },
      ])),
    );
    await podsSettle(3);
    for (const pod of ["zk-0", "zk-2"]) expect(await configOf(pod), pod).toBe("1,2,3");
    await expectWritesKept();
    for (const r of [...up, ...down]) {
      // Quorum was never lost: no step's write gap is longer than one election plus 2 s.
      expect(r.window.longestGap.ms, r.step).toBeLessThan(ELECTION_PLUS_2S);
      expect(r.window.elections.length, r.step).toBeLessThanOrEqual(1);
    }
  });

  test("2 observers are added as observers and removed; a removal while a participant is down is refused, and proceeds once it is back", async () => {
    dumpOnFailure();
    await scaleThrough("observers-up", { observers: 2 }, [
      { step: "+ observer 4", members: membership(3, 1) },
      { step: "+ observer 5", members: membership(3, 2) },
    ]);
    await podsSettle(5);
    const c = await clusterJson();
    expect(c.status?.members?.filter((m) => m.role === "observer").map((m) => [m.id, m.mode])).toEqual([
      [4, "observer"],
      [5, "observer"],
    ]);
    expect(await configOf("zk-4")).toBe("1,2,3,4o,5o");

    // A follower's server stops answering: removing observer 5 now is refused, visibly. (Not the
    // leader: its loss would start an election, and every member would be waited for at once.)
    const follower = c.status?.members?.find((m) => m.role === "participant" && m.mode === "follower")?.pod;
    if (!follower) throw new Error(`no participant is a follower: ${JSON.stringify(c.status?.members)}`);
    const stopped = (await zkPods()).get(follower);
    if (!stopped) throw new Error(`no pod ${follower}`);
    await rig.signalZooKeeper(stopped, "SIGSTOP");
    try {
      await waitFor(`${follower} not ready`, async () => (await zkPods()).get(follower)?.ready === false, {
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      const versionBefore = (await clusterJson()).status?.ensembleConfigVersion;
      await patchSpec({ observers: 1 });
      const refused = await waitFor(
        "Progressing=False ScalingRefused",
        async () => {
          const p = (await clusterJson()).status?.conditions?.find((x) => x.type === "Progressing");
          return p?.reason === "ScalingRefused" ? p : false;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(refused.status).toBe("False");
      expect(refused.message).toContain(`waiting for ${follower} to serve`);
      expect(refused.message).toContain("server 5 (observer)");
      expect(
        (await clusterEvents()).some(
          (e) => e.type === "Warning" && e.reason === "MembershipChangeRefused" && e.note.includes(follower),
        ),
      ).toBe(true);
      // Nothing changes while it is down.
      await new Promise((r) => setTimeout(r, 10_000));
      const held = await clusterJson();
      expect(held.status?.ensembleConfigVersion).toBe(versionBefore);
      expect(held.status?.members?.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
      expect((await zkPods()).size).toBe(5);
    } finally {
      await rig.signalZooKeeper(stopped, "SIGCONT");
    }
    const resumedAt = Date.now();
    await waitFor(`observer 5 removed once ${follower} is back`, () => committedAre(membership(3, 1)), {
      timeoutMs: 180_000,
      intervalMs: 500,
    });
    await podsSettle(4);
    process.stderr.write(
      `[scale] refused removal carried out ${fmtS(Date.now() - resumedAt)} after ${follower} came back\n`,
    );
    await expectWritesKept();
  });

  test("the operator's pod deleted between reconfig -remove and the StatefulSet shrink: the next operator shrinks, and removes nothing twice", async () => {
    dumpOnFailure();
    // The API server refuses the shrink for now (a real admission policy), so the operator stops
    // exactly between the two: the removal committed, the pod still there.
    const policy = `${namespace}-no-shrink`;
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(
        statefulSetPolicy({
          name: policy,
          namespace,
          operations: ["UPDATE"],
          expression: `object.metadata.name != '${name}' || object.spec.replicas >= oldObject.spec.replicas`,
          message: "this test holds the StatefulSet's size",
        }),
      ),
    );
    try {
      await waitFor(
        "the policy enforced",
        async () => {
          const refusedDryRun = await kubectl([
            "-n",
            namespace,
            "patch",
            "statefulset",
            name,
            "--dry-run=server",
            "-p",
            JSON.stringify({ spec: { replicas: 1 } }),
          ]).then(
            () => false,
            (err: unknown) => String(err).includes("holds the StatefulSet's size"),
          );
          return refusedDryRun;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      await rig.steady();
      const removalsBefore = new Set(
        (await clusterEvents()).filter((e) => e.reason === "MemberRemoved").map((e) => e.note),
      );
      const mark = await rig.writer().markFault("remove-then-operator-deleted");
      await patchSpec({ observers: 0 });
      // Removed and committed; the shrink refused; the pod still runs.
      await waitFor(
        "server 4 removed, the shrink refused",
        async () => {
          const c = await clusterJson();
          const progressing = c.status?.conditions?.find((x) => x.type === "Progressing");
          return (
            (c.status?.members ?? []).map((m) => m.id).join(",") === "1,2,3" &&
            progressing?.reason === "ApplyFailed" &&
            (await zkPods()).has("zk-3")
          );
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      const [oldOperator] = await rig.operatorPods();
      if (!oldOperator) throw new Error("no operator pod");
      await kubectl(["-n", OPERATOR_NAMESPACE, "delete", "pod", oldOperator.name, "--wait=true"]);
      const newOperator = await waitFor(
        "a new operator pod ready",
        async () => (await rig.operatorPods()).find((p) => p.uid !== oldOperator.uid && p.ready) ?? false,
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      // Let the new operator take the lease and meet the refusal too, then let the shrink through.
      await new Promise((r) => setTimeout(r, 15_000));
      await kubectl(["delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy]);
      await podsSettle(3);
      await waitFor(
        "3 members, up to date",
        async () => {
          const c = await committedAre(membership(3));
          return (
            c !== false && c.status?.conditions?.find((x) => x.type === "Progressing")?.reason === "UpToDate"
          );
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      const quorum = await rig.waitForFullQuorum(Date.now(), 60_000);
      await rig.waitForWritesAfter(quorum.at);
      const window = await mark.end();
      const removed = (await clusterEvents()).filter(
        (e) => e.reason === "MemberRemoved" && !removalsBefore.has(e.note),
      );
      process.stderr.write(
        `[scale] operator ${oldOperator.name} deleted between remove and shrink; ${newOperator.name} shrank; ` +
          `elections ${window.elections.length}, longest write gap ${fmtS(window.longestGap.ms)}, ` +
          `removals: ${removed.map((e) => e.note).join("; ")}\n`,
      );
      // One removal only, of server 4: the new operator read the committed config and shrank.
      expect(removed.map((e) => e.note.slice(0, e.note.indexOf(":")))).toEqual(["Removed server 4 (zk-3)"]);
      expect((await clusterEvents()).filter((e) => e.reason === "ReconfigRefused")).toEqual([]);
      expect(await configOf("zk-0")).toBe("1,2,3");
    } finally {
      await kubectl([
        "delete",
        "validatingadmissionpolicybinding,validatingadmissionpolicy",
        policy,
        "--ignore-not-found",
      ]);
    }
    await expectWritesKept();
  });
});
