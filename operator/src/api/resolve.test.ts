import { describe, expect, test } from "vitest";
import { maxUnavailableLimit, resolveSpec, type ResolvedSpec } from "./resolve.ts";
import { API_VERSION, KIND, type ZooKeeperCluster, type ZooKeeperClusterSpec } from "./types.ts";

function cluster(spec: ZooKeeperClusterSpec | undefined, name = "zk"): ZooKeeperCluster {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: "ns", uid: "u-1" },
    ...(spec ? { spec } : {}),
  };
}

function resolved(spec: ZooKeeperClusterSpec): ResolvedSpec {
  const r = resolveSpec(cluster(spec));
  if (!r.ok) throw new Error(`unexpected ${r.reason}: ${r.message}`);
  return r.spec;
}

describe("resolveSpec defaults", () => {
  test("an object without spec resolves to every default", () => {
    const r = resolveSpec(cluster(undefined));
    expect(r).toEqual({
      ok: true,
      spec: {
        replicas: 3,
        observers: 0,
        image: "docker.io/library/zookeeper:3.9.4",
        imagePullPolicy: "IfNotPresent",
        imagePullSecrets: [],
        // Requests sized for the default heap (512 MiB is 75 % of 683 MiB).
        resources: { requests: { memory: "683Mi", cpu: "100m" } },
        sidecar: {
          image: "ghcr.io/zookeeper-ensemble/zk-sidecar:0.1.0",
          imagePullPolicy: "IfNotPresent",
          resources: { requests: { cpu: "10m", memory: "48Mi" }, limits: { memory: "96Mi" } },
        },
        jvm: { heapMiB: 512, options: [] },
        config: {
          tickTime: 2000,
          initLimit: 10,
          syncLimit: 5,
          maxClientCnxns: 60,
          autopurge: { snapRetainCount: 3, purgeInterval: 1 },
          additional: {},
        },
        storage: { size: "10Gi", storageClassName: null, reclaimPolicy: "Retain" },
        pod: {
          labels: {},
          annotations: {},
          nodeSelector: {},
          tolerations: [],
          affinity: null,
          topologySpreadConstraints: null,
          priorityClassName: null,
          antiAffinity: "preferred",
          terminationGracePeriodSeconds: 60,
        },
        disruptionBudget: { maxUnavailable: 1 },
        service: { type: "ClusterIP", annotations: {} },
        metrics: {
          enabled: true,
          port: 7000,
          podMonitor: { enabled: true, interval: "30s", labels: {} },
        },
        networkPolicy: { enabled: false, clients: [], metrics: [] },
        tls: { client: null, quorum: null, generated: false, clientAuth: "none" },
        paused: false,
        warnings: [],
      },
    });
  });

  test("the operator's sidecar image is used unless the spec names one", () => {
    expect(resolveSpec(cluster({}), { sidecarImage: "reg/sidecar:2" })).toMatchObject({
      ok: true,
      spec: { sidecar: { image: "reg/sidecar:2" } },
    });
    expect(
      resolveSpec(cluster({ sidecar: { image: "mine:1" } }), { sidecarImage: "reg/sidecar:2" }),
    ).toMatchObject({
      ok: true,
      spec: { sidecar: { image: "mine:1" } },
    });
  });

  test("the sidecar inherits the pull policy", () => {
    expect(resolved({ imagePullPolicy: "Always" }).sidecar.imagePullPolicy).toBe("Always");
  });

  test.each([
    ["explicit heap in MiB", { jvm: { heap: "768m" } }, 768],
    ["explicit heap in GiB", { jvm: { heap: "2g" } }, 2048],
    ["75 % of the memory limit", { resources: { limits: { memory: "2Gi" } } }, 1536],
    ["75 % of the memory request without a limit", { resources: { requests: { memory: "1000Mi" } } }, 750],
    ["decimal units", { resources: { limits: { memory: "1G" } } }, 715],
    [
      "explicit heap below the limit",
      { jvm: { heap: "1g" }, resources: { limits: { memory: "2Gi" } } },
      1024,
    ],
    ["nothing given", {}, 512],
  ] satisfies [string, ZooKeeperClusterSpec, number][])("heap: %s", (_, spec, heapMiB) => {
    expect(resolved(spec).jvm.heapMiB).toBe(heapMiB);
  });

  test.each([
    ["nothing given: sized for the default heap", {}, { requests: { memory: "683Mi", cpu: "100m" } }],
    ["an explicit heap", { jvm: { heap: "3g" } }, { requests: { memory: "4096Mi", cpu: "100m" } }],
    [
      "a memory limit: the request defaults to it (Kubernetes), only CPU is added",
      { resources: { limits: { memory: "2Gi" } } },
      { limits: { memory: "2Gi" }, requests: { cpu: "100m" } },
    ],
    [
      "requests given: kept as they are",
      { resources: { requests: { memory: "1Gi", cpu: "2" } } },
      { requests: { memory: "1Gi", cpu: "2" } },
    ],
  ] satisfies [string, ZooKeeperClusterSpec, object][])("resources: %s", (_, spec, resources) => {
    expect(resolved(spec).resources).toEqual(resources);
  });

  test("an even ensemble is accepted with a warning", () => {
    expect(resolved({ replicas: 4 }).warnings).toEqual([
      "spec.replicas is 4: an even ensemble tolerates no more failures than 3 members, while a quorum needs 3 of 4 (one more server to keep in sync, no more safety)",
    ]);
    expect(resolved({ replicas: 5 }).warnings).toEqual([]);
  });

  test("TLS from the operator's CA mounts NAME-tls; from a Secret, that Secret", () => {
    const spec = resolved({ tls: { client: { secretName: "mine" }, quorum: { generated: true } } });
    expect(spec.tls).toEqual({
      client: { secretName: "mine" },
      quorum: { generated: true },
      generated: true,
      clientAuth: "none",
    });
  });

  test("user maps are copied, not shared", () => {
    const spec: ZooKeeperClusterSpec = { pod: { labels: { team: "a" } } };
    const r = resolved(spec);
    r.pod.labels.team = "b";
    expect(spec.pod?.labels?.team).toBe("a");
  });
});

describe("resolveSpec rejects what the schema cannot check (or an object the schema never saw)", () => {
  test.each([
    ["a name too long for pod names", {}, "z".repeat(53), "InvalidSpec", "metadata.name"],
    [
      "the user's Secret named as the one the operator's CA writes",
      { tls: { client: { secretName: "zk-tls" }, quorum: { generated: true } } },
      "zk",
      "InvalidSpec",
      "spec.tls.client.secretName zk-tls is the Secret the operator's CA writes for spec.tls.quorum.generated",
    ],
    [
      "client certificates required with the operator's CA, which issues none",
      { tls: { client: { generated: true, clientAuth: "need" } } },
      "zk",
      "InvalidSpec",
      "spec.tls.client.clientAuth needs your own Secret (secretName)",
    ],
    [
      "a TLS role with both a Secret and the operator's CA",
      { tls: { quorum: { secretName: "mine", generated: true } } },
      "zk",
      "InvalidSpec",
      "spec.tls.quorum: set exactly one of secretName",
    ],
    ["a name with upper case", {}, "ZK", "InvalidSpec", "DNS-1035"],
    ["zero replicas", { replicas: 0 }, "zk", "InvalidSpec", "spec.replicas must be an integer from 1 to 255"],
    ["a fractional replica count", { replicas: 2.5 }, "zk", "InvalidSpec", "spec.replicas"],
    ["an empty image", { image: " " }, "zk", "InvalidSpec", "spec.image"],
    [
      "a heap as large as the memory limit",
      { jvm: { heap: "2g" }, resources: { limits: { memory: "2Gi" } } },
      "zk",
      "InvalidSpec",
      "must be smaller than the container's memory",
    ],
    ["a malformed heap", { jvm: { heap: "2GB" } }, "zk", "InvalidSpec", "spec.jvm.heap"],
    [
      "a malformed memory limit",
      { resources: { limits: { memory: "lots" } } },
      "zk",
      "InvalidSpec",
      "spec.resources",
    ],
    ["too little memory", { resources: { limits: { memory: "16Mi" } } }, "zk", "InvalidSpec", "too small"],
    ["-Xmx in jvm options", { jvm: { options: ["-Xmx1g"] } }, "zk", "InvalidSpec", "spec.jvm.heap"],
    [
      "the super digest in jvm options",
      { jvm: { options: ["-Dzookeeper.DigestAuthenticationProvider.superDigest=x"] } },
      "zk",
      "InvalidSpec",
      "super digest",
    ],
    [
      "a heap flag behind jvm.heap's back",
      { jvm: { options: ["-XX:MaxRAMPercentage=90"] } },
      "zk",
      "InvalidSpec",
      "spec.jvm.heap",
    ],
    [
      "an ACL bypass in jvm options",
      { jvm: { options: ["-Dzookeeper.skipACL=yes"] } },
      "zk",
      "InvalidSpec",
      "owned by the operator",
    ],
    [
      "a line break inside a jvm option",
      { jvm: { options: ["-XX:+UseG1GC\n-Dzookeeper.skipACL=yes"] } },
      "zk",
      "InvalidSpec",
      "one token",
    ],
    [
      "a non-ASCII space inside a jvm option",
      { jvm: { options: ["-Dfoo=a\u00a0b"] } },
      "zk",
      "InvalidSpec",
      "one token",
    ],
    [
      "an owned key",
      { config: { additional: { dynamicConfigFile: "/x" } } },
      "zk",
      "InvalidSpec",
      "dynamicConfigFile is set by the operator",
    ],
    [
      "an owned prefix",
      { config: { additional: { "server.1": "x" } } },
      "zk",
      "InvalidSpec",
      "server.1 is set by the operator",
    ],
    [
      "a sidecar-owned key",
      { config: { additional: { "admin.serverAddress": "0.0.0.0" } } },
      "zk",
      "InvalidSpec",
      "admin.serverAddress",
    ],
    [
      "a metrics provider key",
      { config: { additional: { "metricsProvider.httpPort": "9" } } },
      "zk",
      "InvalidSpec",
      "metricsProvider.httpPort",
    ],
    ["a typed key", { config: { additional: { syncLimit: "2" } } }, "zk", "InvalidSpec", "has its own field"],
    ["a line break", { config: { additional: { a: "1\nserver.9=x" } } }, "zk", "InvalidSpec", "line break"],
    [
      "a backslash",
      { config: { additional: { "jute.maxbuffer": "1\\uZZZZ" } } },
      "zk",
      "InvalidSpec",
      "the value of jute.maxbuffer contains a backslash",
    ],
    ["a bad key", { config: { additional: { "a b": "1" } } }, "zk", "InvalidSpec", "is not a zoo.cfg key"],
    ["zero syncLimit", { config: { syncLimit: 0 } }, "zk", "InvalidSpec", "at least 1"],
    [
      "a storage size that is no quantity",
      { storage: { size: "big" } },
      "zk",
      "InvalidSpec",
      "spec.storage.size",
    ],
    ["a zero storage size", { storage: { size: "0Gi" } }, "zk", "InvalidSpec", "greater than zero"],
    [
      "a reserved pod label",
      { pod: { labels: { "app.kubernetes.io/name": "x" } } },
      "zk",
      "InvalidSpec",
      "spec.pod.labels",
    ],
    [
      "maxUnavailable beyond quorum",
      { replicas: 5, disruptionBudget: { maxUnavailable: 3 } },
      "zk",
      "InvalidSpec",
      "must be from 1 to 2 for 5 replicas",
    ],
    [
      "maxUnavailable zero",
      { disruptionBudget: { maxUnavailable: 0 } },
      "zk",
      "InvalidSpec",
      "maxUnavailable",
    ],
    [
      "the metrics port on the sidecar's",
      { metrics: { port: 8081 } },
      "zk",
      "InvalidSpec",
      "spec.metrics.port 8081",
    ],
  ] satisfies [string, ZooKeeperClusterSpec, string, string, string][])(
    "%s",
    (_, spec, name, reason, message) => {
      const r = resolveSpec(cluster(spec, name));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe(reason);
      expect(r.message).toContain(message);
    },
  );
});

test.each([
  [1, 1],
  [2, 1],
  [3, 1],
  [4, 1],
  [5, 2],
  [7, 3],
])("maxUnavailableLimit(%i) = %i", (replicas, limit) => {
  expect(maxUnavailableLimit(replicas)).toBe(limit);
});
