// The one table of the kinds of object a ZooKeeperCluster owns. Each entry says, for its kind:
// the resource type, the names of its objects, its pure builder, the RBAC it needs and why.
// The table's order is the apply order. Everything that deals with children reads it: the
// reconcile pass (what to build and apply, what observe looks up in the cache), the controller
// (one informer per kind, labelled children only), the RBAC source (rbac.ts) and the tests.
// Adding a child kind is one entry here plus its builder.
//
// An optional kind (the PodMonitor) belongs to an API a cluster may not serve: the controller
// asks API discovery for it now and then, runs its informer only while it is served, and the
// builders see which optional kinds are served (BuildInput.served). A kind marked `prune` is
// also deleted when its builder stops wanting it (a PodMonitor switched off).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Member } from "../../sidecar/src/contract.ts";
import { RESOURCES, type ResourceType } from "./api/objects.ts";
import type { ResolvedSpec } from "./api/resolve.ts";
import type { ZooKeeperCluster } from "./api/types.ts";
import { buildAdminSecret } from "./builders/admin-secret.ts";
import { buildClientService } from "./builders/client-service.ts";
import { buildConfigMap } from "./builders/configmap.ts";
import { buildHeadlessService } from "./builders/headless-service.ts";
import { childNames } from "./builders/labels.ts";
import { buildNetworkPolicy } from "./builders/network-policy.ts";
import { buildPodDisruptionBudget } from "./builders/pdb.ts";
import { buildPodMonitor } from "./builders/pod-monitor.ts";
import { buildStatefulSet } from "./builders/statefulset.ts";
import { buildCaSecret, buildTlsSecret } from "./builders/tls-secrets.ts";
import type { PemPair } from "./runtime/certificate-issuer.ts";
import type { TlsMaterial } from "../../sidecar/src/contract.ts";
import { computeConfigHash, renderStaticConfig } from "./builders/zoo-cfg.ts";

/** Everything the builders need: the cluster, its resolved spec, and what the pass decided and observed. */
export interface BuildInput {
  cluster: ZooKeeperCluster;
  spec: ResolvedSpec;
  /** The membership to publish in the ConfigMap: the committed members plus a joiner (bootstrap: the spec's). */
  members: Member[];
  /** Committed ensemble config version (hex), "0" before any reconfiguration. */
  membersVersion: string;
  /** The existing Secret's password, a newly generated one, or null: no Secret is built (decide.ts Step.adminSecret). */
  adminPassword: string | null;
  /** When the ensemble first reached quorum, null before (CONFIGMAP_KEYS.initializedAt). */
  initializedAt: string | null;
  /** Server ids allowed to start on an empty data volume (CONFIGMAP_KEYS.rejoinEmpty). */
  rejoinEmpty: number[];
  /** The server being added now (CONFIGMAP_KEYS.joining): in `members`, not yet in the committed config. */
  joining?: number | null;
  /** StatefulSet replicas; defaults to the highest member id (pods 0..id-1), or spec.replicas with no members. */
  statefulSetReplicas?: number;
  /** The cluster's DNS domain (e.g. cluster.local). */
  clusterDomain: string;
  /** The optional kinds (by kind name) the API server serves now; none when not given. */
  served?: ReadonlySet<string>;
  /** The client certificate the members must run with (reconcile/client-certificate.ts); null or absent: none recorded. */
  clientCertificate?: string | null;
  /** The operator's own namespace, which the NetworkPolicy admits; null or absent: unknown (out of cluster). */
  operatorNamespace?: string | null;
  /** The operator's CA and the members' certificate it issued (spec.tls.*.generated); null or absent: none. */
  operatorTls?: { ca: PemPair; leaf: TlsMaterial } | null;
}

export interface ChildKind {
  type: ResourceType;
  /** The names of this kind's objects for the cluster NAME (what observe looks up in the cache). */
  names: (clusterName: string) => string[];
  /** This kind's desired objects. Pure. */
  build: (input: BuildInput) => KubernetesObject[];
  /** Why the operator owns this kind (the comment above its RBAC rule). */
  why: string;
  /** RBAC verbs beyond what every child needs (list and watch for the informer, create and patch for server-side apply). */
  extraVerbs?: ("get" | "delete")[];
  /** The API server may not serve this kind: informed and built only while discovery finds it. */
  optional?: true;
  /** An object of this kind that the builder no longer wants is deleted (needs the delete verb). */
  prune?: true;
}

function statefulSetReplicas(input: BuildInput): number {
  if (input.statefulSetReplicas !== undefined) return input.statefulSetReplicas;
  return input.members.length > 0 ? Math.max(...input.members.map((m) => m.id)) : input.spec.replicas;
}

/** In apply order: the StatefulSet last, after everything its pods mount and the Services their DNS names need. */
export const CHILD_KINDS: readonly ChildKind[] = [
  {
    type: RESOURCES.ConfigMap,
    names: (n) => [childNames(n).configMap],
    build: (i) => [
      buildConfigMap(i.cluster, i.spec, i.members, i.membersVersion, {
        initializedAt: i.initializedAt,
        rejoinEmpty: i.rejoinEmpty,
        joining: i.joining ?? null,
      }),
    ],
    why: "NAME-config: zoo.cfg and the members file new pods bootstrap from",
  },
  {
    type: RESOURCES.Secret,
    names: (n) => [childNames(n).adminSecret, childNames(n).caSecret, childNames(n).tlsSecret],
    build: (i) => [
      ...(i.adminPassword === null ? [] : [buildAdminSecret(i.cluster, i.adminPassword)]),
      ...(i.operatorTls
        ? [buildCaSecret(i.cluster, i.operatorTls.ca), buildTlsSecret(i.cluster, i.operatorTls.leaf)]
        : []),
    ],
    why: "NAME-admin: the super user's password, NAME-ca and NAME-tls: the operator's CA and the members' certificate (spec.tls.*.generated); GET before generating either, so a cold cache never replaces them (reconcile.ts)",
    extraVerbs: ["get"],
  },
  {
    type: RESOURCES.Service,
    names: (n) => [childNames(n).headless, childNames(n).client],
    build: (i) => [buildHeadlessService(i.cluster, i.spec), buildClientService(i.cluster, i.spec)],
    why: "NAME-headless (stable DNS names) and NAME-client",
  },
  {
    type: RESOURCES.PodDisruptionBudget,
    names: (n) => [childNames(n).pdb],
    build: (i) => [
      // The committed voters: a joiner does not vote yet, so it does not widen the budget.
      buildPodDisruptionBudget(
        i.cluster,
        i.spec,
        i.members.filter((m) => m.role === "participant" && m.id !== i.joining).length,
      ),
    ],
    why: "NAME: how many members a voluntary disruption may take",
  },
  {
    type: RESOURCES.PodMonitor,
    names: (n) => [childNames(n).podMonitor],
    build: (i) =>
      i.served?.has(RESOURCES.PodMonitor.kind) && i.spec.metrics.podMonitor.enabled
        ? [buildPodMonitor(i.cluster, i.spec)]
        : [],
    why: "NAME: the Prometheus Operator scrapes the members' metrics; deleted when spec.metrics.podMonitor.enabled turns false",
    extraVerbs: ["delete"],
    optional: true,
    prune: true,
  },
  {
    type: RESOURCES.NetworkPolicy,
    names: (n) => [childNames(n).networkPolicy],
    build: (i) =>
      i.spec.networkPolicy.enabled
        ? [buildNetworkPolicy(i.cluster, i.spec, i.operatorNamespace ?? null)]
        : [],
    why: "NAME: who may reach the members, by port (spec.networkPolicy); deleted when spec.networkPolicy.enabled turns false",
    extraVerbs: ["delete"],
    prune: true,
  },
  {
    type: RESOURCES.StatefulSet,
    names: (n) => [childNames(n).statefulSet],
    build: (i) => [
      buildStatefulSet(i.cluster, i.spec, {
        replicas: statefulSetReplicas(i),
        configHash: computeConfigHash(renderStaticConfig(i.spec)),
        clusterDomain: i.clusterDomain,
        joining: i.joining ?? null,
        clientCertificate: i.clientCertificate ?? null,
      }),
    ],
    why: "NAME: the ensemble's pods",
  },
];

/** Every child object of one cluster, in apply order. Pure: the same input builds equal objects, so a no-op resync applies nothing. */
export function buildChildren(input: BuildInput): KubernetesObject[] {
  return CHILD_KINDS.flatMap((k) => k.build(input));
}

/** The table's entry for a kind, or an error: the builders returned something the operator does not own. */
export function childKindOf(kind: string | undefined): ChildKind {
  const entry = CHILD_KINDS.find((k) => k.type.kind === kind);
  if (!entry)
    throw new Error(`a ${kind ?? "object without a kind"} is not a child kind the operator manages`);
  return entry;
}
