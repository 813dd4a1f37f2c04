// Kubernetes Events (events.k8s.io/v1) for what the operator changed or refused, so that
// `kubectl describe zk NAME` tells the story. Identical events for one object are sent at most
// once per window: a condition that persists is in the status, not in a stream of Events.
import type { Logger } from "pino";
import { RESOURCES, collectionPath, type KubeObject } from "../api/objects.ts";
import { type KubeClient } from "./kube.ts";
import { microTime } from "./leader.ts";

export interface EventInput {
  type: "Normal" | "Warning";
  /** UpperCamelCase, short: Created, Updated, InvalidSpec, ... */
  reason: string;
  /** What we did: Create, Update, Reconcile, ... */
  action: string;
  note: string;
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly controller: string;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly recent = new Map<string, number>();
  private readonly windowMs: number;

  constructor(
    client: KubeClient,
    options: { controller: string; instance: string; windowMs?: number },
    log: Logger,
  ) {
    this.client = client;
    this.controller = options.controller;
    this.instance = options.instance;
    this.windowMs = options.windowMs ?? 10 * 60_000;
    this.log = log;
  }

  /** Records an event; failures are logged, never thrown (an Event is not worth a retry loop). */
  async record(regarding: KubeObject, event: EventInput): Promise<void> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace ?? "default";
    const dedupeKey = `${meta.uid ?? ""}|${event.reason}|${event.note}`;
    const now = Date.now();
    const last = this.recent.get(dedupeKey);
    if (last !== undefined && now - last < this.windowMs) return;
    this.recent.set(dedupeKey, now);
    if (this.recent.size > 10_000) this.prune(now);
    const body = {
      apiVersion: RESOURCES.Event.apiVersion,
      kind: "Event",
      metadata: { name: `${meta.name ?? "object"}.${now.toString(16)}${randomSuffix()}`, namespace },
      eventTime: microTime(new Date(now)),
      reportingController: this.controller,
      reportingInstance: this.instance,
      action: event.action,
      reason: event.reason,
      note: event.note.slice(0, 1000),
      type: event.type,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: meta.name,
        namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
    };
    try {
      await this.client.request("POST", collectionPath(RESOURCES.Event, namespace), { body });
    } catch (err) {
      this.recent.delete(dedupeKey);
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), reason: event.reason },
        "could not record an event",
      );
    }
  }

  private prune(now: number): void {
    for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
  }
}

function randomSuffix(): string {
  return Math.floor(Math.random() * 0xffff)
    .toString(16)
    .padStart(4, "0");
}
