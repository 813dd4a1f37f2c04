// The node tests run on their own, not in the unit/zk/kube projects: they need root and the
// machine's one node bridge. From the repository root:
//   npx vitest run --config e2e/test/node/vitest.config.ts
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: resolve(import.meta.dirname, "../../.."),
  test: {
    name: "node",
    reporters: ["verbose"],
    include: ["e2e/test/node/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
