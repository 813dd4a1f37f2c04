// The cluster chart (charts/zookeeper) the way a platform team uses it: installed with helm into a
// namespace that enforces Pod Security "restricted", beside the operator the rig installed from
// its own chart. Everything must be admitted, the ensemble must become Available, `helm test`
// must write and read a znode through the client Service, and `helm uninstall` must leave nothing
// of the release but the data PVCs its reclaim policy keeps.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, inject, test } from "vitest";
import { runHelm, runKubectl } from "../../rig/kube-control-plane.ts";
import { waitForQuorum } from "../../rig/local-cluster.ts";
import { repoRoot } from "../../rig/paths.ts";
import { waitFor } from "../../rig/processes.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `chart-${randomBytes(3).toString("hex")}`;
const release = "orders";
const name = `${release}-zookeeper`;

const kubectl = (args: string[]): Promise<string> => runKubectl(kubeconfig, args, { timeoutMs: 60_000 });
const helm = (args: string[]): Promise<string> => runHelm(kubeconfig, args, { timeoutMs: 300_000 });

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => "");
});

describe("charts/zookeeper in a Pod Security restricted namespace", () => {
  test("install → Available, helm test writes and reads a znode through the client Service, uninstall leaves only the retained PVCs", async () => {
    const started = Date.now();
    await kubectl(["create", "namespace", namespace]);
    await kubectl([
      "label",
      "namespace",
      namespace,
      "pod-security.kubernetes.io/enforce=restricted",
      "pod-security.kubernetes.io/enforce-version=latest",
    ]);
    const [repository, tag] = [
      images.zookeeper.ref.slice(0, images.zookeeper.ref.lastIndexOf(":")),
      images.zookeeper.ref.slice(images.zookeeper.ref.lastIndexOf(":") + 1),
    ];
    await helm([
      "install",
      release,
      join(repoRoot, "charts/zookeeper"),
      "--namespace",
      namespace,
      "--set",
      `image.repository=${repository}`,
      "--set",
      `image.tag=${tag}`,
      "--set",
      "image.pullPolicy=Never",
      "--set",
      "resources.requests.cpu=50m",
      "--set",
      "resources.requests.memory=384Mi",
      "--set",
      "resources.limits.memory=384Mi",
      "--set",
      "persistence.size=1Gi",
      "--set",
      "persistence.reclaimPolicy=Retain",
      "--set",
      "metrics.enabled=false",
    ]);
    // Every pod of the ensemble was admitted under "restricted" (a refusal would leave the
    // StatefulSet without pods and the quorum never forms).
    await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
    const available = await waitFor(
      "the cluster Available",
      async () => {
        const c = JSON.parse(
          await kubectl(["-n", namespace, "get", "zookeepercluster", name, "-o", "json"]),
        ) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return c.status?.conditions?.some((x) => x.type === "Available" && x.status === "True") ?? false;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(available).toBe(true);
    const availableAt = Date.now();

    // No --logs: the test pod is deleted once it succeeds (hook-delete-policy hook-succeeded), so
    // that `helm uninstall` leaves nothing behind; a failed one stays for `kubectl logs`.
    const testOutput = await helm(["test", release, "--namespace", namespace, "--timeout", "5m"]);
    process.stderr.write(`[zookeeper-chart] helm test:\n${testOutput}\n`);
    expect(testOutput).toMatch(/Phase:\s+Succeeded/);
    const testedAt = Date.now();

    await helm(["uninstall", release, "--namespace", namespace, "--wait", "--timeout", "3m"]);
    await waitFor(
      "the release's objects gone",
      async () => {
        const left = (
          await kubectl([
            "-n",
            namespace,
            "get",
            "zookeepercluster,statefulset,service,configmap,secret,poddisruptionbudget,pod",
            "-l",
            `app.kubernetes.io/instance=${name}`,
            "-o",
            "name",
          ])
        ).trim();
        const cluster = (await kubectl(["-n", namespace, "get", "zookeepercluster", "-o", "name"])).trim();
        return left === "" && cluster === "";
      },
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    const pvcs = (await kubectl(["-n", namespace, "get", "pvc", "-o", "name"])).trim().split("\n").sort();
    expect(pvcs).toEqual([0, 1, 2].map((i) => `persistentvolumeclaim/data-${name}-${i}`));
    process.stderr.write(
      `[zookeeper-chart] Available ${((availableAt - started) / 1000).toFixed(1)} s after the namespace was created; ` +
        `helm test took ${((testedAt - availableAt) / 1000).toFixed(1)} s; uninstall left ${pvcs.length} PVCs (Retain)\n`,
    );
  });
});
