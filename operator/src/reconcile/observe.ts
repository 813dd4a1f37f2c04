// observe: everything a reconcile pass decides on about one cluster. observeCluster reads the
// informer caches (pure over them); the pass adds each member's mode from its sidecar and the
// admin password when the cache has no Secret (reconcile.ts observe), and nothing changes the
// result afterwards. The committed ensemble config, as the members' sidecars report it from
// ZooKeeper, is the `ensemble` field: membership is decided on it, never on the ConfigMap.
import type { KubeObject } from "../api/objects.ts";
import type { ClientCertificateObservation } from "./client-certificate.ts";
import type { OperatorTlsObservation } from "./operator-tls.ts";
import type { PemPair } from "../runtime/certificate-issuer.ts";
import type { TlsMaterial } from "../../../sidecar/src/contract.ts";
import {
  parseMembersFile,
  parseRejoinEmpty,
  ADMIN_SECRET_KEYS,
  CONFIGMAP_KEYS,
  TLS_SECRET_KEYS,
  EXIT_CODES,
  type MembersFile,
} from "../../../sidecar/src/contract.ts";
import { childNames } from "../builders/labels.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { CHILD_KINDS } from "../children.ts";

/** The fields of a Pod that observe reads (the pod cache keeps only these, see shrinkPod). */
interface TerminatedLike {
  exitCode?: number;
  message?: string;
}

/** A container's status, as far as observe reads it. */
export interface ContainerStatusLike {
  name: string;
  image?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { terminated?: TerminatedLike; waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: TerminatedLike };
}

export interface PodLike extends KubeObject {
  spec?: { containers?: { name: string; image?: string }[] };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

export interface StatefulSetLike extends KubeObject {
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    updateRevision?: string;
    /** The generation the StatefulSet controller last acted on: until it is metadata.generation, updateRevision is stale. */
    observedGeneration?: number;
  };
}

export interface PodObservation {
  name: string;
  /** The pod's uid: a pod of the same name with another uid is a new pod. */
  uid: string;
  /** ZooKeeper server id: ordinal + 1. */
  id: number;
  ready: boolean;
  phase: string;
  /** Image of the `zookeeper` container: the running one when known, else the pod spec's. */
  image: string | null;
  deleting: boolean;
  /** The pod's address (status.podIP), null until it has one. */
  ip: string | null;
  /** The StatefulSet revision of the pod's template (label controller-revision-hash), null when unlabelled. */
  revision: string | null;
  /**
   * The sidecar's init refused to start this server on an empty data volume of an initialized
   * ensemble (exit code EXIT_CODES.emptyDataRefused), the last time it ran.
   */
  emptyDataRefused: boolean;
  /**
   * Why a container of the pod cannot run, as the kubelet says it (an image it cannot pull, a
   * crash loop, a config it cannot create), null when none is waiting for such a reason.
   */
  failure: { container: string; reason: string; message: string } | null;
}

/** A member's mode as its sidecar reported it (leader/follower/observer), or down when it serves no quorum. */
export type MemberMode = "leader" | "follower" | "observer" | "down";

/**
 * What the ensemble itself says: its committed config, as the members' sidecars report it
 * (`conf`; the leader's answer when it gave one). `none`: no member answered with one.
 */
export type EnsembleObservation =
  | { source: "none" }
  | {
      source: "zookeeper";
      /** Committed config version (hex). */
      configVersion: string;
      members: { id: number; role: "participant" | "observer" }[];
    };

/** What the ConfigMap says besides the members file (CONFIGMAP_KEYS.initializedAt, rejoinEmpty, joining). */
export interface EnsembleMarkers {
  /** When the ensemble first reached quorum, null when not recorded. */
  initializedAt: string | null;
  /** Server ids the operator re-adds with an empty data volume. */
  rejoinEmpty: number[];
  /** The server being added now (CONFIGMAP_KEYS.joining), null when none or unreadable. */
  joining: number | null;
}

export interface Observed {
  /** Live children by `Kind/name`, as cached. */
  readonly children: ReadonlyMap<string, KubeObject>;
  readonly statefulSet: StatefulSetLike | null;
  /** The members file from NAME-config, null when the ConfigMap or the key is missing or unreadable. */
  readonly membersFile: MembersFile | null;
  readonly markers: EnsembleMarkers;
  /** The super user's password from NAME-admin, null when there is no such Secret. */
  readonly adminPassword: string | null;
  readonly pods: readonly PodObservation[];
  readonly ensemble: EnsembleObservation;
  /** Server id → mode, from the sidecars that answered; null when they were not asked. */
  readonly modes: ReadonlyMap<number, MemberMode> | null;
  /** How far each member has caught up, from the sidecars that answered; null when they were not asked. */
  readonly sync: SyncObservation | null;
  /** The client certificates the sidecars report; null when they were not asked. */
  readonly clientCertificate: ClientCertificateObservation | null;
  /** The operator's CA (NAME-ca) and the members' certificate it issued (NAME-tls), as cached. */
  readonly operatorTls: OperatorTlsObservation;
}

/** What the sidecars say about who is in sync with the leader. */
export interface SyncObservation {
  /** Server id → last zxid (0x...), for the members that serve. */
  readonly zxids: ReadonlyMap<number, string>;
  /** The leader's count of synced voting followers; null without a leader that answered. */
  readonly syncedFollowers: number | null;
}

export interface Caches {
  child(kind: string, namespace: string, name: string): KubeObject | undefined;
  podsOf(namespace: string, clusterName: string): PodLike[];
}

export function childKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

export function observeCluster(caches: Caches, cluster: ZooKeeperCluster): Observed {
  const namespace = cluster.metadata.namespace ?? "";
  const name = cluster.metadata.name ?? "";
  const names = childNames(name);
  const children = new Map<string, KubeObject>();
  for (const { type, names: namesOf } of CHILD_KINDS) {
    for (const childName of namesOf(name)) {
      const obj = caches.child(type.kind, namespace, childName);
      // Only children we control: an object of the same name owned by someone else is not ours.
      if (obj && isControlledBy(obj, cluster)) children.set(childKey(type.kind, childName), obj);
    }
  }
  const statefulSet: StatefulSetLike | null =
    children.get(childKey("StatefulSet", names.statefulSet)) ?? null;
  const configMap: WithData | undefined = children.get(childKey("ConfigMap", names.configMap));
  const secretData = (n: string): Record<string, string> | undefined => {
    const secret: WithData | undefined = children.get(childKey("Secret", n));
    return secret?.data;
  };
  return {
    children,
    statefulSet,
    membersFile: readMembers(configMap?.data?.[CONFIGMAP_KEYS.members]),
    markers: readMarkers(configMap?.data),
    adminPassword: readPassword(secretData(names.adminSecret)?.[ADMIN_SECRET_KEYS.password]),
    pods: caches
      .podsOf(namespace, name)
      .map((p) => observePod(p, name))
      .filter((p): p is PodObservation => p !== null)
      .sort((a, b) => a.id - b.id),
    ensemble: { source: "none" },
    modes: null,
    sync: null,
    clientCertificate: null,
    operatorTls: {
      ca: readPemPair(secretData(names.caSecret)),
      leaf: readTlsMaterial(secretData(names.tlsSecret)),
    },
  };
}

function decoded(data: Record<string, string> | undefined, key: string): string | null {
  const value = data?.[key];
  return value ? Buffer.from(value, "base64").toString("utf8") : null;
}

/** A CA Secret's certificate and key (base64 data), null when either is missing. */
export function readPemPair(data: Record<string, string> | undefined): PemPair | null {
  const [cert, key] = [decoded(data, TLS_SECRET_KEYS.cert), decoded(data, TLS_SECRET_KEYS.key)];
  return cert !== null && key !== null ? { cert, key } : null;
}

/** A TLS Secret's three files (base64 data), null when any is missing. */
export function readTlsMaterial(data: Record<string, string> | undefined): TlsMaterial | null {
  const pair = readPemPair(data);
  const ca = decoded(data, TLS_SECRET_KEYS.ca);
  return pair !== null && ca !== null ? { ...pair, ca } : null;
}

interface WithData extends KubeObject {
  data?: Record<string, string>;
}

export function isControlledBy(obj: KubeObject, cluster: ZooKeeperCluster): boolean {
  const uid = cluster.metadata.uid;
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

function readMembers(text: string | undefined): MembersFile | null {
  if (text === undefined) return null;
  try {
    return parseMembersFile(text);
  } catch {
    return null;
  }
}

function readMarkers(data: Record<string, string> | undefined): EnsembleMarkers {
  const initializedAt = data?.[CONFIGMAP_KEYS.initializedAt]?.trim();
  let rejoinEmpty: number[] = [];
  try {
    rejoinEmpty = parseRejoinEmpty(data?.[CONFIGMAP_KEYS.rejoinEmpty] ?? "");
  } catch {
    // A hand-edited value we cannot read: the pass writes its own back.
  }
  const joining = Number(data?.[CONFIGMAP_KEYS.joining]?.trim() ?? "");
  return {
    initializedAt: initializedAt ? initializedAt : null,
    rejoinEmpty,
    joining: Number.isInteger(joining) && joining > 0 ? joining : null,
  };
}

export function readPassword(base64: string | undefined): string | null {
  if (!base64) return null;
  const text = Buffer.from(base64, "base64").toString("utf8");
  return text === "" ? null : text;
}

function observePod(pod: PodLike, clusterName: string): PodObservation | null {
  const name = pod.metadata?.name ?? "";
  const m = new RegExp(`^${escapeRegExp(clusterName)}-(\\d+)$`).exec(name);
  if (!m?.[1]) return null;
  const running = pod.status?.containerStatuses?.find((c) => c.name === "zookeeper")?.image;
  const init = pod.status?.initContainerStatuses?.find((c) => c.name === INIT_CONTAINER);
  const refused = EXIT_CODES.emptyDataRefused;
  const specImage = pod.spec?.containers?.find((c) => c.name === "zookeeper")?.image;
  return {
    name,
    uid: pod.metadata?.uid ?? "",
    id: Number(m[1]) + 1,
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    phase: pod.status?.phase ?? "Unknown",
    image: running ?? specImage ?? null,
    deleting: Boolean(pod.metadata?.deletionTimestamp),
    ip: pod.status?.podIP ?? null,
    revision: pod.metadata?.labels?.[REVISION_LABEL] ?? null,
    // Refused now, or waiting to be retried after a refusal; once init succeeds it is history.
    emptyDataRefused:
      init?.state?.terminated?.exitCode === refused ||
      (init?.state?.waiting !== undefined && init.lastState?.terminated?.exitCode === refused),
    failure: failureOf(pod),
  };
}

/**
 * Waiting reasons that mean a container will not run without a change: the kubelet keeps
 * retrying, but nothing will come of it (kubelet's image and container manager reasons).
 */
const FAILING_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CrashLoopBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
]);

function failureOf(pod: PodLike): PodObservation["failure"] {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of all) {
    const waiting = c.state?.waiting;
    if (waiting?.reason && FAILING_REASONS.has(waiting.reason))
      return { container: c.name, reason: waiting.reason, message: waiting.message ?? "" };
  }
  return null;
}

/** The StatefulSet controller's label for the template revision a pod was created from. */
const REVISION_LABEL = "controller-revision-hash";
/** The init container whose exit code says why a server did not start (builders/statefulset.ts CONTAINERS.init). */
const INIT_CONTAINER = "config";

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A pod reduced to what observe reads: the pod cache holds three objects per cluster, and full
 * pods are the largest objects the operator watches.
 */
export function shrinkPod(obj: KubeObject): PodLike {
  const pod: PodLike = obj;
  const meta = pod.metadata ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
      labels: meta.labels,
      deletionTimestamp: meta.deletionTimestamp,
    },
    spec: { containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image })) },
    status: {
      phase: pod.status?.phase,
      podIP: pod.status?.podIP,
      conditions: (pod.status?.conditions ?? [])
        .filter((c) => c.type === "Ready")
        .map((c) => ({ type: c.type, status: c.status })),
      containerStatuses: (pod.status?.containerStatuses ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        ready: c.ready,
        restartCount: c.restartCount,
        state: shrinkState(c.state),
      })),
      // Every init container: `config`'s exit code says why a server did not start, and the
      // native sidecar's waiting reason says why it cannot run (observePod failureOf).
      initContainerStatuses: (pod.status?.initContainerStatuses ?? []).map((c) => ({
        name: c.name,
        state: shrinkState(c.state),
        lastState: c.lastState?.terminated
          ? { terminated: { exitCode: c.lastState.terminated.exitCode } }
          : {},
      })),
    },
  };
}

/** A container state reduced to the exit code, or the waiting reason and the kubelet's message. */
function shrinkState(state: ContainerStatusLike["state"]): ContainerStatusLike["state"] {
  if (state?.terminated) return { terminated: { exitCode: state.terminated.exitCode } };
  if (state?.waiting)
    return {
      waiting: {
        reason: state.waiting.reason,
        ...(state.waiting.message ? { message: state.waiting.message } : {}),
      },
    };
  return {};
}
