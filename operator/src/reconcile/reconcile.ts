// reconcile(key): one level-triggered pass over one ZooKeeperCluster, in this order and with
// nothing in between:
//
//   cluster  = deps.getCluster(key)       gone or being deleted: nothing to do (ownerReferences)
//   spec     = resolveSpec(cluster)       pure; invalid: status and a Warning Event from the caches
//                                         alone (no sidecar request, no API read), terminal
//   observed = observe(deps, cluster)     reads only, once: the caches, every member's sidecar
//                                         /status, the admin password; nothing changes it later
//   step     = decideStep(spec, observed) pure, one step (membership: membership.ts, roll: roll.ts)
//   desired  = buildChildren(...)         pure builders, from the table of child kinds
//   apply    each child that needs it     server-side apply, one field manager
//   reconfig the member the step adds or  ZooKeeper's reconfig as the super user, then a quorum
//            removes                      write (runtime/zk-admin.ts); never retried in the pass
//   restart  the member the roll chose    the Eviction API, so PodDisruptionBudgets hold
//   Events   what changed, what is refused
//   status   = computeStatus(...)         pure; one status apply, only when it changed
//
// Every effect goes through `deps`, which the runtime provides (runtime/controller.ts). Errors
// are thrown to the work queue, which retries with backoff and is the one place that logs a
// failed pass. Nothing here catches and continues.
import type { Logger } from "pino";
import {
  LOOPBACK_CLIENT_ADDRESS,
  memberHost,
  PORTS,
  renderServerLine,
  TLS_SECRET_KEYS,
} from "../../../sidecar/src/contract.ts";
import { clientPort } from "../builders/client-service.ts";
import { CLIENT_CERTIFICATE_ANNOTATION } from "../builders/labels.ts";
import { decideClientCertificate } from "./client-certificate.ts";
import {
  caCommonName,
  decideOperatorTls,
  leafNames,
  OPERATOR_TLS_VALIDITY,
  type OperatorTlsObservation,
} from "./operator-tls.ts";
import type { CertificateIssuer, PemPair } from "../runtime/certificate-issuer.ts";
import type { TlsMaterial } from "../../../sidecar/src/contract.ts";
import type { TlsTunnelOptions } from "../runtime/tls-tunnel.ts";
import type { KubeObject } from "../api/objects.ts";
import { resolveSpec, type ResolvedSpec } from "../api/resolve.ts";
import {
  API_VERSION,
  CLUSTER_RESOURCE,
  KIND,
  type LastRestart,
  type ZooKeeperCluster,
} from "../api/types.ts";
import { generateAdminPassword } from "../builders/admin-secret.ts";
import { childNames, tlsSecretName } from "../builders/labels.ts";
import { buildChildren, childKindOf } from "../children.ts";
import type { EventInput } from "../runtime/events.ts";
import type { KubeClient } from "../runtime/kube.ts";
import type { HandlerResult } from "../runtime/queue.ts";
import { REJOIN_EMPTY_ANNOTATION, decideStep, type Step } from "./decide.ts";
import type { ReconfigOutcome } from "./membership.ts";
import { computeApplyReason, withAppliedHash, type ApplyReason } from "./diff.ts";
import {
  childKey,
  observeCluster,
  readPemPair,
  readTlsMaterial,
  type Caches,
  type Observed,
} from "./observe.ts";
import type { RollOutcome, RollSlots } from "./roll.ts";
import { readMembers, type StatusReader } from "./sidecars.ts";
import { computeStatus, sameStatus } from "./status.ts";

export interface ReconcileDeps {
  /** Writes: server-side apply of children and of the status (KubeClient.apply, applyStatus). */
  client: Pick<KubeClient, "apply" | "applyStatus" | "remove">;
  caches: Caches;
  /** The optional child kinds (children.ts) the API server serves now; none when not given. */
  servedKinds?: () => ReadonlySet<string>;
  getCluster(namespace: string, name: string): ZooKeeperCluster | undefined;
  /**
   * The password in the Secret `name`, read from the API server (not the cache), or null when
   * there is no such Secret. Asked only when the cache has none: a Secret created a moment ago
   * may not be cached yet, and generating another password would change the super digest under
   * a running ensemble.
   */
  readAdminPassword(namespace: string, name: string): Promise<string | null>;
  /**
   * A Secret's data (base64 values) from the API server, not the cache; null when there is no
   * such Secret. Asked for the operator's CA and certificate when the cache has none, for the
   * admin password's reason: a cold cache must never make a second CA; and for the client TLS
   * Secret, whose `ca.crt` the admin client verifies the members with (and whose certificate it
   * presents when they require client certificates). Unset: the cache is trusted, and membership
   * changes of a TLS cluster wait.
   */
  readSecretData?(namespace: string, name: string): Promise<Record<string, string> | null>;
  /** Makes the operator's CAs and issues their certificates (spec.tls.*.generated). */
  certificates: CertificateIssuer;
  recordEvent(regarding: KubeObject, event: EventInput): Promise<void>;
  /**
   * The API server's message when an apply failed because the server refused the object (an
   * admission webhook, a quota, an invalid field): shown in the status and an Event. null for
   * any other failure (a lost connection, a lost lease), which is only retried.
   */
  describeRefusal(err: unknown): string | null;
  /**
   * Evicts the pod `name` if its uid is still `uid` (policy/v1 Eviction, so PodDisruptionBudgets
   * hold): "evicted"; "gone" when that pod no longer exists or was replaced; or the API server's
   * refusal (429: a budget does not allow it now), which the roll waits out.
   */
  evictPod(namespace: string, name: string, uid: string): Promise<"evicted" | "gone" | { refused: string }>;
  /**
   * Sends one reconfiguration to the ensemble as ZooKeeper's super user: reads the committed config
   * (`/zookeeper/config`) in the same session, refuses if its members are not the ones the step
   * was decided on, sends the reconfig conditional on its version, then makes a quorum write
   * (runtime/reconfigure.ts).
   * Resolves with the new committed version, or with ZooKeeper's refusal (a version that moved
   * on, no quorum for the new config, another reconfig under way) to report; a lost connection
   * or a timeout is thrown, and the next pass reads the config again before deciding anything.
   * Unset: membership steps wait (a test without ZooKeeper).
   */
  reconfigure?(request: ReconfigureRequest): Promise<ReconfigureResult>;
  /** The limit on clusters rolling at once; unset: no limit. */
  rollSlots?: RollSlots;
  /**
   * The member each cluster restarted last, by `namespace/name`, as this process recorded it.
   * status.lastRestart is its durable copy, but the cluster in the cache may not show the status
   * written a moment ago: a pass that took it from there would forget the restart and, with its
   * status write, erase it. A new process starts empty and reads the status from a fresh list.
   */
  restartLog?: Map<string, LastRestart>;
  /**
   * The committed config version each cluster's last reconfiguration by this process produced, by
   * `namespace/name`: the sidecars report a commit up to a second later, and the pass after a
   * step must not decide the same step again on the older config.
   */
  reconfigLog?: Map<string, string>;
  /** How long a restarted member may take to serve and sync before the roll halts (default 10 min). */
  memberReadyTimeoutMs?: number;
  log: Logger;
  clusterDomain: string;
  /** The operator's own namespace, which a cluster's NetworkPolicy admits; null or unset: unknown. */
  operatorNamespace?: string | null;
  sidecarImage?: string;
  /** Asks a member's sidecar for its /status (runtime/sidecar-status.ts); unset: modes are not read. */
  readSidecarStatus?: StatusReader;
  /** Look again this soon after asking the sidecars, so that a leader change reaches the status. */
  statusRefreshMs?: number;
  now?: () => Date;
}

/** One reconfiguration, as the pass asks the runtime to send it. */
export interface ReconfigureRequest {
  /** `host:port` of the members that stay (stable DNS names), one of which takes the request. */
  hosts: string[];
  password: string;
  /** Whole server lines to add (`server.N=HOST:QUORUM:ELECTION:ROLE;CLIENT`). */
  add?: string[];
  /** Server ids to remove. */
  remove?: number[];
  /** With client TLS: `hosts` are secure ports, verified against these CA certificates (PEM). */
  tls?: TlsTunnelOptions;
  /** The committed config the step was decided on (from the sidecars): its version and members. */
  decidedOn: { version: string; members: { id: number; role: "participant" | "observer" }[] };
}

/**
 * The committed version after the change and the one it was made from (`already`: the committed
 * config had the change before this request; nothing was sent), or ZooKeeper's refusal.
 */
export type ReconfigureResult =
  { version: string; fromVersion: string; already?: boolean } | { refused: string };

/** Default of ReconcileDeps.statusRefreshMs. */
export const STATUS_REFRESH_MS = 30_000;
/** Default of ReconcileDeps.memberReadyTimeoutMs. */
export const MEMBER_READY_TIMEOUT_MS = 10 * 60_000;
/**
 * How soon a rolling cluster is looked at again: whether a restarted member has synced shows only
 * in its sidecar's answers, which no Kubernetes event announces.
 */
export const ROLL_REFRESH_MS = 5_000;

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
    deps.rollSlots?.release(key);
    deps.restartLog?.delete(key);
    deps.reconfigLog?.delete(key);
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
      applyError: null,
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

  const observed = await observe(deps, cluster, spec);
  const lastRestart = deps.restartLog?.get(key) ?? cluster.status?.lastRestart ?? null;
  // From reading the roll slot to taking it, nothing awaits: no other pass can take it between.
  const step = decideStep(spec, observed, {
    clusterName: name,
    recordedInitializedAt: cluster.status?.initializedAt ?? null,
    rejoinRequested: parseIds(cluster.metadata.annotations?.[REJOIN_EMPTY_ANNOTATION]),
    now: now(),
    lastRestart,
    rollSlot: deps.rollSlots?.state(key) ?? "held",
    memberReadyTimeoutMs: deps.memberReadyTimeoutMs ?? MEMBER_READY_TIMEOUT_MS,
    sentConfigVersion: deps.reconfigLog?.get(key) ?? null,
  });
  if (step.type === "Paused" || step.roll.state === "current") deps.rollSlots?.release(key);
  else if (step.roll.state !== "queued") deps.rollSlots?.acquire(key);
  const operatorTls =
    spec.tls.generated && step.type !== "Paused"
      ? await provideOperatorTls(deps, cluster, observed.operatorTls, now())
      : null;
  const desired =
    step.type === "Paused"
      ? []
      : buildChildren({
          cluster,
          spec,
          members: step.members,
          membersVersion: step.membersVersion,
          // A new ensemble's Secret gets a random password; a lost one is never replaced (decide.ts).
          adminPassword:
            step.adminSecret === "existing"
              ? observed.adminPassword
              : step.adminSecret === "create"
                ? generateAdminPassword()
                : null,
          initializedAt: step.initializedAt,
          rejoinEmpty: step.rejoinEmpty,
          joining: step.joining,
          statefulSetReplicas: step.statefulSetReplicas,
          clusterDomain: deps.clusterDomain,
          operatorNamespace: deps.operatorNamespace ?? null,
          served: deps.servedKinds?.() ?? new Set(),
          clientCertificate: decideClientCertificate(
            observed.statefulSet?.spec?.template?.metadata?.annotations?.[CLIENT_CERTIFICATE_ANNOTATION] ??
              null,
            observed.clientCertificate,
          ),
          operatorTls,
        });
  const { applied, refused } = await applyChildren(deps, log, observed, desired);
  const pruned =
    refused === null && step.type !== "Paused" ? await pruneChildren(deps, log, observed, desired) : [];
  const reconfig: ReconfigOutcome =
    refused === null ? await changeMembership(deps, log, cluster, spec, step, observed) : { state: "none" };
  if (reconfig.state === "committed") deps.reconfigLog?.set(key, reconfig.version);
  // Not in a pass that changed the StatefulSet: the roll was decided against its old template.
  const rollOutcome =
    refused === null && !applied.some((a) => a.child.startsWith("StatefulSet/"))
      ? await restartMembers(deps, log, cluster, step, now())
      : { restarted: [], evictionRefused: null };
  const restarted = rollOutcome.restarted.at(-1);
  if (restarted) deps.restartLog?.set(key, restarted);
  await recordPassEvents(deps, cluster, spec, step, observed, applied, refused, operatorTls?.issued ?? null);

  const changed = [...applied.map((a) => a.child), ...pruned];
  const status = computeStatus({
    cluster,
    observed,
    step,
    invalid: null,
    applyError: refused,
    changed,
    roll: rollOutcome,
    reconfig,
    lastRestart: restarted ?? lastRestart,
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
  // Refused by the API server: the status and an Event say why; the queue retries with backoff,
  // since a webhook or a quota may let it through later.
  if (refused) throw new Error(`${refused.child}: ${refused.message}`);
  // Modes change without any Kubernetes event (a leader election), and a Secret a person
  // recreates by hand carries none of our labels, so no informer sees it: look again soon.
  const refreshMs = deps.statusRefreshMs ?? STATUS_REFRESH_MS;
  // A membership step in progress, like a roll, shows its progress only in the sidecars' answers
  // (without a committed config to decide on, the next pod or sidecar event brings one). So does a
  // renewed client certificate reaching the pods one by one (client-certificate.ts): its roll
  // starts once every member has it, which no Kubernetes event announces.
  const moving =
    (step.roll.state !== "current" && step.roll.state !== "halted") ||
    (step.scale.state !== "steady" &&
      step.scale.state !== "refused" &&
      observed.ensemble.source === "zookeeper") ||
    (observed.clientCertificate?.restartNeeded.length ?? 0) > 0;
  const result: HandlerResult = moving
    ? { outcome: "requeue", requeueAfterMs: Math.min(refreshMs, ROLL_REFRESH_MS) }
    : observed.modes !== null || step.adminSecret === "missing"
      ? { outcome: "requeue", requeueAfterMs: refreshMs }
      : { outcome: "success" };
  return { ...result, changed, statusWritten, step };
}

/**
 * Everything the pass decides on, read once: the caches, then the sidecars, the password and the
 * operator's CA (when the cache has none) at once.
 */
async function observe(
  deps: ReconcileDeps,
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
): Promise<Observed> {
  const cached = observeCluster(deps.caches, cluster);
  const reader = deps.readSidecarStatus;
  const askSidecars = reader !== undefined && cached.pods.some((p) => p.ip !== null);
  const namespace = cluster.metadata.namespace ?? "";
  const names = childNames(cluster.metadata.name ?? "");
  const readSecret = async (name: string) =>
    spec.tls.generated && deps.readSecretData ? await deps.readSecretData(namespace, name) : null;
  const [reports, adminPassword, caData, tlsData] = await Promise.all([
    askSidecars ? readMembers(cached.pods, reader) : null,
    cached.adminPassword ?? deps.readAdminPassword(namespace, names.adminSecret),
    cached.operatorTls.ca === null ? readSecret(names.caSecret) : null,
    cached.operatorTls.leaf === null ? readSecret(names.tlsSecret) : null,
  ]);
  const operatorTls = {
    ca: cached.operatorTls.ca ?? readPemPair(caData ?? undefined),
    leaf: cached.operatorTls.leaf ?? readTlsMaterial(tlsData ?? undefined),
  };
  return reports === null
    ? { ...cached, adminPassword, operatorTls }
    : {
        ...cached,
        adminPassword,
        operatorTls,
        modes: reports.modes,
        ensemble: reports.ensemble,
        sync: reports.sync,
        clientCertificate: reports.clientCertificate,
      };
}

/**
 * The operator's CA and the members' certificate for this pass: what the Secrets hold, or new ones
 * where reconcile/operator-tls.ts says so (`issued` says what was made and why, for the Event).
 */
async function provideOperatorTls(
  deps: ReconcileDeps,
  cluster: ZooKeeperCluster,
  observed: OperatorTlsObservation,
  now: Date,
): Promise<{ ca: PemPair; leaf: TlsMaterial; issued: string | null }> {
  const [name, namespace] = [cluster.metadata.name ?? "", cluster.metadata.namespace ?? ""];
  const names = leafNames(name, namespace, deps.clusterDomain);
  const decision = decideOperatorTls(observed, names, now);
  const v = OPERATOR_TLS_VALIDITY;
  const notBefore = new Date(now.getTime() - v.backdateMs);
  const ca =
    decision.ca === "keep" && observed.ca !== null
      ? observed.ca
      : await deps.certificates.createCertificateAuthority(
          caCommonName(name, namespace),
          notBefore,
          new Date(now.getTime() + v.caMs),
        );
  const leaf =
    decision.leaf === "keep" && observed.leaf !== null
      ? observed.leaf
      : await deps.certificates.issueLeafCertificate(ca, {
          ...names,
          notBefore,
          notAfter: new Date(now.getTime() + v.leafMs),
        });
  const made = [
    ...(decision.ca === "keep" ? [] : [`a new CA in ${childNames(name).caSecret} (${decision.ca.create})`]),
    ...(decision.leaf === "keep"
      ? []
      : [`the members' certificate in ${childNames(name).tlsSecret} (${decision.leaf.issue})`]),
  ];
  return { ca, leaf, issued: made.length > 0 ? `issued ${made.join(" and ")}` : null };
}

/**
 * Sends the reconfiguration the step chose (add the joiner, or remove the highest member), to the
 * members that stay, and reports it in an Event. A refusal from ZooKeeper is reported, not thrown:
 * the next pass reads the committed config again and decides anew.
 */
async function changeMembership(
  deps: ReconcileDeps,
  log: Logger,
  cluster: ZooKeeperCluster,
  spec: ResolvedSpec,
  step: Step,
  observed: Observed,
): Promise<ReconfigOutcome> {
  const scale = step.scale;
  if (scale.state !== "add" && scale.state !== "remove") return { state: "none" };
  if (!deps.reconfigure || observed.adminPassword === null) return { state: "none" };
  const name = cluster.metadata.name ?? "";
  const namespace = cluster.metadata.namespace ?? "";
  const host = (id: number): string =>
    memberHost(name, id, namespace, childNames(name).headless, deps.clusterDomain);
  const member = scale.state === "add" ? scale.joiner : scale.member;
  const staying = step.members.filter((m) => m.id !== member.id);
  // With client TLS the plain client port is on loopback inside each pod: the admin session goes
  // to the secure port, and new members get the same loopback client address (sidecar tls.ts).
  // When the members require client certificates, the admin client presents the one of the client
  // TLS Secret (its extended key usage allows clientAuth: the sidecar checks that), and
  // authenticates as the super user on top, as always.
  const tlsSecret = spec.tls.client === null ? null : tlsSecretName(name, spec.tls.client);
  let tls: TlsTunnelOptions | null = null;
  if (tlsSecret !== null) {
    const data = deps.readSecretData ? await deps.readSecretData(namespace, tlsSecret) : null;
    const material = readTlsMaterial(data ?? undefined);
    if (material === null)
      throw new Error(
        `cannot change membership: the client TLS Secret ${tlsSecret} lacks ${Object.values(TLS_SECRET_KEYS).join(", ")}`,
      );
    tls =
      spec.tls.clientAuth === "none"
        ? { ca: material.ca }
        : { ca: material.ca, cert: material.cert, key: material.key };
  }
  const request: ReconfigureRequest = {
    hosts: staying.map((m) => `${host(m.id)}:${clientPort(tls !== null).port}`),
    password: observed.adminPassword,
    ...(tls ? { tls } : {}),
    decidedOn: {
      version: scale.fromVersion,
      members: staying.concat(scale.state === "remove" ? [member] : []),
    },
    ...(scale.state === "add"
      ? {
          add: [
            renderServerLine(
              member.id,
              host(member.id),
              member.role,
              PORTS,
              tls ? LOOPBACK_CLIENT_ADDRESS : null,
            ),
          ],
        }
      : { remove: [member.id] }),
  };
  const result = await deps.reconfigure(request);
  const pod = `${name}-${member.id - 1}`;
  if ("refused" in result) {
    log.warn({ step: scale.state, server: member.id, refusal: result.refused }, "reconfig refused");
    await deps.recordEvent(cluster, {
      type: "Warning",
      reason: "ReconfigRefused",
      action: "Reconfigure",
      note: `ZooKeeper refused to ${scale.state} server ${member.id} (${pod}): ${result.refused}; the next pass reads the committed config again`,
    });
    return { state: "refused", message: result.refused };
  }
  if (result.already === true) {
    // Decided on answers from before the step's own commit (a new operator process): done already.
    log.info(
      { step: scale.state, server: member.id, version: result.version },
      "membership change already committed",
    );
    return { state: "committed", version: result.version };
  }
  log.info(
    { step: scale.state, server: member.id, role: member.role, from: result.fromVersion, to: result.version },
    scale.state === "add" ? "added member" : "removed member",
  );
  await deps.recordEvent(cluster, {
    type: "Normal",
    reason: scale.state === "add" ? "MemberAdded" : "MemberRemoved",
    action: "Reconfigure",
    note:
      scale.state === "add"
        ? `Added server ${member.id} (${pod}) as ${member.role}: committed config version ${result.version} (from ${result.fromVersion})`
        : `Removed server ${member.id} (${pod}): committed config version ${result.version} (from ${result.fromVersion}); the StatefulSet shrinks next`,
  });
  return { state: "committed", version: result.version };
}

/**
 * Restarts the members the roll chose, through the Eviction API, each with its pod's uid as the
 * precondition. Stops at the first eviction the API server refuses (a budget): the roll waits.
 */
async function restartMembers(
  deps: ReconcileDeps,
  log: Logger,
  cluster: ZooKeeperCluster,
  step: Step,
  at: Date,
): Promise<RollOutcome> {
  const outcome: RollOutcome = { restarted: [], evictionRefused: null };
  if (step.roll.state !== "restart") return outcome;
  const namespace = cluster.metadata.namespace ?? "";
  for (const t of step.roll.targets) {
    const result = await deps.evictPod(namespace, t.pod, t.uid);
    if (result === "gone") continue;
    if (result !== "evicted") {
      log.info({ pod: t.pod, refusal: result.refused }, "eviction refused; the roll waits");
      outcome.evictionRefused = { pod: t.pod, message: result.refused };
      break;
    }
    const restart: LastRestart = {
      pod: t.pod,
      uid: t.uid,
      revision: step.roll.revision,
      at: at.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    outcome.restarted.push(restart);
    log.info({ pod: t.pod, role: t.role, revision: restart.revision }, "restarted member (evicted)");
    await deps.recordEvent(cluster, {
      type: "Normal",
      reason: "Restarted",
      action: "Restart",
      note: `Evicted ${t.pod} (${t.role}) so that it runs pod template revision ${restart.revision}: ${step.roll.message}`,
    });
  }
  return outcome;
}

/** `2,3` → [2, 3]; anything that is not a server id is ignored (the annotation is a person's note). */
function parseIds(text: string | undefined): number[] {
  return (text ?? "")
    .split(",")
    .map((t) => Number(t.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

interface Applied {
  child: string;
  reason: ApplyReason;
}

/**
 * Applies, in the table's order, each desired child that is missing, changed or drifted. Stops at
 * the first child the API server refuses (the ones after it may need it: the StatefulSet comes
 * last) and returns the refusal; any other failure is thrown.
 */
async function applyChildren(
  deps: ReconcileDeps,
  log: Logger,
  observed: Observed,
  desired: KubeObject[],
): Promise<{ applied: Applied[]; refused: { child: string; message: string } | null }> {
  const applied: Applied[] = [];
  for (const obj of desired) {
    const kind = childKindOf(obj.kind);
    const child = childKey(kind.type.kind, obj.metadata?.name ?? "");
    const reason = computeApplyReason(obj, observed.children.get(child));
    if (reason === null) continue;
    try {
      await deps.client.apply(kind.type, withAppliedHash(obj), { force: true });
    } catch (err) {
      const message = deps.describeRefusal(err);
      if (message === null) throw err;
      return { applied, refused: { child, message } };
    }
    applied.push({ child, reason });
    log.info({ child, why: reason }, reason === "missing" ? "created child" : "updated child");
  }
  return { applied, refused: null };
}

/**
 * Deletes the observed children of the `prune` kinds (children.ts) that the builders no longer
 * want, such as a PodMonitor switched off. Returns their keys.
 */
async function pruneChildren(
  deps: ReconcileDeps,
  log: Logger,
  observed: Observed,
  desired: KubeObject[],
): Promise<string[]> {
  const wanted = new Set(desired.map((o) => childKey(o.kind ?? "", o.metadata?.name ?? "")));
  const pruned: string[] = [];
  for (const [child, obj] of observed.children) {
    if (wanted.has(child) || !childKindOf(obj.kind).prune) continue;
    const meta = obj.metadata ?? {};
    await deps.client.remove(
      childKindOf(obj.kind).type,
      meta.namespace ?? "",
      meta.name ?? "",
      meta.uid ?? "",
    );
    pruned.push(child);
    log.info({ child }, "deleted child");
  }
  return pruned;
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
  observed: Observed,
  applied: Applied[],
  refused: { child: string; message: string } | null,
  tlsIssued: string | null,
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
  if (tlsIssued !== null && refused === null) {
    await deps.recordEvent(cluster, {
      type: "Normal",
      reason: "CertificateIssued",
      action: "Issue",
      note: tlsIssued,
    });
  }
  if (refused) {
    await deps.recordEvent(cluster, {
      type: "Warning",
      reason: "ApplyFailed",
      action: "Apply",
      note: `the API server refused ${refused.child.replace("/", " ")}: ${refused.message}`,
    });
  }
  for (const id of step.rejoinEmpty.filter((i) => !observed.markers.rejoinEmpty.includes(i))) {
    await deps.recordEvent(cluster, {
      type: "Normal",
      reason: "RejoinEmpty",
      action: "Repair",
      note: `${cluster.metadata.name ?? ""}-${id - 1} lost its data volume; re-added empty, it resyncs from the leader`,
    });
  }
  if (step.scale.state === "grow" || step.scale.state === "shrink") {
    await deps.recordEvent(cluster, {
      type: "Normal",
      reason: step.scale.state === "grow" ? "MemberJoining" : "ScaledDown",
      action: "Scale",
      note: step.scale.message,
    });
  }
  if (step.scale.state === "refused") {
    await deps.recordEvent(cluster, {
      type: "Warning",
      reason: "MembershipChangeRefused",
      action: "Scale",
      note: step.scale.message,
    });
  }
  if (step.roll.state === "halted") {
    await deps.recordEvent(cluster, {
      type: "Warning",
      reason: "RollHalted",
      action: "Restart",
      note: step.roll.message,
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
