// The checker's verdict for one member: every write ZooKeeper acknowledged must be there, with
// exactly the bytes the writer sent and the zxid ZooKeeper acknowledged it with. Pure: the writer
// reads the member, this decides.
import { parsePayload, renderPayload } from "./payload.ts";

export interface AckedWrite {
  seq: number;
  /** The full path ZooKeeper returned (the parent plus the sequential name). */
  path: string;
  /** The zxid of the create's reply, `0x…`; null when the client could not tell it. */
  zxid: string | null;
  issuedAt: number;
  ackedAt: number;
}

export interface ReadNode {
  data: string;
  /** `0x…` */
  czxid: string;
}

export interface MemberRead {
  /** Names of the parent's children on this member. */
  children: readonly string[];
  /** Contents read for some of them (see `expectContent`). */
  nodes: ReadonlyMap<string, ReadNode>;
}

export interface MemberVerdict {
  member: number;
  /** Set when the member could not be read; the other fields are then empty. */
  error: string | null;
  children: number;
  /** Acknowledged writes whose bytes were compared. */
  contentChecked: number;
  /** Paths of acknowledged writes that are missing. */
  lost: string[];
  /** Acknowledged writes read back different, with why. */
  corrupted: { path: string; why: string }[];
  /** This run's writes that are present although their create failed or was still in flight. */
  unacknowledgedPresent: number;
  /** Children that are not this run's intact writes (bad checksum, another run, unreadable). */
  foreign: { name: string; why: string }[];
}

export interface VerifyInput {
  member: number;
  run: string;
  parent: string;
  payloadBytes: number;
  acked: readonly AckedWrite[];
  read: MemberRead;
}

export function nameOf(parent: string, path: string): string {
  return path.startsWith(`${parent}/`) ? path.slice(parent.length + 1) : path;
}

/** Compares one member's read-back with the acknowledged writes. */
export function verifyMember(input: VerifyInput): MemberVerdict {
  const { run, parent, read } = input;
  const present = new Set(read.children);
  const ackedNames = new Set<string>();
  const verdict: MemberVerdict = {
    member: input.member,
    error: null,
    children: read.children.length,
    contentChecked: 0,
    lost: [],
    corrupted: [],
    unacknowledgedPresent: 0,
    foreign: [],
  };
  for (const w of input.acked) {
    const name = nameOf(parent, w.path);
    ackedNames.add(name);
    if (!present.has(name)) {
      verdict.lost.push(w.path);
      continue;
    }
    const node = read.nodes.get(name);
    if (node === undefined) continue;
    verdict.contentChecked++;
    const expected = renderPayload({ run, seq: w.seq, issuedAt: w.issuedAt }, input.payloadBytes);
    if (node.data !== expected) {
      const parsed = parsePayload(node.data);
      const why = parsed.ok ? `holds write ${parsed.run}#${parsed.seq}, expected #${w.seq}` : parsed.reason;
      verdict.corrupted.push({ path: w.path, why });
    } else if (w.zxid !== null && node.czxid !== w.zxid) {
      verdict.corrupted.push({ path: w.path, why: `czxid ${node.czxid}, acknowledged as ${w.zxid}` });
    }
  }
  for (const name of read.children) {
    if (ackedNames.has(name)) continue;
    const node = read.nodes.get(name);
    if (node === undefined) {
      verdict.foreign.push({ name, why: "not read" });
      continue;
    }
    const parsed = parsePayload(node.data);
    if (!parsed.ok) verdict.foreign.push({ name, why: parsed.reason });
    else if (parsed.run !== run) verdict.foreign.push({ name, why: `written by run ${parsed.run}` });
    else verdict.unacknowledgedPresent++;
  }
  return verdict;
}

export interface Verdict {
  /** Acknowledged writes checked (on every member). */
  acknowledged: number;
  /** Distinct acknowledged writes missing on at least one member. */
  lost: number;
  /** Distinct acknowledged writes read back different on at least one member. */
  corrupted: number;
  /** Members that could not be read at all. */
  unreadable: number;
  members: MemberVerdict[];
}

export function combineVerdicts(acknowledged: number, members: readonly MemberVerdict[]): Verdict {
  const lost = new Set(members.flatMap((m) => m.lost));
  const corrupted = new Set(members.flatMap((m) => m.corrupted.map((c) => c.path)));
  return {
    acknowledged,
    lost: lost.size,
    corrupted: corrupted.size,
    unreadable: members.filter((m) => m.error !== null).length,
    members: [...members],
  };
}

/** The verdict for a member that could not be read. */
export function unreadableMember(member: number, error: string): MemberVerdict {
  return {
    member,
    error,
    children: 0,
    contentChecked: 0,
    lost: [],
    corrupted: [],
    unacknowledgedPresent: 0,
    foreign: [],
  };
}
