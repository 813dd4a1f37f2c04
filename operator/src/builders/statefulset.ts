// NAME StatefulSet: the pod layout of DESIGN.md. Parallel pod management (immutable, so right
// from the first release) and OnDelete updates: the operator, not the StatefulSet controller,
// decides which pod restarts when, leader last.
/* eslint-disable @typescript-eslint/no-misused-spread --
   client-node's models are classes only in name: the objects here are plain JSON, so spreading them loses nothing. */
import type {
  V1Affinity,
  V1Container,
  V1ContainerPort,
  V1EnvVar,
  V1PodAffinityTerm,
  V1SecurityContext,
  V1StatefulSet,
  V1TopologySpreadConstraint,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import {
  ADMIN_SECRET_KEYS,
  CONF_SUBPATH_ON_DATA_VOLUME,
  ENV,
  HTTP_PATHS,
  PORTS,
  POD_PATHS,
} from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec, TlsChoice } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { clientPort } from "./client-service.ts";
import { LOGBACK_KEY } from "./configmap.ts";
import {
  CLIENT_CERTIFICATE_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  RESTARTED_AT_ANNOTATION,
  childLabels,
  childMetadata,
  childNames,
  selectorLabels,
  JOINING_ANNOTATION,
  tlsSecretName,
} from "./labels.ts";

/** The official image's user and group (zookeeper, 1000:1000); the sidecar image uses the same ids. */
export const POD_UID = 1000;
/** Container port names: the sidecar's HTTP server and ZooKeeper's native metrics (pod-monitor.ts scrapes them by name). */
export const SIDECAR_PORT_NAME = "sidecar-http";
export const METRICS_PORT_NAME = "metrics";

export const CONTAINERS = { init: "config", sidecar: "sidecar", zookeeper: "zookeeper" } as const;
export const VOLUMES = {
  data: "data",
  operatorConfig: "operator-config",
  admin: "admin",
  tmp: "tmp",
  logs: "logs",
  tlsClient: "tls-client",
  tlsQuorum: "tls-quorum",
  /** The PEM stores the sidecar writes for ZooKeeper: in memory, so private keys never reach a disk. */
  tlsStores: "tls-stores",
} as const;
/** Where the official image's zkEnv.sh writes logs; an emptyDir because the root filesystem is read-only. */
export const LOG_DIR = "/logs";
/** The sidecar binary and its subcommands (DESIGN.md "Names"). */
export const SIDECAR_COMMAND = { init: ["zk-sidecar", "init"], serve: ["zk-sidecar", "serve"] } as const;
export const ZOOKEEPER_COMMAND = ["zkServer.sh", "start-foreground"] as const;
/** Env var the zookeeper container reads the super digest into; SERVER_JVMFLAGS refers to it. */
export const SUPER_DIGEST_ENV = "ZK_SUPER_DIGEST";
/** How long init waits for rejoin-empty before it refuses an empty volume (the sidecar's default is 60 s). */
export const REJOIN_WAIT_MS = 20_000;

export interface StatefulSetInput {
  /** Pods to run (ordinals 0..replicas-1); the decision step chooses it, usually the highest member id. */
  replicas: number;
  /** Hash of zoo.cfg.static (computeConfigHash). */
  configHash: string;
  clusterDomain: string;
  /** The server the StatefulSet grew for (JOINING_ANNOTATION); null or absent when none. */
  joining?: number | null;
  /** The renewed client certificate the members must restart into (CLIENT_CERTIFICATE_ANNOTATION); null or absent: none. */
  clientCertificate?: string | null;
}

const RESTRICTED: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

export function buildStatefulSet(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  input: StatefulSetInput,
): V1StatefulSet {
  const name = cluster.metadata.name ?? "";
  const names = childNames(name);
  const selector = selectorLabels(name);
  const tlsOn = spec.tls.client !== null || spec.tls.quorum !== null;

  const contractEnv: V1EnvVar[] = [
    { name: ENV.podName, valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: ENV.namespace, valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
    { name: ENV.headlessService, value: names.headless },
    { name: ENV.clusterDomain, value: input.clusterDomain },
    { name: ENV.clientPort, value: String(PORTS.client) },
    { name: ENV.quorumPort, value: String(PORTS.quorum) },
    { name: ENV.electionPort, value: String(PORTS.election) },
    { name: ENV.dataDir, value: POD_PATHS.data },
    { name: ENV.confDir, value: POD_PATHS.conf },
    { name: ENV.operatorConfigDir, value: POD_PATHS.operatorConfig },
    ...tlsEnv(spec),
  ];
  const mount = (volume: string, mountPath: string, readOnly = false): V1VolumeMount =>
    readOnly ? { name: volume, mountPath, readOnly } : { name: volume, mountPath };
  // zoo.cfg and the dynamic membership files live on the data volume: ZooKeeper rewrites them
  // after a reconfig, and that must survive a restart (contract.ts CONF_SUBPATH_ON_DATA_VOLUME).
  const confMount = (readOnly: boolean): V1VolumeMount => ({
    name: VOLUMES.data,
    mountPath: POD_PATHS.conf,
    subPath: CONF_SUBPATH_ON_DATA_VOLUME,
    ...(readOnly ? { readOnly } : {}),
  });

  const init: V1Container = {
    name: CONTAINERS.init,
    image: spec.sidecar.image,
    imagePullPolicy: spec.sidecar.imagePullPolicy,
    command: [...SIDECAR_COMMAND.init],
    // The operator learns that init refused an empty volume only from its exit code, so the first
    // refusal should come soon; the wait still covers the kubelet bringing the ConfigMap the
    // operator wrote into a restarted init (decide.ts, sidecar docs "Empty data directories").
    env: [...contractEnv, { name: ENV.rejoinWaitMs, value: String(REJOIN_WAIT_MS) }],
    resources: spec.sidecar.resources,
    securityContext: RESTRICTED,
    volumeMounts: [
      mount(VOLUMES.data, POD_PATHS.data),
      confMount(false),
      mount(VOLUMES.operatorConfig, POD_PATHS.operatorConfig, true),
      ...tlsSecretMounts(spec),
      ...(tlsOn ? [mount(VOLUMES.tlsStores, POD_PATHS.tlsStores)] : []),
    ],
  };

  const sidecar: V1Container = {
    name: CONTAINERS.sidecar,
    image: spec.sidecar.image,
    imagePullPolicy: spec.sidecar.imagePullPolicy,
    command: [...SIDECAR_COMMAND.serve],
    // A native sidecar: an init container that keeps running beside the main container.
    restartPolicy: "Always",
    env: [...contractEnv, { name: ENV.httpPort, value: String(PORTS.sidecarHttp) }],
    ports: [{ name: SIDECAR_PORT_NAME, containerPort: PORTS.sidecarHttp, protocol: "TCP" }],
    // The sidecar's own liveness: /status answers from its cache whatever ZooKeeper does, so a
    // failure means the sidecar itself hangs, and only the sidecar is restarted.
    livenessProbe: {
      httpGet: { path: HTTP_PATHS.status, port: PORTS.sidecarHttp },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    resources: spec.sidecar.resources,
    securityContext: RESTRICTED,
    volumeMounts: [
      mount(VOLUMES.data, POD_PATHS.data, true),
      confMount(true),
      mount(VOLUMES.operatorConfig, POD_PATHS.operatorConfig, true),
      mount(VOLUMES.admin, POD_PATHS.admin, true),
      mount(VOLUMES.tmp, "/tmp"),
      // serve writes renewed quorum certificates into the stores (ZooKeeper reloads them).
      ...tlsSecretMounts(spec),
      ...(tlsOn ? [mount(VOLUMES.tlsStores, POD_PATHS.tlsStores)] : []),
    ],
  };

  const jvmFlags = [
    `-Dzookeeper.DigestAuthenticationProvider.superDigest=$(${SUPER_DIGEST_ENV})`,
    `-Dlogback.configurationFile=${POD_PATHS.operatorConfig}/${LOGBACK_KEY}`,
    ...spec.jvm.options,
  ];
  // With client TLS the plain client port listens on loopback only: clients, the kubelet's probes
  // and Services use the secure one.
  const client = clientPort(spec.tls.client !== null);
  const zookeeperPorts: V1ContainerPort[] = [
    { name: client.name, containerPort: client.port, protocol: "TCP" },
    { name: "quorum", containerPort: PORTS.quorum, protocol: "TCP" },
    { name: "election", containerPort: PORTS.election, protocol: "TCP" },
  ];
  if (spec.metrics.enabled)
    zookeeperPorts.push({ name: METRICS_PORT_NAME, containerPort: spec.metrics.port, protocol: "TCP" });
  const zookeeper: V1Container = {
    name: CONTAINERS.zookeeper,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    command: [...ZOOKEEPER_COMMAND],
    env: [
      { name: "ZOOCFGDIR", value: POD_PATHS.conf },
      { name: "ZOO_LOG_DIR", value: LOG_DIR },
      // zkEnv.sh turns this into -Xmx<N>m.
      { name: "ZK_SERVER_HEAP", value: String(spec.jvm.heapMiB) },
      {
        name: SUPER_DIGEST_ENV,
        valueFrom: { secretKeyRef: { name: names.adminSecret, key: ADMIN_SECRET_KEYS.superDigest } },
      },
      // $(VAR) is expanded by the kubelet from the variable defined just above.
      { name: "SERVER_JVMFLAGS", value: jvmFlags.join(" ") },
    ],
    ports: zookeeperPorts,
    readinessProbe: {
      httpGet: { path: HTTP_PATHS.ready, port: PORTS.sidecarHttp },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    // ZooKeeper opens its client port only after it has loaded its snapshot and log, which takes
    // minutes for a large database: until then the startup probe holds liveness back (up to
    // 10 minutes), so the kubelet never kills a server that is still loading.
    startupProbe: {
      tcpSocket: { port: client.port },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 120,
    },
    // Liveness is the server's own: its client port accepts connections. Never quorum (a
    // partition must not restart every server), and never the sidecar, so that a hung sidecar
    // cannot make the kubelet restart a healthy ZooKeeper; the sidecar has its own probe.
    livenessProbe: {
      tcpSocket: { port: client.port },
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    },
    resources: spec.resources,
    securityContext: RESTRICTED,
    volumeMounts: [
      mount(VOLUMES.data, POD_PATHS.data),
      confMount(false),
      mount(VOLUMES.operatorConfig, POD_PATHS.operatorConfig, true),
      mount(VOLUMES.tmp, "/tmp"),
      mount(VOLUMES.logs, LOG_DIR),
      ...(tlsOn ? [mount(VOLUMES.tlsStores, POD_PATHS.tlsStores, true)] : []),
    ],
  };

  const volumes: V1Volume[] = [
    { name: VOLUMES.operatorConfig, configMap: { name: names.configMap } },
    { name: VOLUMES.admin, secret: { secretName: names.adminSecret, defaultMode: 0o440 } },
    { name: VOLUMES.tmp, emptyDir: {} },
    { name: VOLUMES.logs, emptyDir: {} },
    ...tlsVolumes(name, spec),
  ];

  const restartedAt = cluster.metadata.annotations?.[RESTARTED_AT_ANNOTATION];
  const podAnnotations = {
    ...spec.pod.annotations,
    [CONFIG_HASH_ANNOTATION]: input.configHash,
    ...(restartedAt ? { [RESTARTED_AT_ANNOTATION]: restartedAt } : {}),
    ...(input.clientCertificate ? { [CLIENT_CERTIFICATE_ANNOTATION]: input.clientCertificate } : {}),
  };
  const podSpecExtras = {
    ...(spec.imagePullSecrets.length > 0 ? { imagePullSecrets: spec.imagePullSecrets } : {}),
    ...(Object.keys(spec.pod.nodeSelector).length > 0 ? { nodeSelector: spec.pod.nodeSelector } : {}),
    ...(spec.pod.tolerations.length > 0 ? { tolerations: spec.pod.tolerations } : {}),
    ...(spec.pod.priorityClassName !== null ? { priorityClassName: spec.pod.priorityClassName } : {}),
  };
  const affinity = buildAffinity(spec, selector);
  const spread = buildTopologySpread(spec, selector);

  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: childMetadata(
      cluster,
      names.statefulSet,
      input.joining ? { annotations: { [JOINING_ANNOTATION]: String(input.joining) } } : {},
    ),
    spec: {
      replicas: input.replicas,
      serviceName: names.headless,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "OnDelete" },
      selector: { matchLabels: selector },
      persistentVolumeClaimRetentionPolicy: {
        whenDeleted: spec.storage.reclaimPolicy,
        whenScaled: spec.storage.reclaimPolicy,
      },
      template: {
        metadata: {
          labels: { ...spec.pod.labels, ...childLabels(name) },
          annotations: podAnnotations,
        },
        spec: {
          // ZooKeeper and the sidecar never call the Kubernetes API.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: spec.pod.terminationGracePeriodSeconds,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: POD_UID,
            runAsGroup: POD_UID,
            fsGroup: POD_UID,
            fsGroupChangePolicy: "OnRootMismatch",
            seccompProfile: { type: "RuntimeDefault" },
          },
          initContainers: [init, sidecar],
          containers: [zookeeper],
          volumes,
          ...podSpecExtras,
          ...(affinity !== null ? { affinity } : {}),
          ...(spread.length > 0 ? { topologySpreadConstraints: spread } : {}),
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: VOLUMES.data, labels: selector },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(spec.storage.storageClassName !== null
              ? { storageClassName: spec.storage.storageClassName }
              : {}),
            resources: { requests: { storage: spec.storage.size } },
          },
        },
      ],
    },
  };
}

/** spec.pod.affinity with our pod anti-affinity term added per spec.pod.antiAffinity (one member per node). */
export function buildAffinity(spec: ResolvedSpec, selector: Record<string, string>): V1Affinity | null {
  const user = spec.pod.affinity;
  if (spec.pod.antiAffinity === "none") return user;
  const term: V1PodAffinityTerm = {
    labelSelector: { matchLabels: selector },
    topologyKey: "kubernetes.io/hostname",
  };
  const anti = { ...(user?.podAntiAffinity ?? {}) };
  if (spec.pod.antiAffinity === "required") {
    anti.requiredDuringSchedulingIgnoredDuringExecution = [
      ...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      term,
    ];
  } else {
    anti.preferredDuringSchedulingIgnoredDuringExecution = [
      ...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []),
      { weight: 100, podAffinityTerm: term },
    ];
  }
  return { ...(user ?? {}), podAntiAffinity: anti };
}

/**
 * spec.pod.topologySpreadConstraints when given (an empty list turns spreading off); otherwise
 * spread members over zones, softly so that single-zone clusters still schedule.
 */
export function buildTopologySpread(
  spec: ResolvedSpec,
  selector: Record<string, string>,
): V1TopologySpreadConstraint[] {
  if (spec.pod.topologySpreadConstraints !== null) {
    return spec.pod.topologySpreadConstraints.map((c) =>
      c.labelSelector === undefined ? { ...c, labelSelector: { matchLabels: selector } } : c,
    );
  }
  return [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: selector },
    },
  ];
}

/** The TLS Secrets of spec.tls, by volume name and mount point (the sidecar's contract). */
function tlsSecrets(spec: ResolvedSpec): { volume: string; choice: TlsChoice; path: string; env: string }[] {
  const out = [];
  if (spec.tls.client !== null)
    out.push({
      volume: VOLUMES.tlsClient,
      choice: spec.tls.client,
      path: POD_PATHS.tlsClient,
      env: ENV.tlsClientDir,
    });
  if (spec.tls.quorum !== null)
    out.push({
      volume: VOLUMES.tlsQuorum,
      choice: spec.tls.quorum,
      path: POD_PATHS.tlsQuorum,
      env: ENV.tlsQuorumDir,
    });
  return out;
}

/** Where init and the sidecar find the TLS Secrets, and where they write ZooKeeper's stores. */
function tlsEnv(spec: ResolvedSpec): V1EnvVar[] {
  const secrets = tlsSecrets(spec);
  if (secrets.length === 0) return [];
  return [
    ...secrets.map((t) => ({ name: t.env, value: t.path })),
    { name: ENV.tlsStoreDir, value: POD_PATHS.tlsStores },
    { name: ENV.secureClientPort, value: String(PORTS.secureClient) },
    // Only when asked: a cluster without clientAuth keeps the template it had before the field existed.
    ...(spec.tls.clientAuth === "none" ? [] : [{ name: ENV.tlsClientAuth, value: spec.tls.clientAuth }]),
  ];
}

/** The TLS Secrets, mounted whole (not by subPath) so that the kubelet brings renewed ones in. */
function tlsSecretMounts(spec: ResolvedSpec): V1VolumeMount[] {
  return tlsSecrets(spec).map((t) => ({ name: t.volume, mountPath: t.path, readOnly: true }));
}

function tlsVolumes(clusterName: string, spec: ResolvedSpec): V1Volume[] {
  const secrets = tlsSecrets(spec);
  if (secrets.length === 0) return [];
  return [
    ...secrets.map((t) => ({
      name: t.volume,
      secret: { secretName: tlsSecretName(clusterName, t.choice), defaultMode: 0o440 },
    })),
    { name: VOLUMES.tlsStores, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
  ];
}
