import type { V1Container, V1StatefulSet } from "@kubernetes/client-node";
import { describe, expect, test } from "vitest";
import type { ZooKeeperClusterSpec } from "../api/types.ts";
import { buildStatefulSet } from "./statefulset.ts";
import { computeConfigHash, renderStaticConfig } from "./zoo-cfg.ts";
import { LABELS_OF_ZK, OWNER, resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";

const selector = {
  "app.kubernetes.io/name": "zookeeper",
  "app.kubernetes.io/instance": "zk",
  "app.kubernetes.io/component": "server",
};

function build(spec: ZooKeeperClusterSpec = {}, replicas = 3): V1StatefulSet {
  const cluster = testCluster(spec);
  const resolved = resolvedFor(cluster);
  return buildStatefulSet(cluster, resolved, {
    replicas,
    configHash: computeConfigHash(renderStaticConfig(resolved)),
    clusterDomain: "cluster.local",
  });
}

function container(sts: V1StatefulSet, name: string): V1Container {
  const pod = sts.spec?.template.spec;
  const found = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

function env(c: V1Container): Record<string, unknown> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
}

describe("the StatefulSet's own settings", () => {
  test("identity, Parallel pod management, OnDelete updates, headless service, selector", () => {
    const sts = build({}, 3);
    expect(sts.apiVersion).toBe("apps/v1");
    expect(sts.metadata).toEqual({
      name: "zk",
      namespace: "prod",
      labels: LABELS_OF_ZK,
      ownerReferences: [OWNER],
    });
    expect(sts.spec).toMatchObject({
      replicas: 3,
      serviceName: "zk-headless",
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "OnDelete" },
      selector: { matchLabels: selector },
    });
  });

  test("a StatefulSet grown for a joiner names it in an annotation of its own, not of the pod template", () => {
    const cluster = testCluster({ replicas: 5 });
    const resolved = resolvedFor(cluster);
    const input = {
      replicas: 4,
      configHash: computeConfigHash(renderStaticConfig(resolved)),
      clusterDomain: "cluster.local",
    };
    const grown = buildStatefulSet(cluster, resolved, { ...input, joining: 4 });
    expect(grown.metadata?.annotations).toEqual({ "zookeeper.ensemble.dev/joining": "4" });
    const plain = buildStatefulSet(cluster, resolved, input);
    expect(plain.metadata?.annotations).toBeUndefined();
    // Nothing restarts for it.
    expect(grown.spec?.template).toEqual(plain.spec?.template);
  });

  test.each([
    ["default Retain", {}, "Retain", undefined, "10Gi"],
    [
      "Delete with a storage class",
      { storage: { reclaimPolicy: "Delete", storageClassName: "fast", size: "20Gi" } },
      "Delete",
      "fast",
      "20Gi",
    ],
  ] satisfies [string, ZooKeeperClusterSpec, string, string | undefined, string][])(
    "volumes: %s",
    (_, spec, policy, storageClassName, size) => {
      const sts = build(spec);
      expect(sts.spec?.persistentVolumeClaimRetentionPolicy).toEqual({
        whenDeleted: policy,
        whenScaled: policy,
      });
      expect(sts.spec?.volumeClaimTemplates).toEqual([
        {
          metadata: { name: "data", labels: selector },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(storageClassName ? { storageClassName } : {}),
            resources: { requests: { storage: size } },
          },
        },
      ]);
    },
  );
});

describe("the pod layout (DESIGN.md)", () => {
  test("init container config, native sidecar, zookeeper container", () => {
    const pod = build().spec?.template.spec;
    expect(pod?.initContainers?.map((c) => [c.name, c.command, c.restartPolicy])).toEqual([
      ["config", ["zk-sidecar", "init"], undefined],
      ["sidecar", ["zk-sidecar", "serve"], "Always"],
    ]);
    expect(pod?.containers.map((c) => [c.name, c.command, c.image])).toEqual([
      ["zookeeper", ["zkServer.sh", "start-foreground"], "docker.io/library/zookeeper:3.9.4"],
    ]);
    expect(container(build(), "sidecar").image).toBe("ghcr.io/zookeeper-ensemble/zk-sidecar:0.1.0");
  });

  test("readiness asks the sidecar (quorum-aware); liveness and startup are ZooKeeper's own port; the sidecar has its own liveness", () => {
    const zk = container(build(), "zookeeper");
    expect(zk.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: 8081 });
    // A hung sidecar must not restart a healthy ZooKeeper: nothing but readiness goes through it.
    expect(zk.livenessProbe).toMatchObject({ tcpSocket: { port: 2181 } });
    expect(zk.livenessProbe?.httpGet).toBeUndefined();
    // A server loading a large snapshot opens its client port late: 10 minutes before liveness.
    expect(zk.startupProbe).toMatchObject({
      tcpSocket: { port: 2181 },
      periodSeconds: 5,
      failureThreshold: 120,
    });
    expect(container(build(), "sidecar").livenessProbe?.httpGet).toEqual({ path: "/status", port: 8081 });
    expect(container(build(), "sidecar").ports).toEqual([
      { name: "sidecar-http", containerPort: 8081, protocol: "TCP" },
    ]);
  });

  test("init refuses an empty volume of an initialized ensemble after 20 s, so the operator hears of it soon", () => {
    expect(container(build(), "config").env).toContainEqual({ name: "ZK_REJOIN_WAIT_MS", value: "20000" });
  });

  test("restricted security context on the pod and every container", () => {
    const sts = build();
    expect(sts.spec?.template.spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(sts.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    for (const name of ["config", "sidecar", "zookeeper"]) {
      expect(container(sts, name).securityContext, name).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
      });
    }
  });

  test("the sidecar contract's environment on init and sidecar", () => {
    const sts = build();
    for (const name of ["config", "sidecar"]) {
      expect(env(container(sts, name)), name).toMatchObject({
        POD_NAME: { fieldRef: { fieldPath: "metadata.name" } },
        POD_NAMESPACE: { fieldRef: { fieldPath: "metadata.namespace" } },
        ZK_HEADLESS_SERVICE: "zk-headless",
        ZK_CLUSTER_DOMAIN: "cluster.local",
        ZK_CLIENT_PORT: "2181",
        ZK_QUORUM_PORT: "2888",
        ZK_ELECTION_PORT: "3888",
        ZK_DATA_DIR: "/data",
        ZK_CONF_DIR: "/conf",
        ZK_OPERATOR_CONFIG_DIR: "/etc/zookeeper-operator",
      });
    }
    expect(env(container(sts, "sidecar")).ZK_SIDECAR_HTTP_PORT).toBe("8081");
  });

  test.each([
    [
      "default heap and no extra options",
      {},
      "512",
      "-Dzookeeper.DigestAuthenticationProvider.superDigest=$(ZK_SUPER_DIGEST) -Dlogback.configurationFile=/etc/zookeeper-operator/logback.xml",
    ],
    [
      "heap and options from the spec",
      { jvm: { heap: "2g", options: ["-XX:+UseG1GC"] } },
      "2048",
      "-Dzookeeper.DigestAuthenticationProvider.superDigest=$(ZK_SUPER_DIGEST) -Dlogback.configurationFile=/etc/zookeeper-operator/logback.xml -XX:+UseG1GC",
    ],
  ] satisfies [string, ZooKeeperClusterSpec, string, string][])(
    "zookeeper env: %s",
    (_, spec, heap, flags) => {
      const zk = container(build(spec), "zookeeper");
      const names = (zk.env ?? []).map((e) => e.name);
      expect(env(zk)).toEqual({
        ZOOCFGDIR: "/conf",
        ZOO_LOG_DIR: "/logs",
        ZK_SERVER_HEAP: heap,
        ZK_SUPER_DIGEST: { secretKeyRef: { name: "zk-admin", key: "superDigest" } },
        SERVER_JVMFLAGS: flags,
      });
      // $(ZK_SUPER_DIGEST) is only expanded when the variable is defined earlier in the list.
      expect(names.indexOf("ZK_SUPER_DIGEST")).toBeLessThan(names.indexOf("SERVER_JVMFLAGS"));
    },
  );

  test("mounts: data and conf (on the data volume) everywhere, admin Secret only in the sidecar", () => {
    const sts = build();
    const mounts = (name: string): string[] =>
      (container(sts, name).volumeMounts ?? []).map(
        (m) => `${m.name}${m.subPath ? `/${m.subPath}` : ""}:${m.mountPath}${m.readOnly ? ":ro" : ""}`,
      );
    expect(mounts("config")).toEqual([
      "data:/data",
      "data/conf:/conf",
      "operator-config:/etc/zookeeper-operator:ro",
    ]);
    expect(mounts("sidecar")).toEqual([
      "data:/data:ro",
      "data/conf:/conf:ro",
      "operator-config:/etc/zookeeper-operator:ro",
      "admin:/etc/zookeeper-admin:ro",
      "tmp:/tmp",
    ]);
    expect(mounts("zookeeper")).toEqual([
      "data:/data",
      "data/conf:/conf",
      "operator-config:/etc/zookeeper-operator:ro",
      "tmp:/tmp",
      "logs:/logs",
    ]);
    expect(sts.spec?.template.spec?.volumes).toEqual([
      { name: "operator-config", configMap: { name: "zk-config" } },
      { name: "admin", secret: { secretName: "zk-admin", defaultMode: 0o440 } },
      { name: "tmp", emptyDir: {} },
      { name: "logs", emptyDir: {} },
    ]);
  });

  test("TLS: the Secrets mounted whole into init and sidecar, the stores in memory, ZooKeeper reads only the stores", () => {
    const sts = build({
      tls: { client: { secretName: "zk-client-tls" }, quorum: { secretName: "zk-peer-tls" } },
    });
    const mounts = (name: string): string[] =>
      (container(sts, name).volumeMounts ?? [])
        .filter((m) => m.name.startsWith("tls-"))
        .map((m) => `${m.name}:${m.mountPath}${m.readOnly ? ":ro" : ""}${m.subPath ? " subPath" : ""}`);
    const secrets = ["tls-client:/etc/zookeeper-tls/client:ro", "tls-quorum:/etc/zookeeper-tls/quorum:ro"];
    expect(mounts("config")).toEqual([...secrets, "tls-stores:/var/run/zookeeper/tls"]);
    expect(mounts("sidecar")).toEqual([...secrets, "tls-stores:/var/run/zookeeper/tls"]);
    expect(mounts("zookeeper")).toEqual(["tls-stores:/var/run/zookeeper/tls:ro"]);
    expect(sts.spec?.template.spec?.volumes?.filter((v) => v.name.startsWith("tls-"))).toEqual([
      { name: "tls-client", secret: { secretName: "zk-client-tls", defaultMode: 0o440 } },
      { name: "tls-quorum", secret: { secretName: "zk-peer-tls", defaultMode: 0o440 } },
      { name: "tls-stores", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    ]);
    for (const name of ["config", "sidecar"]) {
      expect(env(container(sts, name))).toMatchObject({
        ZK_TLS_CLIENT_DIR: "/etc/zookeeper-tls/client",
        ZK_TLS_QUORUM_DIR: "/etc/zookeeper-tls/quorum",
        ZK_TLS_STORE_DIR: "/var/run/zookeeper/tls",
        ZK_SECURE_CLIENT_PORT: "2281",
      });
    }
    // The plain client port listens on loopback only: probes use the secure one.
    const zk = container(sts, "zookeeper");
    expect(zk.startupProbe?.tcpSocket?.port).toBe(2281);
    expect(zk.livenessProbe?.tcpSocket?.port).toBe(2281);
  });

  test("the operator's CA: both roles mount NAME-tls, which it issues", () => {
    const sts = build({ tls: { client: { generated: true }, quorum: { generated: true } } });
    expect(sts.spec?.template.spec?.volumes?.filter((v) => v.name.startsWith("tls-")).slice(0, 2)).toEqual([
      { name: "tls-client", secret: { secretName: "zk-tls", defaultMode: 0o440 } },
      { name: "tls-quorum", secret: { secretName: "zk-tls", defaultMode: 0o440 } },
    ]);
  });

  test("client certificates: the sidecar is told, only when asked (an older cluster's template stays as it was)", () => {
    const need = build({ tls: { client: { secretName: "t", clientAuth: "need" } } });
    expect(env(container(need, "config")).ZK_TLS_CLIENT_AUTH).toBe("need");
    expect(env(container(need, "sidecar")).ZK_TLS_CLIENT_AUTH).toBe("need");
    const none = build({ tls: { client: { secretName: "t", clientAuth: "none" } } });
    expect(env(container(none, "config")).ZK_TLS_CLIENT_AUTH).toBeUndefined();
    expect(none.spec?.template).toEqual(build({ tls: { client: { secretName: "t" } } }).spec?.template);
  });

  test("quorum TLS alone: no secure client port, probes on the plain one", () => {
    const sts = build({ tls: { quorum: { secretName: "zk-peer-tls" } } });
    expect(env(container(sts, "sidecar")).ZK_TLS_CLIENT_DIR).toBeUndefined();
    expect(env(container(sts, "sidecar")).ZK_TLS_QUORUM_DIR).toBe("/etc/zookeeper-tls/quorum");
    expect(container(sts, "zookeeper").livenessProbe?.tcpSocket?.port).toBe(2181);
  });

  test.each([
    ["metrics on", {}, ["client:2181", "quorum:2888", "election:3888", "metrics:7000"]],
    ["metrics off", { metrics: { enabled: false } }, ["client:2181", "quorum:2888", "election:3888"]],
    [
      "client TLS",
      { tls: { client: { secretName: "t" } } },
      ["client-tls:2281", "quorum:2888", "election:3888", "metrics:7000"],
    ],
  ] satisfies [string, ZooKeeperClusterSpec, string[]][])("zookeeper ports: %s", (_, spec, ports) => {
    expect(container(build(spec), "zookeeper").ports?.map((p) => `${p.name}:${p.containerPort}`)).toEqual(
      ports,
    );
  });

  test("resources from the spec", () => {
    const resources = { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "2Gi" } };
    const sidecarResources = { limits: { memory: "64Mi" } };
    const sts = build({ resources, sidecar: { resources: sidecarResources } });
    expect(container(sts, "zookeeper").resources).toEqual(resources);
    expect(container(sts, "sidecar").resources).toEqual(sidecarResources);
    expect(container(sts, "config").resources).toEqual(sidecarResources);
  });
});

describe("pod template metadata", () => {
  test("our labels over the user's, the user's annotations plus the config hash", () => {
    const cluster = testCluster({ pod: { labels: { team: "a" }, annotations: { note: "x" } } });
    const sts = build({ pod: { labels: { team: "a" }, annotations: { note: "x" } } });
    expect(sts.spec?.template.metadata).toEqual({
      labels: { team: "a", ...LABELS_OF_ZK },
      annotations: {
        note: "x",
        "zookeeper.ensemble.dev/config-hash": computeConfigHash(renderStaticConfig(resolvedFor(cluster))),
      },
    });
  });

  test("the config hash follows zoo.cfg settings", () => {
    const hash = (spec: ZooKeeperClusterSpec): string | undefined =>
      build(spec).spec?.template.metadata?.annotations?.["zookeeper.ensemble.dev/config-hash"];
    expect(hash({ config: { syncLimit: 2 } })).not.toBe(hash({}));
    expect(hash({ replicas: 5 })).toBe(hash({}));
  });

  test("a renewed client certificate the members must restart into is recorded in the template, so it rolls them", () => {
    const cluster = testCluster({ tls: { client: { secretName: "t" } } });
    const resolved = resolvedFor(cluster);
    const input = { replicas: 3, configHash: "h", clusterDomain: "cluster.local" };
    const annotations = (clientCertificate: string | null) =>
      buildStatefulSet(cluster, resolved, { ...input, clientCertificate }).spec?.template.metadata
        ?.annotations;
    expect(annotations(null)?.["zookeeper.ensemble.dev/client-certificate"]).toBeUndefined();
    expect(annotations("AB:CD")?.["zookeeper.ensemble.dev/client-certificate"]).toBe("AB:CD");
  });

  test("the cluster's restartedAt annotation is copied to the template, so a new value rolls every member", () => {
    const cluster = testCluster({});
    cluster.metadata.annotations = {
      "zookeeper.ensemble.dev/restartedAt": "2026-06-01T12:00:00Z",
      other: "y",
    };
    const resolved = resolvedFor(cluster);
    const sts = buildStatefulSet(cluster, resolved, {
      replicas: 3,
      configHash: computeConfigHash(renderStaticConfig(resolved)),
      clusterDomain: "cluster.local",
    });
    const annotations = sts.spec?.template.metadata?.annotations ?? {};
    expect(annotations["zookeeper.ensemble.dev/restartedAt"]).toBe("2026-06-01T12:00:00Z");
    // Only that one: the cluster's other annotations are not the pods' business.
    expect(annotations.other).toBeUndefined();
    expect(
      build().spec?.template.metadata?.annotations?.["zookeeper.ensemble.dev/restartedAt"],
    ).toBeUndefined();
  });
});

describe("scheduling", () => {
  const term = { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" };
  test.each([
    [
      "preferred (default)",
      {},
      {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }],
        },
      },
    ],
    [
      "required",
      { pod: { antiAffinity: "required" } },
      { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } },
    ],
    ["none", { pod: { antiAffinity: "none" } }, undefined],
    [
      "the user's affinity kept, our term added",
      {
        pod: {
          antiAffinity: "required",
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }],
            },
            podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "rack" }] },
          },
        },
      },
      {
        nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }] },
        podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "rack" }, term] },
      },
    ],
    [
      "the user's affinity alone with none",
      { pod: { antiAffinity: "none", affinity: { nodeAffinity: {} } } },
      { nodeAffinity: {} },
    ],
  ] satisfies [string, ZooKeeperClusterSpec, unknown][])("anti-affinity %s", (_, spec, affinity) => {
    expect(build(spec).spec?.template.spec?.affinity).toEqual(affinity);
  });

  test.each([
    [
      "default: soft spread over zones",
      {},
      [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selector },
        },
      ],
    ],
    [
      "the user's, with our selector filled in",
      {
        pod: {
          topologySpreadConstraints: [
            { maxSkew: 2, topologyKey: "rack", whenUnsatisfiable: "DoNotSchedule" },
          ],
        },
      },
      [
        {
          maxSkew: 2,
          topologyKey: "rack",
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: selector },
        },
      ],
    ],
    ["an empty list turns spreading off", { pod: { topologySpreadConstraints: [] } }, undefined],
  ] satisfies [string, ZooKeeperClusterSpec, unknown][])("topology spread: %s", (_, spec, constraints) => {
    expect(build(spec).spec?.template.spec?.topologySpreadConstraints).toEqual(constraints);
  });

  test("node selector, tolerations, priority class, pull secrets, grace period: set when given, absent otherwise", () => {
    const plain = build().spec?.template.spec;
    expect(plain?.nodeSelector).toBeUndefined();
    expect(plain?.tolerations).toBeUndefined();
    expect(plain?.priorityClassName).toBeUndefined();
    expect(plain?.imagePullSecrets).toBeUndefined();
    expect(plain?.terminationGracePeriodSeconds).toBe(60);
    const tolerations = [{ key: "dedicated", operator: "Equal", value: "zk", effect: "NoSchedule" }];
    const full = build({
      imagePullSecrets: [{ name: "regcred" }],
      pod: {
        nodeSelector: { disk: "ssd" },
        tolerations,
        priorityClassName: "high",
        terminationGracePeriodSeconds: 10,
      },
    }).spec?.template.spec;
    expect(full).toMatchObject({
      nodeSelector: { disk: "ssd" },
      tolerations,
      priorityClassName: "high",
      imagePullSecrets: [{ name: "regcred" }],
      terminationGracePeriodSeconds: 10,
    });
  });
});
