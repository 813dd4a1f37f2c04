import { describe, expect, test } from "vitest";
import { fullSpec, fullStatus } from "../../test/fixtures/examples.ts";
import { specSchema, statusSchema, type JSONSchema } from "./schema.ts";

/** Paths present in `value` but not in `schema` (types ahead of schema), and the other way round. */
function compare(
  schema: JSONSchema,
  value: unknown,
  path: string,
  out: { extra: string[]; missing: string[] },
): void {
  if (schema["x-kubernetes-preserve-unknown-fields"] || value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    if (!schema.items) out.extra.push(`${path}[] (no items schema)`);
    else if (value.length === 0) out.missing.push(`${path}[] (example list is empty)`);
    else compare(schema.items, value[0], `${path}[]`, out);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (schema.additionalProperties) {
    if (Object.keys(obj).length === 0) out.missing.push(`${path}{} (example map is empty)`);
    for (const [k, v] of Object.entries(obj)) compare(schema.additionalProperties, v, `${path}.${k}`, out);
    return;
  }
  const props = schema.properties ?? {};
  for (const [k, v] of Object.entries(obj)) {
    const child = props[k];
    if (child === undefined) out.extra.push(`${path}.${k}`);
    else compare(child, v, `${path}.${k}`, out);
  }
  for (const k of Object.keys(props))
    if (!(k in obj) && !FROM_KUBERNETES.some((p) => `${path}.${k}`.startsWith(p)))
      out.missing.push(`${path}.${k}`);
}

/**
 * Kubernetes' own schemas inlined from its OpenAPI (k8s-schemas.json): the example need not fill
 * every field of them, though whatever it sets must be in them (and the kube tier stores it as is).
 */
const FROM_KUBERNETES = ["spec.pod.affinity.", "spec.pod.topologySpreadConstraints[]."];

function walkSchema(schema: JSONSchema, path: string, visit: (s: JSONSchema, path: string) => void): void {
  visit(schema, path);
  for (const [k, child] of Object.entries(schema.properties ?? {})) walkSchema(child, `${path}.${k}`, visit);
  if (schema.items) walkSchema(schema.items, `${path}[]`, visit);
}

describe("types and schema agree", () => {
  test.each([
    ["spec", specSchema, fullSpec],
    ["status", statusSchema, fullStatus],
  ] as const)(
    "every field of the fully populated %s is in the schema, and every schema field in it",
    (name, schema, example) => {
      const out = { extra: [] as string[], missing: [] as string[] };
      compare(schema, example, name, out);
      expect(out).toEqual({ extra: [], missing: [] });
    },
  );

  test("every field has a description (kubectl explain)", () => {
    const undescribed: string[] = [];
    for (const [name, schema] of [
      ["spec", specSchema],
      ["status", statusSchema],
    ] as const) {
      walkSchema(schema, name, (s, path) => {
        if (!s.description?.trim()) undescribed.push(path);
      });
    }
    // List items are described by their list.
    expect(undescribed.filter((p) => !p.endsWith("[]"))).toEqual([]);
  });

  test("every default satisfies its own field's enum and bounds", () => {
    const bad: string[] = [];
    walkSchema(specSchema, "spec", (s, path) => {
      const d = s.default;
      if (d === undefined) return;
      if (s.enum && !s.enum.includes(d as string)) bad.push(`${path}: ${JSON.stringify(d)} not in enum`);
      if (typeof d === "number" && s.minimum !== undefined && d < s.minimum)
        bad.push(`${path}: below minimum`);
      if (typeof d === "number" && s.maximum !== undefined && d > s.maximum)
        bad.push(`${path}: above maximum`);
      if (s.type === "object" && (typeof d !== "object" || d === null))
        bad.push(`${path}: default is not an object`);
    });
    expect(bad).toEqual([]);
  });
});
