// The zookeeper-operator Helm chart against a real API server: `helm lint`, `helm template` with
// default and overridden values, `helm install` (CRD, ServiceAccount, RBAC, Deployment, Service)
// and `helm uninstall`. RBAC is proven sufficient AND least by running the operator process
// (`node operator/src/main.ts`, configured by the env of the Deployment the chart installed) with
// a token of the chart's ServiceAccount: it reconciles a ZooKeeperCluster with no request
// refused, and what it does not need is forbidden. The rig has no kubelet, so the Deployment's
// pod never runs; the operator runs here instead, as that pod would.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1Container,
  V1Deployment,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { loadAll } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { CRD_NAME } from "../../../operator/src/generators/crd.ts";
import { API_VERSION, KIND } from "../../../operator/src/api/types.ts";
import { buildLeaderElectionRules, buildOperatorRules } from "../../../operator/src/rbac.ts";
import { CLUSTER_RESOURCE } from "../../../operator/src/api/types.ts";
import {
  RESOURCES,
  collectionPath,
  objectPath,
  type KubeObject,
  type ResourceType,
} from "../../../operator/src/api/objects.ts";
import { KubeClient, isNotFound, loadKubeConfig } from "../../../operator/src/runtime/kube.ts";
import { runHelm, runKubectl } from "../../rig/kube-control-plane.ts";
import { prometheusOperatorCrdsDir, repoRoot } from "../../rig/paths.ts";
import { claimBlock, RigProcess, waitFor, type Block } from "../../rig/processes.ts";

const kubeconfig = inject("kubeconfig");
const kubectl = (args: string[]): Promise<string> => runKubectl(kubeconfig, args);
const admin = new KubeClient(await loadKubeConfig(kubeconfig), { fieldManager: "chart-test" });

const CHART = join(repoRoot, "charts/zookeeper-operator");
const RELEASE = "zookeeper-operator";
/** The release's full name: the release name contains the chart's name. */
const FULLNAME = RELEASE;
const suffix = randomBytes(3).toString("hex");
const releaseNamespace = `zk-system-${suffix}`;
const appsNamespace = `zk-apps-${suffix}`;

/** What the e2e suite sets: a locally built image that is never pulled, and the sidecar's. */
const E2E_VALUES = [
  "--set",
  "image.repository=zk-operator",
  "--set",
  "image.tag=e2e",
  "--set",
  "image.pullPolicy=Never",
  "--set",
  "sidecarImage=zk-sidecar:e2e",
];

/** The rig's pinned helm against the test's control plane. */
function helm(args: string[]): Promise<string> {
  return runHelm(kubeconfig, args, { timeoutMs: 120_000 });
}

/** The kinds the chart renders, by kind. */
interface Kinds {
  ServiceAccount: V1ServiceAccount;
  ClusterRole: V1ClusterRole;
  ClusterRoleBinding: V1ClusterRoleBinding;
  Role: V1Role;
  RoleBinding: V1RoleBinding;
  Deployment: V1Deployment;
  Service: V1Service;
}

interface Rendered {
  objects: KubeObject[];
  one<K extends keyof Kinds>(kind: K): Kinds[K];
  all<K extends keyof Kinds>(kind: K): Kinds[K][];
}

async function template(values: string[] = []): Promise<Rendered> {
  const text = await helm([
    "template",
    RELEASE,
    CHART,
    "--namespace",
    releaseNamespace,
    "--kube-version",
    "1.35.0",
    ...values,
  ]);
  const objects = loadAll(text).filter((o): o is KubeObject => typeof o === "object" && o !== null);
  const all = <K extends keyof Kinds>(kind: K): Kinds[K][] =>
    objects.filter((o) => o.kind === kind) as Kinds[K][];
  return {
    objects,
    all,
    one<K extends keyof Kinds>(kind: K): Kinds[K] {
      const [first, ...more] = all(kind);
      if (!first || more.length) throw new Error(`expected one ${kind}, got ${1 + more.length}`);
      return first;
    },
  };
}

function operatorContainer(deployment: V1Deployment): V1Container {
  const c = deployment.spec?.template.spec?.containers.find((x) => x.name === "operator");
  if (!c) throw new Error("the Deployment has no container named operator");
  return c;
}

function envOf(c: V1Container): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

async function getObject<T extends KubeObject>(
  type: ResourceType,
  namespace: string | undefined,
  name: string,
): Promise<T | null> {
  try {
    return await admin.request<T>("GET", objectPath(type, namespace, name));
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

const RBAC = (kind: string, plural: string, namespaced: boolean): ResourceType => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind,
  plural,
  namespaced,
});
const TYPES = {
  ServiceAccount: { apiVersion: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
  Deployment: { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments", namespaced: true },
  ClusterRole: RBAC("ClusterRole", "clusterroles", false),
  ClusterRoleBinding: RBAC("ClusterRoleBinding", "clusterrolebindings", false),
  Role: RBAC("Role", "roles", true),
  RoleBinding: RBAC("RoleBinding", "rolebindings", true),
  CRD: {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
  },
} satisfies Record<string, ResourceType>;

/** Every object `helm install` creates with default values, by type, namespace and name. */
const INSTALLED: [ResourceType, string | undefined, string][] = [
  [TYPES.ServiceAccount, releaseNamespace, FULLNAME],
  [TYPES.ClusterRole, undefined, FULLNAME],
  [TYPES.ClusterRoleBinding, undefined, FULLNAME],
  [TYPES.Role, releaseNamespace, `${FULLNAME}-leader-election`],
  [TYPES.RoleBinding, releaseNamespace, `${FULLNAME}-leader-election`],
  [TYPES.Deployment, releaseNamespace, FULLNAME],
  [RESOURCES.Service, releaseNamespace, `${FULLNAME}-metrics`],
];

afterAll(() => {});

describe("helm lint and helm template", () => {
  test("helm lint --strict passes with the default values and with the e2e values", async () => {
    const out = await helm(["lint", "--strict", CHART]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
    const withValues = await helm(["lint", "--strict", CHART, ...E2E_VALUES, "--set", "replicaCount=2"]);
    expect(withValues).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  test("the default values: every object, the restricted pod, probes, env and the generated rules", async () => {
    const r = await template();
    expect(r.objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual(
      [
        `ClusterRole/${FULLNAME}`,
        `ClusterRoleBinding/${FULLNAME}`,
        `CustomResourceDefinition/${CRD_NAME}`,
        `Deployment/${FULLNAME}`,
        `Role/${FULLNAME}-leader-election`,
        `RoleBinding/${FULLNAME}-leader-election`,
        `Service/${FULLNAME}-metrics`,
        `ServiceAccount/${FULLNAME}`,
      ].sort(),
    );
    const deployment = r.one("Deployment");
    const pod = deployment.spec?.template.spec;
    const c = operatorContainer(deployment);
    expect(deployment.spec?.replicas).toBe(1);
    expect(c.image).toBe("ghcr.io/zookeeper-ensemble/zk-operator:0.1.0");
    expect(c.imagePullPolicy).toBe("IfNotPresent");
    expect(pod?.serviceAccountName).toBe(FULLNAME);
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(c.resources).toEqual({
      requests: { cpu: "100m", memory: "160Mi" },
      limits: { memory: "320Mi" },
    });
    // POD_NAME and POD_NAMESPACE from the downward API; the Lease in the release's namespace.
    const fieldRefs = Object.fromEntries(
      (c.env ?? []).filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]),
    );
    expect(fieldRefs).toEqual({ POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" });
    expect(envOf(c)).toEqual({
      ZK_OPERATOR_LEADER_ELECT: "true",
      ZK_OPERATOR_LEADER_ELECTION_NAMESPACE: releaseNamespace,
      ZK_OPERATOR_LEADER_ELECTION_ID: FULLNAME,
      ZK_OPERATOR_NAMESPACES: "",
      ZK_OPERATOR_HTTP_PORT: "8080",
      ZK_OPERATOR_LOG_LEVEL: "info",
      ZK_CLUSTER_DOMAIN: "cluster.local",
      ZK_OPERATOR_MAX_CONCURRENT_ROLLS: "1",
      ZK_OPERATOR_MEMBER_READY_TIMEOUT: "10m",
    });
    // The rules are operator/src/rbac.ts's, rendered by npm run generate.
    expect(r.one("ClusterRole").rules).toEqual(buildOperatorRules());
    expect(r.one("Role").rules).toEqual(buildLeaderElectionRules(FULLNAME));
    expect(r.one("ClusterRoleBinding").subjects).toEqual([
      { kind: "ServiceAccount", name: FULLNAME, namespace: releaseNamespace },
    ]);
    const service = r.one("Service");
    expect(service.spec?.ports).toEqual([
      { name: "http-metrics", port: 8080, targetPort: "http", protocol: "TCP" },
    ]);
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(service.spec?.selector ?? { none: "" });
    expect(deployment.spec?.selector.matchLabels).toEqual(service.spec?.selector);
  });

  test("overridden values: image, sidecar, namespaces, log level, scheduling, service account", async () => {
    const r = await template([
      ...E2E_VALUES,
      "--set",
      "replicaCount=2",
      "--set",
      "logLevel=debug",
      "--set",
      "metrics.service.port=9090",
      "--set",
      "serviceAccount.name=zk-op",
      "--set-json",
      'watchNamespaces=["team-a","team-b"]',
      "--set-json",
      'nodeSelector={"kubernetes.io/os":"linux"}',
      "--set-json",
      'tolerations=[{"key":"dedicated","operator":"Exists","effect":"NoSchedule"}]',
      "--set-json",
      'podAnnotations={"example.com/team":"platform"}',
      "--set-json",
      'imagePullSecrets=[{"name":"registry"}]',
    ]);
    const deployment = r.one("Deployment");
    const pod = deployment.spec?.template.spec;
    const c = operatorContainer(deployment);
    expect(deployment.spec?.replicas).toBe(2);
    expect(c.image).toBe("zk-operator:e2e");
    expect(c.imagePullPolicy).toBe("Never");
    expect(envOf(c)).toMatchObject({
      ZK_OPERATOR_NAMESPACES: "team-a,team-b",
      ZK_OPERATOR_SIDECAR_IMAGE: "zk-sidecar:e2e",
      ZK_OPERATOR_LOG_LEVEL: "debug",
      ZK_OPERATOR_LEADER_ELECT: "true",
    });
    expect(pod?.serviceAccountName).toBe("zk-op");
    expect(pod?.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(pod?.tolerations).toEqual([{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod?.imagePullSecrets).toEqual([{ name: "registry" }]);
    expect(deployment.spec?.template.metadata?.annotations).toEqual({ "example.com/team": "platform" });
    expect(r.one("Service").spec?.ports?.[0]?.port).toBe(9090);
    expect(r.one("ServiceAccount").metadata?.name).toBe("zk-op");
    // Watched namespaces: the ClusterRole is bound in each of them only, no ClusterRoleBinding.
    expect(r.all("ClusterRoleBinding")).toEqual([]);
    const bindings = r.all("RoleBinding").filter((b) => b.roleRef.kind === "ClusterRole");
    expect(bindings.map((b) => b.metadata?.namespace).sort()).toEqual(["team-a", "team-b"]);
    for (const b of bindings) {
      expect(b.roleRef.name).toBe(FULLNAME);
      expect(b.subjects).toEqual([{ kind: "ServiceAccount", name: "zk-op", namespace: releaseNamespace }]);
    }

    // Without the CRD, RBAC and the ServiceAccount: only the Deployment and the Service, running as the given account.
    const bare = await template([
      "--set",
      "crds.install=false",
      "--set",
      "rbac.create=false",
      "--set",
      "serviceAccount.create=false",
      "--set",
      "serviceAccount.name=existing",
    ]);
    expect(bare.objects.map((o) => o.kind).sort()).toEqual(["Deployment", "Service"]);
    expect(bare.one("Deployment").spec?.template.spec?.serviceAccountName).toBe("existing");
  });

  test("bad values fail with the value's name (values.schema.json and required)", async () => {
    await expect(template(["--set", "logLevel=loud"])).rejects.toThrow(/logLevel.*must be one of/);
    await expect(template(["--set", "replicaCount=0"])).rejects.toThrow(/replicaCount/);
    await expect(template(["--set", "image.pullPolicy=Sometimes"])).rejects.toThrow(/pullPolicy/);
    await expect(template(["--set-json", 'watchNamespaces=["Not_A_Namespace"]'])).rejects.toThrow(
      /watchNamespaces/,
    );
    await expect(template(["--set", "imageRepository=typo"])).rejects.toThrow(/imageRepository/);
    await expect(template(["--set", "serviceAccount.create=false"])).rejects.toThrow(
      /serviceAccount.name is required/,
    );
    // The monitoring objects and the CRD switch.
    await expect(template(["--set", "metrics.serviceMonitor.interval=often"])).rejects.toThrow(
      /serviceMonitor\/interval.*does not match pattern/,
    );
    await expect(template(["--set", "dashboard.namespace=Grafana_NS"])).rejects.toThrow(
      /dashboard\/namespace.*does not match pattern/,
    );
    await expect(template(["--set", "crds.install=sometimes"])).rejects.toThrow(
      /crds\/install.*got string, want boolean/,
    );
    await expect(template(["--set", "dashboard.enable=true"])).rejects.toThrow(
      /additional properties 'enable' not allowed/,
    );
  });
});

describe("installed on a real API server", () => {
  let block: Block;
  let operator: RigProcess | undefined;
  let saKubeconfig = "";
  let saClient: KubeClient;
  /** The operator pod of the RBAC test: its /metrics show refused requests. */
  let operatorBase = "";

  /**
   * The operator configured by the installed Deployment's env, the downward API resolved as the
   * kubelet would; only the kubeconfig (the ServiceAccount's token instead of the in-cluster one)
   * and the HTTP address (a loopback block instead of the pod's IP) differ. Resolves to its HTTP
   * base URL once it is ready and holds the chart's Lease.
   */
  async function startOperatorAsPod(podName: string): Promise<string> {
    const deployment = await getObject<V1Deployment>(TYPES.Deployment, releaseNamespace, FULLNAME);
    const env: Record<string, string> = {};
    for (const e of operatorContainer(deployment as V1Deployment).env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      if (field === "metadata.name") env[e.name] = podName;
      else if (field === "metadata.namespace") env[e.name] = releaseNamespace;
      else if (e.valueFrom) throw new Error(`env ${e.name} has a source this test does not resolve`);
      // The API server drops an empty value (ZK_OPERATOR_NAMESPACES with every namespace).
      else env[e.name] = e.value ?? "";
    }
    const address = block.ip(1);
    operator = new RigProcess(block, {
      name: podName,
      command: process.execPath,
      args: [join(repoRoot, "operator/src/main.ts")],
      env: { ...env, KUBECONFIG: saKubeconfig, ZK_OPERATOR_HTTP_HOST: address },
      cwd: repoRoot,
    });
    const base = `http://${address}:${env.ZK_OPERATOR_HTTP_PORT ?? ""}`;
    await waitFor("the operator's /readyz", async () => (await fetch(`${base}/readyz`)).ok, {
      timeoutMs: 30_000,
    });
    await waitFor(
      "the operator to hold the chart's Lease",
      async () => {
        const l = await getObject<KubeObject & { spec?: { holderIdentity?: string } }>(
          RESOURCES.Lease,
          releaseNamespace,
          FULLNAME,
        );
        return l?.spec?.holderIdentity === podName;
      },
      { timeoutMs: 30_000 },
    );
    return base;
  }

  /** Creates a ZooKeeperCluster and waits until all its children exist and its status is written. */
  async function createClusterAndWait(name: string): Promise<void> {
    await admin.request("POST", collectionPath(CLUSTER_RESOURCE, appsNamespace), {
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: appsNamespace } },
    });
    const children: [ResourceType, string][] = [
      [RESOURCES.ConfigMap, `${name}-config`],
      [RESOURCES.Secret, `${name}-admin`],
      [RESOURCES.Service, `${name}-headless`],
      [RESOURCES.Service, `${name}-client`],
      [RESOURCES.PodDisruptionBudget, name],
      [RESOURCES.StatefulSet, name],
    ];
    try {
      await waitFor(
        `the children of ${name}`,
        async () => {
          for (const [type, child] of children)
            if (!(await getObject(type, appsNamespace, child))) return false;
          return true;
        },
        { timeoutMs: 30_000 },
      );
    } catch (err) {
      // A missing rule shows in the operator's log as a refused request: show it with the failure.
      const log = (await operator?.log()) ?? "";
      throw new Error(`${(err as Error).message}\noperator log:\n${log.split("\n").slice(-15).join("\n")}`, {
        cause: err,
      });
    }
    const cluster = await waitFor(
      `the status of ${name}`,
      async () => {
        const c = await getObject<
          KubeObject & { status?: { observedGeneration?: number; conditions?: { type: string }[] } }
        >(CLUSTER_RESOURCE, appsNamespace, name);
        return c?.status?.observedGeneration === 1 ? c : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(cluster.status?.conditions?.map((c) => c.type).sort()).toEqual([
      "Available",
      "Degraded",
      "Progressing",
    ]);
  }

  /** A SelfSubjectAccessReview as the chart's ServiceAccount. */
  async function can(attributes: Record<string, string>): Promise<boolean> {
    const r = await saClient.request<{ status: { allowed: boolean } }>(
      "POST",
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: attributes },
        },
      },
    );
    return r.status.allowed;
  }

  /** Not one request of the operator was refused, and no pass failed. */
  async function expectNoRefusals(base: string): Promise<void> {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const sample = (name: string, label: string): number =>
      metrics
        .split("\n")
        .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    expect(sample("zk_operator_kube_requests_total", 'code="403"')).toBe(0);
    expect(sample("zk_operator_kube_requests_total", 'code="200"')).toBeGreaterThan(0);
    expect(sample("zk_operator_reconcile_total", 'result="error"')).toBe(0);
    expect(sample("zk_operator_reconcile_total", 'result="success"')).toBeGreaterThan(0);
    expect(await operator?.log()).not.toMatch(/forbidden/i);
  }

  beforeAll(async () => {
    // Another test file may have applied the CRD with kubectl; Helm refuses to take over an
    // object it did not create. Start from no CRD, so that the install is what creates it.
    await kubectl(["delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true", "--timeout=60s"]);
    await kubectl(["create", "namespace", appsNamespace]);
    block = await claimBlock("chart");
  });

  afterAll(async () => {
    await operator?.stop();
    await block.release();
    await helm(["uninstall", RELEASE, "--namespace", releaseNamespace]).catch(() => "");
    for (const ns of [releaseNamespace, appsNamespace]) {
      await kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"]);
    }
  });

  test("helm install creates the CRD, the ServiceAccount, RBAC, the Deployment and the Service", async () => {
    const out = await helm([
      "install",
      RELEASE,
      CHART,
      "--namespace",
      releaseNamespace,
      "--create-namespace",
      ...E2E_VALUES,
    ]);
    expect(out).toContain("STATUS: deployed");
    expect(out).toContain(`get lease ${FULLNAME}`);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${CRD_NAME}`]);
    for (const [type, namespace, name] of INSTALLED) {
      expect(await getObject(type, namespace, name), `${type.kind} ${name}`).not.toBeNull();
    }
    const deployment = await getObject<V1Deployment>(TYPES.Deployment, releaseNamespace, FULLNAME);
    expect(operatorContainer(deployment as V1Deployment).image).toBe("zk-operator:e2e");
  });

  test("RBAC is sufficient: the operator as the chart's ServiceAccount reconciles a cluster", async () => {
    // A bearer token of the ServiceAccount (TokenRequest API), as the pod would get it.
    const tokenRequest = await admin.request<{ status: { token: string } }>(
      "POST",
      `${objectPath(TYPES.ServiceAccount, releaseNamespace, FULLNAME)}/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 3600 },
        },
      },
    );
    const conn = await loadKubeConfig(kubeconfig);
    saKubeconfig = join(block.path("sa"), "kubeconfig");
    writeFileSync(
      saKubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "rig",
            cluster: {
              server: conn.server,
              "certificate-authority-data": Buffer.from(conn.ca ?? "").toString("base64"),
            },
          },
        ],
        users: [{ name: "sa", user: { token: tokenRequest.status.token } }],
        contexts: [{ name: "sa", context: { cluster: "rig", user: "sa" } }],
        "current-context": "sa",
      }),
      { mode: 0o600 },
    );
    saClient = new KubeClient(await loadKubeConfig(saKubeconfig), { fieldManager: "chart-test-sa" });
    const review = await saClient.request<{ status: { userInfo: { username: string } } }>(
      "POST",
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } },
    );
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${releaseNamespace}:${FULLNAME}`);

    const base = await startOperatorAsPod(`${FULLNAME}-6d4b7c9f8-chart1`);
    operatorBase = base;
    await createClusterAndWait("zk");
    const events = await admin.request<{ items: { reportingController?: string; reason?: string }[] }>(
      "GET",
      `${collectionPath(RESOURCES.Event, appsNamespace)}?fieldSelector=regarding.name=zk`,
    );
    expect(
      events.items.filter((e) => e.reportingController === "zk-operator").map((e) => e.reason),
    ).toContain("Created");

    await expectNoRefusals(base);
  });

  test("PodMonitor: once the Prometheus Operator's API is served, each cluster gets one; disabled, it is deleted", async () => {
    // The CRD from the Prometheus Operator's own sources, installed while the operator runs: its
    // discovery (every 20 s) must notice, start an informer and build the optional child.
    const crd = "podmonitors.monitoring.coreos.com";
    const crdWasThere =
      (await kubectl(["get", "crd", crd, "--ignore-not-found", "-o", "name"])).trim() !== "";
    const file = join(prometheusOperatorCrdsDir(), "monitoring.coreos.com_podmonitors.yaml");
    await kubectl(["apply", "--server-side", "--force-conflicts", "-f", file]);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${crd}`]);
    const podMonitor = await waitFor(
      "the PodMonitor of zk",
      async () =>
        (await getObject<KubeObject & { spec: { podMetricsEndpoints: { port: string }[] } }>(
          RESOURCES.PodMonitor,
          appsNamespace,
          "zk",
        )) ?? undefined,
      { timeoutMs: 60_000 },
    );
    expect(podMonitor.metadata?.ownerReferences?.[0]).toMatchObject({ kind: KIND, name: "zk" });
    expect(podMonitor.spec.podMetricsEndpoints.map((e) => e.port)).toEqual(["sidecar-http", "metrics"]);

    await admin.request("PATCH", objectPath(CLUSTER_RESOURCE, appsNamespace, "zk"), {
      body: { spec: { metrics: { podMonitor: { enabled: false } } } },
      contentType: "application/merge-patch+json",
    });
    await waitFor(
      "the PodMonitor of zk to be deleted",
      async () => (await getObject(RESOURCES.PodMonitor, appsNamespace, "zk")) === null,
      { timeoutMs: 30_000 },
    );
    await expectNoRefusals(operatorBase);
    if (!crdWasThere) await kubectl(["delete", "crd", crd, "--wait=false"]);
  });

  test("RBAC is least: what the operator does not do is forbidden to its ServiceAccount", async () => {
    // What it does is allowed (so the refusals below are RBAC's, not a broken identity).
    expect(
      await can({ verb: "patch", group: "apps", resource: "statefulsets", namespace: appsNamespace }),
    ).toBe(true);
    expect(
      await can({
        verb: "update",
        group: "coordination.k8s.io",
        resource: "leases",
        namespace: releaseNamespace,
        name: FULLNAME,
      }),
    ).toBe(true);
    const forbidden: Record<string, string>[] = [
      { verb: "delete", resource: "namespaces" },
      { verb: "delete", group: "apps", resource: "statefulsets", namespace: appsNamespace },
      { verb: "update", group: "apps", resource: "statefulsets", namespace: appsNamespace },
      { verb: "delete", resource: "pods", namespace: appsNamespace },
      { verb: "delete", resource: "persistentvolumeclaims", namespace: appsNamespace },
      { verb: "get", resource: "configmaps", namespace: appsNamespace },
      {
        verb: "patch",
        group: "zookeeper.ensemble.dev",
        resource: "zookeeperclusters",
        namespace: appsNamespace,
      },
      {
        verb: "delete",
        group: "zookeeper.ensemble.dev",
        resource: "zookeeperclusters",
        namespace: appsNamespace,
      },
      { verb: "create", group: "apiextensions.k8s.io", resource: "customresourcedefinitions" },
      { verb: "create", resource: "serviceaccounts", namespace: appsNamespace },
      {
        verb: "create",
        group: "rbac.authorization.k8s.io",
        resource: "rolebindings",
        namespace: appsNamespace,
      },
      // Leases: another name in its namespace, or any Lease elsewhere.
      {
        verb: "update",
        group: "coordination.k8s.io",
        resource: "leases",
        namespace: releaseNamespace,
        name: "kube-scheduler",
      },
      { verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: appsNamespace },
    ];
    const allowed: Record<string, string>[] = [];
    for (const attributes of forbidden) if (await can(attributes)) allowed.push(attributes);
    expect(allowed).toEqual([]);
  });

  test("watchNamespaces: after helm upgrade the operator works in the watched namespace and nowhere else", async () => {
    await operator?.stop();
    await helm([
      "upgrade",
      RELEASE,
      CHART,
      "--namespace",
      releaseNamespace,
      "--reuse-values",
      "--set-json",
      `watchNamespaces=["${appsNamespace}"]`,
    ]);
    expect(await getObject(TYPES.ClusterRoleBinding, undefined, FULLNAME)).toBeNull();
    expect(await getObject(TYPES.RoleBinding, appsNamespace, FULLNAME)).not.toBeNull();
    const listClusters = (namespace: string) => ({
      verb: "list",
      group: "zookeeper.ensemble.dev",
      resource: "zookeeperclusters",
      namespace,
    });
    expect(await can(listClusters(appsNamespace))).toBe(true);
    expect(await can(listClusters("default"))).toBe(false);
    expect(await can({ verb: "list", group: "zookeeper.ensemble.dev", resource: "zookeeperclusters" })).toBe(
      false,
    );

    // A new pod of the upgraded Deployment (its env now names the namespace) takes over the
    // Lease the old one released, and reconciles with the namespaced rights alone.
    const base = await startOperatorAsPod(`${FULLNAME}-7f5c8d6b9-chart2`);
    await createClusterAndWait("zk2");
    await expectNoRefusals(base);
  });

  test("helm uninstall removes what it installed; the CRD stays (resource-policy keep)", async () => {
    await operator?.stop();
    const out = await helm([
      "uninstall",
      RELEASE,
      "--namespace",
      releaseNamespace,
      "--wait",
      "--timeout",
      "60s",
    ]);
    expect(out).toContain(`release "${RELEASE}" uninstalled`);
    const left: string[] = [];
    const bindingInApps: [ResourceType, string, string] = [TYPES.RoleBinding, appsNamespace, FULLNAME];
    for (const [type, namespace, name] of [...INSTALLED, bindingInApps]) {
      if ((await getObject(type, namespace, name)) !== null) left.push(`${type.kind} ${name}`);
    }
    expect(left).toEqual([]);
    expect(await getObject(TYPES.CRD, undefined, CRD_NAME)).not.toBeNull();
    // And with it every ZooKeeperCluster: uninstalling the operator never deletes an ensemble.
    expect(await getObject(CLUSTER_RESOURCE, appsNamespace, "zk")).not.toBeNull();
    expect(await getObject(RESOURCES.StatefulSet, appsNamespace, "zk")).not.toBeNull();
  });
});
