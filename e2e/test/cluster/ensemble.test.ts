// End to end on a real single-node Kubernetes (e2e/rig/local-cluster.ts): the operator runs in a
// pod from the image Dockerfile.operator builds, installed by our chart; it creates a ZooKeeper
// ensemble whose pods run our sidecar image and the ZooKeeper image built from Debian's packages.
// Nothing is faked: clients connect through the cluster's DNS, Services and kube-proxy.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { childNames, selectorLabels } from "../../../operator/src/builders/labels.ts";
import { CHILD_KINDS } from "../../../operator/src/children.ts";
import { PORTS } from "../../../sidecar/src/contract.ts";
import { runKubectl } from "../../rig/kube-control-plane.ts";
import {
  localZooKeeperCluster,
  OPERATOR_NAMESPACE,
  waitForQuorum,
  zkClientPod,
  type ZooKeeperClusterJson,
} from "../../rig/local-cluster.ts";
import { waitFor } from "../../rig/processes.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `e2e-${randomBytes(3).toString("hex")}`;
const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? { timeoutMs: 60_000 } : { input, timeoutMs: 60_000 });
const getJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await kubectl([...args, "-o", "json"])) as T;

interface List<T> {
  items: T[];
}
interface PodJson {
  metadata: { name: string };
  status?: { podIP?: string; phase?: string };
}

function clusterManifest(name: string, replicas: number, reclaimPolicy: "Retain" | "Delete"): string {
  return JSON.stringify(localZooKeeperCluster({ name, namespace, replicas, reclaimPolicy, images }));
}

/** ZooKeeper's own CLI, run in the client pod (inside the pod network, with the cluster's DNS). */
async function zkCli(server: string, ...command: string[]): Promise<string> {
  return kubectl(["-n", namespace, "exec", "zk-client", "--", "zkCli.sh", "-server", server, ...command]);
}

async function podsOf(name: string): Promise<PodJson[]> {
  const selector = Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return (await getJson<List<PodJson>>(["-n", namespace, "get", "pods", "-l", selector])).items;
}

async function pvcNames(name: string): Promise<string[]> {
  const list = await getJson<List<{ metadata: { name: string } }>>(["-n", namespace, "get", "pvc"]);
  return list.items.map((p) => p.metadata.name).filter((n) => n.startsWith(`data-${name}-`));
}

/**
 * The children the operator creates for `name` (the table of child kinds), as `kind/name` of those
 * that exist. Not the optional kinds: this cluster serves no PodMonitors (monitoring.test.ts does).
 */
async function childrenOf(name: string): Promise<string[]> {
  const wanted = CHILD_KINDS.filter((k) => k.optional !== true).flatMap(({ type, names }) =>
    names(name).map((n) => `${type.plural}/${n}`),
  );
  const out = await kubectl(["-n", namespace, "get", ...wanted, "--ignore-not-found", "-o", "name"]);
  return out.split("\n").filter(Boolean);
}

beforeAll(async () => {
  await kubectl(["create", "namespace", namespace]);
  await kubectl(["apply", "-f", "-"], JSON.stringify(zkClientPod({ namespace, images })));
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => "");
});

describe("a 3-member ensemble managed by the operator in a real cluster", () => {
  const name = "zk";
  const marker = `/e2e-${randomBytes(4).toString("hex")}`;

  test("becomes Available with 3 ready members, and every member is in one quorum", async () => {
    const applied = Date.now();
    await kubectl(["apply", "-f", "-"], clusterManifest(name, 3, "Retain"));
    const cluster = await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
    const ms = Date.now() - applied;
    process.stderr.write(
      `[e2e] ${namespace}/${name}: Available with 3 ready members ${(ms / 1000).toFixed(1)} s after apply\n`,
    );
    const available = cluster.status?.conditions?.find((c) => c.type === "Available");
    expect(available?.reason).toBe("QuorumReady");
    expect(cluster.status?.members?.map((m) => m.pod)).toEqual(["zk-0", "zk-1", "zk-2"]);
    expect(cluster.status?.connectionString).toContain(`${childNames(name).client}.${namespace}.svc`);
    // ZooKeeper itself agrees: each member's sidecar reports it serving, one of them as leader,
    // all with the same committed membership of three.
    const pods = await podsOf(name);
    expect(pods).toHaveLength(3);
    const statuses = await Promise.all(
      pods.map(async (p) => {
        const res = await fetch(`http://${p.status?.podIP ?? ""}:${PORTS.sidecarHttp}/status`);
        return (await res.json()) as {
          myid: number;
          mode: string;
          serving: boolean;
          config: { version: string | null; members: unknown[] } | null;
        };
      }),
    );
    expect(statuses.map((s) => s.serving)).toEqual([true, true, true]);
    expect(statuses.filter((s) => s.mode === "leader")).toHaveLength(1);
    expect(statuses.map((s) => s.config?.members.length)).toEqual([3, 3, 3]);
    // The operator's status says the same: it asks the sidecars too.
    const leaderPod = pods[statuses.findIndex((s) => s.mode === "leader")]?.metadata.name;
    const committed = statuses.find((s) => s.mode === "leader")?.config?.version;
    const reported = await waitFor(
      "the cluster status to name the leader and the committed config version",
      async () => {
        const c = await getJson<ZooKeeperClusterJson>(["-n", namespace, "get", "zookeepercluster", name]);
        return c.status?.leader !== undefined && c.status.ensembleConfigVersion !== undefined
          ? c.status
          : false;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(reported.leader).toBe(leaderPod);
    expect(reported.members?.map((m) => m.mode).sort()).toEqual(["follower", "follower", "leader"]);
    // The committed ensemble config version is ZooKeeper's own, as the leader's sidecar reports it.
    expect(reported.ensembleConfigVersion).toBe(committed);
    // Every member runs the StatefulSet's current template, and the ensemble is marked initialized.
    expect(reported.members?.map((m) => m.upToDate)).toEqual([true, true, true]);
    expect(reported.updatedReplicas).toBe(3);
    expect(reported.initializedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  test("a znode written through the client Service is read through each member's stable DNS name", async () => {
    await waitFor("the client pod running", async () => {
      const pod = await getJson<PodJson>(["-n", namespace, "get", "pod", "zk-client"]);
      return pod.status?.phase === "Running";
    });
    const client = `${childNames(name).client}.${namespace}.svc.cluster.local:${PORTS.client}`;
    await zkCli(client, "create", marker, "written-through-the-client-service");
    for (let ordinal = 0; ordinal < 3; ordinal++) {
      const member = `${name}-${ordinal}.${childNames(name).headless}.${namespace}.svc.cluster.local:${PORTS.client}`;
      // A follower serves reads from its own copy, which may lag the write by a moment.
      const out = await waitFor(
        `${marker} readable at ${member}`,
        async () => {
          const o = await zkCli(member, "get", marker);
          return o.includes("written-through-the-client-service") ? o : false;
        },
        { timeoutMs: 30_000, intervalMs: 1_000 },
      );
      expect(out, member).toContain("written-through-the-client-service");
    }
  });

  test("the sidecars' and the operator's /metrics answer", async () => {
    for (const pod of await podsOf(name)) {
      const res = await fetch(`http://${pod.status?.podIP ?? ""}:${PORTS.sidecarHttp}/metrics`);
      expect(res.status, pod.metadata.name).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^zookeeper_znode_count(\{[^}]*\})? \d+/m);
      expect(text).toContain("zk_sidecar_probes_total");
    }
    const services = await getJson<
      List<{ metadata: { name: string }; spec: { clusterIP: string; ports: { port: number }[] } }>
    >(["-n", OPERATOR_NAMESPACE, "get", "services"]);
    expect(services.items).toHaveLength(1);
    const svc = services.items[0];
    // Through the chart's metrics Service (kube-proxy), as Prometheus would scrape it.
    const res = await fetch(`http://${svc?.spec.clusterIP ?? ""}:${svc?.spec.ports[0]?.port ?? 0}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^zk_operator_reconcile_total\{[^}]*\} [1-9]/m);
    expect(text).toMatch(/^zk_operator_leader 1$/m);
  });

  test("deleting the cluster removes its children and keeps its volumes (reclaimPolicy Retain)", async () => {
    expect(await pvcNames(name)).toHaveLength(3);
    await kubectl(["-n", namespace, "delete", "zookeepercluster", name, "--wait=true", "--timeout=120s"]);
    await waitFor(
      "the cluster's children and pods gone",
      async () => (await childrenOf(name)).length === 0 && (await podsOf(name)).length === 0,
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    expect(await pvcNames(name)).toEqual([`data-${name}-0`, `data-${name}-1`, `data-${name}-2`]);
  });
});

describe("reclaimPolicy Delete", () => {
  test("deleting the cluster deletes its volumes too", async () => {
    const name = "solo";
    await kubectl(["apply", "-f", "-"], clusterManifest(name, 1, "Delete"));
    await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
    expect(await pvcNames(name)).toEqual([`data-${name}-0`]);
    await kubectl(["-n", namespace, "delete", "zookeepercluster", name, "--wait=true", "--timeout=120s"]);
    await waitFor("the cluster's PVCs gone", async () => (await pvcNames(name)).length === 0, {
      timeoutMs: 180_000,
      intervalMs: 1_000,
    });
    expect(await childrenOf(name)).toEqual([]);
  });
});
