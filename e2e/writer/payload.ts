// The data of each znode the writer creates: who wrote it and when, padded to a fixed size, and a
// checksum over all of it, so that a read-back can tell a write that came back intact from one that
// came back different, even for a write whose acknowledgement the writer never received.
import { createHash } from "node:crypto";

/** `RUN|SEQ|ISSUED_AT|FILLER|SUM`: SUM is 16 hex digits of SHA-256 over everything before it. */
const SEPARATOR = "|";
const SUM_HEX = 16;

export interface PayloadFields {
  run: string;
  seq: number;
  /** Milliseconds since the epoch when the writer issued the create. */
  issuedAt: number;
}

export type ParsedPayload = ({ ok: true } & PayloadFields) | { ok: false; reason: string };

function sum(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, SUM_HEX);
}

/** Deterministic filler, so that the expected bytes of a write follow from its run and sequence. */
function filler(run: string, seq: number, length: number): string {
  if (length <= 0) return "";
  const block = createHash("sha256").update(`${run}:${seq}`).digest("hex");
  return block.repeat(Math.ceil(length / block.length)).slice(0, length);
}

/**
 * The payload of write `seq`, `size` characters long (ASCII, so also bytes) when the fields fit;
 * longer, without filler, when they do not.
 */
export function renderPayload(fields: PayloadFields, size: number): string {
  if (fields.run.includes(SEPARATOR)) throw new Error(`run id ${JSON.stringify(fields.run)} contains "|"`);
  const head = `${fields.run}${SEPARATOR}${fields.seq}${SEPARATOR}${fields.issuedAt}${SEPARATOR}`;
  const fixed = head.length + SEPARATOR.length + SUM_HEX;
  const body = head + filler(fields.run, fields.seq, size - fixed);
  return `${body}${SEPARATOR}${sum(body)}`;
}

/** Checks the checksum and the shape; never throws. */
export function parsePayload(text: string): ParsedPayload {
  const cut = text.lastIndexOf(SEPARATOR);
  if (cut < 0) return { ok: false, reason: "no checksum" };
  const body = text.slice(0, cut);
  if (text.slice(cut + 1) !== sum(body)) return { ok: false, reason: "checksum mismatch" };
  const [run, seq, issuedAt] = body.split(SEPARATOR);
  if (
    run === undefined ||
    seq === undefined ||
    issuedAt === undefined ||
    !/^\d+$/.test(seq) ||
    !/^\d+$/.test(issuedAt)
  )
    return { ok: false, reason: "malformed fields" };
  return { ok: true, run, seq: Number(seq), issuedAt: Number(issuedAt) };
}
