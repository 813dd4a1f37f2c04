// Dynamic storage for the rig's node: rancher's local-path-provisioner (built from the Go module
// proxy by build-node-tools.sh) run by the rig as a host process, and a default StorageClass
// `local-path` that it serves. A PVC gets a directory under the node's state folder; the
// provisioner creates and removes it through short-lived helper pods on the node (the rig's
// busybox image), so a PVC outlives its pod and `reclaimPolicy` really applies.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueCert, writeKubeconfig, type ControlPlaneCerts } from "../certs.ts";
import { RigProcess, type Block } from "../processes.ts";
import { nodeTool } from "./tools.ts";

export const STORAGE_CLASS = "local-path";
export const PROVISIONER_NAME = "rancher.io/local-path";
export const STORAGE_NAMESPACE = "local-path-storage";
const USER = "zk-rig:local-path-provisioner";

/** Namespace, RBAC (as upstream's deploy manifest grants), config and the default StorageClass. */
export function renderStorageObjects(options: { volumesDir: string; helperImage: string }): string {
  const rbacSubject = [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: USER }];
  const helperPod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "helper-pod" },
    spec: {
      priorityClassName: "system-node-critical",
      tolerations: [{ key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" }],
      containers: [{ name: "helper-pod", image: options.helperImage, imagePullPolicy: "Never" }],
    },
  };
  const items = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: STORAGE_NAMESPACE } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: USER },
      rules: [
        {
          apiGroups: [""],
          resources: ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
          verbs: ["get", "list", "watch"],
        },
        {
          apiGroups: [""],
          resources: ["persistentvolumes"],
          verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
        { apiGroups: ["storage.k8s.io"], resources: ["storageclasses"], verbs: ["get", "list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: USER },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: USER },
      subjects: rbacSubject,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: USER, namespace: STORAGE_NAMESPACE },
      rules: [
        {
          apiGroups: [""],
          resources: ["pods"],
          verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: USER, namespace: STORAGE_NAMESPACE },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: USER },
      subjects: rbacSubject,
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "local-path-config", namespace: STORAGE_NAMESPACE },
      data: {
        "config.json": JSON.stringify({
          nodePathMap: [{ node: "DEFAULT_PATH_FOR_NON_LISTED_NODES", paths: [options.volumesDir] }],
        }),
        setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
        teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
        "helperPod.yaml": JSON.stringify(helperPod),
      },
    },
    {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: STORAGE_CLASS,
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      provisioner: PROVISIONER_NAME,
      volumeBindingMode: "WaitForFirstConsumer",
      reclaimPolicy: "Delete",
    },
  ];
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

export interface Storage {
  process: RigProcess;
  volumesDir: string;
}

export async function startStorage(
  block: Block,
  options: {
    /** Folder for the provisioner's kubeconfig; volumes go to `dir/volumes`. */
    dir: string;
    server: string;
    certs: ControlPlaneCerts;
    helperImage: string;
    kubectl: (args: string[], o?: { input?: string }) => Promise<string>;
  },
): Promise<Storage> {
  const volumesDir = join(options.dir, "volumes");
  mkdirSync(volumesDir, { recursive: true });
  await options.kubectl(["apply", "-f", "-"], {
    input: renderStorageObjects({ volumesDir, helperImage: options.helperImage }),
  });
  const client = await issueCert(options.certs.ca, options.dir, "provisioner-client", { commonName: USER });
  const kubeconfig = writeKubeconfig(join(options.dir, "kubeconfig"), {
    server: options.server,
    ca: options.certs.ca.cert,
    client,
    user: USER,
  });
  writeFileSync(join(options.dir, "README"), "local-path-provisioner state of the rig's node\n");
  const proc = new RigProcess(block, {
    name: "local-path-provisioner",
    command: nodeTool("local-path-provisioner"),
    args: [
      "--debug",
      "start",
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${STORAGE_NAMESPACE}`,
      `--provisioner-name=${PROVISIONER_NAME}`,
      `--helper-image=${options.helperImage}`,
      "--service-account-name=default",
    ],
  });
  return { process: proc, volumesDir };
}
