// The zookeeper Helm chart (charts/zookeeper: one ZooKeeperCluster from values) against a real API
// server: `helm lint --strict`; `helm template` with the default values (only replicas is set,
// the API's defaults do the rest), with every value set (each lands in its spec field) and with
// bad values (refused with the value's name); and `kubectl apply --dry-run=server` of what it
// renders, so that our CRD's schema and CEL rules are what judges the chart's output. The kube
// tier has no kubelet and no operator: the ensemble never runs here and the `helm test` pod is
// only rendered and inspected, not run.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { dump, load, loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { DEFAULTS } from "../../../operator/src/api/defaults.ts";
import type { KubeObject } from "../../../operator/src/api/objects.ts";
import {
  API_VERSION,
  KIND,
  type ZooKeeperCluster,
  type ZooKeeperClusterSpec,
} from "../../../operator/src/api/types.ts";
import { CRD_FILE, CRD_NAME } from "../../../operator/src/generators/crd.ts";
import { runHelm, runKubectl } from "../../rig/kube-control-plane.ts";
import { repoRoot } from "../../rig/paths.ts";
import { waitFor } from "../../rig/processes.ts";

const kubeconfig = inject("kubeconfig");
const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? {} : { input });

const CHART = join(repoRoot, "charts/zookeeper");
const OPERATOR_CHART = join(repoRoot, "charts/zookeeper-operator");
const RELEASE = "orders";
/** The release name does not contain the chart's name: RELEASE-zookeeper. */
const FULLNAME = `${RELEASE}-zookeeper`;
const namespace = `zk-chart-${randomBytes(3).toString("hex")}`;
const valuesDir = mkdtempSync(join(tmpdir(), "zk-chart-values-"));

/** The rig's pinned helm against the test's control plane. */
function helm(args: string[]): Promise<string> {
  return runHelm(kubeconfig, args, { timeoutMs: 120_000 });
}

/** A values file with these values; helm reads it with -f. */
function valuesFile(name: string, values: unknown): string {
  const path = join(valuesDir, `${name}.yaml`);
  writeFileSync(path, dump(values));
  return path;
}

interface Rendered {
  objects: KubeObject[];
  cluster: ZooKeeperCluster;
  testPod: V1Pod;
}

async function template(values: string[] = [], release = RELEASE): Promise<Rendered> {
  const text = await helm([
    "template",
    release,
    CHART,
    "--namespace",
    namespace,
    "--kube-version",
    "1.35.0",
    ...values,
  ]);
  const objects = loadAll(text).filter((o): o is KubeObject => typeof o === "object" && o !== null);
  const only = (kind: string): KubeObject => {
    const found = objects.filter((o) => o.kind === kind);
    if (found.length !== 1 || !found[0]) throw new Error(`expected one ${kind}, got ${found.length}`);
    return found[0];
  };
  return {
    objects,
    cluster: only(KIND) as ZooKeeperCluster,
    testPod: only("Pod") as V1Pod,
  };
}

function testContainer(pod: V1Pod): V1Container {
  const c = pod.spec?.containers[0];
  if (!c || pod.spec?.containers.length !== 1) throw new Error("the test pod must have one container");
  return c;
}

function envOf(c: V1Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

/** Every value of values.yaml set to something other than its default. */
const FULL_VALUES = {
  fullnameOverride: "orders-zk",
  clusterDomain: "corp.example",
  replicaCount: 5,
  observers: 2,
  image: { repository: "registry.example/zookeeper", tag: "3.9.3", pullPolicy: "Always" },
  imagePullSecrets: [{ name: "regcred" }],
  resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
  jvm: { heap: "1g", options: ["-XX:+UseG1GC"] },
  config: {
    tickTime: 3000,
    initLimit: 20,
    syncLimit: 4,
    maxClientCnxns: 0,
    autopurge: { snapRetainCount: 5, purgeInterval: 0 },
    additional: { snapCount: "100000", maxSessionTimeout: "60000" },
  },
  persistence: { size: "20Gi", storageClass: "fast-ssd", reclaimPolicy: "Delete" },
  antiAffinity: "required",
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }],
      },
    },
  },
  nodeSelector: { pool: "zookeeper" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "zookeeper", effect: "NoSchedule" }],
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" },
  ],
  priorityClassName: "zookeeper-critical",
  podLabels: { team: "orders" },
  podAnnotations: { "example.com/owner": "orders" },
  terminationGracePeriodSeconds: 120,
  pdb: { maxUnavailable: 2 },
  service: {
    type: "LoadBalancer",
    annotations: { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" },
  },
  networkPolicy: {
    enabled: true,
    clients: [
      {
        namespaceSelector: { matchLabels: { team: "orders" } },
        podSelector: { matchLabels: { app: "api" } },
      },
    ],
    metrics: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
  },
  metrics: {
    enabled: false,
    port: 7070,
    podMonitor: { enabled: false, interval: "15s", labels: { release: "prometheus" } },
  },
  sidecar: {
    image: "registry.example/zk-sidecar:0.1.0",
    pullPolicy: "IfNotPresent",
    resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } },
  },
  tls: { client: { secretName: "zk-client-tls" }, quorum: { secretName: "zk-peer-tls" } },
  paused: true,
};

/** The spec FULL_VALUES must render: every field by its docs/api.md name. */
const FULL_SPEC: ZooKeeperClusterSpec = {
  replicas: 5,
  observers: 2,
  image: "registry.example/zookeeper:3.9.3",
  imagePullPolicy: "Always",
  imagePullSecrets: [{ name: "regcred" }],
  resources: FULL_VALUES.resources,
  jvm: { heap: "1g", options: ["-XX:+UseG1GC"] },
  config: FULL_VALUES.config,
  storage: { size: "20Gi", storageClassName: "fast-ssd", reclaimPolicy: "Delete" },
  pod: {
    labels: { team: "orders" },
    annotations: { "example.com/owner": "orders" },
    nodeSelector: { pool: "zookeeper" },
    tolerations: FULL_VALUES.tolerations,
    affinity: FULL_VALUES.affinity,
    topologySpreadConstraints: FULL_VALUES.topologySpreadConstraints,
    priorityClassName: "zookeeper-critical",
    antiAffinity: "required",
    terminationGracePeriodSeconds: 120,
  },
  disruptionBudget: { maxUnavailable: 2 },
  service: {
    type: "LoadBalancer",
    annotations: { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" },
  },
  networkPolicy: FULL_VALUES.networkPolicy,
  metrics: {
    enabled: false,
    port: 7070,
    podMonitor: { enabled: false, interval: "15s", labels: { release: "prometheus" } },
  },
  sidecar: {
    image: "registry.example/zk-sidecar:0.1.0",
    imagePullPolicy: "IfNotPresent",
    resources: FULL_VALUES.sidecar.resources,
  },
  tls: { client: { secretName: "zk-client-tls" }, quorum: { secretName: "zk-peer-tls" } },
  paused: true,
};

afterAll(() => {
  rmSync(valuesDir, { recursive: true, force: true });
});

describe("helm lint and helm template", () => {
  test("Chart.yaml: an application chart at 0.1.0 with the operator chart's appVersion", () => {
    const chart = load(readFileSync(join(CHART, "Chart.yaml"), "utf8")) as Record<string, string>;
    const operatorChart = load(readFileSync(join(OPERATOR_CHART, "Chart.yaml"), "utf8")) as Record<
      string,
      string
    >;
    expect(chart).toMatchObject({
      apiVersion: "v2",
      name: "zookeeper",
      type: "application",
      version: "0.1.0",
    });
    expect(chart.appVersion).toBe(operatorChart.appVersion);
    expect(chart.description).toMatch(/zookeeper-operator chart installed first/);
  });

  test("helm lint --strict passes with the default values and with every value set", async () => {
    expect(await helm(["lint", "--strict", CHART])).toContain("1 chart(s) linted, 0 chart(s) failed");
    const full = await helm(["lint", "--strict", CHART, "-f", valuesFile("full", FULL_VALUES)]);
    expect(full).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  test("the default values: one ZooKeeperCluster that sets only replicas, and the test pod", async () => {
    const r = await template();
    expect(r.objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
      `Pod/${FULLNAME}-test-connection`,
      `${KIND}/${FULLNAME}`,
    ]);
    expect(r.cluster.apiVersion).toBe(API_VERSION);
    expect(r.cluster.metadata).toEqual({
      name: FULLNAME,
      namespace,
      labels: {
        "helm.sh/chart": "zookeeper-0.1.0",
        "app.kubernetes.io/name": "zookeeper",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/version": "0.1.0",
        "app.kubernetes.io/managed-by": "Helm",
      },
    });
    // Everything else is left to the API's defaults (checked against the API server below).
    expect(r.cluster.spec).toEqual({ replicas: 3 });
  });

  test("the test pod: a restricted hook that writes, reads and deletes a znode through the client Service", async () => {
    const pod = (await template()).testPod;
    expect(pod.metadata?.annotations).toEqual({
      "helm.sh/hook": "test",
      "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
    });
    // Never selected by the operator (managed-by zk-operator) nor by the client Service (component server).
    expect(pod.metadata?.labels).toMatchObject({
      "app.kubernetes.io/component": "helm-test",
      "app.kubernetes.io/managed-by": "Helm",
    });
    expect(pod.spec?.restartPolicy).toBe("Never");
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const c = testContainer(pod);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    // The cluster's image: with image unset, the API's default.
    expect(c.image).toBe(DEFAULTS.image);
    expect(c.imagePullPolicy).toBe(DEFAULTS.imagePullPolicy);
    expect(c.resources?.requests).toBeDefined();
    expect(c.resources?.limits?.memory).toBeDefined();
    expect(c.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(pod.spec?.volumes?.[0]).toMatchObject({ name: "tmp", emptyDir: {} });
    expect(envOf(c)).toMatchObject({
      ZK_SERVER: `${FULLNAME}-client.${namespace}.svc.cluster.local:2181`,
      ZK_NODE_PREFIX: `/helm-test-${RELEASE}-1`,
      ZOO_LOG_DIR: "/tmp",
    });
    const script = (c.args ?? []).join("\n");
    expect(c.command).toEqual(["/bin/sh", "-c"]);
    for (const step of ["ls /", 'create "$node" "$data"', 'get "$node"', 'delete "$node"', 'stat "$node"'])
      expect(script).toContain(step);
    // zkCli.sh exits 0 after some errors: the script judges its output and exits 1 itself.
    expect(script).toContain('grep -qxF "Created $node"');
    expect(script).toContain("exit 1");
  });

  test("every value set: each lands in its spec field, and the test pod follows image, secrets and clusterDomain", async () => {
    const r = await template(["-f", valuesFile("full", FULL_VALUES)]);
    expect(r.cluster.metadata.name).toBe("orders-zk");
    expect(r.cluster.spec).toEqual(FULL_SPEC);
    const c = testContainer(r.testPod);
    expect(c.image).toBe("registry.example/zookeeper:3.9.3");
    expect(c.imagePullPolicy).toBe("Always");
    expect(r.testPod.spec?.imagePullSecrets).toEqual([{ name: "regcred" }]);
    // FULL_VALUES turns client TLS on: the secure port, TLS flags, and the Secret's ca.crt alone.
    expect(envOf(c).ZK_SERVER).toBe(`orders-zk-client.${namespace}.svc.corp.example:2281`);
    expect(envOf(c).CLIENT_JVMFLAGS).toContain(
      "-Dzookeeper.client.secure=true -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty -Dzookeeper.ssl.trustStore.location=/tls/ca.crt -Dzookeeper.ssl.trustStore.type=PEM",
    );
    expect(c.volumeMounts).toContainEqual({ name: "ca", mountPath: "/tls", readOnly: true });
    expect(r.testPod.spec?.volumes).toContainEqual({
      name: "ca",
      secret: { secretName: "zk-client-tls", items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
  });

  test("the operator's CA: generated roles render as such, and the test pod trusts NAME-tls's ca.crt", async () => {
    const r = await template(["--set", "tls.client.generated=true", "--set", "tls.quorum.generated=true"]);
    expect(r.cluster.spec?.tls).toEqual({ client: { generated: true }, quorum: { generated: true } });
    const c = testContainer(r.testPod);
    expect(envOf(c).ZK_SERVER).toMatch(/:2281$/);
    expect(r.testPod.spec?.volumes).toContainEqual({
      name: "ca",
      secret: { secretName: `${r.cluster.metadata.name}-tls`, items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
  });

  test("0, false and an empty topologySpreadConstraints are values; empty strings, maps and lists are not", async () => {
    const zeroes = await template([
      "-f",
      valuesFile("zeroes", {
        observers: 0,
        config: { maxClientCnxns: 0, autopurge: { purgeInterval: 0 } },
        terminationGracePeriodSeconds: 0,
        topologySpreadConstraints: [],
        metrics: { enabled: false },
        paused: false,
        // Empty: left out.
        image: { repository: "", tag: "", pullPolicy: "" },
        podLabels: {},
        tolerations: [],
        persistence: { size: "" },
      }),
    ]);
    expect(zeroes.cluster.spec).toEqual({
      replicas: 3,
      observers: 0,
      config: { maxClientCnxns: 0, autopurge: { purgeInterval: 0 } },
      pod: { terminationGracePeriodSeconds: 0, topologySpreadConstraints: [] },
      metrics: { enabled: false },
      paused: false,
    });
  });

  test("image: a tag alone is the official image's, a sha256 digest is joined with @", async () => {
    const imageOf = async (values: string[]): Promise<[string | undefined, string | undefined]> => {
      const r = await template(values);
      return [r.cluster.spec?.image, testContainer(r.testPod).image];
    };
    expect(await imageOf(["--set", "image.tag=3.9.3"])).toEqual([
      "docker.io/library/zookeeper:3.9.3",
      "docker.io/library/zookeeper:3.9.3",
    ]);
    const digest = `sha256:${"a".repeat(64)}`;
    expect(
      await imageOf(["--set", "image.repository=registry.example/zk", "--set", `image.tag=${digest}`]),
    ).toEqual([`registry.example/zk@${digest}`, `registry.example/zk@${digest}`]);
    expect(await imageOf(["--set", "image.repository=zookeeper-debian:dev"])).toEqual([
      "zookeeper-debian:dev",
      "zookeeper-debian:dev",
    ]);
  });

  test("names: the release name when it contains the chart's name, at most 52 characters, a DNS-1035 label", async () => {
    expect((await template([], "zookeeper-orders")).cluster.metadata.name).toBe("zookeeper-orders");
    // Helm allows release names of up to 53 characters; RELEASE-zookeeper is cut to 52.
    const long = (await template([], "a".repeat(50))).cluster.metadata.name;
    expect(long).toBe(`${"a".repeat(50)}-z`);
    await expect(template(["--set", "fullnameOverride=1zk"])).rejects.toThrow(
      /"1zk" must be a DNS-1035 label.*fullnameOverride/,
    );
  });

  test("bad values fail with the value's name (values.schema.json and the template's checks)", async () => {
    const refused: [string[], RegExp][] = [
      [["--set", "replicaCount=0"], /replicaCount.*minimum/],
      [["--set", "replicaCount=256"], /replicaCount.*maximum/],
      [["--set", "observers=255"], /observers.*maximum/],
      [["--set", "persistence.reclaimPolicy=Keep"], /persistence\/reclaimPolicy.*must be one of/],
      [["--set", "persistence.size=10"], /persistence\/size.*want string/],
      [["--set", "antiAffinity=soft"], /antiAffinity.*must be one of/],
      [["--set", "service.type=ExternalName"], /service\/type.*must be one of/],
      [["--set", "image.pullPolicy=Sometimes"], /pullPolicy.*must be one of/],
      [["--set", "jvm.heap=2GB"], /jvm\/heap.*does not match pattern/],
      [["--set", "config.tickTime=50"], /config\/tickTime.*minimum/],
      [["--set", "config.autopurge.snapRetainCount=2"], /snapRetainCount.*minimum/],
      [["--set", "config.additional.snapCount=100000"], /config\/additional\/snapCount.*want string/],
      [["--set", "metrics.port=8080"], /metrics\/port/],
      [["--set", "metrics.podMonitor.interval=often"], /podMonitor\/interval.*does not match pattern/],
      [["--set-json", 'podLabels={"app.kubernetes.io/name":"x"}'], /podLabels\/app.kubernetes.io~1name/],
      [["--set", "replicas=3"], /additional properties 'replicas' not allowed/],
      [["--set", "persistence.enabled=false"], /additional properties 'enabled' not allowed/],
      [["--set", "tls.enabled=true"], /additional properties 'enabled' not allowed/],
      [["--set", "tls.client.secretName=Bad_Name"], /tls\/client\/secretName.*does not match pattern/],
      [
        ["--set", "tls.quorum.secretName=q", "--set", "tls.quorum.generated=true"],
        /tls.quorum: set secretName \(your Secret\) or generated: true \(the operator's CA\), not both/,
      ],
      [["--set", "pdb.maxUnavailable=2"], /pdb.maxUnavailable \(2\) must not exceed 1 with replicaCount 3/],
      [["--set", "replicaCount=250", "--set", "observers=6"], /replicaCount \(250\) \+ observers \(6\)/],
    ];
    const accepted: string[] = [];
    for (const [values, error] of refused) {
      try {
        await template(values);
        accepted.push(values.join(" "));
      } catch (err) {
        expect((err as Error).message, values.join(" ")).toMatch(error);
      }
    }
    expect(accepted).toEqual([]);
  });
});

describe("what the chart renders, judged by the API server with our CRD (kubectl apply --dry-run=server)", () => {
  let crdWasThere = false;

  /** The rendered ZooKeeperCluster as the API server would store it (dry run: nothing is stored). */
  async function dryRun(r: Rendered): Promise<ZooKeeperCluster> {
    const out = await kubectl(
      ["apply", "--dry-run=server", "-o", "json", "-f", "-"],
      JSON.stringify(r.cluster),
    );
    return JSON.parse(out) as ZooKeeperCluster;
  }

  beforeAll(async () => {
    // The kube tier's control plane starts without our CRD (chart.test.ts installs it with the
    // operator chart and removes it first); apply it from the operator chart, as a user would.
    crdWasThere = (await kubectl(["get", "crd", CRD_NAME, "--ignore-not-found", "-o", "name"])).trim() !== "";
    await kubectl([
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager",
      "zookeeper-chart-test",
      "-f",
      join(repoRoot, CRD_FILE),
    ]);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
    await kubectl(["create", "namespace", namespace]);
    // Discovery can trail the Established condition by a moment.
    await waitFor("ZooKeeperClusters to be served", async () => {
      await kubectl(["get", "zookeeperclusters", "-n", namespace]);
      return true;
    });
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
    if (!crdWasThere) await kubectl(["delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=false"]);
  });

  test("the default values' cluster is accepted, and the API server fills in every default", async () => {
    const stored = await dryRun(await template());
    expect(stored.metadata.name).toBe(FULLNAME);
    expect(stored.spec).toMatchObject({
      replicas: DEFAULTS.replicas,
      observers: DEFAULTS.observers,
      image: DEFAULTS.image,
      imagePullPolicy: DEFAULTS.imagePullPolicy,
      config: DEFAULTS.config,
      storage: DEFAULTS.storage,
      pod: DEFAULTS.pod,
      disruptionBudget: DEFAULTS.disruptionBudget,
      service: DEFAULTS.service,
      metrics: { enabled: DEFAULTS.metrics.enabled, port: DEFAULTS.metrics.port },
      paused: DEFAULTS.paused,
    });
  });

  test("every value set is accepted and stored as rendered", async () => {
    const stored = await dryRun(await template(["-f", valuesFile("full", FULL_VALUES)]));
    expect(stored.spec).toMatchObject(FULL_SPEC);
  });

  test("what only the API server checks is refused with the field's name and the API's message", async () => {
    const refused: [unknown, RegExp][] = [
      [
        { config: { additional: { dataDir: "/elsewhere" } } },
        /spec.config.additional.*may not set keys the operator owns/,
      ],
      [{ config: { additional: { tickTime: "3000" } } }, /spec.config.additional.*have their own fields/],
      [{ jvm: { options: ["-Xmx2g"] } }, /spec.jvm.options.*set the heap with jvm.heap/],
      [
        { resources: { requests: { memory: "2Gi" }, limits: { memory: "1Gi" } } },
        /spec.resources.*requests may not exceed limits/,
      ],
      [{ persistence: { size: "65Ti" } }, /spec.storage.size.*must be at most 64Ti/],
    ];
    const accepted: string[] = [];
    for (const [values, error] of refused) {
      const rendered = await template(["-f", valuesFile("refused", values)]);
      try {
        await dryRun(rendered);
        accepted.push(JSON.stringify(values));
      } catch (err) {
        expect((err as Error).message, JSON.stringify(values)).toMatch(error);
      }
    }
    expect(accepted).toEqual([]);
  });
});
