// Cluster DNS for the rig's node: CoreDNS (a plugin-trimmed build, see coredns/main.go) run by
// the rig as a host process that listens on the node address, which is every pod's nameserver
// (the kubelet's clusterDNS). It answers `cluster.local` from the API server: Services,
// headless Services' per-pod names (`NAME-0.NAME-headless.NS.svc.cluster.local`) and pod
// addresses. It runs on the host rather than as a pod because the API server listens on a
// loopback block address, which pods cannot reach.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueCert, writeKubeconfig, type ControlPlaneCerts } from "../certs.ts";
import { RigProcess, type Block } from "../processes.ts";
import { nodeTool } from "./tools.ts";

export const DNS_PORT = 53;
export const DNS_HEALTH_PORT = 8180;
export const DNS_READY_PORT = 8181;
const DNS_USER = "zk-rig:coredns";

/** RBAC for CoreDNS's kubernetes plugin (what CoreDNS's own deployment manifests grant). */
export function renderDnsRbac(): string {
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: "zk-rig:coredns" },
    rules: [
      {
        apiGroups: [""],
        resources: ["endpoints", "services", "pods", "namespaces"],
        verbs: ["list", "watch"],
      },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    ],
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "zk-rig:coredns" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "zk-rig:coredns" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: DNS_USER }],
  };
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: [role, binding] });
}

export function renderCorefile(options: { ip: string; clusterDomain: string; kubeconfig: string }): string {
  return `${options.clusterDomain}:${DNS_PORT} in-addr.arpa:${DNS_PORT} ip6.arpa:${DNS_PORT} {
    bind ${options.ip}
    errors
    health ${options.ip}:${DNS_HEALTH_PORT}
    ready ${options.ip}:${DNS_READY_PORT}
    kubernetes ${options.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${options.kubeconfig}
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
`;
}

export interface ClusterDns {
  process: RigProcess;
  ready: string;
}

/** Grants CoreDNS its RBAC (through `kubectl`), issues its client cert and starts it. */
export async function startClusterDns(
  block: Block,
  options: {
    /** Folder for CoreDNS's Corefile and client cert. */
    dir: string;
    server: string;
    certs: ControlPlaneCerts;
    ip: string;
    clusterDomain: string;
    kubectl: (args: string[], o?: { input?: string }) => Promise<string>;
  },
): Promise<ClusterDns> {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  await options.kubectl(["apply", "-f", "-"], { input: renderDnsRbac() });
  const client = await issueCert(options.certs.ca, dir, "coredns-client", { commonName: DNS_USER });
  const kubeconfig = writeKubeconfig(join(dir, "kubeconfig"), {
    server: options.server,
    ca: options.certs.ca.cert,
    client,
    user: DNS_USER,
  });
  const corefile = join(dir, "Corefile");
  writeFileSync(
    corefile,
    renderCorefile({ ip: options.ip, clusterDomain: options.clusterDomain, kubeconfig }),
  );
  const proc = new RigProcess(block, {
    name: "coredns",
    command: nodeTool("coredns"),
    args: ["-conf", corefile],
  });
  return { process: proc, ready: `http://${options.ip}:${DNS_READY_PORT}/ready` };
}
