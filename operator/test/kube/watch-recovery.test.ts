// The API server goes away under a running operator and comes back: the informers (which the
// client library would simply stop) restart with backoff, report not-synced meanwhile, relist, and
// reconciling continues. A private control plane, so restarting its API server disturbs no other
// test.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startControlPlane, type ControlPlane } from "../../../e2e/rig/kube-control-plane.ts";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { API_VERSION, KIND } from "../../src/api/types.ts";
import type { RunningOperator } from "../../src/main.ts";
import { CLUSTER_RESOURCE } from "../../src/api/types.ts";
import { RESOURCES, collectionPath, objectPath, type KubeObject } from "../../src/api/objects.ts";
import { type KubeClient } from "../../src/runtime/kube.ts";
import { adminClient, getObject, installCrd, kubectlFor, startInProcess, testConfig } from "./support.ts";

const namespace = "recovery";
let plane: ControlPlane;
let admin: KubeClient;
let op: RunningOperator;

async function createCluster(name: string): Promise<void> {
  await admin.request("POST", collectionPath(CLUSTER_RESOURCE, namespace), {
    body: { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec: { replicas: 3 } },
  });
}

async function exists(
  type: typeof RESOURCES.StatefulSet | typeof RESOURCES.ConfigMap,
  name: string,
): Promise<true | undefined> {
  return (await getObject(admin, type, namespace, name)) !== null ? true : undefined;
}

beforeAll(async () => {
  plane = await startControlPlane();
  admin = await adminClient(plane.kubeconfigPath);
  await installCrd(plane.kubeconfigPath);
  await kubectlFor(plane.kubeconfigPath)(["create", "namespace", namespace]);
  op = await startInProcess(testConfig(plane.kubeconfigPath));
  await waitFor("the operator's informers to sync", () => op.controller.synced);
});

afterAll(async () => {
  await op.stop();
  await plane.stop();
});

describe("an API server restart", () => {
  test("informers recover and reconciling continues", async () => {
    await createCluster("zk-before");
    await waitFor("zk-before's StatefulSet", () => exists(RESOURCES.StatefulSet, "zk-before"));

    await plane.stopApiServer();
    // With the API server gone, watches fail; after repeated failures the informers say so.
    await waitFor("an informer to report not synced", () => !op.controller.synced, { timeoutMs: 60_000 });
    const res = await fetch(`${op.httpAddress}/readyz`);
    expect(res.status).toBe(503);
    await plane.startApiServer();

    await waitFor("the informers to sync again", () => op.controller.synced, { timeoutMs: 90_000 });
    expect((await fetch(`${op.httpAddress}/readyz`)).status).toBe(200);

    // A change made after the restart is seen and reconciled...
    await createCluster("zk-after");
    await waitFor("zk-after's StatefulSet", () => exists(RESOURCES.StatefulSet, "zk-after"), {
      timeoutMs: 30_000,
    });
    // ...and so is one to a cluster that existed before.
    await admin.request("DELETE", objectPath(RESOURCES.ConfigMap, namespace, "zk-before-config"));
    await waitFor(
      "zk-before's ConfigMap to be recreated",
      () => exists(RESOURCES.ConfigMap, "zk-before-config"),
      {
        timeoutMs: 30_000,
      },
    );
    const after = await waitFor("zk-after's status", async () => {
      const c = await getObject<KubeObject & { status?: { observedGeneration?: number; replicas?: number } }>(
        admin,
        CLUSTER_RESOURCE,
        namespace,
        "zk-after",
      );
      return c?.status?.observedGeneration === 1 ? c : undefined;
    });
    expect(after.status?.replicas).toBe(3);
  });
});
