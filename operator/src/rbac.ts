// The operator's RBAC, the one source of truth: every API call the operator makes, as the rules
// that allow exactly those calls and nothing else. `npm run generate` renders them into the
// chart's ClusterRole and leader-election Role (charts/zookeeper-operator/templates/_rules.tpl),
// and `npm run check:generated` fails when the chart drifts from this file.
//
// A new call in the operator needs its verb here, or it fails with 403 in a cluster; the kube
// tier's chart test runs the operator with exactly these rules.
import type { V1PolicyRule } from "@kubernetes/client-node";
import { CLUSTER_RESOURCE } from "./reconcile/reconcile.ts";
import { RESOURCES, type ResourceType } from "./runtime/kube.ts";
import { renderYaml } from "./api/yaml.ts";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch";

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
  {
    type: RESOURCES.ConfigMap,
    verbs: CACHED_AND_APPLIED,
    why: "NAME-config: informer + server-side apply",
  },
  {
    type: RESOURCES.Secret,
    verbs: ["get", ...CACHED_AND_APPLIED],
    why: "NAME-admin: informer + server-side apply; GET before generating a password (reconcile.ts readOrGeneratePassword)",
  },
  {
    type: RESOURCES.Service,
    verbs: CACHED_AND_APPLIED,
    why: "NAME-headless and NAME-client: informer + server-side apply",
  },
  {
    type: RESOURCES.PodDisruptionBudget,
    verbs: CACHED_AND_APPLIED,
    why: "NAME: informer + server-side apply",
  },
  {
    type: RESOURCES.StatefulSet,
    verbs: CACHED_AND_APPLIED,
    why: "NAME: informer + server-side apply",
  },
  {
    type: RESOURCES.Pod,
    verbs: ["list", "watch"],
    why: "informer of the ensemble's pods (readiness, running image)",
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

/** Where `npm run generate` writes the rules for the chart's templates. */
export const RULES_TEMPLATE_FILE = "charts/zookeeper-operator/templates/_rules.tpl";

const LEASE_NAME_PLACEHOLDER = "LEASE_NAME_PLACEHOLDER";

/**
 * The Helm partials `zookeeper-operator.operatorRules` and `zookeeper-operator.leaderElectionRules`:
 * YAML lists for a `rules:` key, each rule under a comment that says which code needs it.
 */
export function renderRulesTemplate(): string {
  const block = (p: Permission, rule: V1PolicyRule): string =>
    `# ${p.why}\n${renderYaml([rule]).trimEnd()}\n`;
  const operator = OPERATOR_PERMISSIONS.map((p) => block(p, buildRule(p))).join("");
  const [create, own] = buildLeaderElectionRules(LEASE_NAME_PLACEHOLDER);
  if (!create || !own) throw new Error("the leader-election rules are incomplete");
  const leader = (
    block(LEADER_ELECTION_PERMISSIONS.create, create) + block(LEADER_ELECTION_PERMISSIONS.own, own)
  ).replace(LEASE_NAME_PLACEHOLDER, '{{ include "zookeeper-operator.leaseName" . }}');
  return [
    "{{- /* Generated by `npm run generate` from operator/src/rbac.ts. Do not edit by hand. */ -}}",
    "",
    '{{- define "zookeeper-operator.operatorRules" }}',
    operator + "{{- end }}",
    "",
    '{{- define "zookeeper-operator.leaderElectionRules" }}',
    leader + "{{- end }}",
    "",
  ].join("\n");
}
