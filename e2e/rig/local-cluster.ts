// A whole local Kubernetes with our operator in it: the rig's control plane and node, our images
// built from the Dockerfiles and loaded into the node, and the chart installed with helm. The
// end-to-end suite starts one per run; `npm run rig -- up cluster` (and so `make demo`) keeps one
// until `npm run rig -- down`.
import type { ZooKeeperClusterStatus } from "../../operator/src/api/types.ts";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRigTools } from "./build.ts";
import {
  readControlPlaneInfo,
  runHelm,
  runKubectl,
  startControlPlane,
  type ControlPlane,
} from "./kube-control-plane.ts";
import { repoRoot, runRoot } from "./paths.ts";
import { listBlocks, waitFor } from "./processes.ts";
import { importImage } from "./node/images.ts";
import { controlPlaneArgsForNode, nodeContainerdAddress, startNode, type Node } from "./node/node.ts";
import { buildProjectImages, PROJECT_IMAGES, type ProjectImages } from "./node/project-images.ts";

export const OPERATOR_RELEASE = "zookeeper-operator";
export const OPERATOR_NAMESPACE = "zk-operator";
export const CHART_DIR = join(repoRoot, "charts/zookeeper-operator");

export interface LocalCluster {
  kubeconfigPath: string;
  server: string;
  images: ProjectImages;
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Ends the node and the control plane (not for a cluster kept by `rig up`). */
  stop(): Promise<void>;
  node: Node | null;
  plane: ControlPlane | null;
}

export interface OperatorImages {
  /** Repository and tag of the operator image (the chart's image.repository and image.tag). */
  operator: { repository: string; tag: string };
  /** The sidecar image the operator puts into ZooKeeper pods (the chart's sidecarImage). */
  sidecar: string;
  pullPolicy: "Never" | "IfNotPresent" | "Always";
}

/** The images built here, as the node's containerd has them: pulled never (there is no registry). */
export function localOperatorImages(images: ProjectImages): OperatorImages {
  const ref = images.operator.ref;
  return {
    operator: { repository: PROJECT_IMAGES.operator, tag: ref.slice(ref.lastIndexOf(":") + 1) },
    sidecar: images.sidecar.ref,
    pullPolicy: "Never",
  };
}

/**
 * `helm upgrade --install` of our chart, waiting until the operator's Deployment is available, in
 * a namespace that enforces Pod Security "restricted": every run proves the chart's pod admitted
 * under the strictest profile.
 */
export async function installOperator(kubeconfigPath: string, images: OperatorImages): Promise<void> {
  await runKubectl(kubeconfigPath, ["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: OPERATOR_NAMESPACE,
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
        },
      },
    }),
  });
  await runHelm(kubeconfigPath, [
    "upgrade",
    "--install",
    OPERATOR_RELEASE,
    CHART_DIR,
    "--namespace",
    OPERATOR_NAMESPACE,
    "--set",
    `image.repository=${images.operator.repository}`,
    "--set",
    `image.tag=${images.operator.tag}`,
    "--set",
    `image.pullPolicy=${images.pullPolicy}`,
    "--set",
    `sidecarImage=${images.sidecar}`,
    "--wait",
    "--timeout",
    "3m",
  ]);
}

/** The record of a cluster kept by `rig up cluster`. */
function keptRecordPath(): string {
  return join(runRoot(), "local-cluster.json");
}

interface KeptRecord {
  kubeconfigPath: string;
  server: string;
  planeBlockDir: string;
}

/** The kept cluster, when one is recorded and its control plane block still exists. */
export function keptCluster(): KeptRecord | null {
  if (!existsSync(keptRecordPath())) return null;
  const record = JSON.parse(readFileSync(keptRecordPath(), "utf8")) as KeptRecord;
  const alive =
    listBlocks().some((b) => b.dir === record.planeBlockDir) && readControlPlaneInfo(record.planeBlockDir);
  return alive ? record : null;
}

export function forgetKeptCluster(): void {
  rmSync(keptRecordPath(), { force: true });
}

/**
 * Starts (or, with `persistent`, reuses a kept) control plane and node, builds and loads our
 * images, and installs the operator. Image builds run while the control plane starts.
 */
export async function startLocalCluster(
  options: { persistent?: boolean; log?: (m: string) => void } = {},
): Promise<LocalCluster> {
  const log = options.log ?? (() => {});
  const persistent = options.persistent ?? false;
  await ensureRigTools(log);
  const imagesBuilt = buildProjectImages(log);
  imagesBuilt.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile

  const kept = persistent ? keptCluster() : null;
  let plane: ControlPlane | null = null;
  let node: Node | null = null;
  let kubeconfigPath: string;
  let server: string;
  let loadImage: (image: ProjectImages[keyof ProjectImages]) => Promise<void>;
  if (kept !== null) {
    log(`reusing the kept cluster at ${kept.server}`);
    kubeconfigPath = kept.kubeconfigPath;
    server = kept.server;
    const address = nodeContainerdAddress();
    if (address === null)
      throw new Error("the kept cluster has no node; run `npm run rig -- down` and start again");
    loadImage = (image) => importImage(address, image);
  } else {
    const startedAt = Date.now();
    plane = await startControlPlane({ persistent, extraArgs: controlPlaneArgsForNode() });
    log(`control plane at ${plane.server} in ${Date.now() - startedAt} ms`);
    try {
      node = await startNode(plane, { persistent });
    } catch (err) {
      await plane.stop();
      throw err;
    }
    log(`node ${node.name} Ready`);
    kubeconfigPath = plane.kubeconfigPath;
    server = plane.server;
    const started = node;
    loadImage = (image) => started.loadImage(image);
    if (persistent) {
      const record: KeptRecord = { kubeconfigPath, server, planeBlockDir: plane.block.dir };
      writeFileSync(keptRecordPath(), JSON.stringify(record, null, 2) + "\n");
    }
  }
  const stop = async (): Promise<void> => {
    await node?.stop();
    await plane?.stop();
  };
  try {
    const images = await imagesBuilt;
    for (const image of Object.values(images)) await loadImage(image);
    log("images loaded into the node's containerd");
    await installOperator(kubeconfigPath, localOperatorImages(images));
    log(`operator installed (helm release ${OPERATOR_RELEASE} in namespace ${OPERATOR_NAMESPACE})`);
    return {
      kubeconfigPath,
      server,
      images,
      kubectl: (args, o) => runKubectl(kubeconfigPath, args, o),
      stop,
      node,
      plane,
    };
  } catch (err) {
    if (!persistent) await stop();
    throw err;
  }
}

/**
 * A ZooKeeperCluster that runs on the local cluster: the ZooKeeper image built here, never
 * pulled (there is no registry), small memory, and ZooKeeper's own Prometheus endpoint off
 * (Debian does not package the provider; the sidecar exports `mntr`). The sidecar image is the
 * one the chart configured the operator with.
 */
export function localZooKeeperCluster(options: {
  name: string;
  namespace: string;
  replicas: number;
  reclaimPolicy: "Retain" | "Delete";
  images: ProjectImages;
}): object {
  return {
    apiVersion: "zookeeper.ensemble.dev/v1alpha1",
    kind: "ZooKeeperCluster",
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      replicas: options.replicas,
      image: options.images.zookeeper.ref,
      imagePullPolicy: "Never",
      resources: { requests: { cpu: "50m", memory: "384Mi" }, limits: { memory: "384Mi" } },
      storage: { size: "1Gi", reclaimPolicy: options.reclaimPolicy },
      metrics: { enabled: false },
    },
  };
}

/**
 * A client pod with ZooKeeper's CLI (`zkCli.sh`): the ZooKeeper image, doing nothing until a test
 * execs into it, inside the pod network with the cluster's DNS. With `tlsCaSecret` the CLI speaks
 * TLS (CLIENT_JVMFLAGS), trusting that Secret's `ca.crt` and verifying host names; with
 * `clientCertificate` it presents that Secret's `keystore.pem` too (the key, PKCS#8, then the
 * certificate: ZooKeeper's PEM key store wants both in one file).
 */
export function zkClientPod(options: {
  namespace: string;
  images: ProjectImages;
  tlsCaSecret?: string;
  clientCertificate?: boolean;
}): object {
  const tls = options.tlsCaSecret;
  const presents = tls !== undefined && options.clientCertificate === true;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "zk-client", namespace: options.namespace },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: "cli",
          image: options.images.zookeeper.ref,
          imagePullPolicy: "Never",
          command: ["sleep", "infinity"],
          ...(tls
            ? {
                env: [
                  {
                    name: "CLIENT_JVMFLAGS",
                    value: [
                      "-Dzookeeper.client.secure=true",
                      "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
                      "-Dzookeeper.ssl.trustStore.location=/tls/ca.crt",
                      "-Dzookeeper.ssl.trustStore.type=PEM",
                      ...(presents
                        ? [
                            "-Dzookeeper.ssl.keyStore.location=/tls/keystore.pem",
                            "-Dzookeeper.ssl.keyStore.type=PEM",
                          ]
                        : []),
                    ].join(" "),
                  },
                ],
                volumeMounts: [{ name: "ca", mountPath: "/tls", readOnly: true }],
              }
            : {}),
        },
      ],
      ...(tls
        ? {
            volumes: [
              {
                name: "ca",
                secret: {
                  secretName: tls,
                  items: ["ca.crt", ...(presents ? ["keystore.pem"] : [])].map((key) => ({ key, path: key })),
                },
              },
            ],
          }
        : {}),
    },
  };
}

/** The parts of a ZooKeeperCluster the rig's tools read. */
export interface ZooKeeperClusterJson {
  metadata: { name: string; namespace: string };
  spec: { replicas?: number };
  /** The operator's own status type: the rig reads what the operator writes. */
  status?: ZooKeeperClusterStatus;
}

/**
 * Waits until `namespace/name` is Available with every member ready (spec.replicas of them)
 * and returns it. `onProgress` hears each change of the number of ready members.
 */
export function waitForQuorum(
  kubeconfigPath: string,
  namespace: string,
  name: string,
  options: { timeoutMs?: number; onProgress?: (ready: number, replicas: number) => void } = {},
): Promise<ZooKeeperClusterJson> {
  let lastReady = -1;
  return waitFor(
    `ZooKeeperCluster ${namespace}/${name} Available with every member ready`,
    async () => {
      const c = JSON.parse(
        await runKubectl(kubeconfigPath, ["-n", namespace, "get", "zookeepercluster", name, "-o", "json"]),
      ) as ZooKeeperClusterJson;
      const replicas = c.spec.replicas ?? 3;
      const ready = c.status?.members?.filter((m) => m.ready).length ?? 0;
      if (ready !== lastReady) options.onProgress?.(ready, replicas);
      lastReady = ready;
      const available = c.status?.conditions?.some((x) => x.type === "Available" && x.status === "True");
      return available === true && ready === replicas ? c : false;
    },
    { timeoutMs: options.timeoutMs ?? 300_000, intervalMs: 250 },
  );
}
