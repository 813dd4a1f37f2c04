// ZooKeeper's `reconfig` (opcode 16) sent through node-zookeeper-client's own request layer: the
// library (pinned at 1.1.3) has no such call. This leans on its internals, named in
// LibraryConnection below; the zk tier (operator/test/zk/zk-admin.test.ts) exercises every path
// against real servers, so a library upgrade that breaks it fails there.

/** ReconfigRequest as ZooKeeper's jute defines it (zookeeper.jute). */
export interface ReconfigRequest {
  /** Server lines to add, comma-separated; null: none. */
  joiningServers: string | null;
  /** Server ids to remove, comma-separated; null: none. */
  leavingServers: string | null;
  /** A whole new member list (non-incremental reconfig); null for an incremental one. */
  newMembers: string | null;
  /** Applies only if the committed config still has this version (the `version=` hex). */
  curConfigId: bigint;
}

/** A reply of a request sent here: the new config's text, as the reply of a getData carries it. */
export type ReconfigReply = { ok: true; data: Buffer } | { ok: false; code: number };

/** The parts of the library's connection manager used here; none of them is in its typings. */
export interface LibraryConnection {
  /** 1 = CONNECTING: a frame is the handshake's answer, not a reply (ConnectionManager STATES). */
  state: number;
  /** The unread start of the next frame. */
  pendingBuffer: Buffer | null;
  onSocketData(chunk: Buffer): void;
  queue(request: LibraryRequest, callback: (err: unknown, response?: LibraryResponse) => void): void;
}

/** What the library's queue needs of a request: a header it reads and sets, and the bytes. */
interface LibraryRequest {
  header: { xid: number; type: number };
  payload: null;
  toBuffer(): Buffer;
}

interface LibraryResponse {
  payload?: { data?: unknown } | null;
}

const OP_RECONFIG = 16;
const OP_GET_DATA = 4;
const STATE_CONNECTING = 1;
/** Error codes the library knows (Exception.js); any other one makes it throw. */
const LIBRARY_CODES = new Set([
  0, -1, -2, -3, -4, -5, -6, -7, -8, -100, -101, -102, -103, -108, -110, -111, -112, -113, -114, -115,
]);
/** Stands in for an unknown code on its way through the library; the real code is kept by xid. */
const STAND_IN_CODE = -1;
/** A reply header: xid (int), zxid (long), err (int), after the frame's length (int). */
const ERR_OFFSET = 4 + 4 + 8;

const guarded = new WeakMap<LibraryConnection, Map<number, number>>();

/**
 * Keeps ZooKeeper error codes the library does not know (reconfig's -13 NewConfigNoQuorum, -14
 * ReconfigInProgress, -123 ReconfigDisabled, and any newer one) from reaching its Exception.create,
 * which throws inside the socket's data handler and so crashes the process. Each reply frame is
 * looked at before the library reads it: an unknown code is replaced by a known one and the real
 * one kept by the request's xid, for sendReconfig to report. Call it before the library opens its
 * first socket (it binds the handler per socket); idempotent per connection.
 */
export function guardUnknownErrorCodes(cm: LibraryConnection): void {
  if (guarded.has(cm)) return;
  const unknown = new Map<number, number>();
  guarded.set(cm, unknown);
  const original = cm.onSocketData.bind(cm);
  // The library binds `this.onSocketData` when it opens each socket and calls it again for every
  // further frame of a chunk, so this own property sees the start of every frame.
  cm.onSocketData = (chunk: Buffer): void => {
    const buf = cm.pendingBuffer ? Buffer.concat([cm.pendingBuffer, chunk]) : chunk;
    cm.pendingBuffer = null;
    if (cm.state !== STATE_CONNECTING && buf.length >= ERR_OFFSET + 4) {
      const size = buf.readInt32BE(0);
      const err = buf.readInt32BE(ERR_OFFSET);
      if (size >= ERR_OFFSET && buf.length >= 4 + size && !LIBRARY_CODES.has(err)) {
        // Entries are taken by sendReconfig in the same synchronous run; others (a reply to a
        // request of another kind) must not pile up.
        if (unknown.size > 100) unknown.clear();
        unknown.set(buf.readInt32BE(4), err);
        buf.writeInt32BE(STAND_IN_CODE, ERR_OFFSET);
      }
    }
    original(buf);
  };
}

/** The jute encoding of a request frame: length, header (xid, opcode 16), the request. */
export function encodeReconfigRequest(xid: number, req: ReconfigRequest): Buffer {
  const parts: Buffer[] = [int32(xid), int32(OP_RECONFIG)];
  for (const s of [req.joiningServers, req.leavingServers, req.newMembers]) {
    // jute writes a null string as length -1; an empty newMembers would mean "no members at all".
    if (s === null) parts.push(int32(-1));
    else {
      const bytes = Buffer.from(s, "utf8");
      parts.push(int32(bytes.length), bytes);
    }
  }
  const id = Buffer.alloc(8);
  id.writeBigInt64BE(BigInt.asIntN(64, req.curConfigId));
  parts.push(id);
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length), body]);
}

/**
 * Queues one reconfig on the library's connection and calls `done` with its reply, once. The
 * library picks a reply's decoder by the request header's opcode and drops the connection on one it
 * does not know, after the server has applied the change; so the header says GET_DATA (the reply
 * to a reconfig is a GetDataResponse: the new config and its Stat) while opcode 16 goes on the
 * wire. Never retried here: a reconfig is not idempotent.
 */
export function sendReconfig(
  cm: LibraryConnection,
  req: ReconfigRequest,
  done: (reply: ReconfigReply) => void,
): void {
  const unknown = guarded.get(cm);
  if (unknown === undefined)
    throw new Error("sendReconfig: guardUnknownErrorCodes was not called on this connection");
  const header = { xid: 0, type: OP_GET_DATA };
  // The library assigns the xid just before it calls toBuffer, so the bytes are made then.
  const request: LibraryRequest = {
    header,
    payload: null,
    toBuffer: () => encodeReconfigRequest(header.xid, req),
  };
  cm.queue(request, (err, response) => {
    if (err === null || err === undefined) {
      const data = response?.payload?.data;
      done({ ok: true, data: Buffer.isBuffer(data) ? data : Buffer.alloc(0) });
      return;
    }
    const real = unknown.get(header.xid);
    unknown.delete(header.xid);
    done({ ok: false, code: real ?? libraryErrorCode(err) });
  });
}

/** The numeric code of an error the library reports (its Exception), or -1 when it has none. */
export function libraryErrorCode(err: unknown): number {
  if (err !== null && typeof err === "object" && "code" in err && typeof err.code === "number")
    return err.code;
  return -1;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
