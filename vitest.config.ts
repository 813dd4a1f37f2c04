// Test tiers from DESIGN.md, one vitest project each. `unit` needs nothing outside our code but
// promtool and the rig's helm for the alert rules (monitoring/, both from scripts/setup.sh);
// `zk` starts real ZooKeeper servers; `kube` starts a real etcd + kube-apiserver +
// controller-manager + scheduler; `e2e` a whole single-node cluster with our images and chart.
// Each tier's global setup starts and stops what it needs. `node` and `e2e` need root and take
// the machine's one node bridge, so run the projects one at a time (scripts/test.sh does).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["verbose"],
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "operator/**/*.test.ts",
            "sidecar/**/*.test.ts",
            "e2e/rig/**/*.test.ts",
            "e2e/writer/**/*.test.ts",
            "monitoring/**/*.test.ts",
          ],
          exclude: ["**/test/**", "node_modules/**"],
        },
      },
      {
        test: {
          name: "zk",
          include: ["**/test/zk/**/*.test.ts"],
          exclude: ["node_modules/**"],
          globalSetup: ["e2e/rig/setup-zk.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "kube",
          include: ["**/test/kube/**/*.test.ts"],
          exclude: ["node_modules/**"],
          globalSetup: ["e2e/rig/setup-kube.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          // The rig's node alone (pods, Services, DNS, volumes, clean-up); each file starts its own.
          name: "node",
          include: ["e2e/test/node/**/*.test.ts"],
          exclude: ["node_modules/**"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/test/cluster/**/*.test.ts"],
          exclude: ["node_modules/**"],
          globalSetup: ["e2e/rig/setup-cluster.ts"],
          testTimeout: 300_000,
          // The global setup may build the images and the rig's tools first.
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
