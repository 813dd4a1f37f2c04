// Where the rig keeps things. Builds live in a cache shared by every clone on this machine (so
// CI's fresh clone reuses them); running processes are recorded in a machine-wide run folder
// so that a later run, from any clone, can find and end what a crashed run left behind.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { readFileSync } from "node:fs";

export const repoRoot = resolve(import.meta.dirname, "../..");

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return process.env.ZK_RIG_CACHE ?? join(base, "zk-operator-rig");
}

/** Machine-wide record of loopback blocks and the processes started in them. */
export function runRoot(): string {
  return process.env.ZK_RIG_RUN ?? join(cacheRoot(), "run");
}

/** The pinned versions, read from the one file that also drives build-tools.sh. */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(import.meta.dirname, "versions.env"), "utf8");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2];
  }
  return out;
}

/** The folder build-tools.sh writes binaries to (same formula as the script). */
export function toolsBinDir(): string {
  const v = pinnedVersions();
  const k8s = v.KUBERNETES_VERSION ?? "";
  const etcd = v.ETCD_VERSION ?? "";
  const helm = v.HELM_VERSION ?? "";
  return join(cacheRoot(), `bin-k8s-${k8s}-etcd-${etcd}-helm-${helm}`);
}

/** A version from versions.env; a missing one is a broken checkout, not an empty string. */
function pinned(name: string): string {
  const v = pinnedVersions()[name];
  if (!v) throw new Error(`${name} is missing from e2e/rig/versions.env`);
  return v;
}

/** kubeconform, in a folder of its own keyed by its version (same formula as build-tools.sh). */
export function kubeconformPath(): string {
  return join(cacheRoot(), `bin-kubeconform-${pinned("KUBECONFORM_VERSION")}`, "kubeconform");
}

/**
 * The Prometheus Operator's CRDs (`monitoring.coreos.com_*.yaml`, one CRD a file) at
 * PROMETHEUS_OPERATOR_VERSION, unpacked by build-tools.sh from that module's sources.
 */
export function prometheusOperatorCrdsDir(): string {
  return join(cacheRoot(), `prometheus-operator-crds-${pinned("PROMETHEUS_OPERATOR_VERSION")}`);
}
