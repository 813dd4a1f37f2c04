// vitest globalSetup for the `kube` project: one real control plane for the whole run, its admin
// kubeconfig handed to tests as `inject("kubeconfig")`. With ZK_RIG_KUBECONFIG set, tests use
// that control plane instead (e.g. one kept by `rig up`) and nothing is started here.
import type { TestProject } from "vitest/node";
import { ensureControlPlaneTools } from "./build.ts";
import { startControlPlane, type ControlPlane } from "./kube-control-plane.ts";
import { reapStaleBlocks } from "./processes.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.ZK_RIG_KUBECONFIG;
  if (external) {
    project.provide("kubeconfig", external);
    return async () => {};
  }
  await ensureControlPlaneTools((m) => process.stderr.write(`[kube] ${m}\n`));
  await reapStaleBlocks();
  const started = Date.now();
  let plane: ControlPlane;
  try {
    plane = await startControlPlane();
  } catch (err) {
    // The error already carries the end of every component's log.
    process.stderr.write(`[kube] ${(err as Error).message}\n`);
    throw err;
  }
  process.stderr.write(`[kube] control plane at ${plane.server} ready in ${Date.now() - started} ms\n`);
  project.provide("kubeconfig", plane.kubeconfigPath);
  return async () => {
    // A component that died during the run explains failures better than any test message.
    const died = Object.values(plane.processes()).filter((p) => !p.running);
    if (died.length) {
      process.stderr.write(`[kube] exited during the run: ${died.map((p) => p.name).join(", ")}\n`);
      process.stderr.write(plane.logTails(60) + "\n");
    }
    await plane.stop();
  };
}
