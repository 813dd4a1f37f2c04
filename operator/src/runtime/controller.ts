// The controller: informers for ZooKeeperClusters, their children (one per kind in the table of
// child kinds) and their pods (one set per watched namespace, or one for all namespaces), a work
// queue of cluster keys, and the mapping from any change to the key of the cluster it belongs to.
// Informers start at once (a warm cache for a standby); workers start only when `startWorkers`
// is called (after winning the lease). It hands each pass its effects (reconcile.ts ReconcileDeps).
import { createCertificateAuthority, issueLeafCertificate } from "./certificate-issuer.ts";
import type { Logger } from "pino";
import { RESOURCES, objectPath, type KubeObject, type ResourceType } from "../api/objects.ts";
import { CLUSTER_RESOURCE, KIND, type ZooKeeperCluster } from "../api/types.ts";
import { LABELS, LABEL_VALUES } from "../builders/labels.ts";
import { CHILD_KINDS } from "../children.ts";
import { canonicalJson } from "../reconcile/diff.ts";
import { readPassword, shrinkPod, type Caches, type PodLike } from "../reconcile/observe.ts";
import { reconcileCluster, type ReconcileDeps } from "../reconcile/reconcile.ts";
import type { StatusReader } from "../reconcile/sidecars.ts";
import { ADMIN_SECRET_KEYS } from "../../../sidecar/src/contract.ts";
import type { EventInput } from "./events.ts";
import { Informer, stripManagedFields } from "./informer.ts";
import { KubeError, isNotFound, type KubeClient } from "./kube.ts";
import { WorkQueue, type Outcome } from "./queue.ts";
import { RollSlotLimiter } from "./roll-slots.ts";

export interface ControllerOptions {
  client: KubeClient;
  log: Logger;
  /** Namespaces to watch; empty = all namespaces. */
  namespaces: string[];
  workers: number;
  resyncPeriodMs: number;
  clusterDomain: string;
  /** The operator's own namespace, which a cluster's NetworkPolicy admits; null or unset: unknown. */
  operatorNamespace?: string | null;
  sidecarImage?: string;
  /** Asks a member's sidecar for its /status; unset: members' modes are not read (status says unknown). */
  readSidecarStatus?: StatusReader;
  /** How soon a cluster whose sidecars were asked is looked at again, so a new leader shows up. */
  statusRefreshMs?: number;
  /** At most this many clusters roll at once (default 1). */
  maxConcurrentRolls?: number;
  /** How long a restarted member may take to serve and sync before its roll halts. */
  memberReadyTimeoutMs?: number;
  /** Sends a membership step's reconfig (runtime/reconfigure.ts); unset: membership steps wait. */
  reconfigure?: ReconcileDeps["reconfigure"];
  /** How often API discovery is asked about the optional child kinds (default 20 s). */
  discoveryPeriodMs?: number;
  recordEvent(regarding: KubeObject, event: EventInput): Promise<void>;
  onResult?: (outcome: Outcome, seconds: number) => void;
}

const DISCOVERY_PERIOD_MS = 20_000;

/** Whether the API server serves `type` now: its group/version's discovery document lists it. */
async function apiServes(client: KubeClient, type: ResourceType): Promise<boolean> {
  try {
    const list = await client.request<{ resources?: { name?: string }[] }>("GET", `/apis/${type.apiVersion}`);
    return (list.resources ?? []).some((r) => r.name === type.plural);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Children and pods carry this label; we never cache objects that are not ours. */
const OWNED_SELECTOR = `${LABELS.managedBy}=${LABEL_VALUES.managedBy}`;

/**
 * A child as cached: its identity parsed (for mapping events to clusters), the rest kept as a
 * JSON string and parsed only when its cluster is reconciled. A string costs a fraction of the
 * memory of the object graph, and children are most of the cache at 1000 clusters.
 */
interface CompactChild extends KubeObject {
  json: string;
}

function compactChild(obj: KubeObject): CompactChild {
  const full = shrink(obj);
  const m = full.metadata ?? {};
  return {
    apiVersion: full.apiVersion,
    kind: full.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      resourceVersion: m.resourceVersion,
      ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    },
    json: JSON.stringify(full),
  };
}

function expandChild(c: CompactChild): KubeObject {
  return JSON.parse(c.json) as KubeObject;
}

/** Drops what no reconcile reads, before caching (most of the memory at 1000 clusters). */
function shrink<T extends KubeObject>(obj: T): T {
  stripManagedFields(obj);
  const ann = obj.metadata?.annotations;
  if (ann?.["kubectl.kubernetes.io/last-applied-configuration"] !== undefined) {
    delete ann["kubectl.kubernetes.io/last-applied-configuration"];
  }
  return obj;
}

/** A Secret's data (base64 values) read from the API server, not the cache; null when there is no such Secret. */
async function readSecretData(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Record<string, string> | null> {
  try {
    const secret = await client.request<{ data?: Record<string, string> }>(
      "GET",
      objectPath(RESOURCES.Secret, namespace, name),
    );
    return secret.data ?? {};
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export class Controller {
  readonly queue: WorkQueue;
  readonly rollSlots: RollSlotLimiter;
  private readonly options: ControllerOptions;
  private readonly log: Logger;
  private readonly clusterInformers: Informer<ZooKeeperCluster & KubeObject>[] = [];
  private readonly childInformers = new Map<string, Informer<CompactChild>[]>();
  private readonly podInformers: Informer<PodLike>[] = [];
  private resyncTimer: NodeJS.Timeout | null = null;
  private discoveryTimer: NodeJS.Timeout | null = null;
  private informersStarted = false;
  /** Namespaces watched, or [undefined] for all. */
  private readonly scopes: (string | undefined)[];
  /** The optional child kinds the API server serves now (discoverOptionalKinds). */
  private readonly served = new Set<string>();
  private workersStarted = false;
  /** What each pass may read and do (its members read the live caches, so one object serves every pass). */
  private readonly reconcileDeps: ReconcileDeps;
  /** Pod keys by `namespace/cluster`, so a pass does not scan every pod. */
  private readonly podIndex = new Map<string, Map<string, PodLike>>();
  /** What of each cluster can change the desired state; status-only updates (ours) are skipped. */
  private readonly clusterState = new Map<string, string>();

  constructor(options: ControllerOptions) {
    this.options = options;
    this.log = options.log;
    this.rollSlots = new RollSlotLimiter(options.maxConcurrentRolls ?? 1);
    this.reconcileDeps = this.buildReconcileDeps();
    const scopes: (string | undefined)[] = options.namespaces.length > 0 ? options.namespaces : [undefined];
    this.scopes = scopes;
    this.queue = new WorkQueue((key) => reconcileCluster(this.reconcileDeps, key), {
      workers: options.workers,
      backoff: { baseMs: 500, maxMs: 5 * 60_000, jitter: 0.2 },
      onResult: (key, outcome, seconds, err) => {
        if (outcome === "error") {
          const [namespace, name] = key.split("/");
          // The one place a failed reconcile is logged.
          // `err` goes to pino's error serializer, which keeps the stack.
          this.log.error({ namespace, name, err, seconds }, "reconcile failed; will retry");
        }
        options.onResult?.(outcome, seconds);
      },
    });
    for (const ns of scopes) {
      const clusters = new Informer<ZooKeeperCluster & KubeObject>(
        options.client,
        {
          type: CLUSTER_RESOURCE,
          ...(ns ? { namespace: ns } : {}),
          transform: (o) => shrink(o) as ZooKeeperCluster,
        },
        this.log,
      );
      clusters.on((obj, kind) => {
        this.onCluster(obj, kind);
      });
      this.clusterInformers.push(clusters);
      const pods = new Informer<PodLike>(
        options.client,
        {
          type: RESOURCES.Pod,
          ...(ns ? { namespace: ns } : {}),
          labelSelector: OWNED_SELECTOR,
          transform: (o) => shrinkPod(o),
        },
        this.log,
      );
      pods.on((obj, kind) => {
        this.onPod(obj, kind);
      });
      this.podInformers.push(pods);
    }
    for (const { type } of CHILD_KINDS.filter((k) => k.optional !== true)) this.addChildInformers(type);
  }

  /** One informer per scope for a child kind: only our labelled objects, kept compact. */
  private addChildInformers(type: ResourceType): Informer<CompactChild>[] {
    const informers = this.scopes.map((ns) => {
      const inf = new Informer<CompactChild>(
        this.options.client,
        { type, ...(ns ? { namespace: ns } : {}), labelSelector: OWNED_SELECTOR, transform: compactChild },
        this.log,
      );
      inf.on((obj) => {
        this.onChild(obj);
      });
      return inf;
    });
    this.childInformers.set(type.kind, informers);
    return informers;
  }

  /**
   * Asks API discovery whether each optional child kind is served, and starts or stops its
   * informers when that changed (the Prometheus Operator's CRDs installed or removed after the
   * operator started). A failed discovery changes nothing.
   */
  async discoverOptionalKinds(): Promise<void> {
    for (const { type } of CHILD_KINDS.filter((k) => k.optional === true)) {
      let served: boolean;
      try {
        served = await apiServes(this.options.client, type);
      } catch (err) {
        this.log.warn({ kind: type.kind, err }, "API discovery failed; will ask again");
        continue;
      }
      if (served === this.served.has(type.kind)) continue;
      if (served) {
        this.served.add(type.kind);
        for (const inf of this.addChildInformers(type)) if (this.informersStarted) inf.start();
      } else {
        this.served.delete(type.kind);
        const gone = this.childInformers.get(type.kind) ?? [];
        this.childInformers.delete(type.kind);
        await Promise.all(gone.map((i) => i.stop()));
      }
      this.log.info({ kind: type.kind, apiVersion: type.apiVersion, served }, "optional child kind");
      this.resyncAll();
    }
  }

  private allInformers(): Informer[] {
    return [
      ...this.clusterInformers,
      ...[...this.childInformers.values()].flat(),
      ...this.podInformers,
    ] as Informer[];
  }

  /** Every informer has listed successfully (and is not relisting after failures). */
  get synced(): boolean {
    return this.allInformers().every((i) => i.synced);
  }

  informerStates(): { name: string; synced: boolean; objects: number }[] {
    return this.allInformers().map((i) => ({ name: i.name, synced: i.synced, objects: i.size }));
  }

  clusters(): ZooKeeperCluster[] {
    return this.clusterInformers.flatMap((i) => i.list());
  }

  startInformers(): void {
    this.informersStarted = true;
    for (const i of this.allInformers()) i.start();
    void this.discoverOptionalKinds();
    this.discoveryTimer = setInterval(() => {
      void this.discoverOptionalKinds();
    }, this.options.discoveryPeriodMs ?? DISCOVERY_PERIOD_MS);
    this.discoveryTimer.unref();
  }

  /** Starts reconciling (after winning the lease): enqueue every known cluster and resync periodically. */
  startWorkers(): void {
    if (this.workersStarted) return;
    this.workersStarted = true;
    this.resyncAll();
    if (this.options.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.resyncAll();
      }, this.options.resyncPeriodMs);
      this.resyncTimer.unref();
    }
  }

  /** Enqueues every cluster: a level-triggered safety net; a converged cluster writes nothing. */
  resyncAll(): void {
    if (!this.workersStarted) return;
    for (const c of this.clusters()) this.enqueue(c.metadata.namespace, c.metadata.name);
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.discoveryTimer) clearInterval(this.discoveryTimer);
    this.workersStarted = false;
    await this.queue.shutdown();
    await Promise.all(this.allInformers().map((i) => i.stop()));
  }

  private enqueue(namespace: string | undefined, name: string | undefined): void {
    if (!this.workersStarted || !namespace || !name) return;
    this.queue.add(`${namespace}/${name}`);
  }

  private onCluster(obj: ZooKeeperCluster, kind: "add" | "update" | "delete"): void {
    const key = `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
    if (kind === "delete") {
      this.clusterState.delete(key);
      return;
    }
    const m = obj.metadata;
    const state = canonicalJson([m.uid, m.generation, m.labels, m.annotations, m.deletionTimestamp]);
    if (kind === "update" && this.clusterState.get(key) === state) return;
    this.clusterState.set(key, state);
    this.enqueue(obj.metadata.namespace, obj.metadata.name);
  }

  private onChild(obj: KubeObject): void {
    const owner = obj.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === KIND);
    if (owner) this.enqueue(obj.metadata?.namespace, owner.name);
  }

  private onPod(obj: KubeObject, kind: "add" | "update" | "delete"): void {
    const namespace = obj.metadata?.namespace ?? "";
    const cluster = obj.metadata?.labels?.[LABELS.instance] ?? "";
    const indexKey = `${namespace}/${cluster}`;
    const podName = obj.metadata?.name ?? "";
    let pods = this.podIndex.get(indexKey);
    if (kind === "delete") {
      pods?.delete(podName);
      if (pods?.size === 0) this.podIndex.delete(indexKey);
    } else {
      if (!pods) {
        pods = new Map<string, PodLike>();
        this.podIndex.set(indexKey, pods);
      }
      pods.set(podName, obj);
    }
    this.enqueue(namespace, cluster);
  }

  private buildReconcileDeps(): ReconcileDeps {
    const options = this.options;
    const caches: Caches = {
      child: (kind, namespace, name) => {
        for (const inf of this.childInformers.get(kind) ?? []) {
          const o = inf.get(namespace, name);
          if (o) return expandChild(o);
        }
        return undefined;
      },
      podsOf: (namespace, clusterName) => [
        ...(this.podIndex.get(`${namespace}/${clusterName}`)?.values() ?? []),
      ],
    };
    return {
      client: options.client,
      caches,
      getCluster: (namespace, name) => {
        for (const inf of this.clusterInformers) {
          const c = inf.get(namespace, name);
          if (c) return c;
        }
        return undefined;
      },
      readAdminPassword: async (namespace, name) =>
        readPassword((await readSecretData(options.client, namespace, name))?.[ADMIN_SECRET_KEYS.password]),
      readSecretData: (namespace, name) => readSecretData(options.client, namespace, name),
      certificates: { createCertificateAuthority, issueLeafCertificate },
      recordEvent: (regarding, event) => options.recordEvent(regarding, event),
      // Any answer of the API server but "too many requests" and a conflict (both pass by
      // themselves): a webhook's denial, a quota, an invalid field, or a webhook that is down.
      describeRefusal: (err) =>
        err instanceof KubeError && err.code !== 429 && err.code !== 409 ? err.message : null,
      evictPod: async (namespace, name, uid) => {
        try {
          await options.client.request("POST", `${objectPath(RESOURCES.Pod, namespace, name)}/eviction`, {
            body: {
              apiVersion: "policy/v1",
              kind: "Eviction",
              metadata: { name, namespace },
              // Only the pod the roll chose: a replacement with the same name is left alone.
              deleteOptions: { preconditions: { uid } },
            },
          });
          return "evicted";
        } catch (err) {
          // 404: gone; 409: the uid precondition failed (a new pod already stands there).
          if (isNotFound(err) || (err instanceof KubeError && err.code === 409)) return "gone";
          // 429: a PodDisruptionBudget does not allow it now; 403/422 and the like are refusals too.
          if (err instanceof KubeError && err.code >= 400 && err.code < 500) return { refused: err.message };
          throw err;
        }
      },
      servedKinds: () => this.served,
      rollSlots: this.rollSlots,
      restartLog: new Map(),
      reconfigLog: new Map(),
      ...(options.memberReadyTimeoutMs !== undefined
        ? { memberReadyTimeoutMs: options.memberReadyTimeoutMs }
        : {}),
      log: this.log,
      clusterDomain: options.clusterDomain,
      operatorNamespace: options.operatorNamespace ?? null,
      ...(options.sidecarImage ? { sidecarImage: options.sidecarImage } : {}),
      ...(options.readSidecarStatus ? { readSidecarStatus: options.readSidecarStatus } : {}),
      ...(options.reconfigure ? { reconfigure: options.reconfigure } : {}),
      ...(options.statusRefreshMs !== undefined ? { statusRefreshMs: options.statusRefreshMs } : {}),
    };
  }
}
