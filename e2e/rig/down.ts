// `npm run rig -- down` and `make demo-down`: stops everything the rig keeps running (blocks
// from `rig up`, the node of `rig up cluster`) and cleans up after interrupted runs. Blocks that
// belong to a live process (a test run) are left alone.
import { forgetKeptCluster } from "./local-cluster.ts";
import { cleanStaleNode } from "./node/node.ts";
import { listBlocks, reapStaleBlocks, releaseBlockById } from "./processes.ts";

export async function downAll(log: (m: string) => void): Promise<void> {
  // The node first: its pods leave mounts that removing its block folder alone cannot undo.
  try {
    if (await cleanStaleNode({ includeKept: true })) log("stopped the node and removed its state");
  } catch (err) {
    log(`node left alone: ${(err as Error).message}`);
  }
  forgetKeptCluster();
  const reaped = await reapStaleBlocks();
  for (const b of listBlocks()) {
    if (b.owner?.pid !== null && b.owner !== null) {
      log(`block ${b.id} belongs to a running process (pid ${b.owner.pid}); left alone`);
      continue;
    }
    await releaseBlockById(b.id);
    log(`stopped block ${b.id} (${b.owner?.kind ?? "?"})`);
  }
  if (reaped.length) log(`cleaned up after interrupted runs: blocks ${reaped.join(", ")}`);
}
