// resolveSpec: the first step of every reconcile. Pure: fills in every default (the same values the
// schema publishes) and checks what the schema cannot express. An error here is terminal: retrying
// will not fix it, so the operator marks the status and waits for the user to change the spec.
import type {
  V1Affinity,
  V1LocalObjectReference,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from "@kubernetes/client-node";
import {
  DEFAULTS,
  isOwnedConfigKey,
  RESERVED_POD_LABELS,
  RESERVED_PORTS,
  TYPED_CONFIG_KEYS,
} from "./defaults.ts";
import { jvmOptionProblem } from "./jvm-options.ts";
import { zooCfgValueProblem } from "../../../sidecar/src/contract.ts";
import { parseHeapMiB, parseQuantity } from "./quantity.ts";
import type {
  AntiAffinity,
  ClientAuthMode,
  ImagePullPolicy,
  NetworkPeer,
  ReclaimPolicy,
  ServiceType,
  TlsSource,
  ZooKeeperCluster,
  ZooKeeperClusterSpec,
} from "./types.ts";

/** Where one role's certificate comes from: the user's Secret, or the operator's CA (NAME-tls, builders/labels.ts tlsSecretName). */
export type TlsChoice = { secretName: string } | { generated: true };

export interface ResolvedSpec {
  replicas: number;
  observers: number;
  image: string;
  imagePullPolicy: ImagePullPolicy;
  imagePullSecrets: V1LocalObjectReference[];
  resources: V1ResourceRequirements;
  sidecar: { image: string; imagePullPolicy: ImagePullPolicy; resources: V1ResourceRequirements };
  jvm: { heapMiB: number; options: string[] };
  config: {
    tickTime: number;
    initLimit: number;
    syncLimit: number;
    maxClientCnxns: number;
    autopurge: { snapRetainCount: number; purgeInterval: number };
    additional: Record<string, string>;
  };
  storage: { size: string; storageClassName: string | null; reclaimPolicy: ReclaimPolicy };
  pod: {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    nodeSelector: Record<string, string>;
    tolerations: V1Toleration[];
    affinity: V1Affinity | null;
    /** null: the operator's default (spread over zones); a list (even empty): exactly these. */
    topologySpreadConstraints: V1TopologySpreadConstraint[] | null;
    priorityClassName: string | null;
    antiAffinity: AntiAffinity;
    terminationGracePeriodSeconds: number;
  };
  disruptionBudget: { maxUnavailable: number };
  service: { type: ServiceType; annotations: Record<string, string> };
  metrics: {
    enabled: boolean;
    port: number;
    podMonitor: { enabled: boolean; interval: string; labels: Record<string, string> };
  };
  /** Names of the TLS Secrets (cert-manager's layout); null: that TLS is off. */
  networkPolicy: { enabled: boolean; clients: NetworkPeer[]; metrics: NetworkPeer[] };
  /** Each role's TLS (null: off), and whether the operator's CA issues for either. */
  tls: {
    client: TlsChoice | null;
    quorum: TlsChoice | null;
    generated: boolean;
    /** Client certificates on the secure client port ("none" without client TLS). */
    clientAuth: ClientAuthMode;
  };
  paused: boolean;
  /** Accepted but unwise choices (an even ensemble size); the operator reports them as Warning events. */
  warnings: string[];
}

export type ResolveResult =
  { ok: true; spec: ResolvedSpec } | { ok: false; reason: ResolveReason; message: string };

export interface ResolveOptions {
  /** The sidecar image the operator runs with, used when spec.sidecar.image is unset. */
  sidecarImage?: string;
}

/** Reasons of a terminal error, for the Degraded condition and Events. */
export const RESOLVE_REASONS = { invalid: "InvalidSpec" } as const;
export type ResolveReason = (typeof RESOLVE_REASONS)[keyof typeof RESOLVE_REASONS];

class SpecError extends Error {
  readonly reason: ResolveReason;
  constructor(reason: ResolveReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

function invalid(message: string): never {
  throw new SpecError(RESOLVE_REASONS.invalid, message);
}

export function resolveSpec(cluster: ZooKeeperCluster, options: ResolveOptions = {}): ResolveResult {
  try {
    return { ok: true, spec: resolve(cluster, options) };
  } catch (err) {
    if (err instanceof SpecError) return { ok: false, reason: err.reason, message: err.message };
    throw err;
  }
}

function resolve(cluster: ZooKeeperCluster, options: ResolveOptions): ResolvedSpec {
  const name = cluster.metadata.name ?? "";
  // StatefulSet pods add "-N" and the controller-revision-hash label adds "-" and 10 characters,
  // which must stay within a 63-character label value; Services need a DNS-1035 label.
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 52) {
    invalid(
      `metadata.name ${JSON.stringify(name)} must be a DNS-1035 label of at most 52 characters (lower case letters, digits, '-', starting with a letter)`,
    );
  }
  const s: ZooKeeperClusterSpec = cluster.spec ?? {};
  const warnings: string[] = [];

  const replicas = s.replicas ?? DEFAULTS.replicas;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 255) {
    invalid(`spec.replicas must be an integer from 1 to 255, got ${replicas}`);
  }
  if (replicas % 2 === 0) {
    warnings.push(
      `spec.replicas is ${replicas}: an even ensemble tolerates no more failures than ${replicas - 1} members, while a quorum needs ${replicas / 2 + 1} of ${replicas} (one more server to keep in sync, no more safety)`,
    );
  }
  const observers = s.observers ?? DEFAULTS.observers;
  if (!Number.isInteger(observers) || observers < 0 || replicas + observers > 255) {
    invalid(
      `spec.observers must be an integer from 0 to ${255 - replicas} (ids up to 255 with ${replicas} replicas), got ${observers}`,
    );
  }

  const image = s.image ?? DEFAULTS.image;
  if (image.trim() === "" || /\s/.test(image)) invalid("spec.image must be a non-empty image reference");
  const sidecarImage = s.sidecar?.image ?? options.sidecarImage ?? DEFAULTS.sidecarImage;
  if (sidecarImage.trim() === "" || /\s/.test(sidecarImage)) {
    invalid("spec.sidecar.image must be a non-empty image reference");
  }
  const imagePullPolicy = s.imagePullPolicy ?? DEFAULTS.imagePullPolicy;

  const userResources = s.resources ?? {};
  const memoryBytes = memoryOf(userResources, "spec.resources");
  let heapMiB: number;
  if (s.jvm?.heap !== undefined) {
    try {
      heapMiB = parseHeapMiB(s.jvm.heap);
    } catch (err) {
      invalid(`spec.jvm.heap: ${(err as Error).message}`);
    }
    if (memoryBytes !== null && heapMiB * 2 ** 20 >= memoryBytes) {
      invalid(
        `spec.jvm.heap ${s.jvm.heap} must be smaller than the container's memory (${memoryBytes / 2 ** 20} MiB), which also holds the JVM's off-heap memory`,
      );
    }
  } else if (memoryBytes !== null) {
    heapMiB = Math.floor((memoryBytes * DEFAULTS.heapShareOfMemory) / 2 ** 20);
    if (heapMiB < 32)
      invalid(`spec.resources memory ${memoryBytes / 2 ** 20} MiB is too small for a ZooKeeper server`);
  } else {
    heapMiB = DEFAULTS.heapMiB;
  }
  const resources = withDefaultRequests(userResources, heapMiB);
  const jvmOptions = s.jvm?.options ?? [];
  for (const o of jvmOptions) {
    const problem = jvmOptionProblem(o);
    if (problem !== null) invalid(`spec.jvm.options: ${JSON.stringify(o)}: ${problem}`);
  }

  const c = s.config ?? {};
  const config = {
    tickTime: c.tickTime ?? DEFAULTS.config.tickTime,
    initLimit: c.initLimit ?? DEFAULTS.config.initLimit,
    syncLimit: c.syncLimit ?? DEFAULTS.config.syncLimit,
    maxClientCnxns: c.maxClientCnxns ?? DEFAULTS.config.maxClientCnxns,
    autopurge: {
      snapRetainCount: c.autopurge?.snapRetainCount ?? DEFAULTS.config.autopurge.snapRetainCount,
      purgeInterval: c.autopurge?.purgeInterval ?? DEFAULTS.config.autopurge.purgeInterval,
    },
    additional: { ...(c.additional ?? {}) },
  };
  for (const [key, value] of Object.entries(config.additional)) {
    if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(key))
      invalid(`spec.config.additional: ${JSON.stringify(key)} is not a zoo.cfg key`);
    if (isOwnedConfigKey(key))
      invalid(`spec.config.additional: ${key} is set by the operator and may not be overridden`);
    if ((TYPED_CONFIG_KEYS as readonly string[]).includes(key)) {
      invalid(`spec.config.additional: ${key} has its own field under spec.config; set it there`);
    }
    const problem = zooCfgValueProblem(value);
    if (problem) invalid(`spec.config.additional: the value of ${key} ${problem}`);
  }
  if (config.tickTime < 1 || config.initLimit < 1 || config.syncLimit < 1) {
    invalid("spec.config: tickTime, initLimit and syncLimit must be at least 1");
  }

  const st = s.storage ?? {};
  const storage = {
    size: st.size ?? DEFAULTS.storage.size,
    storageClassName: st.storageClassName ?? null,
    reclaimPolicy: st.reclaimPolicy ?? DEFAULTS.storage.reclaimPolicy,
  };
  let sizeBytes: number;
  try {
    sizeBytes = parseQuantity(storage.size);
  } catch (err) {
    invalid(`spec.storage.size: ${(err as Error).message}`);
  }
  if (sizeBytes <= 0) invalid("spec.storage.size must be greater than zero");

  const p = s.pod ?? {};
  for (const key of Object.keys(p.labels ?? {})) {
    if ((RESERVED_POD_LABELS as readonly string[]).includes(key)) {
      invalid(`spec.pod.labels: ${key} is set by the operator and used in selectors`);
    }
  }
  const pod = {
    labels: { ...(p.labels ?? {}) },
    annotations: { ...(p.annotations ?? {}) },
    nodeSelector: { ...(p.nodeSelector ?? {}) },
    tolerations: p.tolerations ?? [],
    affinity: p.affinity ?? null,
    topologySpreadConstraints: p.topologySpreadConstraints ?? null,
    priorityClassName: p.priorityClassName ?? null,
    antiAffinity: p.antiAffinity ?? DEFAULTS.pod.antiAffinity,
    terminationGracePeriodSeconds:
      p.terminationGracePeriodSeconds ?? DEFAULTS.pod.terminationGracePeriodSeconds,
  };

  const maxUnavailable = s.disruptionBudget?.maxUnavailable ?? DEFAULTS.disruptionBudget.maxUnavailable;
  const maxAllowed = maxUnavailableLimit(replicas);
  if (!Number.isInteger(maxUnavailable) || maxUnavailable < 1 || maxUnavailable > maxAllowed) {
    invalid(
      `spec.disruptionBudget.maxUnavailable must be from 1 to ${maxAllowed} for ${replicas} replicas, so that a voluntary disruption never breaks quorum`,
    );
  }

  const m = s.metrics ?? {};
  const metrics = {
    enabled: m.enabled ?? DEFAULTS.metrics.enabled,
    port: m.port ?? DEFAULTS.metrics.port,
    podMonitor: {
      enabled: m.podMonitor?.enabled ?? DEFAULTS.metrics.podMonitor.enabled,
      interval: m.podMonitor?.interval ?? DEFAULTS.metrics.podMonitor.interval,
      labels: { ...(m.podMonitor?.labels ?? {}) },
    },
  };
  if (RESERVED_PORTS.includes(metrics.port)) {
    invalid(`spec.metrics.port ${metrics.port} collides with a port ZooKeeper or the sidecar uses`);
  }

  for (const role of ["client", "quorum"] as const) {
    const source = s.tls?.[role];
    if (source && (source.secretName !== undefined) === (source.generated === true)) {
      invalid(
        `spec.tls.${role}: set exactly one of secretName (your Secret) or generated: true (the operator's CA)`,
      );
    }
  }
  // The operator's CA writes NAME-tls: a Secret of the user's by that name would be overwritten.
  const generatedSecret = `${name}-tls`;
  for (const role of ["client", "quorum"] as const) {
    const other = role === "client" ? "quorum" : "client";
    if (s.tls?.[other]?.generated === true && s.tls[role]?.secretName === generatedSecret) {
      invalid(
        `spec.tls.${role}.secretName ${generatedSecret} is the Secret the operator's CA writes for spec.tls.${other}.generated: give your Secret another name, or use generated: true for both`,
      );
    }
  }
  const tlsChoice = (source: TlsSource | undefined): TlsChoice | null =>
    source === undefined
      ? null
      : source.generated === true
        ? { generated: true }
        : { secretName: source.secretName ?? "" };
  const tls = {
    client: tlsChoice(s.tls?.client),
    quorum: tlsChoice(s.tls?.quorum),
    generated: s.tls?.client?.generated === true || s.tls?.quorum?.generated === true,
    clientAuth: s.tls?.client?.clientAuth ?? "none",
  };
  if (tls.clientAuth !== "none" && s.tls?.client?.secretName === undefined) {
    invalid(
      "spec.tls.client.clientAuth needs your own Secret (secretName): the operator's CA does not issue client certificates yet",
    );
  }

  return {
    replicas,
    observers,
    image,
    imagePullPolicy,
    imagePullSecrets: s.imagePullSecrets ?? [],
    resources,
    sidecar: {
      image: sidecarImage,
      imagePullPolicy: s.sidecar?.imagePullPolicy ?? imagePullPolicy,
      resources: s.sidecar?.resources ?? structuredClone(DEFAULTS.sidecarResources),
    },
    jvm: { heapMiB, options: [...jvmOptions] },
    config,
    storage,
    pod,
    disruptionBudget: { maxUnavailable },
    service: {
      type: s.service?.type ?? DEFAULTS.service.type,
      annotations: { ...(s.service?.annotations ?? {}) },
    },
    metrics,
    networkPolicy: {
      enabled: s.networkPolicy?.enabled ?? DEFAULTS.networkPolicy.enabled,
      clients: structuredClone(s.networkPolicy?.clients ?? []),
      metrics: structuredClone(s.networkPolicy?.metrics ?? []),
    },
    tls,
    paused: s.paused ?? DEFAULTS.paused,
    warnings,
  };
}

/** The largest maxUnavailable that keeps a quorum: floor((replicas-1)/2), at least 1 so drains never block forever. */
export function maxUnavailableLimit(replicas: number): number {
  return Math.max(1, Math.floor((replicas - 1) / 2));
}

/**
 * The ZooKeeper container's resources with requests sized for its heap where the spec sets
 * neither a request nor a limit: without a memory request the scheduler may put a 2 GiB heap on
 * a node with no room for it, and the kubelet evicts a BestEffort pod first under pressure.
 * The memory request holds the heap and the JVM's off-heap share (the heap is 75 % of it).
 */
function withDefaultRequests(resources: V1ResourceRequirements, heapMiB: number): V1ResourceRequirements {
  const requests: Record<string, string> = { ...(resources.requests ?? {}) };
  if (requests.memory === undefined && resources.limits?.memory === undefined)
    requests.memory = `${Math.ceil(heapMiB / DEFAULTS.heapShareOfMemory)}Mi`;
  if (requests.cpu === undefined && resources.limits?.cpu === undefined) requests.cpu = DEFAULTS.cpuRequest;
  // A copy of the parsed JSON the spec holds (a plain object, whatever its declared type).
  const copy: V1ResourceRequirements = structuredClone(resources);
  copy.requests = requests;
  return copy;
}

function memoryOf(resources: V1ResourceRequirements, path: string): number | null {
  const q = resources.limits?.memory ?? resources.requests?.memory;
  if (q === undefined) return null;
  try {
    return parseQuantity(q);
  } catch (err) {
    invalid(`${path}: ${(err as Error).message}`);
  }
}
