// The writer's ZooKeeper client: node-zookeeper-client, as a Node application would use it, plus
// the two things it lacks (see each function). Effects only; the decisions live elsewhere.
import zookeeper from "node-zookeeper-client";
import { normalizeZxid } from "./elections.ts";

export type ZkClient = zookeeper.Client;
export const CreateMode = zookeeper.CreateMode;
export const ZkState = zookeeper.State;

/** The parts of the library's connection manager read here; not in its typings. */
interface ConnectionInternals {
  zxid?: unknown;
  socket?: SocketView | null;
  pendingBuffer?: unknown;
  connect?: (...args: unknown[]) => unknown;
}
interface SocketView {
  destroyed?: boolean;
  destroy(): void;
  on(event: "data", listener: () => void): unknown;
}

function internals(client: ZkClient): ConnectionInternals | null {
  return (client as unknown as { connectionManager?: ConnectionInternals }).connectionManager ?? null;
}

/** A short name for a client error: the ZooKeeper exception's name, else the message. */
export function errorName(err: unknown): string {
  if (err && typeof err === "object" && "name" in err && typeof err.name === "string" && err.name !== "Error")
    return err.name;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The zxid of the reply whose callback is running. The library exposes no zxid for a create, but
 * it stores each reply header's zxid in its connection manager just before it calls that
 * request's callback, in the same synchronous run; so it must be read first thing in the callback.
 * Checked end to end: the zk tier compares it with the czxid read back.
 */
export function replyZxid(client: ZkClient): string | null {
  const z = internals(client)?.zxid;
  if (!Buffer.isBuffer(z) || z.length !== 8) return null;
  return normalizeZxid(z.readBigUInt64BE(0));
}

export function zxidOfBuffer(b: Buffer): string {
  return normalizeZxid(b.readBigUInt64BE(0));
}

/**
 * Drops a connection on which nothing arrived for `silenceMs()` milliseconds, so the library
 * reconnects (same session) elsewhere. The Java client does this (read timeout: two thirds of the
 * session timeout); node-zookeeper-client does not, so a frozen server would otherwise hold its
 * clients for as long as it is frozen. Returns a function that stops watching.
 */
export function watchSilence(client: ZkClient, silenceMs: () => number, onDrop: () => void): () => void {
  let socket: SocketView | null = null;
  let lastData = Date.now();
  const timer = setInterval(() => {
    const current = internals(client)?.socket ?? null;
    if (current === null) return;
    if (current !== socket) {
      socket = current;
      lastData = Date.now();
      current.on("data", () => {
        lastData = Date.now();
      });
      return;
    }
    if (current.destroyed !== true && Date.now() - lastData > silenceMs()) {
      lastData = Date.now();
      current.destroy();
      onDrop();
    }
  }, 250);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}

/**
 * A client with the library's own reconnection; `retries: 0` so that a failed request is reported,
 * never retried behind the caller's back.
 *
 * One fix to the library: it keeps the unread part of a reply frame across a reconnection and
 * glues it to the first bytes of the next connection, so a server that dies in the middle of a
 * reply (SIGKILL, or a connection we drop) desynchronises the next one, and the library then
 * throws from its socket handler ("Unknown code: …", seen on the zk tier). Each (re)connection
 * starts from an empty buffer here.
 */
export function createClient(connectionString: string, sessionTimeoutMs: number): ZkClient {
  const client = zookeeper.createClient(connectionString, { sessionTimeout: sessionTimeoutMs, retries: 0 });
  const cm = internals(client);
  const original = cm?.connect;
  if (cm !== null && typeof original === "function") {
    cm.connect = (...args: unknown[]): unknown => {
      cm.pendingBuffer = null;
      return original.apply(cm, args);
    };
  }
  return client;
}

/**
 * Closes a client, first waiting (up to `waitMs`) for a handshake in progress to finish: the
 * library sends its close request without waiting for the handshake's answer, then reads that
 * answer as the reply to the close request and throws from its socket handler.
 */
export async function closeClient(client: ZkClient, waitMs = 5_000): Promise<void> {
  const state = client.getState();
  if (state !== ZkState.SYNC_CONNECTED && state !== ZkState.EXPIRED) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      const done = (s: unknown): void => {
        if (s === ZkState.SYNC_CONNECTED || s === ZkState.EXPIRED) {
          clearTimeout(timer);
          client.off("state", done);
          resolve();
        }
      };
      client.on("state", done);
    });
  }
  client.close();
}

/** Connects (one attempt, `timeoutMs`); resolves once the session is established. */
export function connect(
  connectionString: string,
  options: { sessionTimeoutMs: number; timeoutMs: number },
): Promise<ZkClient> {
  const client = createClient(connectionString, options.sessionTimeoutMs);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // No handshake answer may arrive after the close request (see closeClient): cut the socket.
      client.close();
      internals(client)?.socket?.destroy();
      reject(new Error(`no session with ${connectionString} within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

export function getChildren(client: ZkClient, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    client.getChildren(path, (err, children) => {
      if (err) reject(new Error(`getChildren ${path}: ${errorName(err)}`));
      else resolve(children);
    });
  });
}

/** The node's data and czxid; null when it does not exist. */
export function getData(client: ZkClient, path: string): Promise<{ data: string; czxid: string } | null> {
  return new Promise((resolve, reject) => {
    client.getData(path, (err, data, stat) => {
      if (err) {
        if (errorName(err) === "NO_NODE") resolve(null);
        else reject(new Error(`getData ${path}: ${errorName(err)}`));
      } else resolve({ data: data.toString("utf8"), czxid: zxidOfBuffer(stat.czxid) });
    });
  });
}

export function mkdirp(client: ZkClient, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.mkdirp(path, (err) => {
      if (err) reject(new Error(`mkdirp ${path}: ${errorName(err)}`));
      else resolve();
    });
  });
}

/** Creates a PERSISTENT_SEQUENTIAL znode `prefix…`; resolves to its path and the reply's zxid. */
export function createSequential(
  client: ZkClient,
  prefix: string,
  data: Buffer,
): Promise<{ path: string; zxid: string | null }> {
  return new Promise((resolve, reject) => {
    client.create(prefix, data, CreateMode.PERSISTENT_SEQUENTIAL, (err, path) => {
      const zxid = err ? null : replyZxid(client);
      if (err) reject(new Error(`create ${prefix}: ${errorName(err)}`));
      else resolve({ path, zxid });
    });
  });
}

/** Runs `fn` over `items` with at most `limit` calls pending at a time. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
