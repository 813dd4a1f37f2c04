// Where the node's binaries are: build-node-tools.sh's cache folder for what the rig builds
// (pause, busybox, kube-proxy), Debian's paths for containerd, runc and the CNI plugins.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cacheRoot, pinnedVersions } from "../paths.ts";

/** The folder build-node-tools.sh writes to (same formula as the script). */
export function nodeToolsDir(): string {
  return join(cacheRoot(), `node-bin-k8s-${pinnedVersions().KUBERNETES_VERSION ?? ""}`);
}

export function nodeTool(name: string): string {
  return join(nodeToolsDir(), name);
}

/** Debian's containernetworking-plugins install the CNI plugins here. */
export const CNI_BIN_DIR = "/usr/lib/cni";

/** What the node needs on this machine; each missing entry names the file that is absent. */
export function missingNodeTools(): string[] {
  const required = [
    nodeTool("pause"),
    nodeTool("busybox"),
    nodeTool("prometheus-operator"),
    nodeTool("prometheus-config-reloader"),
    nodeTool("prometheus"),
    "/usr/bin/containerd",
    "/usr/bin/containerd-shim-runc-v2",
    "/usr/bin/ctr",
    "/usr/sbin/runc",
    join(CNI_BIN_DIR, "bridge"),
    join(CNI_BIN_DIR, "host-local"),
    join(CNI_BIN_DIR, "loopback"),
    "/usr/bin/socat",
  ];
  return required.filter((p) => !existsSync(p));
}
