// The operator's RBAC, the one source of truth: every API call the operator makes, as the rules
// that allow exactly those calls and nothing else. The children's rules come from the table of
// child kinds (children.ts). `npm run generate` renders them into the chart's ClusterRole and
// leader-election Role (generators/rbac-template.ts), and `npm run check:generated` fails when
// the chart drifts from this file.
//
// A new call in the operator needs its verb here, or it fails with 403 in a cluster; the kube
// tier's chart test runs the operator with exactly these rules.
import type { V1PolicyRule } from "@kubernetes/client-node";
import { CLUSTER_RESOURCE } from "./api/types.ts";
import { RESOURCES, type ResourceType } from "./api/objects.ts";
import { CHILD_KINDS } from "./children.ts";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete";

export interface Permission {
  type: ResourceType;
  subresource?: string;
  verbs: Verb[];
  /** Which code makes the calls (rendered as a comment above the rule). */
  why: string;
}

/** Informers list, then watch; children are written by server-side apply (`patch`), and an apply
 * that creates the object is also authorised as `create`. */
const CACHED_AND_APPLIED: Verb[] = ["list", "watch", "create", "patch"];

/** Cluster-wide (or, with the chart's watchNamespaces, bound in each watched namespace). */
export const OPERATOR_PERMISSIONS: Permission[] = [
  {
    type: CLUSTER_RESOURCE,
    verbs: ["list", "watch"],
    why: "informer of ZooKeeperClusters (controller.ts); reconciles read the cache, never GET",
  },
  {
    type: CLUSTER_RESOURCE,
    subresource: "status",
    verbs: ["patch"],
    why: "status by server-side apply, one per pass (reconcile.ts writeStatus)",
  },
  {
    type: CLUSTER_RESOURCE,
    subresource: "finalizers",
    verbs: ["update"],
    why: "children's ownerReferences set blockOwnerDeletion, which the OwnerReferencesPermissionEnforcement admission plugin allows only with this",
  },
  ...CHILD_KINDS.map((k): Permission => ({
    type: k.type,
    verbs: [...(k.extraVerbs ?? []), ...CACHED_AND_APPLIED],
    why: `${k.why}: informer + server-side apply`,
  })),
  {
    type: RESOURCES.Pod,
    verbs: ["list", "watch"],
    why: "informer of the ensemble's pods (readiness, running image)",
  },
  {
    type: RESOURCES.Pod,
    subresource: "eviction",
    verbs: ["create"],
    why: "rolling restarts evict one member at a time through the Eviction API, so PodDisruptionBudgets hold (reconcile.ts restartMembers)",
  },
  {
    type: RESOURCES.Event,
    verbs: ["create"],
    why: "events.k8s.io/v1 Events about clusters (runtime/events.ts)",
  },
];

/** In the namespace of the Lease only (runtime/leader.ts). */
export const LEADER_ELECTION_PERMISSIONS: { create: Permission; own: Permission } = {
  create: {
    type: RESOURCES.Lease,
    verbs: ["create"],
    why: "the first replica creates the Lease (create cannot be limited to one name)",
  },
  own: {
    type: RESOURCES.Lease,
    verbs: ["get", "update"],
    why: "acquire, renew and release: GET then PUT with the read resourceVersion",
  },
};

export function apiGroupOf(type: ResourceType): string {
  const i = type.apiVersion.indexOf("/");
  return i < 0 ? "" : type.apiVersion.slice(0, i);
}

export function buildRule(p: Permission, resourceNames?: string[]): V1PolicyRule {
  return {
    apiGroups: [apiGroupOf(p.type)],
    resources: [p.subresource ? `${p.type.plural}/${p.subresource}` : p.type.plural],
    ...(resourceNames ? { resourceNames } : {}),
    verbs: [...p.verbs],
  };
}

/** The rules of the operator's ClusterRole. */
export function buildOperatorRules(): V1PolicyRule[] {
  return OPERATOR_PERMISSIONS.map((p) => buildRule(p));
}

/** The rules of the leader-election Role for the Lease `leaseName`. */
export function buildLeaderElectionRules(leaseName: string): V1PolicyRule[] {
  return [
    buildRule(LEADER_ELECTION_PERMISSIONS.create),
    buildRule(LEADER_ELECTION_PERMISSIONS.own, [leaseName]),
  ];
}
