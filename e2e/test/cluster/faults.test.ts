// Proof under faults: one 3-member ensemble, managed by the operator in the rig's real cluster,
// under one writer's steady traffic (e2e/writer/, a pod connecting through the client Service),
// takes one fault after another. Each scenario waits for the fault to show, for every member to
// serve again in one quorum and for writes to flow, then has the checker read every acknowledged
// write back from each member: 0 lost, 0 corrupted, always. Each prints its row of
// docs/reliability.md; the table is printed again at the end.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, onTestFailed, test } from "vitest";
import { OPERATOR_NAMESPACE } from "../../rig/local-cluster.ts";
import { waitFor } from "../../rig/processes.ts";
import type { FaultWindow, Report } from "../../writer/report.ts";
import type { Verdict } from "../../writer/verify.ts";
import {
  ensembleUnderTraffic,
  expectNothingLost,
  fmtS,
  newLeaderAfter,
  printTable,
} from "./under-traffic.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `faults-${randomBytes(3).toString("hex")}`;
const name = "zk";
const MEMBERS = 3;

// ---------------------------------------------------------------- the ensemble under test

const rig = ensembleUnderTraffic({ kubeconfig, namespace, name, members: MEMBERS, images });
const {
  selector: SELECTOR,
  kubectl,
  zkPods,
  podOf,
  operatorPods,
  signalZooKeeper,
  zooCfg,
  clusterJson,
  clusterEvents,
  zookeeperStarted,
  steady,
  waitForFullQuorum,
  waitForWritesAfter,
} = rig;
let syncTimeoutMs = 0;

/** A person's override after a majority of volumes is lost (docs/operations.md, "Lost volumes"). */
const REJOIN_ANNOTATION = "zookeeper.ensemble.dev/rejoin-empty";

// ---------------------------------------------------------------- one scenario

interface Row {
  scenario: string;
  /** Fault → every member serving again in one quorum (ms); null: quorum never lost. */
  quorumMs: number | null;
  /** Fault → the new leader serving (ms), for faults that take the leader. */
  newLeaderMs: number | null;
  window: FaultWindow;
  verdict: Verdict;
  note: string;
}

const rows: Row[] = [];

function rowLine(r: Row): string {
  return (
    `| ${r.scenario} | ${fmtS(r.quorumMs, "never lost")} | ${fmtS(r.newLeaderMs)} | ${fmtS(r.window.longestGap.ms)} | ` +
    `${r.window.latency.p99 ?? "–"} ms | ${r.window.elections.length} | ${r.window.acknowledged} | ` +
    `${r.window.failed} | ${r.verdict.lost} | ${r.verdict.corrupted} |`
  );
}

function record(row: Row): void {
  rows.push(row);
  process.stderr.write(
    `[faults] ${row.scenario}: all members serving again ${fmtS(row.quorumMs, "(quorum never lost)")}, new leader ${fmtS(row.newLeaderMs)}, ` +
      `longest write gap ${fmtS(row.window.longestGap.ms)}, write p99 ${row.window.latency.p99 ?? "–"} ms ` +
      `(p50 ${row.window.latency.p50 ?? "–"} ms), elections ${row.window.elections.length}, ` +
      `acknowledged ${row.window.acknowledged} (${row.verdict.acknowledged} so far), failed ${row.window.failed}, ` +
      `lost ${row.verdict.lost}, corrupted ${row.verdict.corrupted}${row.note ? `; ${row.note}` : ""}\n` +
      `[faults] row: ${rowLine(row)}\n`,
  );
}

const runFault = rig.disrupt;

// ---------------------------------------------------------------- the suite

beforeAll(async () => {
  await rig.start();
  const cfg = await zooCfg(podOf(1));
  const tickTime = Number(cfg.get("tickTime"));
  const syncLimit = Number(cfg.get("syncLimit"));
  if (!(tickTime > 0 && syncLimit > 0))
    throw new Error(`zoo.cfg without tickTime/syncLimit: ${JSON.stringify([...cfg])}`);
  syncTimeoutMs = tickTime * syncLimit;
  process.stderr.write(
    `[faults] ${namespace}/${name}: writer ${rig.writer().pod} writing 50/s; tickTime ${tickTime} ms × syncLimit ${syncLimit}\n`,
  );
});

afterAll(async () => {
  printTable(
    "faults",
    "| scenario | back to quorum (all 3 serving) | new leader | longest write gap | write p99 in the fault | elections | writes acknowledged | writes failed | lost | corrupted |",
    rows.map(rowLine),
  );
  await rig.remove();
});

describe("a 3-member ensemble under a steady writer, one fault after another", () => {
  const dumpOnFailure = (): void => {
    onTestFailed(async () => {
      process.stderr.write(
        `[faults] writer progress: ${JSON.stringify(await rig.writer().progress().catch(String))}\n`,
      );
      process.stderr.write(`[faults] writer log:\n${await rig.writer().logs()}\n`);
    });
  };

  test("deleting the operator's pod has no effect on the ensemble", async () => {
    dumpOnFailure();
    const old = await operatorPods();
    expect(old).toHaveLength(1);
    const replacement = { name: "?" };
    const r = await runFault("operator-pod-deleted", {
      inject: async () => {
        await kubectl(["-n", OPERATOR_NAMESPACE, "delete", "pod", old[0]?.name ?? "", "--wait=false"]);
      },
      // The fault has shown when a new operator pod leads and has reconciled (its own counters).
      effect: async () => {
        const pod = await waitFor(
          "a new operator pod leading and reconciling",
          async () => {
            const pod = (await operatorPods()).find((p) => p.uid !== old[0]?.uid && p.ready && p.ip !== null);
            if (pod === undefined) return false;
            const metrics = await (await fetch(`http://${pod.ip ?? ""}:8080/metrics`)).text();
            return /^zk_operator_leader 1$/m.test(metrics) &&
              /^zk_operator_reconcile_total\{[^}]*\} [1-9]/m.test(metrics)
              ? pod
              : false;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        replacement.name = pod.name;
      },
      quorumTimeoutMs: 150_000,
    });
    const after = await steady();
    record({
      scenario: "operator pod deleted",
      quorumMs: null,
      newLeaderMs: null,
      window: r.window,
      verdict: r.verdict,
      note: `new operator pod ${replacement.name} leading and reconciled ${fmtS(Date.now() - r.injectedAt)} after`,
    });
    expectNothingLost(r.verdict);
    // No effect: no election, the same pods never restarted, the same committed membership.
    expect(r.window.elections).toEqual([]);
    expect([...after.pods.values()].map((p) => [p.name, p.uid, p.restarts])).toEqual(
      [...r.before.pods.values()].map((p) => [p.name, p.uid, p.restarts]),
    );
    expect(after.configVersion).toBe(r.before.configVersion);
    expect(r.window.longestGap.ms).toBeLessThan(10_000);
  });

  test("deleting a follower's pod: no election, the member comes back, nothing lost", async () => {
    dumpOnFailure();
    let follower = 0;
    const r = await runFault("follower-pod-deleted", {
      inject: async (before) => {
        follower = [1, 2, 3].find((id) => id !== before.leader) ?? 0;
        await kubectl(["-n", namespace, "delete", "pod", podOf(follower), "--wait=false"]);
      },
      effect: async (before) => {
        await waitFor(
          `a new pod ${podOf(follower)}`,
          async () => {
            const p = (await zkPods()).get(podOf(follower));
            return p !== undefined && p.uid !== before.pods.get(podOf(follower))?.uid;
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
      },
      quorumTimeoutMs: 120_000,
    });
    record({
      scenario: "follower pod deleted",
      quorumMs: r.quorum.at - r.injectedAt,
      newLeaderMs: null,
      window: r.window,
      verdict: r.verdict,
      note: `member ${follower} (${podOf(follower)})`,
    });
    expectNothingLost(r.verdict);
    expect(r.window.elections).toEqual([]);
    expect(r.quorum.leader).toBe(r.before.leader);
    expect(r.window.longestGap.ms).toBeLessThan(30_000);
  });

  test("deleting the leader's pod: a new leader, writes resume, nothing lost", async () => {
    dumpOnFailure();
    const r = await runFault("leader-pod-deleted", {
      inject: async (before) => {
        await kubectl(["-n", namespace, "delete", "pod", podOf(before.leader), "--wait=false"]);
      },
      effect: async (before) => {
        await waitFor(
          `a new pod ${podOf(before.leader)}`,
          async () => {
            const p = (await zkPods()).get(podOf(before.leader));
            return p !== undefined && p.uid !== before.pods.get(podOf(before.leader))?.uid;
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
      },
      quorumTimeoutMs: 120_000,
    });
    const newLeaderMs = newLeaderAfter(r.window, r.before.leader, r.injectedAt);
    record({
      scenario: "leader pod deleted",
      quorumMs: r.quorum.at - r.injectedAt,
      newLeaderMs,
      window: r.window,
      verdict: r.verdict,
      note: `member ${r.before.leader} was leader; writes resumed after ${fmtS(r.window.longestGap.ms)} (goal ≤ 5 s)`,
    });
    expectNothingLost(r.verdict);
    expect(r.window.elections.length).toBeGreaterThanOrEqual(1);
    expect(newLeaderMs).not.toBeNull();
    // The product goal is ≤ 5 s (DESIGN.md, measured and printed above); asserted with room for a busy machine.
    expect(r.window.longestGap.ms).toBeLessThan(30_000);
  });

  test("SIGKILL of the leader's JVM: the container restarts in the same pod and rejoins, nothing lost", async () => {
    dumpOnFailure();
    const r = await runFault("leader-jvm-sigkill", {
      inject: async (before) => {
        const pod = before.pods.get(podOf(before.leader));
        if (pod === undefined) throw new Error("no leader pod");
        await signalZooKeeper(pod, "SIGKILL");
      },
      effect: async (before) => {
        const was = before.pods.get(podOf(before.leader));
        await waitFor(
          `${podOf(before.leader)}'s zookeeper container restarted`,
          async () => {
            const p = (await zkPods()).get(podOf(before.leader));
            return p !== undefined && p.restarts > (was?.restarts ?? 0);
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
      },
      quorumTimeoutMs: 120_000,
    });
    const pods = await zkPods();
    const victim = podOf(r.before.leader);
    const newLeaderMs = newLeaderAfter(r.window, r.before.leader, r.injectedAt);
    record({
      scenario: "leader JVM SIGKILL (container restart)",
      quorumMs: r.quorum.at - r.injectedAt,
      newLeaderMs,
      window: r.window,
      verdict: r.verdict,
      note: `member ${r.before.leader}; restarts ${r.before.pods.get(victim)?.restarts} → ${pods.get(victim)?.restarts}`,
    });
    expectNothingLost(r.verdict);
    expect(pods.get(victim)?.uid).toBe(r.before.pods.get(victim)?.uid);
    expect(pods.get(victim)?.restarts).toBe((r.before.pods.get(victim)?.restarts ?? 0) + 1);
    expect(newLeaderMs).not.toBeNull();
    expect(r.window.longestGap.ms).toBeLessThan(30_000);
  });

  test("SIGSTOP of the leader's JVM for 30 s (operator pod deleted meanwhile): a new leader within syncLimit × tickTime, the old one rejoins", async () => {
    dumpOnFailure();
    const FREEZE_MS = 30_000;
    // Filled in by the steps below.
    const seen = { newLeaderMs: null as number | null, operatorNote: "" };
    const oldOperator = (await operatorPods())[0];
    const r = await runFault("leader-jvm-sigstop-30s", {
      inject: async (before) => {
        const pod = before.pods.get(podOf(before.leader));
        if (pod === undefined) throw new Error("no leader pod");
        await signalZooKeeper(pod, "SIGSTOP");
      },
      effect: async (before, injectedAt) => {
        const pod = before.pods.get(podOf(before.leader));
        if (pod === undefined) throw new Error("no leader pod");
        try {
          const elected = await waitFor(
            "a new leader while the old one is frozen",
            async () => {
              const p = await rig.writer().progress();
              const e = p.epoch;
              return e !== null &&
                e.epoch > (before.progress.epoch?.epoch ?? 0) &&
                e.leader !== null &&
                e.leader !== before.leader
                ? e
                : false;
            },
            { timeoutMs: FREEZE_MS, intervalMs: 250 },
          );
          seen.newLeaderMs = (elected.leaderSeenAt ?? Date.now()) - injectedAt;
          // The operator goes away in the middle of the fault, and must not make it worse.
          if (oldOperator !== undefined) {
            await kubectl(["-n", OPERATOR_NAMESPACE, "delete", "pod", oldOperator.name, "--wait=false"]);
            seen.operatorNote = `operator pod ${oldOperator.name} deleted ${fmtS(Date.now() - injectedAt)} into the freeze`;
          }
          const left = injectedAt + FREEZE_MS - Date.now();
          if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
        } finally {
          await signalZooKeeper(pod, "SIGCONT");
        }
        const thawedAt = Date.now();
        await waitFor(
          `member ${before.leader} serving again as a follower`,
          async () => {
            const m = (await rig.writer().progress()).members.find((x) => x.id === before.leader);
            return m !== undefined && m.at > thawedAt && m.mode === "follower";
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
      },
      quorumTimeoutMs: 240_000,
    });
    const after = await steady();
    await waitFor(
      "a new operator pod Ready",
      async () => (await operatorPods()).some((p) => p.uid !== oldOperator?.uid && p.ready),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const victim = podOf(r.before.leader);
    record({
      scenario: "leader JVM SIGSTOP 30 s, then SIGCONT; operator pod deleted meanwhile",
      quorumMs: r.quorum.at - r.injectedAt,
      newLeaderMs: seen.newLeaderMs,
      window: r.window,
      verdict: r.verdict,
      note: `member ${r.before.leader}; syncLimit × tickTime = ${syncTimeoutMs} ms; ${seen.operatorNote}`,
    });
    expectNothingLost(r.verdict);
    expect(seen.newLeaderMs).not.toBeNull();
    expect(seen.newLeaderMs ?? Infinity).toBeLessThan(syncTimeoutMs + 10_000);
    // The old leader came back by itself: same pod, same container, and no member was replaced.
    expect(after.pods.get(victim)?.restarts).toBe(r.before.pods.get(victim)?.restarts);
    expect([...after.pods.values()].map((p) => p.uid)).toEqual([...r.before.pods.values()].map((p) => p.uid));
    expect(after.configVersion).toBe(r.before.configVersion);
  });

  test("deleting every pod at once: back at quorum within 90 s with every acknowledged write", async () => {
    dumpOnFailure();
    const r = await runFault("all-pods-deleted", {
      inject: async () => {
        await kubectl(["-n", namespace, "delete", "pods", "-l", SELECTOR, "--wait=false"]);
      },
      effect: async (before) => {
        await waitFor(
          "every pod replaced",
          async () => {
            const pods = await zkPods();
            return [...before.pods.values()].every((old) => {
              const now = pods.get(old.name);
              return now !== undefined && now.uid !== old.uid;
            });
          },
          { timeoutMs: 90_000, intervalMs: 250 },
        );
      },
      quorumTimeoutMs: 90_000,
    });
    record({
      scenario: "every pod deleted at once",
      quorumMs: r.quorum.at - r.injectedAt,
      newLeaderMs:
        r.window.elections[0]?.firstSeenAt != null ? r.window.elections[0].firstSeenAt - r.injectedAt : null,
      window: r.window,
      verdict: r.verdict,
      note: "",
    });
    expectNothingLost(r.verdict);
    expect(r.quorum.at - r.injectedAt).toBeLessThanOrEqual(90_000);
    expect(r.window.elections.length).toBeGreaterThanOrEqual(1);
  });

  test("one member's volume lost (its PVC and pod deleted): it comes back empty, resyncs from the leader, nothing lost", async () => {
    dumpOnFailure();
    let victim = 0;
    const r = await runFault("one-volume-lost", {
      inject: async (before) => {
        victim = [1, 2, 3].find((id) => id !== before.leader) ?? 0;
        // The claim goes once its pod does (pvc-protection); the StatefulSet makes a new, empty one.
        await kubectl(["-n", namespace, "delete", "pvc", `data-${podOf(victim)}`, "--wait=false"]);
        await kubectl(["-n", namespace, "delete", "pod", podOf(victim), "--wait=false"]);
      },
      effect: async (before) => {
        await waitFor(
          `a new pod ${podOf(victim)}`,
          async () => {
            const p = (await zkPods()).get(podOf(victim));
            return p !== undefined && p.uid !== before.pods.get(podOf(victim))?.uid;
          },
          { timeoutMs: 120_000, intervalMs: 250 },
        );
      },
      quorumTimeoutMs: 300_000,
    });
    // The member came back empty: init refused it until the operator re-added it on purpose.
    const rejoined = (await clusterEvents()).filter((e) => e.reason === "RejoinEmpty");
    record({
      scenario: "one member's volume lost (PVC and pod deleted)",
      quorumMs: r.quorum.at - r.injectedAt,
      newLeaderMs: null,
      window: r.window,
      verdict: r.verdict,
      note: `member ${victim}; operator Event: ${rejoined.map((e) => e.note).join("; ")}`,
    });
    expectNothingLost(r.verdict);
    expect(rejoined.some((e) => e.note.startsWith(`${podOf(victim)} lost its data volume`))).toBe(true);
    expect(r.window.elections).toEqual([]);
    expect(r.quorum.leader).toBe(r.before.leader);
  });

  test("a majority of volumes lost while the survivor is down: no new empty ensemble; the status and an Event say why; the documented re-add keeps every acknowledged write", async () => {
    dumpOnFailure();
    const before = await steady();
    // The survivor is the leader: a leader holds every write it acknowledged, so "nothing lost"
    // is a property of ZooKeeper here, not of luck. The other two lose their volumes.
    const survivor = before.leader;
    const lost = [1, 2, 3].filter((id) => id !== survivor);
    const mark = await rig.writer().markFault("majority-volumes-lost");
    const injectedAt = Date.now();
    for (const id of lost)
      await kubectl(["-n", namespace, "delete", "pvc", `data-${podOf(id)}`, "--wait=false"]);
    await kubectl(["-n", namespace, "delete", "pods", "-l", SELECTOR, "--wait=false"]);

    // Each empty member is refused on its own clock (init waits 20 s first): wait until the
    // status names both, not only the first.
    const both = `${podOf(lost[0] ?? 0)}, ${podOf(lost[1] ?? 0)} found an empty data volume`;
    const refused = await waitFor(
      "Degraded=True VolumesLost naming both empty members",
      async () => {
        const c = await clusterJson();
        const d = c.status?.conditions?.find((x) => x.type === "Degraded");
        return d?.status === "True" && d.reason === "VolumesLost" && d.message.includes(both) ? d : false;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    const refusedSeenAt = Date.now();
    expect(refused.message).toContain("docs/operations.md");
    expect((await clusterEvents()).some((e) => e.type === "Warning" && e.reason === "VolumesLost")).toBe(
      true,
    );
    // No empty ensemble formed: nobody serves, and the empty members' ZooKeeper never started.
    const p = await rig.writer().progress();
    expect(p.members.filter((m) => m.at > refusedSeenAt && m.serving)).toEqual([]);
    for (const id of lost) expect(await zookeeperStarted(podOf(id))).toBe(false);

    // docs/operations.md, "Lost volumes": re-add the empty members on purpose.
    await kubectl([
      "-n",
      namespace,
      "annotate",
      "zookeepercluster",
      name,
      `${REJOIN_ANNOTATION}=${lost.join(",")}`,
    ]);
    const quorum = await waitForFullQuorum(Date.now(), 300_000);
    await waitForWritesAfter(quorum.at);
    await kubectl(["-n", namespace, "annotate", "zookeepercluster", name, `${REJOIN_ANNOTATION}-`]);
    const window = await mark.end();
    const verdict = await rig.writer().verify();
    record({
      scenario: "a majority of volumes lost while the survivor is down, then re-added as documented",
      quorumMs: quorum.at - injectedAt,
      newLeaderMs: null,
      window,
      verdict,
      note: `survivor member ${survivor}; refused (VolumesLost) seen ${fmtS(refusedSeenAt - injectedAt)} after the fault; re-added by the annotation then`,
    });
    expectNothingLost(verdict);
    expect(quorum.leader).toBe(survivor);
  });

  test("the whole run: every acknowledged write read back intact from every member", async () => {
    dumpOnFailure();
    await steady();
    const report: Report = await rig.writer().stop();
    process.stderr.write(
      `[faults] whole run: ${report.acknowledged} acknowledged of ${report.issued} issued, ` +
        `${report.failed.count} failed ${JSON.stringify(report.failed.byError)}, ${report.unsettled} unsettled, ` +
        `lost ${report.lost}, corrupted ${report.corrupted}, elections ${report.elections}, ` +
        `longest gap ${fmtS(report.longestGap.ms)}, p50/p99 ${report.latency.p50}/${report.latency.p99} ms, ` +
        `sessions ${report.sessions}, silent drops ${report.silentDrops}, ` +
        `zxid recorded for ${report.zxidRecorded}\n` +
        `[faults] epochs (leader, first seen after the writer started): ${report.epochs
          .map((e) => `${e.epoch} (member ${e.leader ?? "?"}, +${fmtS(e.firstSeenAt - report.startedAt)})`)
          .join(", ")}; fault windows: ${report.faults
          .map((f) => `${f.label} +${fmtS(f.start - report.startedAt)}..+${fmtS(f.end - report.startedAt)}`)
          .join(", ")}\n`,
    );
    expectNothingLost(report.verdict);
    expect(report.lost).toBe(0);
    expect(report.corrupted).toBe(0);
    expect(report.unsettled).toBe(0);
    expect(report.verdict.members.every((m) => m.contentChecked === report.acknowledged)).toBe(true);
    expect(report.elections).toBeGreaterThanOrEqual(rows.reduce((n, r) => n + r.window.elections.length, 0));
  });
});
