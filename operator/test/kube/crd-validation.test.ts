// The API is the user's contract: a real kube-apiserver, with the generated CRD file installed as a
// user would (kubectl apply), must reject bad specs with our messages before the operator sees them,
// fill in the defaults, keep `storage` immutable, and print the columns of `kubectl get zk`.
import { ApiException, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { runKubectl } from "../../../e2e/rig/kube-control-plane.ts";
import { repoRoot } from "../../../e2e/rig/paths.ts";
import { CRD_FILE, CRD_NAME } from "../../src/generators/crd.ts";
import { fullSpec } from "../fixtures/examples.ts";
import { GROUP, KIND, API_VERSION, PLURAL, VERSION, type ZooKeeperCluster } from "../../src/api/types.ts";

const kubeconfig = inject("kubeconfig");
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const custom = kc.makeApiClient(CustomObjectsApi);
const namespace = `crd-${randomBytes(3).toString("hex")}`;
const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? {} : { input });

function cluster(name: string, spec: unknown): object {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

async function create(body: object): Promise<ZooKeeperCluster> {
  return (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
  })) as ZooKeeperCluster;
}

/** The API server's message for a rejected request (client-node 2.x keeps the body as text). */
async function rejection(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    expect(err.code).toBe(422);
    const body: unknown = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    return String((body as { message?: unknown }).message);
  }
  throw new Error("the API server accepted an invalid object");
}

beforeAll(async () => {
  // Server-side apply: the CRD is too large for kubectl's last-applied annotation.
  await kubectl(["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, CRD_FILE)]);
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
  await kubectl(["create", "namespace", namespace]);
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
});

let n = 0;
const fresh = (): string => `bad-${++n}`;

// Each row: what is wrong, the spec (or a different name), and a part of the message we promise.
const invalid: { what: string; spec?: unknown; name?: string; message: string }[] = [
  {
    what: "zero replicas",
    spec: { replicas: 0 },
    message: "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
  },
  { what: "too many replicas", spec: { replicas: 256 }, message: "should be less than or equal to 255" },
  {
    what: "negative observers",
    spec: { observers: -1 },
    message: "spec.observers in body should be greater than or equal to 0",
  },
  {
    what: "replicas and observers beyond server id 255",
    spec: { replicas: 200, observers: 56 },
    message: "replicas + observers must not exceed 255: server ids run from 1 to 255",
  },
  { what: "an empty image", spec: { image: "" }, message: "spec.image: Invalid value" },
  {
    what: "an image with a space",
    spec: { image: "zookeeper 3.9" },
    message: "must be a non-empty image reference without spaces",
  },
  {
    what: "an unknown pull policy",
    spec: { imagePullPolicy: "Sometimes" },
    message: 'Unsupported value: "Sometimes"',
  },
  {
    what: "a malformed heap",
    spec: { jvm: { heap: "lots" } },
    message: "must be a heap size like 512m or 2g",
  },
  {
    what: "a negative CPU request",
    spec: { resources: { requests: { cpu: "-1" } } },
    message: "spec.resources.requests.cpu in body should match",
  },
  {
    what: "requests above limits",
    spec: { resources: { requests: { memory: "2Gi" }, limits: { memory: "1Gi" } } },
    message: "requests may not exceed limits",
  },
  {
    what: "an image reference with a non-ASCII space",
    spec: { image: "zookeeper:3.9\u00a0latest" },
    message: "must be a non-empty image reference without spaces (ASCII or Unicode) or control characters",
  },
  {
    what: "a pod label value Kubernetes would refuse",
    spec: { pod: { labels: { team: "data team!" } } },
    message: "spec.pod.labels.team in body should match",
  },
  {
    what: "a pod label key Kubernetes would refuse",
    spec: { pod: { labels: { "bad key": "x" } } },
    message: "keys must be label keys",
  },
  {
    what: "an absurd storage size",
    spec: { storage: { size: "5Ei" } },
    message: "must be at most 64Ti",
  },
  {
    what: "an absurd heap",
    spec: { jvm: { heap: "9999999g" }, resources: { limits: { memory: "64Gi" } } },
    message: "must be at most 1024g",
  },
  {
    what: "-Xmx in jvm.options",
    spec: { jvm: { options: ["-Xmx4g"] } },
    message: "set the heap with jvm.heap, not -Xmx/-Xms",
  },
  {
    what: "a heap behind jvm.heap's back (-XX:MaxRAMPercentage)",
    spec: { jvm: { options: ["-XX:MaxRAMPercentage=90"] } },
    message: "set the heap with jvm.heap, not -Xmx/-Xms or -XX heap and RAM options",
  },
  {
    what: "-XX:MaxHeapSize in jvm.options",
    spec: { jvm: { options: ["-XX:MaxHeapSize=8g"] } },
    message: "set the heap with jvm.heap",
  },
  {
    what: "an ACL bypass (-Dzookeeper.skipACL) in jvm.options",
    spec: { jvm: { options: ["-Dzookeeper.skipACL=yes"] } },
    message:
      "authentication and ACL properties (skipACL, superUser, auth providers, the super digest) are owned by the operator",
  },
  {
    what: "an auth provider in jvm.options",
    spec: { jvm: { options: ["-Dzookeeper.authProvider.1=com.example.Open"] } },
    message: "are owned by the operator",
  },
  {
    what: "a line break inside a JVM option",
    spec: { jvm: { options: ["-XX:+UseG1GC\n-Dzookeeper.skipACL=yes"] } },
    message: "each JVM option must be one token starting with '-'",
  },
  {
    what: "a non-ASCII space inside a JVM option",
    spec: { jvm: { options: ["-Dfoo=a\u2028b"] } },
    message: "each JVM option must be one token starting with '-'",
  },
  {
    what: "a JVM option that is not an option",
    spec: { jvm: { options: ["com.example.Main"] } },
    message: "each JVM option must be one token starting with '-'",
  },
  {
    what: "a config value ending in a backslash",
    spec: { config: { additional: { globalOutstandingLimit: "1000\\" } } },
    message: "values may not contain a backslash",
  },
  {
    // ZooKeeper itself exits on it: "Malformed \uxxxx encoding".
    what: "a config value with a malformed unicode escape",
    spec: { config: { additional: { "jute.maxbuffer": "1\\uZZZZ" } } },
    message: "values may not contain a backslash",
  },
  {
    what: "a control character in a config value",
    spec: { config: { additional: { globalOutstandingLimit: "10\u000700" } } },
    message: "values may not contain control characters",
  },
  {
    what: "dataDir in config",
    spec: { config: { additional: { dataDir: "/tmp" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "a server.N line in config",
    spec: { config: { additional: { "server.4": "evil:2888:3888" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "reconfigEnabled in config",
    spec: { config: { additional: { reconfigEnabled: "false" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "the 4lw whitelist in config",
    spec: { config: { additional: { "4lw.commands.whitelist": "*" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "skipACL in config",
    spec: { config: { additional: { skipACL: "yes" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "superUser in config (ZooKeeper makes it the system property zookeeper.superUser)",
    spec: { config: { additional: { superUser: "bob" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "an auth provider in config",
    spec: { config: { additional: { "authProvider.1": "com.example.Open" } } },
    message: "may not set keys the operator owns",
  },
  {
    what: "a typed key repeated in additional",
    spec: { config: { additional: { tickTime: "3000" } } },
    message: "have their own fields under spec.config",
  },
  {
    what: "a line break in a value",
    spec: { config: { additional: { globalOutstandingLimit: "1\nserver.9=x:1:2" } } },
    message: "values may not contain line breaks",
  },
  {
    what: "a key that is not a zoo.cfg key",
    spec: { config: { additional: { "bad key": "1" } } },
    message: "keys must be zoo.cfg keys",
  },
  {
    what: "a tiny tickTime",
    spec: { config: { tickTime: 10 } },
    message: "spec.config.tickTime in body should be greater than or equal to 100",
  },
  {
    what: "a zero storage size",
    spec: { storage: { size: "0" } },
    message: "must be a positive quantity such as 10Gi",
  },
  {
    what: "a storage size that is not a quantity",
    spec: { storage: { size: "ten gigs" } },
    message: "must be a positive quantity such as 10Gi",
  },
  {
    what: "an unknown reclaim policy",
    spec: { storage: { reclaimPolicy: "Keep" } },
    message: 'Unsupported value: "Keep"',
  },
  {
    what: "an invalid storage class name",
    spec: { storage: { storageClassName: "Fast_SSD" } },
    message: "must be a valid StorageClass name",
  },
  {
    what: "tolerationSeconds without NoExecute",
    spec: {
      pod: { tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5 }] },
    },
    message: "tolerationSeconds is only allowed with effect NoExecute",
  },
  {
    what: "an affinity of the wrong type (core/v1 Affinity's own schema)",
    spec: { pod: { affinity: { nodeAffinity: "zone-a" } } },
    message:
      'spec.pod.affinity.nodeAffinity: Invalid value: "string": spec.pod.affinity.nodeAffinity in body must be of type object',
  },
  {
    what: "a pod affinity term without its topologyKey",
    spec: {
      pod: {
        affinity: {
          podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {} }] },
        },
      },
    },
    message:
      "spec.pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value",
  },
  {
    what: "a spread constraint whose selector has a number for a label value",
    spec: {
      pod: {
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { tier: 5 } },
          },
        ],
      },
    },
    message:
      "spec.pod.topologySpreadConstraints[0].labelSelector.matchLabels.tier in body must be of type string",
  },
  {
    what: "an unknown anti-affinity",
    spec: { pod: { antiAffinity: "sometimes" } },
    message: 'Unsupported value: "sometimes"',
  },
  {
    what: "a pod label the operator selects by",
    spec: { pod: { labels: { "app.kubernetes.io/instance": "other" } } },
    message: "may not set the labels the operator selects pods by",
  },
  {
    what: "the config-hash annotation",
    spec: { pod: { annotations: { "zookeeper.ensemble.dev/config-hash": "x" } } },
    message: "may not set annotations under zookeeper.ensemble.dev/",
  },
  {
    what: "maxUnavailable 0",
    spec: { disruptionBudget: { maxUnavailable: 0 } },
    message: "spec.disruptionBudget.maxUnavailable in body should be greater than or equal to 1",
  },
  {
    what: "maxUnavailable that breaks quorum",
    spec: { replicas: 3, disruptionBudget: { maxUnavailable: 2 } },
    message: "disruptionBudget.maxUnavailable must not exceed (replicas-1)/2",
  },
  {
    what: "an ExternalName client Service",
    spec: { service: { type: "ExternalName" } },
    message: 'Unsupported value: "ExternalName"',
  },
  {
    what: "the metrics port on the client port",
    spec: { metrics: { port: 2181 } },
    message: "must not be a port ZooKeeper or the sidecar already uses",
  },
  {
    what: "a PodMonitor label value Kubernetes would refuse",
    spec: { metrics: { podMonitor: { labels: { release: "kube prometheus" } } } },
    message: "spec.metrics.podMonitor.labels.release",
  },
  {
    what: "a PodMonitor scrape interval that is not a duration",
    spec: { metrics: { podMonitor: { interval: "often" } } },
    message: "must be a duration such as 30s or 1m",
  },
  {
    what: "an invalid TLS Secret name",
    spec: { tls: { client: { secretName: "Not_A_Secret" } } },
    message: "must be a valid Secret name",
  },
  {
    what: "a TLS section without its Secret or the operator's CA",
    spec: { tls: { quorum: {} } },
    message:
      "spec.tls.quorum: Invalid value: set exactly one of secretName (your Secret) or generated: true (the operator's CA)",
  },
  {
    what: "client certificates required with the operator's CA",
    spec: { tls: { client: { generated: true, clientAuth: "need" } } },
    message: "spec.tls.client: Invalid value: clientAuth needs your own Secret (secretName)",
  },
  {
    what: "a client certificate mode ZooKeeper does not know",
    spec: { tls: { client: { secretName: "c", clientAuth: "required" } } },
    message:
      'spec.tls.client.clientAuth: Unsupported value: "required": supported values: "none", "want", "need"',
  },
  {
    what: "a TLS section with both a Secret and the operator's CA",
    spec: { tls: { client: { secretName: "mine", generated: true } } },
    message: "spec.tls.client: Invalid value: set exactly one of secretName",
  },
  {
    what: "an invalid image pull Secret name",
    spec: { imagePullSecrets: [{ name: "UPPER" }] },
    message: "must be a valid Secret name",
  },
  {
    what: "a name too long for pod and Service names",
    name: `z${"k".repeat(52)}`,
    spec: {},
    message: "metadata.name must be a DNS-1035 label of at most 52 characters",
  },
  {
    what: "a name starting with a digit",
    name: "1zk",
    spec: {},
    message: "metadata.name must be a DNS-1035 label",
  },
];

describe("the API server rejects invalid specs with a clear message", () => {
  test("there are at least 15 of them", () => {
    expect(invalid.length).toBeGreaterThanOrEqual(15);
  });

  test.each(invalid)("$what", async ({ spec, name, message }) => {
    expect(await rejection(create(cluster(name ?? fresh(), spec)))).toContain(message);
  });
});

describe("valid specs", () => {
  test("an empty spec is accepted and defaulted by the API server", async () => {
    const created = await create(cluster("defaults", {}));
    expect(created.spec).toEqual({
      replicas: 3,
      observers: 0,
      image: "docker.io/library/zookeeper:3.9.4",
      imagePullPolicy: "IfNotPresent",
      config: {
        tickTime: 2000,
        initLimit: 10,
        syncLimit: 5,
        maxClientCnxns: 60,
        autopurge: { snapRetainCount: 3, purgeInterval: 1 },
      },
      storage: { size: "10Gi", reclaimPolicy: "Retain" },
      pod: { antiAffinity: "preferred", terminationGracePeriodSeconds: 60 },
      disruptionBudget: { maxUnavailable: 1 },
      service: { type: "ClusterIP" },
      networkPolicy: { enabled: false },
      metrics: { enabled: true, port: 7000, podMonitor: { enabled: true, interval: "30s" } },
      paused: false,
    });
  });

  test("an object without spec gets the defaults too", async () => {
    const created = await create({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: "nospec", namespace },
    });
    expect(created.spec?.replicas).toBe(3);
    expect(created.spec?.storage).toEqual({ size: "10Gi", reclaimPolicy: "Retain" });
  });

  test("a fully populated spec is accepted unchanged", async () => {
    const created = await create(cluster("full", fullSpec));
    expect(created.spec).toEqual(fullSpec);
  });

  test("a one-server ensemble may have maxUnavailable 1", async () => {
    const created = await create(cluster("single", { replicas: 1, disruptionBudget: { maxUnavailable: 1 } }));
    expect(created.spec?.replicas).toBe(1);
  });
});

const patch = (name: string, body: object): Promise<string> =>
  kubectl(["patch", "zk", name, "-n", namespace, "--type=merge", "-o", "json", "-p", JSON.stringify(body)]);
/** kubectl's error text for a rejected patch. */
async function refused(request: Promise<string>): Promise<string> {
  try {
    await request;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the API server accepted an invalid patch");
}

describe("storage is immutable", () => {
  beforeAll(async () => {
    await create(cluster("immutable", { storage: { size: "5Gi" } }));
  });

  test("changing the size is rejected", async () => {
    expect(await refused(patch("immutable", { spec: { storage: { size: "50Gi" } } }))).toContain(
      "storage is immutable",
    );
  });

  test("changing the reclaim policy is rejected", async () => {
    expect(await refused(patch("immutable", { spec: { storage: { reclaimPolicy: "Delete" } } }))).toContain(
      "storage is immutable",
    );
  });

  test("other fields may change", async () => {
    const updated = JSON.parse(await patch("immutable", { spec: { replicas: 5 } })) as ZooKeeperCluster;
    expect(updated.spec?.replicas).toBe(5);
    expect(updated.spec?.storage?.size).toBe("5Gi");
  });
});

describe("TLS is chosen at creation", () => {
  beforeAll(async () => {
    await create(cluster("plain", {}));
    await create(cluster("secure", { tls: { client: { secretName: "c" }, quorum: { secretName: "q" } } }));
  });

  test.each(["client", "quorum"])("turning %s TLS on under a running ensemble is refused", async (role) => {
    expect(await refused(patch("plain", { spec: { tls: { [role]: { secretName: "x" } } } }))).toContain(
      `tls.${role} cannot be turned on or off on an existing cluster yet`,
    );
  });

  test("turning TLS off is refused; pointing it at another Secret (a renewal by name) is not", async () => {
    expect(await refused(patch("secure", { spec: { tls: { quorum: null } } }))).toContain(
      "tls.quorum cannot be turned on or off on an existing cluster yet",
    );
    const updated = JSON.parse(
      await patch("secure", { spec: { tls: { client: { secretName: "c2" } } } }),
    ) as ZooKeeperCluster;
    expect(updated.spec?.tls?.client?.secretName).toBe("c2");
  });

  test("moving a role between a Secret and the operator's CA is refused", async () => {
    expect(
      await refused(patch("secure", { spec: { tls: { quorum: { secretName: null, generated: true } } } })),
    ).toContain("tls.quorum.generated cannot change on an existing cluster");
  });
});

describe("kubectl get zk", () => {
  test("short names and printer columns, filled from status through the status subresource", async () => {
    await create(cluster("printed", {}));
    await kubectl([
      "patch",
      "zkc",
      "printed",
      "-n",
      namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: {
          readyReplicas: 3,
          leader: "printed-1",
          version: "3.9.4",
          conditions: [
            {
              type: "Available",
              status: "True",
              reason: "QuorumServing",
              message: "ok",
              lastTransitionTime: "2026-01-01T00:00:00Z",
            },
          ],
        },
      }),
    ]);
    const out = await kubectl(["get", "zk", "printed", "-n", namespace]);
    const [header, row] = out.trim().split("\n");
    expect(header?.split(/\s+/)).toEqual([
      "NAME",
      "REPLICAS",
      "READY",
      "LEADER",
      "VERSION",
      "AVAILABLE",
      "AGE",
    ]);
    expect(row?.split(/\s+/).slice(0, 6)).toEqual(["printed", "3", "3", "printed-1", "3.9.4", "True"]);
  });

  test("the status subresource ignores spec changes and the main resource ignores status", async () => {
    await create(cluster("subresource", {}));
    await kubectl([
      "patch",
      "zk",
      "subresource",
      "-n",
      namespace,
      "--type=merge",
      "-p",
      JSON.stringify({ status: { leader: "x" } }),
    ]);
    const got = JSON.parse(
      await kubectl(["get", "zk", "subresource", "-n", namespace, "-o", "json"]),
    ) as ZooKeeperCluster;
    expect(got.status?.leader).toBeUndefined();
  });

  test("kubectl explain describes every level", async () => {
    const out = await kubectl(["explain", "zk.spec.storage.reclaimPolicy"]);
    expect(out).toContain("What happens to a volume when the cluster is deleted or scaled down");
  });
});
