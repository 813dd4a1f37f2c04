import { describe, expect, test } from "vitest";
import { renderPayload } from "./payload.ts";
import { combineVerdicts, unreadableMember, verifyMember, type AckedWrite, type ReadNode } from "./verify.ts";

const run = "r1";
const parent = "/zk-writer/r1";
const size = 96;
const write = (
  seq: number,
  zxid: string | null = `0x1000000${seq.toString(16).padStart(2, "0")}`,
): AckedWrite => ({
  seq,
  path: `${parent}/w-${String(seq).padStart(10, "0")}`,
  zxid,
  issuedAt: 1000 + seq,
  ackedAt: 1010 + seq,
});
const name = (w: AckedWrite): string => w.path.slice(parent.length + 1);
const intact = (w: AckedWrite): ReadNode => ({
  data: renderPayload({ run, seq: w.seq, issuedAt: w.issuedAt }, size),
  czxid: w.zxid ?? "0x1",
});

function verify(acked: AckedWrite[], children: string[], nodes: [string, ReadNode][]) {
  return verifyMember({
    member: 1,
    run,
    parent,
    payloadBytes: size,
    acked,
    read: { children, nodes: new Map(nodes) },
  });
}

describe("verifyMember", () => {
  const a = write(1);
  const b = write(2);
  const c = write(3);

  test("every acknowledged write present and intact: nothing lost, nothing corrupted", () => {
    const v = verify(
      [a, b],
      [name(a), name(b)],
      [
        [name(a), intact(a)],
        [name(b), intact(b)],
      ],
    );
    expect(v).toMatchObject({ lost: [], corrupted: [], contentChecked: 2, children: 2, foreign: [] });
  });

  test("a missing acknowledged write is lost", () => {
    expect(verify([a, b], [name(a)], []).lost).toEqual([b.path]);
  });

  test("presence only for writes whose content was not read", () => {
    const v = verify([a, b], [name(a), name(b)], [[name(b), intact(b)]]);
    expect(v).toMatchObject({ lost: [], corrupted: [], contentChecked: 1 });
  });

  test("different bytes, another write's bytes, or another zxid are corrupted", () => {
    const v = verify(
      [a, b, c],
      [name(a), name(b), name(c)],
      [
        [name(a), { ...intact(a), data: intact(a).data.replace(/.$/, "x") }],
        [name(b), intact(c)],
        [name(c), { ...intact(c), czxid: "0x200000001" }],
      ],
    );
    expect(v.corrupted).toEqual([
      { path: a.path, why: "checksum mismatch" },
      { path: b.path, why: "holds write r1#3, expected #2" },
      { path: c.path, why: `czxid 0x200000001, acknowledged as ${c.zxid ?? ""}` },
    ]);
  });

  test("an unknown zxid skips only the zxid check", () => {
    const w = write(4, null);
    expect(verify([w], [name(w)], [[name(w), { ...intact(w), czxid: "0x999" }]]).corrupted).toEqual([]);
  });

  test("this run's writes that failed but landed are counted apart; anything else is foreign", () => {
    const failed = write(9);
    const v = verify(
      [a],
      [name(a), name(failed), "w-0000000077", "w-0000000078", "w-0000000079"],
      [
        [name(a), intact(a)],
        [name(failed), intact(failed)],
        ["w-0000000077", { data: renderPayload({ run: "other", seq: 1, issuedAt: 1 }, size), czxid: "0x1" }],
        ["w-0000000078", { data: "garbage", czxid: "0x1" }],
      ],
    );
    expect(v.unacknowledgedPresent).toBe(1);
    expect(v.foreign).toEqual([
      { name: "w-0000000077", why: "written by run other" },
      { name: "w-0000000078", why: "no checksum" },
      { name: "w-0000000079", why: "not read" },
    ]);
  });
});

test("combineVerdicts counts distinct writes across members and unreadable members", () => {
  const a = write(1);
  const m1 = verify([a], [], []);
  const m2 = { ...verify([a], [], []), member: 2 };
  const v = combineVerdicts(1, [m1, m2, unreadableMember(3, "no session")]);
  expect(v).toMatchObject({ acknowledged: 1, lost: 1, corrupted: 0, unreadable: 1 });
});
