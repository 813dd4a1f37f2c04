// Does a desired child need a server-side apply? Pure.
//
// An apply that changes nothing is still a write request to the API server; at 1000 clusters a
// resync would send thousands of them. So we apply only when
//   - the child is missing, or
//   - the hash of what we would apply differs from the hash we stamped on the last apply (a
//     field we used to set and no longer do is only removed by a new apply), or
//   - a field we set was changed by someone else (the desired object is no longer a subset of
//     the live one: the API server adds defaults and other managers add fields, both fine).
import { createHash } from "node:crypto";
import { GROUP } from "../api/types.ts";
import type { KubeObject } from "../api/objects.ts";
import { parseQuantity } from "../api/quantity.ts";

export const APPLIED_HASH_ANNOTATION = `${GROUP}/applied-hash`;

/** Stable JSON: object keys sorted, so equal objects hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return value === undefined ? "null" : JSON.stringify(value);
}

export function computeAppliedHash(obj: KubeObject): string {
  return createHash("sha256").update(canonicalJson(obj)).digest("hex").slice(0, 16);
}

/** The desired object with the hash of its content stamped on it (the hash excludes itself). */
export function withAppliedHash<T extends KubeObject>(obj: T): T {
  const hash = computeAppliedHash(obj);
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: { ...(obj.metadata?.annotations ?? {}), [APPLIED_HASH_ANNOTATION]: hash },
    },
  };
}

export type ApplyReason = "missing" | "changed" | "drifted";

/** Why `desired` must be applied over `live`, or null when the live object already matches. */
export function computeApplyReason(desired: KubeObject, live: KubeObject | undefined): ApplyReason | null {
  if (!live) return "missing";
  const hash = computeAppliedHash(desired);
  if (live.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== hash) return "changed";
  return isSubset(normalizeDesired(desired), live) ? null : "drifted";
}

/** Secret.stringData is write-only: the API server stores it base64-encoded under data. */
function normalizeDesired(desired: KubeObject): unknown {
  const d = desired as KubeObject & { stringData?: Record<string, string>; data?: Record<string, string> };
  if (desired.kind !== "Secret" || !d.stringData) return desired;
  const data = { ...(d.data ?? {}) };
  for (const [k, v] of Object.entries(d.stringData)) data[k] = Buffer.from(v, "utf8").toString("base64");
  const { stringData: _drop, ...rest } = d;
  return { ...rest, data };
}

/**
 * True when every field of `want` is present in `have` with an equal value. Lists must have the
 * same length and match element by element; quantities compare by value ("1000m" = "1").
 */
export function isSubset(want: unknown, have: unknown): boolean {
  if (want === null || want === undefined) return true;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    return want.every((w, i) => isSubset(w, have[i]));
  }
  if (typeof want === "object") {
    if (have === null || typeof have !== "object" || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    for (const [k, v] of Object.entries(want as Record<string, unknown>)) {
      if (v === undefined) continue;
      // An empty object or list we send is often omitted by the server: nothing to compare.
      if (h[k] === undefined && isEmpty(v)) continue;
      if (!isSubset(v, h[k])) return false;
    }
    return true;
  }
  if (want === have) return true;
  if (typeof want === "string" && typeof have === "string") return sameQuantity(want, have);
  if (typeof want === "number" && typeof have === "string") return String(want) === have;
  return false;
}

function isEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === "object") return Object.values(v).every((x) => x === undefined);
  return false;
}

/** The API server canonicalises resource quantities ("0.5" → "500m"); equal values match. */
export function sameQuantity(a: string, b: string): boolean {
  let va: number;
  let vb: number;
  try {
    va = parseQuantity(a);
    vb = parseQuantity(b);
  } catch {
    return false;
  }
  return Number.isFinite(va) && Math.abs(va - vb) <= Math.abs(va) * 1e-12;
}
