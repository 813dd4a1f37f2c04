// reconcile(key): one level-triggered pass over one ZooKeeperCluster.
//
//   cluster  = cache.get(key)               gone or being deleted: nothing to do (ownerReferences)
//   spec     = resolveSpec(cluster)         invalid: status says why, an Event, no retry (terminal)
//   observed = observeCluster(caches)       reads only
//   observed.modes = readMemberModes(...)   each member's sidecar /status (network, bounded)
//   step     = decideStep(spec, observed)   pure, one step
//   desired  = buildChildren(...)           pure builders
//   apply each child that needs it          server-side apply, one field manager
//   status   = computeStatus(...)           pure; one status apply, only when it changed
//
// Errors are thrown to the work queue, which retries with backoff and is the one place that
// logs a failed pass. Nothing here catches and continues.
import type { Logger } from "pino";
import { resolveSpec } from "../api/resolve.ts";
import { API_VERSION, KIND, type ZooKeeperCluster } from "../api/types.ts";
import { buildChildren, generateAdminPassword } from "../build/index.ts";
import { childNames } from "../build/labels.ts";
import { ADMIN_SECRET_KEYS } from "../../../sidecar/src/contract.ts";
import type { EventInput } from "../runtime/events.ts";
import {
  RESOURCES,
  isNotFound,
  objectPath,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from "../runtime/kube.ts";
import type { Result } from "../runtime/queue.ts";
import { decideStep, type Step } from "./decide.ts";
import { computeApplyReason, withAppliedHash } from "./diff.ts";
import { childKey, observeCluster, readPassword, type Caches } from "./observe.ts";
import { readMemberModes, type StatusReader } from "./sidecars.ts";
import { computeStatus, sameStatus } from "./status.ts";

/** The custom resource as a ResourceType, for paths. */
export const CLUSTER_RESOURCE: ResourceType = {
  apiVersion: API_VERSION,
  kind: KIND,
  plural: "zookeeperclusters",
  namespaced: true,
};

const CHILD_TYPES: Record<string, ResourceType> = {
  ConfigMap: RESOURCES.ConfigMap,
  Secret: RESOURCES.Secret,
  Service: RESOURCES.Service,
  PodDisruptionBudget: RESOURCES.PodDisruptionBudget,
  StatefulSet: RESOURCES.StatefulSet,
};

export interface ReconcileDeps {
  client: KubeClient;
  caches: Caches;
  getCluster(namespace: string, name: string): ZooKeeperCluster | undefined;
  recordEvent(regarding: KubeObject, event: EventInput): Promise<void>;
  log: Logger;
  clusterDomain: string;
  sidecarImage?: string;
  /** Asks a member's sidecar for its /status (sidecars.ts); unset: modes are not read. */
  readSidecarStatus?: StatusReader;
  /** Look again this soon after asking the sidecars, so that a leader change reaches the status. */
  statusRefreshMs?: number;
  now?: () => Date;
}

/** Default of ReconcileDeps.statusRefreshMs. */
export const STATUS_REFRESH_MS = 30_000;

/** What one pass did, for logs, metrics and tests. */
export interface PassOutcome {
  result: "absent" | "terminal" | "reconciled";
  changed: string[];
  statusWritten: boolean;
  step: Step | null;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export async function reconcileCluster(deps: ReconcileDeps, key: string): Promise<PassOutcome & Result> {
  const { namespace, name } = splitKey(key);
  const cluster = deps.getCluster(namespace, name);
  if (!cluster || cluster.metadata.deletionTimestamp) {
    return { result: "absent", changed: [], statusWritten: false, step: null };
  }
  const log = deps.log.child({ namespace, name });
  const now = deps.now ?? (() => new Date());
  const observed = observeCluster(deps.caches, cluster);
  const askSidecars = deps.readSidecarStatus !== undefined && observed.pods.some((p) => p.ip !== null);
  if (askSidecars && deps.readSidecarStatus) {
    observed.modes = await readMemberModes(observed.pods, deps.readSidecarStatus);
  }
  // Modes change without any Kubernetes event (a leader election), so look again soon.
  const refresh = askSidecars ? { requeueAfterMs: deps.statusRefreshMs ?? STATUS_REFRESH_MS } : {};

  const resolved = resolveSpec(cluster, deps.sidecarImage ? { sidecarImage: deps.sidecarImage } : {});
  if (!resolved.ok) {
    // Terminal: retrying cannot fix the spec. Say why in the status and wait for a change.
    const status = computeStatus({
      cluster,
      observed,
      step: null,
      invalid: { reason: resolved.reason, message: resolved.message },
      changed: [],
      clusterDomain: deps.clusterDomain,
      now: now(),
    });
    const written = await writeStatus(deps, cluster, status);
    if (written) {
      log.warn({ reason: resolved.reason, message: resolved.message }, "spec rejected; waiting for a change");
      await deps.recordEvent(cluster, {
        type: "Warning",
        reason: resolved.reason,
        action: "Validate",
        note: resolved.message,
      });
    }
    return { result: "terminal", changed: [], statusWritten: written, step: null };
  }
  const spec = resolved.spec;
  const step = decideStep(spec, observed);

  const changed: string[] = [];
  const byReason = new Map<"missing" | "changed" | "drifted", string[]>();
  if (step.type !== "Paused") {
    const adminPassword = observed.adminPassword ?? (await readOrGeneratePassword(deps, cluster));
    const desired = buildChildren(cluster, spec, {
      members: step.members,
      membersVersion: step.membersVersion,
      adminPassword,
      clusterDomain: deps.clusterDomain,
    });
    // In the builders' order: the StatefulSet last, after everything its pods mount.
    for (const obj of desired) {
      const kind = obj.kind ?? "";
      const type = CHILD_TYPES[kind];
      if (!type) throw new Error(`the builders returned a ${kind}, which the operator does not manage`);
      const childName = obj.metadata?.name ?? "";
      const live = observed.children.get(childKey(kind, childName));
      const reason = computeApplyReason(obj, live);
      if (reason === null) continue;
      await deps.client.apply(type, withAppliedHash(obj), { force: true });
      changed.push(`${kind}/${childName}`);
      byReason.set(reason, [...(byReason.get(reason) ?? []), `${kind} ${childName}`]);
      log.info(
        { child: `${kind}/${childName}`, why: reason },
        reason === "missing" ? "created child" : "updated child",
      );
    }
  }
  // One Event per kind of change and pass (not one per child): at 1000 clusters Events are a
  // large share of the operator's writes.
  for (const [reason, list] of byReason) {
    await deps.recordEvent(cluster, {
      type: "Normal",
      reason: reason === "missing" ? "Created" : reason === "drifted" ? "Restored" : "Updated",
      action: reason === "missing" ? "Create" : "Update",
      note: describeChanges(list, reason),
    });
  }
  if (step.blocked) {
    await deps.recordEvent(cluster, {
      type: "Warning",
      reason: step.blocked.reason,
      action: "Reconcile",
      note: step.blocked.message,
    });
  }
  for (const w of spec.warnings) {
    await deps.recordEvent(cluster, { type: "Warning", reason: "SpecWarning", action: "Validate", note: w });
  }

  const status = computeStatus({
    cluster,
    observed,
    step,
    invalid: null,
    changed,
    clusterDomain: deps.clusterDomain,
    now: now(),
  });
  const statusWritten = await writeStatus(deps, cluster, status);
  if (statusWritten) {
    const c = (t: string) => status.conditions?.find((x) => x.type === t);
    log.info(
      {
        step: step.type,
        ready: `${status.readyReplicas}/${status.replicas}`,
        available: c("Available")?.reason,
        progressing: c("Progressing")?.reason,
        degraded: c("Degraded")?.reason,
      },
      "status changed",
    );
  }
  return { result: "reconciled", changed, statusWritten, step, ...refresh };
}

function describeChanges(children: string[], reason: "missing" | "changed" | "drifted"): string {
  const list = children.join(", ");
  if (reason === "missing") return `Created ${list}`;
  if (reason === "drifted")
    return `Restored ${list}: a field the operator owns had been changed by someone else`;
  return `Updated ${list} to match the spec`;
}

async function writeStatus(
  deps: ReconcileDeps,
  cluster: ZooKeeperCluster,
  status: ZooKeeperCluster["status"] & object,
): Promise<boolean> {
  if (sameStatus(cluster.status, status)) return false;
  await deps.client.applyStatus(CLUSTER_RESOURCE, {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace },
    status,
  });
  return true;
}

/**
 * The admin password is generated once. The cache may not hold a Secret we created a moment ago,
 * so before generating a new one we ask the API server: overwriting it would change the super
 * digest under a running ensemble.
 */
async function readOrGeneratePassword(deps: ReconcileDeps, cluster: ZooKeeperCluster): Promise<string> {
  const namespace = cluster.metadata.namespace ?? "";
  const secretName = childNames(cluster.metadata.name ?? "").adminSecret;
  try {
    const secret = await deps.client.request<{ data?: Record<string, string> }>(
      "GET",
      objectPath(RESOURCES.Secret, namespace, secretName),
    );
    const existing = readPassword(secret.data?.[ADMIN_SECRET_KEYS.password]);
    if (existing) return existing;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return generateAdminPassword();
}
