// An informer: list, then watch from the list's resourceVersion, keeping a cache and telling
// listeners what changed. Unlike the library's ListWatch it never stops on its own: any error
// (a broken connection, a restarted API server, a 410 "too old resourceVersion") leads to a new
// list + watch after an exponential backoff, and `synced` is true only once a list succeeded.
import type { Logger } from "pino";
import { computeBackoff, type BackoffPolicy } from "./backoff.ts";
import { collectionPath, type KubeObject, type ResourceType } from "../api/objects.ts";
import { KubeError, type KubeClient } from "./kube.ts";

export type InformerHandler<T> = (obj: T, kind: "add" | "update" | "delete") => void;

export interface InformerOptions<T> {
  type: ResourceType;
  /** Watch one namespace; undefined = all namespaces. */
  namespace?: string;
  labelSelector?: string;
  /**
   * Shrinks each object before it is cached (the default drops managedFields): the cache is
   * most of the operator's memory at 1000 clusters.
   */
  transform?: (obj: KubeObject) => T;
  backoff?: BackoffPolicy;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 0.2 };

export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ""}` : (obj.metadata?.name ?? "");
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly name: string;
  private readonly client: KubeClient;
  private readonly options: InformerOptions<T>;
  private readonly log: Logger;
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private abort: AbortController | null = null;
  private running = false;
  private resourceVersion = "";
  private failures = 0;
  private _synced = false;
  private loop: Promise<void> | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(client: KubeClient, options: InformerOptions<T>, log: Logger) {
    this.client = client;
    this.options = options;
    this.name = `${options.type.kind}${options.namespace ? `@${options.namespace}` : ""}`;
    this.log = log.child({ informer: this.name });
  }

  /** True once a list succeeded; false again while relisting after a failure. */
  get synced(): boolean {
    return this._synced;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get size(): number {
    return this.cache.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.loop;
  }

  /** A method, not the field: the loop awaits, and stop() changes the field meanwhile. */
  private isRunning(): boolean {
    return this.running;
  }

  private transform(obj: KubeObject): T {
    return this.options.transform ? this.options.transform(obj) : (stripManagedFields(obj) as T);
  }

  private emit(obj: T, kind: "add" | "update" | "delete"): void {
    for (const h of this.handlers) h(obj, kind);
  }

  private async run(): Promise<void> {
    const path = collectionPath(this.options.type, this.options.namespace);
    while (this.running) {
      try {
        if (!this.resourceVersion) await this.relist(path);
        this.abort = new AbortController();
        await this.client.watch<KubeObject>(
          path,
          {
            resourceVersion: this.resourceVersion,
            signal: this.abort.signal,
            ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}),
          },
          (event) => {
            this.failures = 0;
            this.handleEvent(event.type, event.object);
          },
        );
        // A watch the server ended normally: continue from where we are, no backoff.
      } catch (err) {
        if (!this.isRunning()) break;
        if (err instanceof KubeError && err.code === 410) {
          // Our resourceVersion is older than what the server keeps: relist at once.
          this.resourceVersion = "";
          continue;
        }
        this.failures++;
        const delay = computeBackoff(this.options.backoff ?? DEFAULT_BACKOFF, this.failures);
        this.log.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            retryInMs: delay,
            failures: this.failures,
          },
          "watch failed; restarting",
        );
        // After repeated failures the cache may be far behind: report not synced and relist.
        if (this.failures >= 3) {
          this._synced = false;
          this.resourceVersion = "";
        }
        await this.sleep(delay);
      }
    }
  }

  private async relist(path: string): Promise<void> {
    const { items, resourceVersion } = await this.client.list<KubeObject>(path, this.options.labelSelector);
    const seen = new Set<string>();
    for (const raw of items) {
      // A list's items carry no apiVersion and kind (the list has them); watch events do. Cached
      // objects must look the same either way, or a child cached from a list never matches the
      // object the operator applies, and every pass after an operator restart re-applies it.
      const { apiVersion, kind } = this.options.type;
      const obj = this.transform({ apiVersion, kind, ...raw });
      const key = keyOf(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.emit(obj, "add");
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit(obj, "update");
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit(old, "delete");
      }
    }
    this.resourceVersion = resourceVersion;
    this.failures = 0;
    if (!this._synced) this.log.info({ objects: this.cache.size }, "informer synced");
    this._synced = true;
  }

  private handleEvent(type: string, raw: KubeObject): void {
    this.resourceVersion = raw.metadata?.resourceVersion ?? this.resourceVersion;
    if (type === "BOOKMARK") return;
    const obj = this.transform(raw);
    const key = keyOf(obj);
    if (type === "DELETED") {
      this.cache.delete(key);
      this.emit(obj, "delete");
      return;
    }
    const existed = this.cache.has(key);
    this.cache.set(key, obj);
    this.emit(obj, existed ? "update" : "add");
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }
}
