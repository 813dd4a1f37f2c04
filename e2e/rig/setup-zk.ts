// vitest global setup of the `zk` tier: checks that ZooKeeper is installed and ends whatever an
// interrupted earlier run left behind. Each test file starts the ensembles it needs.
import { existsSync } from "node:fs";
import { reapStaleBlocks } from "./processes.ts";
import { ZOOKEEPER_JARS } from "./zk-ensemble.ts";

export default async function setup(): Promise<void> {
  for (const jar of ZOOKEEPER_JARS) {
    if (!existsSync(jar))
      throw new Error(`${jar} is missing: run the test command (it installs Debian's zookeeper)`);
  }
  const reaped = await reapStaleBlocks();
  if (reaped.length > 0)
    console.log(`rig: ended processes left by an interrupted run (blocks ${reaped.join(", ")})`);
}
