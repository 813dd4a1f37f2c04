// The operator's ZooKeeper admin client: read the committed ensemble config, change membership
// with `reconfig`, and make the quorum write that follows a reconfig. One short-lived session per
// use, authenticated as ZooKeeper's super user. Built on node-zookeeper-client, whose gaps (no
// reconfig, no handshake or request timeouts, a reconnect loop that close() does not always end)
// are closed here and in zk-reconfig-request.ts.
import type { Socket } from "node:net";
import zookeeper from "node-zookeeper-client";
import { parseServerLine, type ServerLine } from "../../../sidecar/src/contract.ts";
import { computeSuperDigest } from "../builders/admin-secret.ts";
import { openTlsTunnels, type TlsTunnelOptions, type TlsTunnels } from "./tls-tunnel.ts";
import {
  guardUnknownErrorCodes,
  libraryErrorCode,
  sendReconfig,
  type LibraryConnection,
} from "./zk-reconfig-request.ts";

export type ZkAdminErrorCode =
  | "NoAuth"
  | "BadVersion"
  | "BadArguments"
  | "NewConfigNoQuorum"
  | "ReconfigInProgress"
  | "ReconfigDisabled"
  | "Timeout"
  | "ConnectionLoss"
  | "Other";

export type ZkAdminOperation = "connect" | "readConfig" | "reconfig" | "writeQuorumMarker";

/** Every failure of the admin client; `message` says what happened and what it means. */
export class ZkAdminError extends Error {
  override readonly name = "ZkAdminError";
  readonly code: ZkAdminErrorCode;
  readonly operation: ZkAdminOperation;
  /** ZooKeeper's own error code when a server answered with one, else null. */
  readonly zkCode: number | null;

  constructor(
    code: ZkAdminErrorCode,
    operation: ZkAdminOperation,
    message: string,
    zkCode: number | null = null,
  ) {
    super(message);
    this.code = code;
    this.operation = operation;
    this.zkCode = zkCode;
  }
}

/** The committed ensemble config, as `/zookeeper/config` holds it. */
export interface EnsembleConfig {
  /** The `version=` value, hex without 0x: what a conditional reconfig names. */
  version: string;
  members: ServerLine[];
}

export interface ReconfigChange {
  /** Whole server lines to add, e.g. `server.4=HOST:2888:3888:participant;2181`. */
  add?: readonly string[];
  /** Server ids to remove. */
  remove?: readonly number[];
  /** The version the decision was made on (EnsembleConfig.version): ZooKeeper refuses any other. */
  fromVersion: string;
}

export interface ZkAdminOptions {
  /**
   * `host:port` of the members (their stable DNS names in production); no chroot, and no IPv6
   * literal (the library splits an address at its first colon).
   */
  hosts: readonly string[];
  /** The super user's password (the NAME-admin Secret). */
  password: string;
  /** How long connect() may take to get a session from any host. Default 10 s. */
  connectTimeoutMs?: number;
  /** How long each call may take, a wait for a reconnection included. Default 10 s. */
  requestTimeoutMs?: number;
  /** The session timeout asked for; the server bounds it to 2..20 ticks. Default 10 s. */
  sessionTimeoutMs?: number;
  /**
   * With client TLS: `hosts` are the members' secure ports, reached through TLS tunnels
   * (tls-tunnel.ts) that verify each member's certificate against `ca` (PEM) and its host name.
   */
  tls?: TlsTunnelOptions;
}

export const CONFIG_PATH = "/zookeeper/config";
/** Written after each membership change: its write is the quorum write the progress guarantee needs. */
export const QUORUM_MARKER_PATH = "/zookeeper-operator/last-reconfig";

// The library's ConnectionManager states (ConnectionManager.js STATES).
const CONNECTED = 2;
const CLOSING = -1;
const CLOSED = -2;
const SESSION_EXPIRED = -3;
const AUTHENTICATION_FAILED = -4;

// ZooKeeper error codes (KeeperException.Code) this client tells apart.
const ZK = {
  connectionLoss: -4,
  timeout: -7,
  badArguments: -8,
  newConfigNoQuorum: -13,
  reconfigInProgress: -14,
  noNode: -101,
  noAuth: -102,
  badVersion: -103,
  nodeExists: -110,
  sessionExpired: -112,
  authFailed: -115,
  reconfigDisabled: -123,
} as const;

/** The library's connection manager beyond what zk-reconfig-request.ts uses; not in its typings. */
interface Connection extends LibraryConnection {
  socket?: Socket;
  connectTimeout: number;
  connectTimeoutHandler: NodeJS.Timeout | null;
  connect(): void;
  findNextServer(callback: (server: { host: string; port: string | number }) => void): void;
  setState(state: number): void;
  on(event: "state", listener: (state: number) => void): unknown;
  off(event: "state", listener: (state: number) => void): unknown;
}

/** Connects to one of `hosts` and authenticates as the super user, or throws a ZkAdminError. */
export async function connectZkAdmin(options: ZkAdminOptions): Promise<ZkAdmin> {
  const tunnels = options.tls ? await openTlsTunnels(options.hosts, options.tls) : null;
  let admin: ZkAdmin;
  try {
    admin = new ZkAdmin(tunnels ? { ...options, hosts: tunnels.hosts } : options, tunnels);
  } catch (err) {
    await tunnels?.close();
    throw err;
  }
  try {
    await admin.open();
    return admin;
  } catch (err) {
    const tlsFailures = [...(tunnels?.failures() ?? new Map<string, string>())];
    await admin.close();
    if (err instanceof ZkAdminError && tlsFailures.length > 0) {
      throw new ZkAdminError(
        err.code,
        err.operation,
        `${err.message}; TLS: ${tlsFailures.map(([host, why]) => `${host}: ${why}`).join("; ")}`,
        err.zkCode,
      );
    }
    throw err;
  }
}

export class ZkAdmin {
  private readonly client: zookeeper.Client;
  private readonly cm: Connection;
  private readonly hosts: string;
  private readonly password: string;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  /** The last outcome of a connection attempt per host, for a message that says why none worked. */
  private readonly attempts = new Map<string, string>();
  private readonly inProgress = new Set<string>();
  private closing: Promise<void> | null = null;

  private readonly tunnels: TlsTunnels | null;

  /** Use connectZkAdmin. */
  constructor(options: ZkAdminOptions, tunnels: TlsTunnels | null = null) {
    this.tunnels = tunnels;
    for (const h of options.hosts) {
      if (!/^[^\s:/,]+:\d{1,5}$/.test(h))
        throw new ZkAdminError("BadArguments", "connect", `${JSON.stringify(h)} is not host:port`);
    }
    if (options.hosts.length === 0)
      throw new ZkAdminError("BadArguments", "connect", "no hosts to connect to");
    this.hosts = options.hosts.join(",");
    this.password = options.password;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    // retries: 0, so that the library never re-sends a request behind the caller's back.
    this.client = zookeeper.createClient(this.hosts, {
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      retries: 0,
    });
    this.cm = (this.client as unknown as { connectionManager: Connection }).connectionManager;
    this.hookConnection();
  }

  /** `address:port` of the server this session is connected to, or null. */
  get server(): string | null {
    const s = this.cm.socket;
    if (this.cm.state !== CONNECTED || !s?.remoteAddress) return null;
    return `${s.remoteAddress}:${s.remotePort ?? ""}`;
  }

  /** Use connectZkAdmin. */
  async open(): Promise<void> {
    // Before connect: the library then sends it first on every connection, ahead of any request.
    this.client.addAuthInfo("digest", Buffer.from(`super:${this.password}`));
    this.client.connect();
    await this.waitConnected("connect", Date.now() + this.connectTimeoutMs);
  }

  /** The committed ensemble config, read from `/zookeeper/config` of the connected server. */
  async readConfig(): Promise<EnsembleConfig> {
    const data = await this.request<Buffer>("readConfig", (reply) => {
      this.client.getData(CONFIG_PATH, (err, d) => {
        reply(err ? libraryErrorCode(err) : null, d);
      });
    });
    return this.parseConfig("readConfig", data.toString("utf8"));
  }

  /**
   * Changes membership (incremental reconfig, conditional on `fromVersion`) and returns the config
   * ZooKeeper committed. Sent once: a reconfig is not idempotent, so after a Timeout or
   * ConnectionLoss the caller reads the config again and decides again.
   */
  async reconfig(change: ReconfigChange): Promise<EnsembleConfig> {
    const add = change.add ?? [];
    const remove = change.remove ?? [];
    checkChange(add, remove, change.fromVersion);
    const data = await this.request<Buffer>(
      "reconfig",
      (reply) => {
        sendReconfig(
          this.cm,
          {
            joiningServers: add.length > 0 ? add.join(",") : null,
            leavingServers: remove.length > 0 ? remove.join(",") : null,
            newMembers: null,
            curConfigId: BigInt(`0x${change.fromVersion}`),
          },
          (r) => {
            if (r.ok) reply(null, r.data);
            else reply(r.code);
          },
        );
      },
      change.fromVersion,
    );
    return this.parseConfig("reconfig", data.toString("utf8"));
  }

  /**
   * Writes QUORUM_MARKER_PATH (created if missing): a write a quorum of the new config must accept.
   * ZooKeeper activates a committed reconfig only with the next write (its progress guarantee), so
   * this comes between a reconfig and stopping a removed server. Only the super user may write it;
   * anyone may read when membership last changed and to which version.
   */
  async writeQuorumMarker(configVersion: string): Promise<void> {
    const data = Buffer.from(JSON.stringify({ configVersion, writtenAt: new Date().toISOString() }));
    const acl = [
      new zookeeper.ACL(
        zookeeper.Permission.ALL,
        new zookeeper.Id("digest", computeSuperDigest(this.password)),
      ),
      new zookeeper.ACL(zookeeper.Permission.READ, new zookeeper.Id("world", "anyone")),
    ];
    const set = (): Promise<void> =>
      this.request<undefined>("writeQuorumMarker", (reply) => {
        this.client.setData(QUORUM_MARKER_PATH, data, -1, (err) => {
          reply(err ? libraryErrorCode(err) : null);
        });
      });
    /** Resolves to false when the node was there already. */
    const create = (path: string, content: Buffer): Promise<boolean> =>
      this.request<boolean>("writeQuorumMarker", (reply) => {
        this.client.create(path, content, acl, zookeeper.CreateMode.PERSISTENT, (err) => {
          const code = err ? libraryErrorCode(err) : null;
          if (code === ZK.nodeExists) reply(null, false);
          else reply(code, true);
        });
      });
    try {
      await set();
    } catch (err) {
      if (!(err instanceof ZkAdminError) || err.zkCode !== ZK.noNode) throw err;
      await create(QUORUM_MARKER_PATH.slice(0, QUORUM_MARKER_PATH.lastIndexOf("/")), Buffer.alloc(0));
      // Created by another writer in between: this write still has to happen.
      if (!(await create(QUORUM_MARKER_PATH, data))) await set();
    }
  }

  /** Ends the session (or the attempts to get one); never throws, and is safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutDown().finally(() => this.tunnels?.close());
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const cm = this.cm;
    if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
    try {
      if (cm.state === CONNECTED) {
        // A close request, so the server ends the session now rather than after its timeout; a
        // server that does not answer it within a second loses the connection instead.
        const closed = this.waitForState(CLOSED, 1000);
        this.client.close();
        if (!(await closed)) cm.socket?.destroy();
      } else if (cm.state !== CLOSED && cm.state !== SESSION_EXPIRED && cm.state !== AUTHENTICATION_FAILED) {
        // Mid-handshake a close request would be read as the handshake's answer and crash the
        // library: cut the socket instead; in CLOSING the library does not reconnect.
        cm.setState(CLOSING);
        cm.socket?.destroy();
      }
    } catch {
      // Closing is best effort: whatever the library threw, the socket goes.
      cm.socket?.destroy();
    }
  }

  /**
   * Before the first connection: reconfig's error codes must not crash the library
   * (guardUnknownErrorCodes), and three fixes to its connection handling, on this client only:
   * each connection starts from an empty read buffer (the library glues the rest of a frame cut by
   * a lost connection to the next connection's bytes); no new connection once close() began; and
   * a server that accepts the TCP connection but does not answer the handshake (a hung JVM) is left
   * after the library's per-host connect timeout, which otherwise covers only the TCP connect.
   */
  private hookConnection(): void {
    const cm = this.cm;
    guardUnknownErrorCodes(cm);
    const connect = cm.connect.bind(cm);
    cm.connect = (): void => {
      cm.pendingBuffer = null;
      if (this.closing === null) connect();
    };
    const findNextServer = cm.findNextServer.bind(cm);
    cm.findNextServer = (callback): void => {
      findNextServer((server) => {
        if (this.closing !== null) return;
        callback(server);
        if (cm.socket) this.watchAttempt(`${server.host}:${server.port}`, cm.socket);
      });
    };
  }

  /**
   * Keeps in `attempts` what became of the connections to `address`: how the latest one ended, or
   * while none has ended yet, how far the current one got.
   */
  private watchAttempt(address: string, socket: Socket): void {
    const handshakeMs = this.cm.connectTimeout;
    const ended = this.attempts.has(address) && !this.inProgress.has(address);
    const progress = (text: string): void => {
      if (ended) return;
      this.inProgress.add(address);
      this.attempts.set(address, text);
    };
    const end = (text: string): void => {
      this.inProgress.delete(address);
      this.attempts.set(address, text);
    };
    let timer: NodeJS.Timeout | undefined;
    let phase: "tcp" | "handshake" | "session" | "failed" = "tcp";
    progress("no TCP connection yet");
    socket.once("connect", () => {
      phase = "handshake";
      progress("accepted the connection; no answer to the handshake yet");
      timer = setTimeout(() => {
        phase = "failed";
        end(
          `accepted the connection but did not answer the handshake within ${handshakeMs} ms (a hung server)`,
        );
        socket.destroy();
      }, handshakeMs);
    });
    socket.once("data", () => {
      clearTimeout(timer);
      phase = "session";
      end("session established");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      phase = "failed";
      end(err.code === "ECONNREFUSED" ? "connection refused (nothing listens there)" : err.message);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      if (phase === "session") end("the connection was lost");
      else if (phase === "tcp") end("no TCP connection within the per-host connect timeout");
      else if (phase === "handshake")
        end("closed the connection before a session began (a server that serves no quorum does this)");
    });
  }

  /** Resolves once the session is connected; rejects at the deadline or when it cannot be. */
  private waitConnected(operation: ZkAdminOperation, deadline: number): Promise<void> {
    const cm = this.cm;
    const ended = (state: number): ZkAdminError | null => {
      if (this.closing !== null || state === CLOSING || state === CLOSED)
        return new ZkAdminError("ConnectionLoss", operation, `${operation}: the admin client was closed`);
      if (state === SESSION_EXPIRED)
        return new ZkAdminError(
          "ConnectionLoss",
          operation,
          `${operation}: the ZooKeeper session expired while no server of ${this.hosts} could be reached; connect again`,
          ZK.sessionExpired,
        );
      if (state === AUTHENTICATION_FAILED)
        return new ZkAdminError(
          "NoAuth",
          operation,
          `${operation}: ZooKeeper refused the authentication`,
          ZK.authFailed,
        );
      return null;
    };
    // A socket destroyed a moment ago (a request timed out) still counts as connected until its
    // close event: wait for the library to notice, so the next request goes to a live connection.
    if (cm.state === CONNECTED && cm.socket?.destroyed !== true) return Promise.resolve();
    const now = ended(cm.state);
    if (now) return Promise.reject(now);
    return new Promise((resolve, reject) => {
      const finish = (err: ZkAdminError | null): void => {
        clearTimeout(timer);
        cm.off("state", onState);
        if (err) reject(err);
        else resolve();
      };
      const onState = (state: number): void => {
        if (state === CONNECTED && cm.socket?.destroyed !== true) finish(null);
        else {
          const err = ended(state);
          if (err) finish(err);
        }
      };
      const timer = setTimeout(
        () => {
          finish(this.noSessionError(operation));
        },
        Math.max(0, deadline - Date.now()),
      );
      cm.on("state", onState);
    });
  }

  private noSessionError(operation: ZkAdminOperation): ZkAdminError {
    const waited = operation === "connect" ? this.connectTimeoutMs : this.requestTimeoutMs;
    const tried = [...this.attempts].map(([host, why]) => `${host}: ${why}`).join("; ");
    return new ZkAdminError(
      "Timeout",
      operation,
      `${operation}: no ZooKeeper session with any of ${this.hosts} within ${waited} ms (${tried || "no attempt yet"}); ${
        operation === "reconfig" ? "nothing was sent" : "the servers may be down, hung or without quorum"
      }`,
    );
  }

  /**
   * Sends one request once the session is connected, bounded by requestTimeoutMs in all. A server
   * that does not answer in time loses this connection, so the library moves on to the next host;
   * a late answer is ignored.
   */
  private async request<T>(
    operation: ZkAdminOperation,
    send: (reply: (code: number | null, value?: T) => void) => void,
    fromVersion?: string,
  ): Promise<T> {
    const deadline = Date.now() + this.requestTimeoutMs;
    await this.waitConnected(operation, deadline);
    const server = this.server ?? this.hosts;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => {
          settled = true;
          this.cm.socket?.destroy();
          reject(
            new ZkAdminError(
              "Timeout",
              operation,
              `${operation}: ${server} did not answer within ${this.requestTimeoutMs} ms${
                operation === "reconfig"
                  ? "; the change may or may not have been applied: read the config again and decide again"
                  : ""
              }`,
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      const reply = (code: number | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (code === null) resolve(value as T);
        else reject(describeFailure(operation, code, server, fromVersion));
      };
      try {
        send(reply);
      } catch (err) {
        settled = true;
        clearTimeout(timer);
        reject(
          new ZkAdminError(
            "Other",
            operation,
            `${operation}: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      }
    });
  }

  private parseConfig(operation: ZkAdminOperation, text: string): EnsembleConfig {
    try {
      return parseEnsembleConfig(text);
    } catch (err) {
      throw new ZkAdminError(
        "Other",
        operation,
        `${operation}: ${err instanceof Error ? err.message : String(err)}${
          operation === "reconfig" ? " (ZooKeeper did commit the change; read the config again)" : ""
        }`,
      );
    }
  }

  private waitForState(state: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const onState = (s: number): void => {
        if (s === state) finish(true);
      };
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.cm.off("state", onState);
        resolve(ok);
      };
      const timer = setTimeout(() => {
        finish(false);
      }, timeoutMs);
      this.cm.on("state", onState);
    });
  }
}

/**
 * Parses the text of `/zookeeper/config` (or a reconfig's reply): `server.N=...` lines and one
 * `version=HEX` line. Throws on a server line it cannot read or a missing version.
 */
export function parseEnsembleConfig(text: string): EnsembleConfig {
  let version: string | null = null;
  const members: ServerLine[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const v = /^version=([0-9a-f]+)$/.exec(line);
    if (v?.[1] !== undefined) {
      version = v[1];
      continue;
    }
    if (!line.startsWith("server.")) continue;
    const member = parseServerLine(line);
    if (member === null)
      throw new Error(`the ensemble config has a server line this client cannot read: ${line}`);
    members.push(member);
  }
  if (version === null) throw new Error("the ensemble config has no version= line");
  return { version, members: members.sort((a, b) => a.id - b.id) };
}

function checkChange(add: readonly string[], remove: readonly number[], fromVersion: string): void {
  const bad = (message: string): ZkAdminError =>
    new ZkAdminError("BadArguments", "reconfig", `reconfig not sent: ${message}`);
  if (!/^[0-9a-f]{1,16}$/.test(fromVersion))
    throw bad(`fromVersion ${JSON.stringify(fromVersion)} is not a config version (hex, as in version=)`);
  if (add.length === 0 && remove.length === 0) throw bad("nothing to add or remove");
  const ids = new Set<number>();
  for (const line of add) {
    const parsed = parseServerLine(line);
    if (parsed === null || line.includes(",")) throw bad(`${JSON.stringify(line)} is not a server line`);
    ids.add(parsed.id);
  }
  for (const id of remove) {
    if (!Number.isInteger(id) || id < 1 || id > 255) throw bad(`${id} is not a server id`);
    if (ids.has(id)) throw bad(`server ${id} is both added and removed`);
  }
}

/** What a ZooKeeper error code means for the caller, in words a platform engineer can act on. */
function describeFailure(
  operation: ZkAdminOperation,
  zkCode: number,
  server: string,
  fromVersion = "?",
): ZkAdminError {
  const fail = (code: ZkAdminErrorCode, text: string): ZkAdminError =>
    new ZkAdminError(code, operation, `${operation} via ${server}: ${text}`, zkCode);
  const unchanged = operation === "reconfig" ? "; nothing was changed" : "";
  switch (zkCode) {
    case ZK.noAuth:
    case ZK.authFailed:
      return fail(
        "NoAuth",
        `not authorised (NoAuth): the password does not match the servers' super digest (-Dzookeeper.DigestAuthenticationProvider.superDigest)${unchanged}`,
      );
    case ZK.badVersion:
      return fail(
        "BadVersion",
        `the ensemble config changed since it was read (version ${fromVersion}); read it again and decide again${unchanged}`,
      );
    case ZK.badArguments:
      return fail("BadArguments", `ZooKeeper refused the change as invalid (BadArguments)${unchanged}`);
    case ZK.newConfigNoQuorum:
      return fail(
        "NewConfigNoQuorum",
        `the new config would have no quorum of servers connected and synced with the leader (a server to add is not running or not synced yet, or too few of the remaining ones are up)${unchanged}`,
      );
    case ZK.reconfigInProgress:
      return fail(
        "ReconfigInProgress",
        `another reconfiguration is still being committed; read the config again and decide again${unchanged}`,
      );
    case ZK.reconfigDisabled:
      return fail("ReconfigDisabled", `the servers run with reconfigEnabled=false${unchanged}`);
    case ZK.connectionLoss:
    case ZK.sessionExpired:
      return fail(
        "ConnectionLoss",
        `the connection was lost before an answer${
          operation === "reconfig"
            ? "; the change may or may not have been applied: read the config again and decide again"
            : ""
        }`,
      );
    case ZK.timeout:
      return fail("Timeout", "the server reported a timeout (OperationTimeout)");
    default:
      return fail("Other", `ZooKeeper answered with error code ${zkCode}`);
  }
}
