// The rig's real node: a control plane plus containerd, runc, the CNI bridge, the kubelet,
// kube-proxy and CoreDNS on this machine. Each test proves one thing a pod needs (it runs, it has
// a pod address, it reaches other pods, Services, the cluster DNS and the API server), and the
// last one proves that stopping the node leaves nothing on the host.
//
// The `node` vitest project (it needs root and takes the machine's one node bridge):
// npx vitest run --project node
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startControlPlane, type ControlPlane } from "../../rig/kube-control-plane.ts";
import { POD_SUBNET } from "../../rig/node/cni.ts";
import { controlPlaneArgsForNode, leftovers, startNode, type Node } from "../../rig/node/node.ts";
import { waitFor } from "../../rig/processes.ts";

const namespace = `node-${randomBytes(3).toString("hex")}`;
let plane: ControlPlane;
let node: Node;
/** Which of the two are up, for afterAll after a failed beforeAll or the last test's own stop. */
const up = { plane: false, node: false };

interface PodJson {
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { containerID?: string; ready?: boolean }[];
  };
}

const kubectl = (args: string[], input?: string): Promise<string> =>
  plane.kubectl([...args], input === undefined ? {} : { input });

async function readPod(name: string): Promise<PodJson> {
  return JSON.parse(await kubectl(["-n", namespace, "get", "pod", name, "-o", "json"])) as PodJson;
}

async function waitRunning(name: string): Promise<PodJson> {
  return waitFor(
    `pod ${namespace}/${name} running`,
    async () => {
      const pod = await readPod(name);
      return pod.status?.phase === "Running" && pod.status.containerStatuses?.every((c) => c.ready)
        ? pod
        : false;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/** A busybox pod (the image the node builds and imports itself) running `script`. */
function pod(
  name: string,
  script: string,
  labels: Record<string, string> = {},
  container: Record<string, unknown> = {},
): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "main",
          image: node.images.busybox.ref,
          imagePullPolicy: "Never",
          command: ["sh", "-c", script],
          ...container,
        },
      ],
    },
  };
}

async function apply(...objects: object[]): Promise<void> {
  await kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
}

/** Runs `script` in the `client` pod; an HTTP GET is `nc`, as busybox's wget needs NSS it lacks. */
function inClient(script: string): Promise<string> {
  return kubectl(["-n", namespace, "exec", "client", "--", "sh", "-c", script]);
}

const httpGet = (host: string, port: number): string =>
  `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port} | tail -n 1`;

function inSubnet(ip: string, cidr: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const toInt = (a: string): number => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return /^\d+\.\d+\.\d+\.\d+$/.test(ip) && Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

beforeAll(async () => {
  plane = await startControlPlane({ extraArgs: controlPlaneArgsForNode() });
  up.plane = true;
  node = await startNode(plane);
  up.node = true;
  await kubectl(["create", "namespace", namespace]);
  // The namespace's service account comes from the controller-manager; pods wait for it.
  await waitFor("default service account", () => kubectl(["-n", namespace, "get", "sa", "default"]), {
    timeoutMs: 30_000,
  });
}, 300_000);

afterAll(async () => {
  if (up.node) await node.stop();
  if (up.plane) await plane.stop();
}, 120_000);

describe("the rig's node", () => {
  test("a pod created through the API server runs in containerd on the bridge network", async () => {
    await apply(pod("hello", "echo hello from $(hostname); exec sleep 3600"));
    const running = await waitRunning("hello");
    const ip = running.status?.podIP ?? "";
    expect(inSubnet(ip, POD_SUBNET), `pod IP ${ip} in ${POD_SUBNET}`).toBe(true);
    // The container the kubelet reports is one containerd really runs.
    const id = running.status?.containerStatuses?.[0]?.containerID?.replace("containerd://", "") ?? "";
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await node.containerd.ctr(["tasks", "list"])).toContain(id);
    const logs = await waitFor("the pod's log", async () => {
      const text = await kubectl(["-n", namespace, "logs", "hello"]);
      return text.includes("hello from") ? text : false;
    });
    expect(logs.trim()).toBe("hello from hello");
  });

  test("pods pass an HTTP readiness probe and reach each other and a Service's ClusterIP", async () => {
    await apply(
      pod(
        "web",
        "mkdir -p /www && echo web-says-hi > /www/index.html && exec httpd -f -p 8080 -h /www",
        { app: "web" },
        // The kubelet probes the pod's address over the bridge; Ready needs it to answer.
        { readinessProbe: { httpGet: { path: "/index.html", port: 8080 }, periodSeconds: 1 } },
      ),
      pod("client", "exec sleep 3600"),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace },
        spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    );
    const web = await waitRunning("web");
    await waitRunning("client");
    expect(await inClient(httpGet(web.status?.podIP ?? "", 8080))).toContain("web-says-hi");
    const clusterIp = await kubectl([
      "-n",
      namespace,
      "get",
      "svc",
      "web",
      "-o",
      "jsonpath={.spec.clusterIP}",
    ]);
    // kube-proxy programs the Service once it has seen its EndpointSlice.
    const viaService = await waitFor("the Service to answer", async () => {
      const body = await inClient(httpGet(clusterIp, 80));
      return body.includes("web-says-hi") ? body : false;
    });
    expect(viaService).toContain("web-says-hi");
  });

  test("cluster DNS resolves Services and the stable name of a StatefulSet member with a native sidecar", async () => {
    await apply(
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "members", namespace },
        spec: {
          clusterIP: "None",
          publishNotReadyAddresses: true,
          selector: { app: "members" },
          ports: [{ port: 8080, name: "http" }],
        },
      },
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name: "members", namespace },
        spec: {
          serviceName: "members",
          replicas: 2,
          podManagementPolicy: "Parallel",
          selector: { matchLabels: { app: "members" } },
          template: {
            metadata: { labels: { app: "members" } },
            spec: {
              terminationGracePeriodSeconds: 1,
              // A native sidecar (an init container that keeps running), as in a ZooKeeper pod.
              initContainers: [
                {
                  name: "sidecar",
                  restartPolicy: "Always",
                  image: node.images.busybox.ref,
                  imagePullPolicy: "Never",
                  command: [
                    "sh",
                    "-c",
                    "mkdir -p /s && echo sidecar-ok > /s/index.html && exec httpd -f -p 8081 -h /s",
                  ],
                  readinessProbe: { httpGet: { path: "/index.html", port: 8081 }, periodSeconds: 1 },
                },
              ],
              containers: [
                {
                  name: "main",
                  image: node.images.busybox.ref,
                  imagePullPolicy: "Never",
                  command: [
                    "sh",
                    "-c",
                    "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www",
                  ],
                },
              ],
            },
          },
        },
      },
    );
    const member = await waitRunning("members-1");
    const fqdn = `members-1.members.${namespace}.svc.cluster.local`;
    const answer = await waitFor(`DNS answer for ${fqdn}`, async () => {
      const out = await inClient(`nslookup ${fqdn}`);
      return out.includes(member.status?.podIP ?? "-") ? out : false;
    });
    expect(answer).toContain(`Name:\t${fqdn}`);
    // Short names through the search path, as a ZooKeeper member's config would use them.
    expect((await inClient(httpGet("members-1.members", 8080))).trim()).toBe("members-1");
    expect((await inClient(httpGet("members-1.members", 8081))).trim()).toBe("sidecar-ok");
    expect(await inClient(httpGet(`web.${namespace}.svc.cluster.local`, 80))).toContain("web-says-hi");
  });

  test("pods reach the API server through the kubernetes Service", async () => {
    // busybox has no TLS client: a plain HTTP request to the HTTPS port gets the API server's
    // own answer, which proves the path (ClusterIP → node address → API server).
    const out = await inClient("printf 'GET /version HTTP/1.0\\r\\n\\r\\n' | nc -w 3 kubernetes.default 443");
    expect(out).toContain("Client sent an HTTP request to an HTTPS server");
  });

  test("a PVC of the default StorageClass outlives its pod and is removed with reclaimPolicy Delete", async () => {
    const storage = node.storage;
    if (storage === null) throw new Error("local-path-provisioner is not built: run build-node-tools.sh");
    const withVolume = (name: string, script: string): object => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "main",
            image: node.images.busybox.ref,
            imagePullPolicy: "Never",
            command: ["sh", "-c", script],
            volumeMounts: [{ name: "data", mountPath: "/data" }],
          },
        ],
        volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
      },
    });
    await apply(
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data", namespace },
        // No storageClassName: the default class (local-path) serves it.
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
      withVolume("writer", "echo kept > /data/f && exec sleep 3600"),
    );
    await waitRunning("writer");
    const pv = await kubectl(["-n", namespace, "get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}"]);
    expect(pv).toMatch(/^pvc-/);
    await kubectl(["-n", namespace, "delete", "pod", "writer", "--wait=true"]);
    await apply(withVolume("reader", "cat /data/f && exec sleep 3600"));
    await waitRunning("reader");
    expect((await kubectl(["-n", namespace, "logs", "reader"])).trim()).toBe("kept");

    await kubectl(["-n", namespace, "delete", "pod", "reader", "--wait=true"]);
    await kubectl(["-n", namespace, "delete", "pvc", "data", "--wait=true"]);
    await waitFor(
      `PV ${pv} and its directory to be deleted`,
      async () =>
        (await kubectl(["get", "pv", "-o", "name"])).trim() === "" &&
        readdirSync(storage.volumesDir).length === 0,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  test("stopping the node leaves no container, mount, bridge, pod cgroup or iptables rule behind", async () => {
    up.node = false;
    await node.stop();
    expect(leftovers()).toEqual({
      mounts: [],
      shims: [],
      bridge: false,
      podCgroups: [],
      iptables: [],
      cniCache: [],
      logLinks: [],
    });
  });
});
