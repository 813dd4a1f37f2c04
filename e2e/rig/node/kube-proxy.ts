// kube-proxy for the rig's node (iptables mode, built by build-node-tools.sh at the pinned
// version), so that Services' ClusterIPs work from pods. It is told to leave the host's own
// settings alone: no conntrack sysctls, NodePorts only on the node address (so it never sets
// route_localnet), and its rules are removed with `kube-proxy --cleanup` when the node stops.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { issueCert, writeKubeconfig, type ControlPlaneCerts } from "../certs.ts";
import { RigProcess, type Block } from "../processes.ts";
import { nodeTool } from "./tools.ts";

const run = promisify(execFile);

export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const KUBE_PROXY_METRICS_PORT = 10249;

export interface KubeProxy {
  process: RigProcess;
  healthz: string;
}

export function renderKubeProxyConfig(options: {
  kubeconfig: string;
  nodeName: string;
  nodeIp: string;
  clusterCidr: string;
}): string {
  const config = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    clientConnection: { kubeconfig: options.kubeconfig },
    hostnameOverride: options.nodeName,
    bindAddress: options.nodeIp,
    healthzBindAddress: `${options.nodeIp}:${KUBE_PROXY_HEALTHZ_PORT}`,
    metricsBindAddress: `${options.nodeIp}:${KUBE_PROXY_METRICS_PORT}`,
    clusterCIDR: options.clusterCidr,
    nodePortAddresses: [`${options.nodeIp}/32`],
    iptables: { localhostNodePorts: false, syncPeriod: "10s", minSyncPeriod: "0s" },
    // Zero means "leave the host's value as it is".
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: "0s",
      tcpCloseWaitTimeout: "0s",
    },
  };
  return JSON.stringify(config, null, 2) + "\n";
}

export async function startKubeProxy(
  block: Block,
  options: {
    /** Folder for kube-proxy's config and client cert. */
    dir: string;
    server: string;
    certs: ControlPlaneCerts;
    nodeName: string;
    nodeIp: string;
    clusterCidr: string;
  },
): Promise<KubeProxy> {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  // The bootstrap RBAC binds system:node-proxier to the user system:kube-proxy.
  const client = await issueCert(options.certs.ca, dir, "kube-proxy-client", {
    commonName: "system:kube-proxy",
  });
  const kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), {
    server: options.server,
    ca: options.certs.ca.cert,
    client,
    user: "system:kube-proxy",
  });
  const configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    renderKubeProxyConfig({
      kubeconfig,
      nodeName: options.nodeName,
      nodeIp: options.nodeIp,
      clusterCidr: options.clusterCidr,
    }),
  );
  const proc = new RigProcess(block, {
    name: "kube-proxy",
    command: nodeTool("kube-proxy"),
    args: [`--config=${configPath}`, "--v=2"],
  });
  return { process: proc, healthz: `http://${options.nodeIp}:${KUBE_PROXY_HEALTHZ_PORT}/healthz` };
}

/** Removes every rule and chain kube-proxy created (best effort, logged to `logPath`'s folder). */
export async function cleanupKubeProxyRules(): Promise<void> {
  await run(nodeTool("kube-proxy"), ["--cleanup", "--v=0"], { timeout: 60_000 }).catch(() => undefined);
}
