// `make demo`: a ZooKeeper ensemble managed by the operator, end to end.
//
// Without KUBECONFIG: brings up (or reuses) the rig's local single-node Kubernetes, builds our
// images from the Dockerfiles and loads them, installs the chart, applies
// examples/local-three-members.yaml and waits for quorum. With KUBECONFIG: uses that cluster,
// pushing the images to ZK_DEMO_REGISTRY first (that cluster cannot see images built here).
// Running it again is harmless (helm upgrade, kubectl apply); `make demo-down` tears it down.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { downAll } from "../e2e/rig/down.ts";
import { runKubectl, toolPath } from "../e2e/rig/kube-control-plane.ts";
import { ensureRigTools } from "../e2e/rig/build.ts";
import {
  installOperator,
  OPERATOR_NAMESPACE,
  startLocalCluster,
  waitForQuorum,
} from "../e2e/rig/local-cluster.ts";
import { buildProjectImages, pushProjectImages } from "../e2e/rig/node/project-images.ts";
import { repoRoot } from "../e2e/rig/paths.ts";
import { PORTS } from "../sidecar/src/contract.ts";

const EXAMPLE = join(repoRoot, "examples/local-three-members.yaml");
const started = Date.now();
const log = (m: string): void => {
  console.log(`[demo ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${m}`);
};

/** The example's name and namespace, read from the file itself so the two never disagree. */
function exampleTarget(text: string): { name: string; namespace: string } {
  const name = /^ {2}name: (\S+)$/m.exec(text)?.[1];
  const namespace = /^ {2}namespace: (\S+)$/m.exec(text)?.[1];
  if (!name || !namespace) throw new Error(`${EXAMPLE}: metadata.name and metadata.namespace are required`);
  return { name, namespace };
}

async function sidecarStatus(podIp: string): Promise<{ mode?: string; lastZxid?: string | null } | null> {
  try {
    const res = await fetch(`http://${podIp}:${PORTS.sidecarHttp}/status`, {
      signal: AbortSignal.timeout(2_000),
    });
    return (await res.json()) as { mode?: string; lastZxid?: string | null };
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const external = process.env.KUBECONFIG;
  let kubeconfig: string;
  let example = readFileSync(EXAMPLE, "utf8");
  // Pods are reachable from this machine only on the local cluster.
  let podsReachable = false;
  if (external) {
    const registry = process.env.ZK_DEMO_REGISTRY;
    if (!registry) {
      throw new Error(
        `KUBECONFIG is set (${external}), so the demo runs on that cluster, which cannot see images built here:\n` +
          "set ZK_DEMO_REGISTRY to a registry it pulls from (e.g. registry.example.com/zk, after `docker login`),\n" +
          "or unset KUBECONFIG to use the local single-node cluster.",
      );
    }
    kubeconfig = external;
    await ensureRigTools(log);
    const pushed = await pushProjectImages(await buildProjectImages(log), registry, log);
    const op = pushed.operator;
    await installOperator(kubeconfig, {
      operator: { repository: op.slice(0, op.lastIndexOf(":")), tag: op.slice(op.lastIndexOf(":") + 1) },
      sidecar: pushed.sidecar,
      pullPolicy: "IfNotPresent",
    });
    example = example
      .replace(/^( {2}image: ).*$/m, `$1${pushed.zookeeper}`)
      .replace(/^( {2}imagePullPolicy: ).*$/m, "$1IfNotPresent");
  } else {
    const cluster = await startLocalCluster({ persistent: true, log });
    kubeconfig = cluster.kubeconfigPath;
    podsReachable = true;
  }
  const kubectl = (args: string[], input?: string): Promise<string> =>
    runKubectl(kubeconfig, args, input === undefined ? {} : { input });

  const { name, namespace } = exampleTarget(example);
  await kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }),
  );
  const applied = Date.now();
  log(`kubectl apply -f ${EXAMPLE}`);
  await kubectl(["apply", "-f", "-"], example);
  const cluster = await waitForQuorum(kubeconfig, namespace, name, {
    onProgress: (ready, replicas) => {
      log(`${ready} of ${replicas} members ready`);
    },
  });
  const seconds = ((Date.now() - applied) / 1000).toFixed(1);
  const available = cluster.status?.conditions?.find((c) => c.type === "Available");
  const pods = JSON.parse(
    await kubectl(["-n", namespace, "get", "pods", "-l", `app.kubernetes.io/instance=${name}`, "-o", "json"]),
  ) as { items: { metadata: { name: string }; status?: { podIP?: string } }[] };
  const ipOf = new Map(pods.items.map((p) => [p.metadata.name, p.status?.podIP ?? ""]));

  console.log();
  console.log(
    `ZooKeeper ensemble ${namespace}/${name}: ${available?.message ?? "Available"} (${seconds} s after kubectl apply)`,
  );
  console.log();
  console.log("  id  pod       ready  mode (from its sidecar's /status)  pod address");
  for (const m of cluster.status?.members ?? []) {
    const ip = ipOf.get(m.pod) ?? "";
    const live = podsReachable && ip ? await sidecarStatus(ip) : null;
    const mode = live?.mode ?? `${m.mode} (operator status)`;
    console.log(
      `  ${String(m.id).padEnd(3)} ${m.pod.padEnd(9)} ${(m.ready ? "yes" : "no").padEnd(6)} ${mode.padEnd(34)} ${ip}`,
    );
  }
  const kubectlBin = external ? "kubectl" : toolPath("kubectl");
  const operatorService = (
    JSON.parse(await kubectl(["-n", OPERATOR_NAMESPACE, "get", "services", "-o", "json"])) as {
      items: { metadata: { name: string }; spec: { clusterIP: string; ports: { port: number }[] } }[];
    }
  ).items[0];
  const firstIp = ipOf.get(`${name}-0`) ?? "POD_IP";
  console.log(`
Connect
  export KUBECONFIG=${kubeconfig}
  connection string (inside the cluster): ${cluster.status?.connectionString ?? `${name}-client.${namespace}.svc:2181`}
  ZooKeeper's CLI in a throw-away pod:
    ${kubectlBin} -n ${namespace} run zk-cli --rm -it --restart=Never --image=${/^ {2}image: (\S+)$/m.exec(example)?.[1] ?? ""} \\
      --image-pull-policy=${/^ {2}imagePullPolicy: (\S+)$/m.exec(example)?.[1] ?? "IfNotPresent"} -- zkCli.sh -server ${name}-client:2181
  status: ${kubectlBin} -n ${namespace} get zookeepercluster ${name} -o yaml

Metrics (Prometheus text)
  every member's sidecar (mntr as zookeeper_*, and zk_sidecar_*): http://POD_ADDRESS:${PORTS.sidecarHttp}/metrics${podsReachable ? `\n    e.g. curl http://${firstIp}:${PORTS.sidecarHttp}/metrics   (pod addresses are reachable from this machine)` : ""}
  the operator (zk_operator_*): Service ${OPERATOR_NAMESPACE}/${operatorService?.metadata.name ?? "?"} port ${operatorService?.spec.ports[0]?.port ?? "?"}${podsReachable && operatorService ? `\n    e.g. curl http://${operatorService.spec.clusterIP}:${operatorService.spec.ports[0]?.port ?? ""}/metrics` : ""}

Tear down: make demo-down${external ? ` (deletes ${namespace}/${name}; the operator release stays: helm -n ${OPERATOR_NAMESPACE} uninstall zk-operator)` : " (stops the local cluster and removes its state)"}`);
}

async function down(): Promise<void> {
  const external = process.env.KUBECONFIG;
  if (external) {
    const { name, namespace } = exampleTarget(readFileSync(EXAMPLE, "utf8"));
    await runKubectl(external, [
      "-n",
      namespace,
      "delete",
      "zookeepercluster",
      name,
      "--ignore-not-found",
      "--wait=true",
    ]);
    log(`deleted ${namespace}/${name} from the cluster in KUBECONFIG`);
    return;
  }
  await downAll(log);
}

(process.argv[2] === "down" ? down() : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`make demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
