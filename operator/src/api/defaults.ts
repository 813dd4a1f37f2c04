// Every default of the API in one place. The schema (schema.ts) publishes the scalar ones as
// OpenAPI defaults so the API server fills them in; resolveSpec applies the same values again so
// that the operator never depends on an object having been defaulted by this schema version.

import { PORTS, SIDECAR_OWNED_ZOO_CFG_KEYS } from "../../../sidecar/src/contract.ts";

export const DEFAULTS = {
  replicas: 3,
  observers: 0,
  image: "docker.io/library/zookeeper:3.9.4",
  imagePullPolicy: "IfNotPresent",
  /** The operator's own sidecar image; the operator may be configured with another one. */
  sidecarImage: "ghcr.io/zookeeper-ensemble/zk-sidecar:0.1.0",
  /** Heap when neither jvm.heap nor a memory limit or request is given. */
  heapMiB: 512,
  /** Share of the container's memory (limit, else request) given to the heap when jvm.heap is unset. */
  heapShareOfMemory: 0.75,
  /** The ZooKeeper container's CPU request when the spec sets neither a CPU request nor a limit. */
  cpuRequest: "100m",
  config: {
    tickTime: 2000,
    initLimit: 10,
    syncLimit: 5,
    maxClientCnxns: 60,
    autopurge: { snapRetainCount: 3, purgeInterval: 1 },
  },
  storage: { size: "10Gi", reclaimPolicy: "Retain" },
  pod: { antiAffinity: "preferred", terminationGracePeriodSeconds: 60 },
  disruptionBudget: { maxUnavailable: 1 },
  service: { type: "ClusterIP" },
  metrics: { enabled: true, port: 7000, podMonitor: { enabled: true, interval: "30s" } },
  networkPolicy: { enabled: false },
  paused: false,
  sidecarResources: { requests: { cpu: "10m", memory: "48Mi" }, limits: { memory: "96Mi" } },
  clusterDomain: "cluster.local",
} as const;

/** zoo.cfg keys that have their own typed field under spec.config (so `additional` may not repeat them). */
export const TYPED_CONFIG_KEYS = [
  "tickTime",
  "initLimit",
  "syncLimit",
  "maxClientCnxns",
  "autopurge.snapRetainCount",
  "autopurge.purgeInterval",
] as const;

const SIDECAR_KEYS = SIDECAR_OWNED_ZOO_CFG_KEYS.filter((k) => !k.endsWith("."));
const SIDECAR_PREFIXES = SIDECAR_OWNED_ZOO_CFG_KEYS.filter((k) => k.endsWith("."));

/**
 * zoo.cfg keys the operator or the sidecar owns: membership, paths, ports, the reconfiguration
 * switches, authentication of the super user, the metrics provider and TLS. A user value would
 * break membership changes or security, so `spec.config.additional` may not set them. The
 * sidecar's own list (contract.ts) is included, so `zk-sidecar init` never refuses what we render.
 */
/**
 * ZooKeeper properties that decide who is authenticated and what ACLs allow. The operator owns
 * them in both places they can be set: as zoo.cfg keys (ZooKeeper turns a key it does not know
 * into the system property `zookeeper.KEY`) and as `-Dzookeeper.KEY` JVM options (jvm-options.ts).
 */
export const AUTH_PROPERTIES: readonly string[] = [
  "skipACL",
  "superUser",
  "allowSaslFailedClients",
  "sessionRequireClientSASLAuth",
  "enforce.auth.enabled",
  "enforce.auth.schemes",
];
/** Prefixes of the same: auth providers and their settings (the super digest among them). */
export const AUTH_PROPERTY_PREFIXES: readonly string[] = [
  "authProvider.",
  "DigestAuthenticationProvider.",
  "X509AuthenticationProvider.",
];

// A Set first: keys the sidecar also owns must not appear twice in the generated CEL rule.
export const OWNED_CONFIG_KEYS: readonly string[] = [
  ...new Set([...SIDECAR_KEYS, ...AUTH_PROPERTIES, "dataLogDir"]),
];

/** Prefixes of owned keys (server.N, group.N, weight.N, metricsProvider.*, ssl.*, auth providers). */
export const OWNED_CONFIG_PREFIXES: readonly string[] = [
  ...SIDECAR_PREFIXES,
  "metricsProvider.",
  ...AUTH_PROPERTY_PREFIXES,
];

/** Pod labels the operator sets itself and uses in selectors. */
export const RESERVED_POD_LABELS = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/component",
  "app.kubernetes.io/managed-by",
] as const;

/** ZooKeeper's AdminServer port (on by default in the official image). */
export const ADMIN_SERVER_PORT = 8080;

/** Ports in the pod the metrics port must not collide with: client (plain and TLS), quorum, election, AdminServer, sidecar. */
export const RESERVED_PORTS: readonly number[] = [
  PORTS.client,
  PORTS.secureClient,
  PORTS.quorum,
  PORTS.election,
  ADMIN_SERVER_PORT,
  PORTS.sidecarHttp,
];

export function isOwnedConfigKey(key: string): boolean {
  return OWNED_CONFIG_KEYS.includes(key) || OWNED_CONFIG_PREFIXES.some((p) => key.startsWith(p));
}
