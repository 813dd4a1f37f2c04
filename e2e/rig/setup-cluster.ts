// vitest globalSetup for the `e2e` project: a whole local Kubernetes (control plane, node,
// cluster DNS, storage) with our images built from the Dockerfiles and the operator installed
// from the chart, for the whole run. Tests get the kubeconfig and the image references.
import type { TestProject } from "vitest/node";
import { startLocalCluster } from "./local-cluster.ts";
import { reapStaleBlocks } from "./processes.ts";
import type { ProjectImages } from "./node/project-images.ts";

declare module "vitest" {
  export interface ProvidedContext {
    clusterKubeconfig: string;
    images: ProjectImages;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await reapStaleBlocks();
  const started = Date.now();
  const log = (m: string): void => {
    process.stderr.write(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${m}\n`);
  };
  const cluster = await startLocalCluster({ log });
  log("local cluster ready");
  project.provide("clusterKubeconfig", cluster.kubeconfigPath);
  project.provide("images", cluster.images);
  return async () => {
    // A component that died during the run explains failures better than any test message.
    const died = [
      ...(cluster.plane ? Object.values(cluster.plane.processes()) : []),
      ...(cluster.node?.processes() ?? []),
    ].filter((p) => !p.running);
    if (died.length > 0) {
      process.stderr.write(`[e2e] exited during the run: ${died.map((p) => p.name).join(", ")}\n`);
      if (cluster.node) process.stderr.write((await cluster.node.logTails(60)) + "\n");
    }
    await cluster.stop();
  };
}
