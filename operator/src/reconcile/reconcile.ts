// reconcile(key): one level-triggered pass over one ZooKeeperCluster, in this order and with
// nothing in between:
//
//   cluster  = deps.getCluster(key)       gone or being deleted: nothing to do (ownerReferences)
//   spec     = resolveSpec(cluster)       pure; invalid: status and a Warning Event from the caches
//                                         alone (no sidecar request, no API read), terminal
//   observed = observe(deps, cluster)     reads only, once: the caches, every member's sidecar
//                                         /status, the admin password; nothing changes it later
//   step     = decideStep(spec, observed) pure, one step
//   desired  = buildChildren(...)         pure builders, from the table of child kinds
//   apply    each child that needs it     server-side apply, one field manager
//   Events   what changed, what is refused
//   status   = computeStatus(...)         pure; one status apply, only when it changed
//
// Every effect goes through `deps`, which the runtime provides (runtime/controller.ts). Errors
// are thrown to the work queue, which retries with backoff and is the one place that logs a
// failed pass. Nothing here catches and continues.
import type { Logger } from "pino";
import type { KubeObject } from "../api/objects.ts";
import { resolveSpec, type ResolvedSpec } from "../api/resolve.ts";
import { API_VERSION, CLUSTER_RESOURCE, KIND, type ZooKeeperCluster } from "../api/types.ts";
import { generateAdminPassword } from "../builders/admin-secret.ts";
import { childNames } from "../builders/labels.ts";
import { buildChildren, childKindOf } from "../children.ts";
import type { EventInput } from "../runtime/events.ts";
import type { KubeClient } from "../runtime/kube.ts";
import type { HandlerResult } from "../runtime/queue.ts";
import { decideStep, type Step } from "./decide.ts";
import { computeApplyReason, withAppliedHash, type ApplyReason } from "./diff.ts";
import { childKey, observeCluster, type Caches, type Observed } from "./observe.ts";
import { readMemberModes, type StatusReader } from "./sidecars.ts";
import { computeStatus, sameStatus } from "./status.ts";

export interface ReconcileDeps {
  /** Writes: server-side apply of children and of the status (KubeClient.apply, applyStatus). */
  client: Pick<KubeClient, "apply" | "applyStatus">;
  caches: Caches;
  getCluster(namespace: string, name: string): ZooKeeperCluster | undefined;
  /**
   * The password in the Secret `name`, read from the API server (not the cache), or null when
   * there is no such Secret. Asked only when the cache has none: a Secret created a moment ago
   * may not be cached yet, and generating another password would change the super digest under
   * a running ensemble.
   */
  readAdminPassword(namespace: string, name: string): Promise<string | null>;
  recordEvent(regarding: KubeObject, event: EventInput): Promise<void>;
  log: Logger;
  clusterDomain: string;
  sidecarImage?: string;
  /** Asks a member's sidecar for its /status (runtime/sidecar-status.ts); unset: modes are not read. */
  readSidecarStatus?: StatusReader;
  /** Look again this soon after asking the sidecars, so that a leader change reaches the status. */
  statusRefreshMs?: number;
  now?: () => Date;
}

/** Default of ReconcileDeps.statusRefreshMs. */
export const STATUS_REFRESH_MS = 30_000;

/** What one pass did: how it ended for the queue, and what it changed, for logs, metrics and tests. */
export type PassResult = HandlerResult & {
  /** Children created or updated, as `Kind/name`. */
  changed: string[];
  statusWritten: boolean;
  /** The step taken; null when the cluster is gone or its spec is invalid. */
  step: Step | null;
};

export async function reconcileCluster(deps: ReconcileDeps, key: string): Promise<PassResult> {
  const slash = key.indexOf("/");
  const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
  const cluster = deps.getCluster(namespace, name);
  if (!cluster || cluster.metadata.deletionTimestamp) {
    return { outcome: "success", changed: [], statusWritten: false, step: null };
  }
  const log = deps.log.child({ namespace, name });
  const now = deps.now ?? (() => new Date());

  const resolved = resolveSpec(cluster, deps.sidecarImage ? { sidecarImage: deps.sidecarImage } : {});
  if (!resolved.ok) {
    // Terminal: retrying cannot fix the spec. Say why and wait for a change.
    const invalid = { reason: resolved.reason, message: resolved.message };
    const status = computeStatus({
      cluster,
      observed: observeCluster(deps.caches, cluster),
      step: null,
      invalid,
      changed: [],
      clusterDomain: deps.clusterDomain,
      now: now(),
    });
    // The Event only when the status changes, so a resync of an unchanged invalid spec is silent.
    const changedStatus = !sameStatus(cluster.status, status);
    if (changedStatus) {
      log.warn(invalid, "spec rejected; waiting for a change");
      await deps.recordEvent(cluster, {
        type: "Warning",
        reason: invalid.reason,
        action: "Validate",
        note: invalid.message,
      });
    }
    const statusWritten = await writeStatus(deps, cluster, status);
    return { outcome: "terminal", changed: [], statusWritten, step: null };
  }
  const spec = resolved.spec;

  const observed = await observe(deps, cluster);
  const step = decideStep(spec, observed);
  const desired =
    step.type === "Paused"
      ? []
      : buildChildren({
          cluster,
          spec,
          members: step.members,
          membersVersion: step.membersVersion,
          // A Secret that does not exist yet gets a new random password.
          adminPassword: observed.adminPassword ?? generateAdminPassword(),
          clusterDomain: deps.clusterDomain,
        });
  const applied = await applyChildren(deps, log, observed, desired);
  await recordPassEvents(deps, cluster, spec, step, applied);

  const changed = applied.map((a) => a.child);
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
    const c = (t: string) => status.conditions?.find((x) => x.type === t)?.reason;
    log.info(
      {
        step: step.type,
        ready: `${status.readyReplicas}/${status.replicas}`,
        available: c("Available"),
        progressing: c("Progressing"),
        degraded: c("Degraded"),
      },
      "status changed",
    );
  }
  // Modes change without any Kubernetes event (a leader election), so look again soon.
  const result: HandlerResult =
    observed.modes !== null
      ? { outcome: "requeue", requeueAfterMs: deps.statusRefreshMs ?? STATUS_REFRESH_MS }
      : { outcome: "success" };
  return { ...result, changed, statusWritten, step };
}

/** Everything the pass decides on, read once: the caches, then the sidecars and the password at once. */
async function observe(deps: ReconcileDeps, cluster: ZooKeeperCluster): Promise<Observed> {
  const cached = observeCluster(deps.caches, cluster);
  const reader = deps.readSidecarStatus;
  const askSidecars = reader !== undefined && cached.pods.some((p) => p.ip !== null);
  const [modes, adminPassword] = await Promise.all([
    askSidecars ? readMemberModes(cached.pods, reader) : null,
    cached.adminPassword ??
      deps.readAdminPassword(
        cluster.metadata.namespace ?? "",
        childNames(cluster.metadata.name ?? "").adminSecret,
      ),
  ]);
  return { ...cached, modes, adminPassword };
}

interface Applied {
  child: string;
  reason: ApplyReason;
}

/** Applies, in the table's order, each desired child that is missing, changed or drifted. */
async function applyChildren(
  deps: ReconcileDeps,
  log: Logger,
  observed: Observed,
  desired: KubeObject[],
): Promise<Applied[]> {
  const applied: Applied[] = [];
  for (const obj of desired) {
    const kind = childKindOf(obj.kind);
    const child = childKey(kind.type.kind, obj.metadata?.name ?? "");
    const reason = computeApplyReason(obj, observed.children.get(child));
    if (reason === null) continue;
    await deps.client.apply(kind.type, withAppliedHash(obj), { force: true });
    applied.push({ child, reason });
    log.info({ child, why: reason }, reason === "missing" ? "created child" : "updated child");
  }
  return applied;
}

const CHANGE_EVENTS: Record<ApplyReason, { reason: string; action: string; note: (list: string) => string }> =
  {
    missing: { reason: "Created", action: "Create", note: (l) => `Created ${l}` },
    changed: { reason: "Updated", action: "Update", note: (l) => `Updated ${l} to match the spec` },
    drifted: {
      reason: "Restored",
      action: "Update",
      note: (l) => `Restored ${l}: a field the operator owns had been changed by someone else`,
    },
  };

/**
 * One Event per kind of change and pass (not one per child): at 1000 clusters Events are a large
 * share of the operator's writes. Then what the step refuses and what the spec warns about.
 */
async function recordPassEvents(
  deps: ReconcileDeps,
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  step: Step,
  applied: Applied[],
): Promise<void> {
  for (const reason of ["missing", "changed", "drifted"] as const) {
    const list = applied.filter((a) => a.reason === reason).map((a) => a.child.replace("/", " "));
    if (list.length === 0) continue;
    const e = CHANGE_EVENTS[reason];
    await deps.recordEvent(cluster, {
      type: "Normal",
      reason: e.reason,
      action: e.action,
      note: e.note(list.join(", ")),
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
