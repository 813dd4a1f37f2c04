// Manual experiment: a control plane, the node, one busybox pod. `node e2e/test/node/try-node.ts`
import { startControlPlane } from "../../rig/kube-control-plane.ts";
import { controlPlaneArgsForNode, startNode } from "../../rig/node/node.ts";

const t0 = Date.now();
const plane = await startControlPlane({ extraArgs: controlPlaneArgsForNode() });
console.log(`control plane ${plane.server} in ${Date.now() - t0} ms`);
const t1 = Date.now();
try {
  const node = await startNode(plane);
  console.log(`node ready in ${Date.now() - t1} ms`);
  console.log(await plane.kubectl(["get", "nodes", "-o", "wide"]));
  if (process.env.KEEP) {
    console.log(`kubeconfig ${plane.kubeconfigPath}; node logs ${node.block.dir}/logs; Ctrl-C to stop`);
    await new Promise((r) => process.once("SIGINT", r));
  }
  await node.stop();
} catch (err) {
  console.error((err as Error).message);
} finally {
  await plane.stop();
}
