// Talking to the local ZooKeeper: one four-letter word per TCP connection (no process is ever
// spawned), and pure parsers of the answers of `srvr`, `mntr` and `conf`.
import { connect } from "node:net";
import { parseServerLine, type ServerLine } from "./contract.ts";

export type FourLetterFailure = "timeout" | "connection" | "not_serving" | "not_whitelisted" | "empty";

export class FourLetterError extends Error {
  readonly reason: FourLetterFailure;
  readonly word: string;

  constructor(word: string, reason: FourLetterFailure, message: string) {
    super(message);
    this.name = "FourLetterError";
    this.word = word;
    this.reason = reason;
  }
}

const NOT_SERVING = "This ZooKeeper instance is not currently serving requests";
const NOT_WHITELISTED = "is not executed because it is not in the whitelist";
/** Answers are small (mntr is ~17 KB); more than this is not ZooKeeper talking. */
const MAX_ANSWER_BYTES = 1 << 20;

/** Sends `word` to host:port and resolves with the whole answer; rejects with a FourLetterError. */
export function sendFourLetterWord(
  host: string,
  port: number,
  word: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failure: FourLetterError | null = null;
    const socket = connect({ host, port });
    const fail = (reason: FourLetterFailure, message: string): void => {
      failure ??= new FourLetterError(word, reason, message);
      socket.destroy();
    };
    const timer = setTimeout(() => {
      fail("timeout", `${word} to ${host}:${port}: no answer within ${timeoutMs} ms`);
    }, timeoutMs);
    socket.setNoDelay(true);
    socket.on("connect", () => socket.end(word));
    socket.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES)
        fail("connection", `${word} to ${host}:${port}: answer larger than ${MAX_ANSWER_BYTES} bytes`);
      else chunks.push(chunk);
    });
    socket.on("error", (err: Error & { code?: string }) => {
      fail("connection", `${word} to ${host}:${port}: ${err.code ?? err.message}`);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (failure) {
        reject(failure);
        return;
      }
      const text = Buffer.concat(chunks).toString("utf8");
      if (text === "") reject(new FourLetterError(word, "empty", `${word} to ${host}:${port}: empty answer`));
      else if (text.startsWith(NOT_SERVING)) reject(new FourLetterError(word, "not_serving", NOT_SERVING));
      else if (text.includes(NOT_WHITELISTED)) {
        reject(
          new FourLetterError(
            word,
            "not_whitelisted",
            `${word} is not in ZooKeeper's 4lw.commands.whitelist`,
          ),
        );
      } else resolve(text);
    });
  });
}

export type ServerMode = "leader" | "follower" | "observer" | "standalone";
const MODES: readonly string[] = ["leader", "follower", "observer", "standalone"];

export interface Srvr {
  mode: ServerMode;
  /** Last zxid, as ZooKeeper prints it (0x...). */
  zxid: string | null;
  version: string | null;
  nodeCount: number | null;
}

/** Parses `srvr`; throws when the answer has no Mode line. */
export function parseSrvr(text: string): Srvr {
  const field = (name: string): string | null =>
    new RegExp(`^${name}: ?(.*)$`, "m").exec(text)?.[1]?.trim() ?? null;
  const mode = field("Mode");
  if (mode === null || !MODES.includes(mode))
    throw new Error(`srvr answer has no known Mode line: ${JSON.stringify(text.slice(0, 200))}`);
  const nodes = field("Node count");
  const zxid = field("Zxid");
  return {
    mode: mode as ServerMode,
    zxid: zxid !== null && /^0x[0-9a-f]+$/i.test(zxid) ? zxid : null,
    version: field("Zookeeper version"),
    nodeCount: nodes !== null && /^\d+$/.test(nodes) ? Number(nodes) : null,
  };
}

export interface Mntr {
  /** Every well-formed `zk_key<TAB>value` line, keyed without the `zk_` prefix. */
  values: Map<string, string>;
  /** Lines that were not `zk_key<TAB>value`. */
  malformed: string[];
}

/** Parses `mntr` line by line; a bad line is reported, never thrown. */
export function parseMntr(text: string): Mntr {
  const values = new Map<string, string>();
  const malformed: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^zk_([a-z0-9_]+)\t(.*)$/.exec(line.replace(/\r$/, ""));
    if (!m?.[1] || m[2] === undefined) {
      malformed.push(line);
      continue;
    }
    values.set(m[1], m[2]);
  }
  return { values, malformed };
}

export interface Conf {
  serverId: number | null;
  /** The committed ensemble config version (hex, without 0x), or null when conf shows none. */
  version: string | null;
  members: ServerLine[];
}

/** Parses `conf`: the server id, and the `membership:` section's server lines and version. */
export function parseConf(text: string): Conf {
  const id = /^serverId=(\d+)$/m.exec(text)?.[1];
  const version = /^version=([0-9a-f]+)$/m.exec(text)?.[1] ?? null;
  const members: ServerLine[] = [];
  for (const line of text.split("\n")) {
    const parsed = line.startsWith("server.") ? parseServerLine(line) : null;
    if (parsed) members.push(parsed);
  }
  return {
    serverId: id === undefined ? null : Number(id),
    version,
    members: members.sort((a, b) => a.id - b.id),
  };
}
