// Kubernetes resource quantities ("512Mi", "1G", "1.5Gi", "100m") as numbers, for the few checks the
// operator makes on them (heap versus memory). Pure; throws on what the API server would reject.

const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/;

/** The value of a quantity in base units (bytes for memory); throws an Error for a malformed one. */
export function parseQuantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = QUANTITY.exec(q.trim());
  if (!m?.[1]) throw new Error(`${JSON.stringify(q)} is not a Kubernetes quantity`);
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  return base * (SUFFIX[m[3] ?? ""] ?? 1);
}

/** The JVM heap format of jvm.heap: a whole number of mebibytes (`m`) or gibibytes (`g`). */
export const HEAP_PATTERN = "^[1-9][0-9]{0,6}[mMgG]$";

/** jvm.heap in MiB; throws for a value that does not match HEAP_PATTERN. */
export function parseHeapMiB(heap: string): number {
  if (!new RegExp(HEAP_PATTERN).test(heap))
    throw new Error(`${JSON.stringify(heap)} is not a heap size like 512m or 2g`);
  const n = Number(heap.slice(0, -1));
  return /[gG]$/.test(heap) ? n * 1024 : n;
}
