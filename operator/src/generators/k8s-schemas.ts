// `npm run vendor:k8s-schemas`: the Kubernetes schemas of the pod fields the CRD passes through
// (core/v1 Affinity and TopologySpreadConstraint), taken from the OpenAPI v3 document of the
// Kubernetes release the rig pins (k8s.io/kubernetes's api/openapi-spec/v3, in the Go module
// cache once e2e/rig/build-tools.sh has run) and written to operator/src/api/k8s-schemas.json.
// The CRD inlines them, so the API server refuses a misspelt or mistyped affinity with the field's
// path instead of keeping it as an unknown field for the StatefulSet to fail on later.
//
// Made structural for a CRD: every $ref inlined; no `default` (Kubernetes' OpenAPI marks Go zero
// values as defaults, which a CRD would apply: a missing maxSkew would silently become 0); no
// list-type or patch markers (map list keys would have to be required or defaulted); descriptions
// cut to their first sentence.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { format } from "prettier";
import type { JSONSchema } from "../api/schema.ts";

const repoRoot = resolve(import.meta.dirname, "../../..");
const K8S_SCHEMAS_FILE = "operator/src/api/k8s-schemas.json";
/** The types vendored, by the name the CRD uses. */
const TYPES = {
  Affinity: "io.k8s.api.core.v1.Affinity",
  TopologySpreadConstraint: "io.k8s.api.core.v1.TopologySpreadConstraint",
} as const;

type OpenApiSchema = Record<string, unknown>;
const KEPT = new Set([
  "type",
  "description",
  "properties",
  "items",
  "required",
  "enum",
  "format",
  "additionalProperties",
  "x-kubernetes-int-or-string",
]);

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end < 0 ? text : text.slice(0, end + 1);
}

/** `schema` with every $ref (bare or wrapped in a one-element allOf) replaced by its definition. */
function inline(schema: OpenApiSchema, all: Record<string, OpenApiSchema>, path: string[]): JSONSchema {
  const allOf = schema.allOf as OpenApiSchema[] | undefined;
  const ref =
    (schema.$ref as string | undefined) ?? (allOf?.length === 1 ? (allOf[0]?.$ref as string) : undefined);
  if (ref !== undefined) {
    const name = ref.replace("#/components/schemas/", "");
    if (path.includes(name)) throw new Error(`recursive schema ${[...path, name].join(" → ")}`);
    const target = all[name];
    if (!target) throw new Error(`${ref} is not in the document`);
    const own = typeof schema.description === "string" ? { description: schema.description } : {};
    return inline({ ...target, ...own }, all, [...path, name]);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!KEPT.has(key)) continue;
    if (key === "description") out.description = firstSentence(value as string);
    else if (key === "properties")
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, OpenApiSchema>).map(([k, v]) => [k, inline(v, all, path)]),
      );
    else if (key === "items" || (key === "additionalProperties" && typeof value === "object"))
      out[key] = inline(value as OpenApiSchema, all, path);
    else out[key] = value;
  }
  return out;
}

async function main(): Promise<void> {
  const versions = Object.fromEntries(
    readFileSync(join(repoRoot, "e2e/rig/versions.env"), "utf8")
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split("=") as [string, string]),
  );
  const version = versions.KUBERNETES_VERSION ?? "";
  const modCache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const source = join(modCache, `k8s.io/kubernetes@${version}`, "api/openapi-spec/v3/api__v1_openapi.json");
  const doc = JSON.parse(readFileSync(source, "utf8")) as {
    components: { schemas: Record<string, OpenApiSchema> };
  };
  const schemas = Object.fromEntries(
    Object.entries(TYPES).map(([name, id]) => {
      const s = doc.components.schemas[id];
      if (!s) throw new Error(`${id} is not in ${source}`);
      return [name, inline(s, doc.components.schemas, [id])];
    }),
  );
  const file = { source: `k8s.io/kubernetes@${version} api/openapi-spec/v3/api__v1_openapi.json`, schemas };
  writeFileSync(join(repoRoot, K8S_SCHEMAS_FILE), await format(JSON.stringify(file), { parser: "json" }));
  console.log(`wrote ${K8S_SCHEMAS_FILE} from ${source}`);
}

await main();
