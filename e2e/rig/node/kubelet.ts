// The kubelet of the rig's node, at the rig's pinned Kubernetes version (build-tools.sh builds
// it with the control plane). Its state (root dir, certificates, pod logs) lives in the node folder;
// it listens on the node address on the rig's bridge only, and talks to containerd over the
// block's socket.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";
import { issueCert, writeKubeconfig, type ControlPlaneCerts } from "../certs.ts";
import { toolsBinDir } from "../paths.ts";
import { RigProcess, type Block } from "../processes.ts";

const run = promisify(execFile);

export const KUBELET_PORT = 10250;
export const KUBELET_HEALTHZ_PORT = 10248;

export interface KubeletOptions {
  /** Folder for the kubelet's state: root dir (pods, volumes), certificates, pod logs. */
  dir: string;
  nodeName: string;
  nodeIp: string;
  server: string;
  certs: ControlPlaneCerts;
  containerdAddress: string;
  /** The cluster DNS server the kubelet writes into pods' resolv.conf. */
  clusterDns: string[];
  clusterDomain: string;
  extraArgs?: string[];
}

export interface Kubelet {
  process: RigProcess;
  rootDir: string;
  kubeconfigPath: string;
  healthz: string;
}

/** The KubeletConfiguration (JSON is YAML) for one node of the rig. */
export function renderKubeletConfig(options: {
  nodeIp: string;
  containerdAddress: string;
  clientCaFile: string;
  clusterDns: string[];
  clusterDomain: string;
  resolvConf: string;
  podLogsDir: string;
}): string {
  const config = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This machine has cgroup v1 (a hybrid hierarchy); kubelet 1.35 refuses it unless told.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    containerRuntimeEndpoint: `unix://${options.containerdAddress}`,
    address: options.nodeIp,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: options.nodeIp,
    healthzPort: KUBELET_HEALTHZ_PORT,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: options.clientCaFile },
    },
    authorization: { mode: "Webhook" },
    clusterDNS: options.clusterDns,
    clusterDomain: options.clusterDomain,
    // The host's resolv.conf names servers pods cannot reach; the rig gives them none but
    // the cluster DNS.
    resolvConf: options.resolvConf,
    podLogsDir: options.podLogsDir,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    failSwapOn: false,
    // A shared test machine: do not evict pods or collect images because the disk is busy.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // Tests create and delete pods quickly; the defaults wait longer between status syncs.
    nodeStatusUpdateFrequency: "4s",
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
    maxPods: 110,
    serializeImagePulls: false,
  };
  return JSON.stringify(config, null, 2) + "\n";
}

/** Issues the kubelet's client cert (CN system:node:NAME in system:nodes) and starts it. */
export async function startKubelet(block: Block, options: KubeletOptions): Promise<Kubelet> {
  const dir = options.dir;
  const rootDir = join(dir, "root");
  const pki = join(dir, "pki");
  const podLogsDir = join(dir, "pod-logs");
  for (const d of [rootDir, pki, podLogsDir]) mkdirSync(d, { recursive: true });
  const client = await issueCert(options.certs.ca, pki, "kubelet-client", {
    commonName: `system:node:${options.nodeName}`,
    organizations: ["system:nodes"],
  });
  const kubeconfigPath = writeKubeconfig(join(dir, "kubeconfig"), {
    server: options.server,
    ca: options.certs.ca.cert,
    client,
    user: `system:node:${options.nodeName}`,
  });
  const resolvConf = join(dir, "resolv.conf");
  writeFileSync(resolvConf, "# pods of the rig resolve through the cluster DNS only\n");
  const configPath = join(dir, "config.yaml");
  writeFileSync(
    configPath,
    renderKubeletConfig({
      nodeIp: options.nodeIp,
      containerdAddress: options.containerdAddress,
      clientCaFile: options.certs.ca.cert,
      clusterDns: options.clusterDns,
      clusterDomain: options.clusterDomain,
      resolvConf,
      podLogsDir,
    }),
  );
  const proc = new RigProcess(block, {
    name: "kubelet",
    command: join(toolsBinDir(), "kubelet"),
    args: [
      `--config=${configPath}`,
      `--kubeconfig=${kubeconfigPath}`,
      `--root-dir=${rootDir}`,
      `--cert-dir=${pki}`,
      `--hostname-override=${options.nodeName}`,
      `--node-ip=${options.nodeIp}`,
      "--v=2",
      ...(options.extraArgs ?? []),
    ],
  });
  return {
    process: proc,
    rootDir,
    kubeconfigPath,
    healthz: `http://${options.nodeIp}:${KUBELET_HEALTHZ_PORT}/healthz`,
  };
}

/**
 * Removes the iptables chains the kubelet creates on start (and does not remove on exit): the
 * KUBE-IPTABLES-HINT and KUBE-KUBELET-CANARY markers, and KUBE-FIREWALL with its jumps from
 * INPUT and OUTPUT (it drops packets to 127.0.0.0/8 from other sources). Best effort, IPv4 and
 * IPv6; only ever called once the rig's kubelet has stopped.
 */
export async function cleanupKubeletRules(): Promise<void> {
  const ipt = (bin: string, args: string[]): Promise<unknown> =>
    run(bin, ["-w", "5", ...args]).catch(() => undefined);
  for (const bin of ["iptables", "ip6tables"]) {
    for (const chain of ["INPUT", "OUTPUT"]) {
      await ipt(bin, ["-t", "filter", "-D", chain, "-j", "KUBE-FIREWALL"]);
    }
    await ipt(bin, ["-t", "filter", "-F", "KUBE-FIREWALL"]);
    await ipt(bin, ["-t", "filter", "-X", "KUBE-FIREWALL"]);
    for (const table of ["mangle", "nat", "filter"]) {
      await ipt(bin, ["-t", table, "-F", "KUBE-KUBELET-CANARY"]);
      await ipt(bin, ["-t", table, "-X", "KUBE-KUBELET-CANARY"]);
    }
    await ipt(bin, ["-t", "mangle", "-X", "KUBE-IPTABLES-HINT"]);
  }
}
