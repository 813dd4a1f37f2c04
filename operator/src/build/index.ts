// The pure builders: from a cluster, its resolved spec and what the reconcile observed, every child
// object the operator owns. No API calls, no clock, no randomness: the same input gives the same
// objects, so a no-op resync applies nothing new.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Member } from "../../../sidecar/src/contract.ts";
import { DEFAULTS } from "../api/defaults.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { ZooKeeperCluster } from "../api/types.ts";
import { buildAdminSecret } from "./admin-secret.ts";
import { buildClientService } from "./client-service.ts";
import { buildConfigMap } from "./configmap.ts";
import { buildHeadlessService } from "./headless-service.ts";
import { buildPodDisruptionBudget } from "./pdb.ts";
import { buildServiceMonitor } from "./service-monitor.ts";
import { buildStatefulSet } from "./statefulset.ts";
import { computeConfigHash, renderStaticConfig } from "./zoo-cfg.ts";

export interface BuildInput {
  /** The membership to publish in the ConfigMap (bootstrap: 1..replicas as participants). */
  members: Member[];
  /** Committed ensemble config version (hex), "0" before any reconfiguration. */
  membersVersion: string;
  /** The existing Secret's password, or a newly generated one (generateAdminPassword). */
  adminPassword: string;
  /** StatefulSet replicas; defaults to the highest member id (pods 0..id-1), or spec.replicas with no members. */
  statefulSetReplicas?: number;
  /** The cluster's DNS domain (default cluster.local). */
  clusterDomain?: string;
  /**
   * Whether the API server serves monitoring.coreos.com/v1 ServiceMonitors (the runtime finds out by
   * discovery). Only then is a ServiceMonitor built, and only when spec.metrics.serviceMonitor.enabled.
   */
  serviceMonitorsAvailable?: boolean;
}

/**
 * ConfigMap, admin Secret, headless and client Service, PDB, (ServiceMonitor,) StatefulSet — the
 * StatefulSet last, after what its pods mount.
 */
export function buildChildren(
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  input: BuildInput,
): KubernetesObject[] {
  const replicas =
    input.statefulSetReplicas ??
    (input.members.length > 0 ? Math.max(...input.members.map((m) => m.id)) : spec.replicas);
  return [
    buildConfigMap(cluster, spec, input.members, input.membersVersion),
    buildAdminSecret(cluster, input.adminPassword),
    buildHeadlessService(cluster, spec),
    buildClientService(cluster, spec),
    buildPodDisruptionBudget(cluster, spec),
    ...(spec.metrics.enabled && spec.metrics.serviceMonitor.enabled && input.serviceMonitorsAvailable === true
      ? [buildServiceMonitor(cluster, spec)]
      : []),
    buildStatefulSet(cluster, spec, {
      replicas,
      configHash: computeConfigHash(renderStaticConfig(spec)),
      clusterDomain: input.clusterDomain ?? DEFAULTS.clusterDomain,
    }),
  ];
}

/** The bootstrap membership: ids 1..replicas, all participants. */
export function bootstrapMembers(replicas: number): Member[] {
  return Array.from({ length: replicas }, (_, i) => ({ id: i + 1, role: "participant" as const }));
}

export {
  childNames,
  selectorLabels,
  childLabels,
  LABELS,
  LABEL_VALUES,
  CONFIG_HASH_ANNOTATION,
} from "./labels.ts";
export type { ChildNames } from "./labels.ts";
export { computeSuperDigest, generateAdminPassword } from "./admin-secret.ts";
export { clientConnectionString } from "./client-service.ts";
export { imageVersion } from "./image.ts";
export { buildServiceMonitor, SERVICE_MONITOR_API_VERSION } from "./service-monitor.ts";
export { renderStaticConfig, computeConfigHash } from "./zoo-cfg.ts";
