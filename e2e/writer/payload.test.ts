import { describe, expect, test } from "vitest";
import { parsePayload, renderPayload } from "./payload.ts";

describe("payload", () => {
  const fields = { run: "20250101-abc", seq: 42, issuedAt: 1_700_000_000_123 };

  test("is exactly the requested size and reads back as the write it was", () => {
    const p = renderPayload(fields, 128);
    expect(p).toHaveLength(128);
    expect(parsePayload(p)).toEqual({ ok: true, ...fields });
  });

  test("is deterministic: the expected bytes of a write follow from its fields", () => {
    expect(renderPayload(fields, 128)).toBe(renderPayload({ ...fields }, 128));
    expect(renderPayload(fields, 128)).not.toBe(renderPayload({ ...fields, seq: 43 }, 128));
  });

  test("grows past the size rather than cut its fields", () => {
    const p = renderPayload(fields, 10);
    expect(p.length).toBeGreaterThan(10);
    expect(parsePayload(p)).toEqual({ ok: true, ...fields });
  });

  test("a changed byte anywhere fails the checksum", () => {
    const p = renderPayload(fields, 128);
    for (const i of [0, 14, 40, 100, 127]) {
      const flipped = p.slice(0, i) + (p[i] === "0" ? "1" : "0") + p.slice(i + 1);
      expect(parsePayload(flipped).ok, `byte ${i}`).toBe(false);
    }
    expect(parsePayload("")).toEqual({ ok: false, reason: "no checksum" });
    expect(parsePayload(p.slice(0, 64))).toEqual({ ok: false, reason: "checksum mismatch" });
  });

  test("refuses a run id that would break the format", () => {
    expect(() => renderPayload({ ...fields, run: "a|b" }, 128)).toThrow(/contains "\|"/);
  });
});
