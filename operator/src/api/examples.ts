// A fully populated ZooKeeperCluster spec and status, for tests: types.test.ts walks them against the
// schema (every field of the types exists in the schema and the other way round), and the kube
// test proves the API server accepts them.
import type {
  V1Affinity,
  V1LocalObjectReference,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import type { ZooKeeperClusterSpec, ZooKeeperClusterStatus } from "./types.ts";

/** Kubernetes types embedded as they are (their own schema is Kubernetes'). */
type External =
  V1ResourceRequirements | V1Toleration | V1Affinity | V1TopologySpreadConstraint | V1LocalObjectReference;

/** T with every optional field of our own types made required, recursively; maps, lists and Kubernetes types stay as they are. */
export type Full<T> = T extends readonly unknown[]
  ? T
  : T extends External
    ? T
    : T extends object
      ? string extends keyof T
        ? T
        : { [K in keyof T]-?: Full<NonNullable<T[K]>> }
      : T;

export const fullSpec: Full<ZooKeeperClusterSpec> = {
  replicas: 5,
  image: "docker.io/library/zookeeper:3.9.4",
  imagePullPolicy: "Always",
  imagePullSecrets: [{ name: "registry-credentials" }],
  resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } },
  sidecar: {
    image: "ghcr.io/zookeeper-ensemble/zk-sidecar:0.1.0",
    imagePullPolicy: "IfNotPresent",
    resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } },
  },
  jvm: { heap: "1g", options: ["-XX:+UseG1GC"] },
  config: {
    tickTime: 3000,
    initLimit: 5,
    syncLimit: 2,
    maxClientCnxns: 100,
    autopurge: { snapRetainCount: 5, purgeInterval: 24 },
    additional: { globalOutstandingLimit: "2000", "jute.maxbuffer": "4194304" },
  },
  storage: { size: "20Gi", storageClassName: "fast-ssd", reclaimPolicy: "Delete" },
  pod: {
    labels: { team: "platform" },
    annotations: { "example.com/owner": "platform" },
    nodeSelector: { "node-role.example.com/zookeeper": "true" },
    tolerations: [
      {
        key: "dedicated",
        operator: "Equal",
        value: "zookeeper",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
    ],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }] },
          ],
        },
      },
    },
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" },
    ],
    priorityClassName: "zookeeper-critical",
    antiAffinity: "required",
    terminationGracePeriodSeconds: 120,
  },
  disruptionBudget: { maxUnavailable: 2 },
  service: {
    type: "LoadBalancer",
    annotations: { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" },
  },
  metrics: {
    enabled: true,
    port: 7000,
    serviceMonitor: { enabled: true, interval: "15s", labels: { release: "prometheus" } },
  },
  tls: { client: { secretName: "zk-client-tls" }, quorum: { secretName: "zk-quorum-tls" } },
  paused: false,
};

export const fullStatus: Full<ZooKeeperClusterStatus> = {
  observedGeneration: 4,
  replicas: 3,
  readyReplicas: 3,
  members: [{ id: 1, pod: "zk-0", role: "leader", ready: true }],
  leader: "zk-0",
  ensembleConfigVersion: "100000003",
  version: "3.9.4",
  connectionString: "zk-client.default.svc.cluster.local:2181",
  conditions: [
    {
      type: "Available",
      status: "True",
      reason: "QuorumServing",
      message: "3 of 3 servers serve in a quorum",
      lastTransitionTime: "2026-01-01T00:00:00Z",
      observedGeneration: 4,
    },
  ],
};
