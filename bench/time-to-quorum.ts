// Benchmark: time from `kubectl apply` of a ZooKeeperCluster to Available with every member
// ready, on the rig's real single-node Kubernetes with the images already present.
//
//   node bench/time-to-quorum.ts [--runs=5] [--members=3]
//
// Uses the cluster kept by `npm run rig -- up cluster` (or `make demo`) when there is one,
// else starts one for the run (control plane, node, images, chart) and stops it at the end.
// Each run creates the cluster in a fresh namespace, waits, then deletes it with its volumes
// (reclaimPolicy Delete) so that every run starts from nothing. Prints each time, then
// min/median/max, and the machine's load average (the figures depend on it).
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { runKubectl } from "../e2e/rig/kube-control-plane.ts";
import {
  keptCluster,
  localZooKeeperCluster,
  startLocalCluster,
  waitForQuorum,
} from "../e2e/rig/local-cluster.ts";
import { buildProjectImages } from "../e2e/rig/node/project-images.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "5" }, members: { type: "string", default: "3" } },
});
const runs = Number(values.runs);
const members = Number(values.members);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a whole number ≥ 1, got ${values.runs}`);
if (!Number.isInteger(members) || members < 1 || members > 7)
  throw new Error(`--members must be a whole number from 1 to 7, got ${values.members}`);

const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};
const kept = keptCluster();
const local = kept === null ? await startLocalCluster({ log }) : null;
const kubeconfig = kept?.kubeconfigPath ?? local?.kubeconfigPath ?? "";
// With a kept cluster the images are the ones it was given; building is a no-op when cached.
const images = local?.images ?? (await buildProjectImages(log));
const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? {} : { input });

const times: number[] = [];
try {
  for (let i = 1; i <= runs; i++) {
    const namespace = `bench-quorum-${Date.now().toString(36)}`;
    await kubectl(["create", "namespace", namespace]);
    const manifest = localZooKeeperCluster({
      name: "zk",
      namespace,
      replicas: members,
      reclaimPolicy: "Delete",
      images,
    });
    const applied = performance.now();
    await kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
    await waitForQuorum(kubeconfig, namespace, "zk");
    const ms = performance.now() - applied;
    times.push(ms);
    console.log(`run ${i}: ${(ms / 1000).toFixed(1)} s to Available with ${members} ready members`);
    await kubectl(["delete", "namespace", namespace, "--wait=true", "--timeout=180s"]);
  }
} finally {
  await local?.stop();
}
const sorted = [...times].sort((a, b) => a - b);
const s = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(1);
console.log(
  `time to quorum, ${members} members, ${runs} runs: min ${s(sorted[0])} s, median ${s(sorted[Math.floor(sorted.length / 2)])} s, max ${s(sorted.at(-1))} s; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
