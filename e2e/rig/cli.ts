// `npm run rig -- up|down|status`: the rig for developers. `up zk` starts a ZooKeeper ensemble
// and `up kube` a control plane that keep running after this command exits, until `down`;
// `up cluster` a control plane with a node, our images and the operator (what `make demo` uses).
import { parseArgs } from "node:util";
import { isRecordedProcessAlive, listBlocks } from "./processes.ts";
import { createEnsemble } from "./zk-ensemble.ts";

const usage = `usage: npm run rig -- up zk [--size N] [--name NAME]
       npm run rig -- up kube
       npm run rig -- up cluster
       npm run rig -- status
       npm run rig -- down`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { size: { type: "string", default: "3" }, name: { type: "string", default: "zk" } },
  });
  const [command, what] = positionals;
  switch (command) {
    case "up":
      if (what === "zk") return upZk(Number(values.size), values.name);
      if (what === "kube") return upKube();
      if (what === "cluster") return upCluster();
      break;
    case "status":
      return status();
    case "down":
      return down();
  }
  console.error(usage);
  return 2;
}

async function upZk(size: number, name: string): Promise<number> {
  if (!Number.isInteger(size) || size < 1 || size > 15) {
    console.error(`--size must be a whole number from 1 to 15, got ${size}`);
    return 2;
  }
  const ens = await createEnsemble({ size, name }, { persistent: true });
  try {
    await ens.startAll();
    const leader = await ens.waitForQuorum();
    console.log(
      `ZooKeeper ensemble "${name}" at quorum in block ${ens.block.id}; leader: server ${leader.id}`,
    );
    for (const s of ens.servers)
      console.log(`  server ${s.id}  ${s.ip}:2181  ${s.dnsName}  log: ${s.process?.logPath}`);
    console.log(`connect: ${ens.connectionString()}`);
    console.log(`Java tools resolve the DNS names with -Djdk.net.hosts.file=${ens.hostsFile}`);
    return 0;
  } catch (err) {
    console.error(await ens.logs());
    await ens.destroy();
    throw err;
  }
}

async function upKube(): Promise<number> {
  // Loaded on demand so that `up zk` works without the Kubernetes half of the rig.
  const { startControlPlane } = (await import("./kube-control-plane.ts")) as {
    startControlPlane: (o: {
      persistent: boolean;
    }) => Promise<{ server: string; kubeconfigPath: string; block: { id: number } }>;
  };
  const cp = await startControlPlane({ persistent: true });
  console.log(`Kubernetes control plane at ${cp.server} (block ${cp.block.id})`);
  console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
  return 0;
}

function status(): number {
  const blocks = listBlocks();
  if (blocks.length === 0) console.log("nothing running");
  for (const b of blocks) {
    const owner = b.owner
      ? b.owner.pid === null
        ? "kept until `rig down`"
        : `owned by pid ${b.owner.pid}`
      : "unclaimed";
    console.log(`block ${b.id} (127.${b.id}.0.0/24) ${b.owner?.kind ?? "?"}, ${owner}`);
    for (const p of b.processes) {
      console.log(
        `  ${p.name.padEnd(28)} pid ${String(p.pid).padEnd(8)} ${isRecordedProcessAlive(p) ? "running" : "gone"}`,
      );
    }
  }
  return 0;
}

async function down(): Promise<number> {
  const { downAll } = await import("./down.ts");
  await downAll((m) => {
    console.log(m);
  });
  return 0;
}

async function upCluster(): Promise<number> {
  const { startLocalCluster } = await import("./local-cluster.ts");
  const started = Date.now();
  const cluster = await startLocalCluster({
    persistent: true,
    log: (m) => {
      console.log(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);
    },
  });
  console.log(`Kubernetes with a node and the operator at ${cluster.server}`);
  console.log(`export KUBECONFIG=${cluster.kubeconfigPath}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
