// The ZooKeeperCluster API as TypeScript types. The schema in schema.ts is the source of truth for
// the CRD and the docs; these types are written to match it, and types.test.ts walks a fully
// populated example against the schema so that the two cannot drift apart silently.
import type {
  V1Affinity,
  V1LabelSelector,
  V1LocalObjectReference,
  V1ObjectMeta,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import type { ResourceType } from "./objects.ts";
import type { ClientAuthMode } from "../../../sidecar/src/contract.ts";

export type { ClientAuthMode };

export const GROUP = "zookeeper.ensemble.dev";
export const VERSION = "v1alpha1";
export const KIND = "ZooKeeperCluster";
export const PLURAL = "zookeeperclusters";
export const SINGULAR = "zookeepercluster";
export const SHORT_NAMES = ["zk", "zkc"] as const;
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The custom resource as a ResourceType, for paths, informers and RBAC. */
export const CLUSTER_RESOURCE: ResourceType = {
  apiVersion: API_VERSION,
  kind: KIND,
  plural: PLURAL,
  namespaced: true,
};

export type ImagePullPolicy = "Always" | "IfNotPresent" | "Never";
export type AntiAffinity = "preferred" | "required" | "none";
export type ReclaimPolicy = "Retain" | "Delete";
export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer";

/**
 * Where one role's TLS certificate comes from: exactly one of a Secret in the cluster's namespace,
 * laid out as cert-manager writes it (tls.crt, tls.key, ca.crt), or the operator's own CA for the
 * cluster (`generated: true`, Secrets NAME-ca and NAME-tls).
 */
export interface TlsSource {
  secretName?: string;
  generated?: boolean;
}

/** Pods a NetworkPolicy rule admits: those matching both selectors (networking/v1 NetworkPolicyPeer without ipBlock). */
export interface NetworkPeer {
  namespaceSelector?: V1LabelSelector;
  podSelector?: V1LabelSelector;
}

export interface ZooKeeperClusterSpec {
  /** Number of ensemble members (voting participants). */
  replicas?: number;
  /** Number of non-voting members (observers), with ids after the participants'. */
  observers?: number;
  /** ZooKeeper image (the official `zookeeper` image or a compatible one). */
  image?: string;
  imagePullPolicy?: ImagePullPolicy;
  imagePullSecrets?: V1LocalObjectReference[];
  /** Resources of the `zookeeper` container. */
  resources?: V1ResourceRequirements;
  /** The operator's sidecar (init container `config` and native sidecar `sidecar`). */
  sidecar?: {
    image?: string;
    imagePullPolicy?: ImagePullPolicy;
    resources?: V1ResourceRequirements;
  };
  jvm?: {
    /** Maximum heap, e.g. `512m` or `2g`. */
    heap?: string;
    /** Extra JVM options appended to SERVER_JVMFLAGS. */
    options?: string[];
  };
  config?: {
    tickTime?: number;
    initLimit?: number;
    syncLimit?: number;
    maxClientCnxns?: number;
    autopurge?: {
      snapRetainCount?: number;
      purgeInterval?: number;
    };
    /** Further zoo.cfg keys; keys the operator owns are rejected. */
    additional?: Record<string, string>;
  };
  storage?: {
    size?: string;
    storageClassName?: string;
    reclaimPolicy?: ReclaimPolicy;
  };
  pod?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    nodeSelector?: Record<string, string>;
    tolerations?: V1Toleration[];
    affinity?: V1Affinity;
    topologySpreadConstraints?: V1TopologySpreadConstraint[];
    priorityClassName?: string;
    antiAffinity?: AntiAffinity;
    terminationGracePeriodSeconds?: number;
  };
  disruptionBudget?: {
    maxUnavailable?: number;
  };
  service?: {
    type?: ServiceType;
    annotations?: Record<string, string>;
  };
  /**
   * A NetworkPolicy the operator keeps for the members: the quorum and election ports between the
   * members only, the client port from `clients`, the metrics ports from `metrics`, and the
   * client and sidecar ports from the operator's namespace.
   */
  networkPolicy?: {
    enabled?: boolean;
    /** Who may reach the client port; empty: every pod of the cluster's namespace. */
    clients?: NetworkPeer[];
    /** Who may scrape the metrics ports; empty: every pod of every namespace. */
    metrics?: NetworkPeer[];
  };
  metrics?: {
    enabled?: boolean;
    port?: number;
    podMonitor?: {
      enabled?: boolean;
      interval?: string;
      labels?: Record<string, string>;
    };
  };
  tls?: {
    client?: TlsSource & {
      /**
       * Whether clients must present a certificate of the client Secret's CA: ZooKeeper's
       * ssl.clientAuth (none, want, need); with want or need its x509 provider authenticates them.
       */
      clientAuth?: ClientAuthMode;
    };
    quorum?: TlsSource;
  };
  /** When true the operator observes and reports status but changes nothing. */
  paused?: boolean;
}

export type MemberStatusMode = "leader" | "follower" | "observer" | "down" | "unknown";

export interface MemberStatus {
  /** ZooKeeper server id (pod ordinal + 1). */
  id: number;
  /** Pod name. */
  pod: string;
  /** Votes (participant) or not (observer), as the committed config lists it. */
  role: "participant" | "observer";
  /** What its sidecar reports it doing. */
  mode: MemberStatusMode;
  ready: boolean;
  /** Serves in the leader's epoch and has caught up with the leader. */
  synced: boolean;
  /** The pod runs the StatefulSet's current template; absent while that is not known. */
  upToDate?: boolean;
}

/** The member the operator last restarted in a roll (docs/operations.md "Rolling restarts"). */
export interface LastRestart {
  /** Pod name. */
  pod: string;
  /** The uid of the pod that was evicted: a pod with another uid is its replacement. */
  uid: string;
  /** The StatefulSet update revision the replacement is meant to run. */
  revision: string;
  /** RFC 3339 time of the eviction. */
  at: string;
}

export const CONDITION_TYPES = ["Available", "Progressing", "Degraded"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = "True" | "False" | "Unknown";

export interface ClusterCondition {
  type: ConditionType;
  status: ConditionStatus;
  /** CamelCase machine-readable reason. */
  reason: string;
  message: string;
  /** RFC 3339 time of the last change of `status`. */
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ZooKeeperClusterStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  /** Members whose pod runs the StatefulSet's current template. */
  updatedReplicas?: number;
  members?: MemberStatus[];
  /** Pod name of the current leader, when known. */
  leader?: string;
  /** The committed ensemble config version (hex, as ZooKeeper prints it). */
  ensembleConfigVersion?: string;
  /** Tag of the running ZooKeeper image. */
  version?: string;
  /** When the ensemble first reached quorum (ISO 8601); from then on empty data is a lost volume. */
  initializedAt?: string;
  /** The member the operator last restarted; the roll waits for it before the next one. */
  lastRestart?: LastRestart;
  /** host:port list clients use, through the client Service. */
  connectionString?: string;
  conditions?: ClusterCondition[];
}

export interface ZooKeeperCluster {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec?: ZooKeeperClusterSpec;
  status?: ZooKeeperClusterStatus;
}
