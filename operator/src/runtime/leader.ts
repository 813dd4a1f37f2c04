// Lease-based leader election, a port of client-go's tools/leaderelection:
// - a candidate takes the Lease only after the record it last saw has stayed unchanged for a
//   whole lease duration, measured on its own clock (no trust in other machines' clocks);
// - every write of the Lease is a replace with the resourceVersion we read, so of two
//   candidates only one wins (the other gets 409);
// - the leader renews every retry period; when it has not renewed within the renew deadline it
//   stops leading at once: `isLeader()` turns false (every write is gated on it) and
//   `onStoppedLeading` runs (the operator exits and starts over as a candidate);
// - on a clean shutdown the leader releases the Lease so a successor need not wait.
import type { Logger } from "pino";
import { setTimeout as sleep } from "node:timers/promises";
import { RESOURCES, objectPath, collectionPath } from "../api/objects.ts";
import { isConflict, isNotFound, type KubeClient } from "./kube.ts";

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, the format of the API's MicroTime. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Validates the three durations the way client-go does; returns a message or null. */
export function checkLeaderElectionConfig(
  c: Omit<LeaderElectionConfig, "namespace" | "name" | "identity">,
): string | null {
  if (c.leaseDurationMs <= c.renewDeadlineMs)
    return "the lease duration must be greater than the renew deadline";
  if (c.renewDeadlineMs <= c.retryPeriodMs * 1.2)
    return "the renew deadline must be greater than 1.2 × the retry period";
  if (c.retryPeriodMs < 1) return "the retry period must be at least 1 ms";
  return null;
}

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly config: LeaderElectionConfig;
  private readonly log: Logger;
  /** The record we last saw, serialised, and when we saw it change (our clock). */
  private observedRecord = "";
  private observedTime = 0;
  private observedHolder = "";
  private lastRenew = 0;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly abort = new AbortController();
  onStartedLeading: () => void = () => undefined;
  onStoppedLeading: () => void = () => undefined;
  onNewLeader: (identity: string) => void = () => undefined;

  constructor(client: KubeClient, config: LeaderElectionConfig, log: Logger) {
    this.client = client;
    this.config = config;
    this.log = log.child({ lease: `${config.namespace}/${config.name}`, identity: config.identity });
  }

  /** True only while we hold the lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.config.renewDeadlineMs;
  }

  get leader(): string {
    return this.observedHolder;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; a leader releases the lease (call after guarded work has ended). */
  async stop(options: { release: boolean }): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop?.catch(() => undefined);
    if (options.release && this.leading) await this.release();
    this.leading = false;
  }

  private async run(): Promise<void> {
    // Acquire: try every retry period (with jitter) until we hold the lease.
    while (!this.isStopped()) {
      if (await this.tryAcquireOrRenew()) break;
      await this.pause(jittered(this.config.retryPeriodMs));
    }
    if (this.isStopped()) return;
    this.leading = true;
    this.log.info("became the leader");
    this.onStartedLeading();
    // Renew: every retry period; give up when no renewal succeeded within the renew deadline.
    while (!this.isStopped()) {
      await this.pause(this.config.retryPeriodMs);
      if (this.isStopped()) return;
      const deadline = this.lastRenew + this.config.renewDeadlineMs;
      let renewed = false;
      while (!this.isStopped() && Date.now() < deadline) {
        if (await this.tryAcquireOrRenew()) {
          renewed = true;
          break;
        }
        await this.pause(Math.min(this.config.retryPeriodMs, Math.max(0, deadline - Date.now())));
      }
      if (this.isStopped()) return;
      if (!renewed) {
        this.leading = false;
        this.log.error(
          { renewDeadlineMs: this.config.renewDeadlineMs },
          "could not renew the lease; stopped leading",
        );
        this.onStoppedLeading();
        return;
      }
    }
  }

  /** A method, not the field: the loops await, and stop() changes the field meanwhile. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** One attempt, as client-go's tryAcquireOrRenew. True when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.config;
    const now = new Date();
    const path = objectPath(RESOURCES.Lease, namespace, name);
    let old: Lease;
    try {
      old = await this.client.request<Lease>("GET", path);
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err: errorMessage(err) }, "could not read the lease");
        return false;
      }
      const lease: Lease = {
        apiVersion: RESOURCES.Lease.apiVersion,
        kind: "Lease",
        metadata: { name, namespace },
        spec: this.record(now, { acquireTime: microTime(now), leaseTransitions: 0 }),
      };
      try {
        const created = await this.client.request<Lease>("POST", collectionPath(RESOURCES.Lease, namespace), {
          body: lease,
        });
        this.observe(created.spec ?? {}, Date.now());
        this.lastRenew = now.getTime();
        return true;
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, "could not create the lease");
        return false;
      }
    }
    const spec = old.spec ?? {};
    const seen = JSON.stringify(spec);
    if (seen !== this.observedRecord) this.observe(spec, Date.now());
    const holder = spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== identity;
    if (heldByOther && this.observedTime + this.config.leaseDurationMs > Date.now()) return false;

    const next =
      holder === identity
        ? this.record(now, {
            acquireTime: spec.acquireTime ?? microTime(now),
            leaseTransitions: spec.leaseTransitions ?? 0,
          })
        : this.record(now, {
            acquireTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
          });
    try {
      const updated = await this.client.request<Lease>("PUT", path, {
        body: { ...old, metadata: { ...old.metadata }, spec: next },
      });
      this.observe(updated.spec ?? next, Date.now());
      this.lastRenew = now.getTime();
      return true;
    } catch (err) {
      if (!isConflict(err)) this.log.warn({ err: errorMessage(err) }, "could not update the lease");
      return false;
    }
  }

  private record(now: Date, extra: { acquireTime: string; leaseTransitions: number }): LeaseSpec {
    return {
      holderIdentity: this.config.identity,
      leaseDurationSeconds: Math.ceil(this.config.leaseDurationMs / 1000),
      acquireTime: extra.acquireTime,
      renewTime: microTime(now),
      leaseTransitions: extra.leaseTransitions,
    };
  }

  private observe(spec: LeaseSpec, at: number): void {
    this.observedRecord = JSON.stringify(spec);
    this.observedTime = at;
    const holder = spec.holderIdentity ?? "";
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.log.info({ leader: holder }, "new leader observed");
      this.onNewLeader(holder);
    }
  }

  private async release(): Promise<void> {
    const path = objectPath(RESOURCES.Lease, this.config.namespace, this.config.name);
    try {
      const old = await this.client.request<Lease>("GET", path);
      if (old.spec?.holderIdentity !== this.config.identity) return;
      const now = new Date();
      await this.client.request<Lease>("PUT", path, {
        body: {
          ...old,
          spec: { ...old.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(now) },
        },
      });
      this.log.info("released the lease");
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, "could not release the lease");
    }
  }
}

function jittered(ms: number): number {
  return ms * (1 + Math.random() * 1.2);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
