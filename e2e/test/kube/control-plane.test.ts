// Smoke tests of the rig's control plane: each one proves that a real component does its job
// (the API server validates against a CRD schema, the controller-manager runs StatefulSets and
// garbage collection, the scheduler schedules), so a green `kube` tier means a real cluster.
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1CustomResourceDefinition,
  type V1Pod,
} from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { runKubectl, startControlPlane, type ControlPlane } from "../../rig/kube-control-plane.ts";
import { waitFor } from "../../rig/processes.ts";

const kubeconfig = inject("kubeconfig");
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const extensions = kc.makeApiClient(ApiextensionsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

const namespace = `smoke-${randomBytes(3).toString("hex")}`;
// An image that cannot exist: no kubelet runs here, so nothing ever pulls it.
const image = "registry.invalid/never-pulled:1";

/** The Status message of a failed API call (client-node 2.x keeps the raw body as text). */
function statusMessage(err: unknown): { code: number; message: string } {
  if (!(err instanceof ApiException)) throw err;
  const body: unknown = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
  const message = (body as { message?: unknown } | undefined)?.message;
  return { code: err.code, message: typeof message === "string" ? message : String(err.body) };
}

async function isNotFound(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (err) {
    return statusMessage(err).code === 404;
  }
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe("the API server", () => {
  const group = "smoke.rig.zk.test";
  const crd: V1CustomResourceDefinition = {
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  required: ["replicas"],
                  properties: {
                    replicas: { type: "integer", minimum: 1, maximum: 7 },
                    owner: { type: "string", pattern: "^[a-z][a-z0-9-]*$" },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
  const widget = (name: string, spec: Record<string, unknown>): object => ({
    apiVersion: `${group}/v1`,
    kind: "Widget",
    metadata: { name },
    spec,
  });
  const create = (body: object) =>
    custom.createNamespacedCustomObject({ group, version: "v1", namespace, plural: "widgets", body });

  beforeAll(async () => {
    await extensions.createCustomResourceDefinition({ body: crd });
    await waitFor("the Widget CRD to be established", async () => {
      const got = await extensions.readCustomResourceDefinition({ name: `widgets.${group}` });
      return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    });
  });

  afterAll(async () => {
    await extensions.deleteCustomResourceDefinition({ name: `widgets.${group}` });
  });

  test("accepts an object that satisfies the CRD's schema", async () => {
    // Discovery of a new CRD can trail its Established condition by a moment.
    const created = (await waitFor("a valid Widget to be created", () =>
      create(widget("good", { replicas: 3 })),
    )) as {
      spec: { replicas: number };
    };
    expect(created.spec.replicas).toBe(3);
  });

  test("rejects an object that violates the CRD's schema, with the schema's message", async () => {
    const err: unknown = await create(widget("bad", { replicas: 0, owner: "Not_Valid" })).then(
      () => new Error("the API server accepted an invalid Widget"),
      (e: unknown) => e,
    );
    const { code, message } = statusMessage(err);
    expect(code).toBe(422);
    expect(message).toContain('Widget.smoke.rig.zk.test "bad" is invalid');
    expect(message).toContain(
      "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    );
    expect(message).toContain("spec.owner in body should match '^[a-z][a-z0-9-]*$'");
  });

  test("serves its own metrics to the admin, with the request counters the operator tests read", async () => {
    const metrics = await runKubectl(kubeconfig, ["get", "--raw", "/metrics"]);
    expect(metrics).toMatch(/^apiserver_request_total\{.*verb="POST".*\} \d+/m);
  });
});

describe("kube-controller-manager", () => {
  test("creates the Pods of a StatefulSet, which stay Pending without a node", async () => {
    const labels = { app: "smoke-sts" };
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: "smoke" },
        spec: {
          replicas: 2,
          podManagementPolicy: "Parallel",
          serviceName: "smoke",
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: "main", image }] } },
        },
      },
    });
    const pods = await waitFor("the StatefulSet's two Pods", async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: "app=smoke-sts" });
      return list.items.length === 2 ? list.items : undefined;
    });
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(["smoke-0", "smoke-1"]);
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: "StatefulSet",
        name: "smoke",
        controller: true,
      });
      expect(pod.status?.phase).toBe("Pending");
      expect(pod.spec?.nodeName).toBeUndefined();
    }
  });

  test("garbage-collects an object whose owner is deleted", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "owner" } } });
    const ownerReference = {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "owner",
      uid: owner.metadata?.uid ?? "",
    };
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "child", ownerReferences: [ownerReference] }, data: { k: "v" } },
    });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "bystander" } } });

    await core.deleteNamespacedConfigMap({ name: "owner", namespace });

    await waitFor("the garbage collector to delete the child", () =>
      isNotFound(() => core.readNamespacedConfigMap({ name: "child", namespace })),
    );
    const bystander = await core.readNamespacedConfigMap({ name: "bystander", namespace });
    expect(bystander.metadata?.name).toBe("bystander");
  });
});

describe("kube-scheduler", () => {
  test("tries to place a new Pod and reports that no node fits", async () => {
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: "lonely" }, spec: { containers: [{ name: "main", image }] } },
    });
    const condition = await waitFor("the scheduler's verdict on the Pod", async () => {
      const pod: V1Pod = await core.readNamespacedPod({ name: "lonely", namespace });
      return pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    });
    expect(condition).toMatchObject({ status: "False", reason: "Unschedulable" });
    expect(condition.message).toBe("no nodes available to schedule pods");
  });
});

describe("a second control plane of its own", () => {
  let plane: ControlPlane;

  beforeAll(async () => {
    plane = await startControlPlane();
  });

  afterAll(async () => {
    await plane.stop();
  });

  test("authenticates a user by client cert and gives it only what RBAC grants", async () => {
    const jane = await plane.userKubeconfig("jane", ["zk-devs"]);
    await expect(runKubectl(jane, ["get", "configmaps", "-n", "kube-system"])).rejects.toThrow(
      'User "jane" cannot list resource "configmaps"',
    );
    await plane.kubectl([
      "create",
      "rolebinding",
      "devs-view",
      "-n",
      "kube-system",
      "--clusterrole=view",
      "--group=zk-devs",
    ]);
    expect(await runKubectl(jane, ["get", "configmaps", "-n", "kube-system", "-o", "name"])).toContain(
      "configmap/kube-root-ca.crt",
    );
  });

  test("runs beside the shared one, and its API server restarts with its data and controllers", async () => {
    expect(plane.server).not.toBe(kc.getCurrentCluster()?.server);
    await plane.kubectl(["create", "configmap", "before-restart", "--from-literal=k=v"]);
    const first = plane.processes()["kube-apiserver"].pid;

    await plane.stopApiServer();
    await expect(plane.kubectl(["get", "configmap", "before-restart"])).rejects.toThrow(/refused/);
    await plane.startApiServer();

    expect(plane.processes()["kube-apiserver"].pid).not.toBe(first);
    expect(await plane.kubectl(["get", "configmap", "before-restart", "-o", "jsonpath={.data.k}"])).toBe("v");
    // The controller-manager outlived the API server and resumed its watches.
    expect(plane.processes()["kube-controller-manager"].running).toBe(true);
    await plane.kubectl(["create", "deployment", "after-restart", `--image=${image}`, "--replicas=1"]);
    await waitFor("the Deployment's ReplicaSet to create a Pod", async () => {
      const pods = await plane.kubectl(["get", "pods", "-l", "app=after-restart", "-o", "name"]);
      return pods.trim() !== "";
    });
  });
});
