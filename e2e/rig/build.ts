// The rig's own build scripts, run on demand when their outputs are missing (both are no-ops,
// and quick, when everything is cached): build-tools.sh for the control plane, helm, kubeconform
// and the Prometheus Operator's CRDs, build-node-tools.sh for the node.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { missingTools, toolPath } from "./kube-control-plane.ts";
import { missingNodeTools } from "./node/tools.ts";
import { kubeconformPath, prometheusOperatorCrdsDir } from "./paths.ts";

function runScript(name: string, log: (m: string) => void): Promise<void> {
  const script = join(import.meta.dirname, name);
  log(`building with ${script} (first run only; several minutes)`);
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], { stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${script} exited with ${code}`));
    });
  });
}

/** etcd, the control plane's binaries, kubectl, helm, kubeconform and the Prometheus Operator's CRDs. */
export async function ensureControlPlaneTools(log: (m: string) => void): Promise<void> {
  // An older cache may have the control plane but not what build-tools.sh has learnt to make since.
  const others = [toolPath("helm"), kubeconformPath(), prometheusOperatorCrdsDir()];
  if (missingTools().length > 0 || !others.every((p) => existsSync(p)))
    await runScript("build-tools.sh", log);
}

/** The above, and the node's: kubelet's companions, images' inputs, Debian packages. */
export async function ensureRigTools(log: (m: string) => void): Promise<void> {
  await ensureControlPlaneTools(log);
  if (missingNodeTools().length > 0) await runScript("build-node-tools.sh", log);
}
