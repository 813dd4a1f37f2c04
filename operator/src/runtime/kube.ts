// The one place the operator talks HTTP to the API server. Every read, watch and write goes
// through `KubeClient`, so that there is one keep-alive connection pool, one field manager, one
// content type for server-side apply, one counter of requests by verb, and one gate that stops
// writes the moment this process is no longer the leader.
//
// Plain node:https rather than the generated API classes of @kubernetes/client-node: loading
// them costs ~80 MiB of RSS, and they build a new HTTPS agent (and TLS session) per call. The
// library's types are what we use from it; kubeconfig.ts explains the credentials side.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { createInterface } from "node:readline";
import { loadConnection, type KubeConnection } from "./kubeconfig.ts";
import { objectPath, type KubeObject, type ResourceType } from "../api/objects.ts";

/** Server-side apply's content type (the value of client-node's PatchStrategy.ServerSideApply). */
export const APPLY_PATCH_CONTENT_TYPE = "application/apply-patch+yaml";

/** An error answer from the API server, with its HTTP code and Status reason. */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(code: number, reason: string, message: string, body: unknown) {
    super(message);
    this.name = "KubeError";
    this.code = code;
    this.reason = reason;
    this.body = body;
  }
}

/** Thrown instead of sending a write when this process does not hold the leader lease. */
export class NotLeaderError extends Error {
  constructor() {
    super("not the leader: write refused");
    this.name = "NotLeaderError";
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeError && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeError && err.code === 409;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface KubeClientOptions {
  fieldManager: string;
  /** Called before every write; throw to refuse it (the leader gate). */
  beforeWrite?: () => void;
  /** Called after every request with its verb, for metrics. */
  onRequest?: (verb: string, code: number) => void;
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class KubeClient {
  readonly server: string;
  readonly fieldManager: string;
  private readonly conn: KubeConnection;
  private readonly options: KubeClientOptions;
  private readonly agent: HttpAgent | HttpsAgent;
  /** Watches hold their connection for minutes: they get their own unbounded pool. */
  private readonly watchAgent: HttpAgent | HttpsAgent;
  private readonly url: URL;

  constructor(conn: KubeConnection, options: KubeClientOptions) {
    this.conn = conn;
    this.server = conn.server;
    this.url = new URL(conn.server);
    this.options = options;
    this.fieldManager = options.fieldManager;
    const tls = {
      ...(conn.ca ? { ca: conn.ca } : {}),
      ...(conn.cert ? { cert: conn.cert } : {}),
      ...(conn.key ? { key: conn.key } : {}),
      ...(conn.tlsServerName ? { servername: conn.tlsServerName } : {}),
      rejectUnauthorized: !conn.insecureSkipTlsVerify,
    };
    const https = this.url.protocol === "https:";
    const pool = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16 };
    this.agent = https ? new HttpsAgent({ ...pool, ...tls }) : new HttpAgent(pool);
    this.watchAgent = https
      ? new HttpsAgent({ keepAlive: false, ...tls })
      : new HttpAgent({ keepAlive: false });
  }

  /** Closes idle pooled connections (watches end through their signals). */
  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  private async send(
    method: string,
    path: string,
    init: {
      body?: string;
      contentType?: string;
      signal?: AbortSignal;
      watch?: boolean;
      idleTimeoutMs?: number;
    } = {},
  ): Promise<{ status: number; body: IncomingMessage }> {
    if (WRITE_METHODS.has(method)) this.options.beforeWrite?.();
    const headers: Record<string, string> = { accept: "application/json" };
    const authorization = await this.conn.authorization();
    if (authorization) headers.authorization = authorization;
    if (init.contentType) headers["content-type"] = init.contentType;
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const request = this.url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname.replace(/^\[|\]$/g, ""),
          port: this.url.port,
          path: this.url.pathname.replace(/\/$/, "") + path,
          method,
          headers,
          agent: init.watch ? this.watchAgent : this.agent,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          this.options.onRequest?.(method, res.statusCode ?? 0);
          resolve({ status: res.statusCode ?? 0, body: res });
        },
      );
      // A connection that went silent (a dead peer sends no reset) must not hang a worker or a
      // watch forever: requests get 60 s of inactivity, watches their server timeout plus 60 s.
      req.setTimeout(init.idleTimeoutMs ?? 60_000, () => {
        req.destroy(new Error(`${method} ${path}: no answer for ${init.idleTimeoutMs ?? 60_000} ms`));
      });
      req.on("error", reject);
      req.end(init.body);
    });
  }

  /** One request with a JSON answer; an error answer becomes a KubeError. */
  async request<T>(
    method: string,
    path: string,
    init: { body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const contentType = init.contentType ?? (body === undefined ? undefined : "application/json");
    const res = await this.send(method, path, {
      ...(body === undefined ? {} : { body }),
      ...(contentType === undefined ? {} : { contentType }),
    });
    const text = await readText(res.body);
    if (res.status >= 400) throw errorFromResponse(res.status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Plain text GET (the API server's /metrics). */
  async getText(path: string): Promise<string> {
    const res = await this.send("GET", path);
    const text = await readText(res.body);
    if (res.status >= 400) throw errorFromResponse(res.status, text, `GET ${path}`);
    return text;
  }

  /** A full list, page by page (500 per page), with the list's resourceVersion to watch from. */
  async list<T>(path: string, labelSelector?: string): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont = "";
    let resourceVersion: string;
    do {
      const q = new URLSearchParams({ limit: "500" });
      if (labelSelector) q.set("labelSelector", labelSelector);
      if (cont) q.set("continue", cont);
      const page = await this.request<{
        items?: T[];
        metadata?: { resourceVersion?: string; continue?: string };
      }>("GET", `${path}?${q.toString()}`);
      for (const item of page.items ?? []) items.push(item);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      cont = page.metadata?.continue ?? "";
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * A watch from `resourceVersion`, one callback per event. Resolves when the stream ends
   * (the server closes watches every few minutes); rejects on an error answer or a broken
   * connection. `signal` ends it from our side.
   */
  async watch<T>(
    path: string,
    options: {
      resourceVersion: string;
      labelSelector?: string;
      signal: AbortSignal;
      timeoutSeconds?: number;
    },
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const timeoutSeconds = options.timeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const q = new URLSearchParams({
      watch: "true",
      allowWatchBookmarks: "true",
      resourceVersion: options.resourceVersion,
      timeoutSeconds: String(timeoutSeconds),
    });
    if (options.labelSelector) q.set("labelSelector", options.labelSelector);
    const res = await this.send("GET", `${path}?${q.toString()}`, {
      signal: options.signal,
      watch: true,
      idleTimeoutMs: (timeoutSeconds + 60) * 1000,
    });
    if (res.status >= 400) throw errorFromResponse(res.status, await readText(res.body), `WATCH ${path}`);
    const lines = createInterface({ input: res.body, crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      const event = JSON.parse(line) as WatchEvent<T>;
      if (event.type === "ERROR") {
        const status = event.object as { code?: number; reason?: string; message?: string };
        throw new KubeError(status.code ?? 500, status.reason ?? "", status.message ?? "watch error", status);
      }
      onEvent(event);
    }
  }

  /**
   * Server-side apply of a whole object with our one field manager. `force` takes ownership
   * of fields another manager changed: right for children we alone own, and what restores a
   * field someone edited by hand. Fields we never set stay theirs.
   */
  async apply(type: ResourceType, obj: KubeObject, options: { force?: boolean } = {}): Promise<void> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`cannot apply a ${type.kind} without a name`);
    const q = new URLSearchParams({ fieldManager: this.fieldManager, force: String(options.force ?? true) });
    await this.write("PATCH", `${objectPath(type, obj.metadata?.namespace, name)}?${q.toString()}`, obj);
  }

  /**
   * Deletes one object, only if it is still the one with `uid` (a replacement of the same name
   * stays). Gone already counts as done.
   */
  async remove(type: ResourceType, namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.request("DELETE", objectPath(type, namespace, name), {
        body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Server-side apply of the status subresource (one per reconcile pass). */
  async applyStatus(type: ResourceType, obj: KubeObject & { status: unknown }): Promise<void> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`cannot apply status of a ${type.kind} without a name`);
    const q = new URLSearchParams({ fieldManager: this.fieldManager, force: "true" });
    await this.write(
      "PATCH",
      `${objectPath(type, obj.metadata?.namespace, name)}/status?${q.toString()}`,
      obj,
    );
  }

  /**
   * An apply whose answer we do not need: the informer delivers the new object anyway, and not
   * parsing every answer spares a lot of garbage when thousands of clusters converge at once.
   */
  private async write(method: string, path: string, obj: KubeObject): Promise<void> {
    const res = await this.send(method, path, {
      body: JSON.stringify(obj),
      contentType: APPLY_PATCH_CONTENT_TYPE,
    });
    const text = await readText(res.body);
    if (res.status >= 400) throw errorFromResponse(res.status, text, `${method} ${path}`);
  }
}

function errorFromResponse(status: number, text: string, what: string): KubeError {
  let body: unknown = text;
  let reason = "";
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    body = parsed;
    reason = parsed.reason ?? "";
    message = parsed.message ?? message;
  } catch {
    // not JSON: keep the text
  }
  return new KubeError(status, reason, `${what}: ${status} ${reason} ${message}`.trim(), body);
}

async function readText(stream: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Loads a kubeconfig file, or the in-cluster service account when no path is given. */
export function loadKubeConfig(path: string | undefined): Promise<KubeConnection> {
  return loadConnection(path);
}
