// Write-then-rename, so a crash never leaves half a file for ZooKeeper to read, and a reader
// (ZooKeeper's reload of quorum certificates among them) sees the old file or the new one.
import { rename, writeFile } from "node:fs/promises";

export async function writeAtomically(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}
