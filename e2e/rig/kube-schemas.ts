// JSON schemas for kubeconform, made from what a real API server publishes rather than
// downloaded: every built-in kind from the OpenAPI v3 of the kube tier's kube-apiserver (so the
// schemas are exactly the pinned Kubernetes version's), and every kind of the CRDs handed in
// (ours from buildCrd(), the Prometheus Operator's from build-tools.sh) from their
// openAPIV3Schema, the way the API server publishes a CRD: its own metadata is an ObjectMeta.
//
// Each file stands alone (every definition it refers to is embedded) and is strict, like
// kubeconform's openapi2jsonschema --strict: an object schema that lists its properties gets
// `additionalProperties: false`, unless it keeps unknown fields (x-kubernetes-preserve-unknown-fields).
// Files are laid out as SCHEMA_LOCATION says, the template kubeconform's -schema-location takes.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadAll } from "js-yaml";
import { KubeClient, loadKubeConfig } from "../../operator/src/runtime/kube.ts";
import { kubeconformPath } from "./paths.ts";

/**
 * kubeconform's -schema-location template, relative to the schema folder. Group is the
 * apiVersion's part before the slash ("apps", "monitoring.coreos.com"; "v1" for the core group),
 * so that kinds of the same name in different groups never share a file.
 */
export const SCHEMA_LOCATION = "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json";

/** A schema as OpenAPI v3 or a CRD writes it, or the JSON schema made from it. */
export type Schema = { [key: string]: unknown };

export interface OpenApiV3Document {
  components?: { schemas?: Record<string, Schema> };
}

/** What is read from a CustomResourceDefinition (buildCrd()'s, or one parsed from YAML). */
export interface CrdSource {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema?: { openAPIV3Schema?: unknown } }[];
  };
}

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const REF_PREFIX = "#/components/schemas/";

/** OpenAPI's words that JSON schema (draft 4, kubeconform's) does not check: left out. */
const DROPPED = new Set([
  "description",
  "default",
  "example",
  "externalDocs",
  "discriminator",
  "readOnly",
  "writeOnly",
  "deprecated",
  "nullable",
]);

/** The file kubeconform looks up for a kind, relative to the schema folder (as SCHEMA_LOCATION renders it). */
export function schemaFile(apiVersion: string, kind: string): string {
  const parts = apiVersion.split("/");
  return `${parts[0]}/${kind.toLowerCase()}_${parts[parts.length - 1]}.json`;
}

function isSchema(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * One OpenAPI schema as strict JSON schema. `refs` collects the definitions it refers to;
 * `$ref`s point into the file's own `definitions`.
 */
function convert(node: Schema, refs: Set<string>): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key) || key.startsWith("x-")) continue;
    if (key === "$ref" && typeof value === "string") {
      if (!value.startsWith(REF_PREFIX)) throw new Error(`unexpected $ref ${value}`);
      const name = value.slice(REF_PREFIX.length);
      refs.add(name);
      out.$ref = `#/definitions/${name}`;
    } else if (key === "properties" && isSchema(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, isSchema(v) ? convert(v, refs) : v]),
      );
    } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = value.map((v: unknown) => (isSchema(v) ? convert(v, refs) : v));
    } else if ((key === "items" || key === "additionalProperties" || key === "not") && isSchema(value)) {
      out[key] = convert(value, refs);
    } else {
      out[key] = value;
    }
  }
  if (node["x-kubernetes-embedded-resource"] === true) {
    // The API server checks an embedded object as an object of its own: apiVersion, kind, metadata.
    const props = isSchema(out.properties) ? out.properties : {};
    refs.add(OBJECT_META);
    out.properties = {
      ...props,
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { $ref: `#/definitions/${OBJECT_META}` },
    };
  }
  // A CRD's int-or-string may come without the anyOf that says so (the API server accepts both).
  if (node["x-kubernetes-int-or-string"] === true && !out.anyOf && !out.oneOf) {
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (out.properties && out.additionalProperties === undefined) {
    if (node["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false;
  }
  // OpenAPI v3 wraps a $ref in allOf only to give it a description or a default, both left out
  // here; unwrapped, kubeconform's errors name the field that failed instead of "allOf failed".
  const only = Array.isArray(out.allOf) && out.allOf.length === 1 ? (out.allOf[0] as unknown) : undefined;
  const schema =
    Object.keys(out).length === 1 && isSchema(only) && typeof only.$ref === "string" ? only : out;
  if (node.nullable !== true) return schema;
  if (typeof schema.type !== "string" || schema.$ref !== undefined)
    return { anyOf: [{ type: "null" }, schema] };
  schema.type = [schema.type, "null"];
  if (Array.isArray(schema.enum)) schema.enum = [...(schema.enum as unknown[]), null];
  return schema;
}

/** The API server's definitions, each converted once however many kinds embed it. */
class Definitions {
  private readonly converted = new Map<string, { schema: Schema; refs: Set<string> }>();
  private readonly pool: Map<string, Schema>;

  constructor(pool: Map<string, Schema>) {
    this.pool = pool;
  }

  get(name: string): { schema: Schema; refs: Set<string> } {
    let d = this.converted.get(name);
    if (!d) {
      const source = this.pool.get(name);
      if (!source) throw new Error(`no definition ${name} in the API server's OpenAPI`);
      const refs = new Set<string>();
      d = { schema: convert(source, refs), refs };
      this.converted.set(name, d);
    }
    return d;
  }

  /** A kind's schema with every definition it reaches embedded. */
  standalone(root: Schema): Schema {
    const refs = new Set<string>();
    const schema = convert(root, refs);
    const definitions: Record<string, Schema> = {};
    const todo = [...refs];
    for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
      if (definitions[name]) continue;
      const d = this.get(name);
      definitions[name] = d.schema;
      for (const r of d.refs) if (!definitions[r]) todo.push(r);
    }
    return Object.keys(definitions).length ? { ...schema, definitions } : schema;
  }
}

/**
 * Every kind of the group-version documents and of the CRDs, by file (schemaFile()). A CRD's
 * kinds replace what the API server published for them, so a CRD installed on the server from
 * another revision does not stand in for the one handed in.
 */
export function buildKindSchemas(
  documents: { apiVersion: string; document: OpenApiV3Document }[],
  crds: CrdSource[],
): Map<string, Schema> {
  const pool = new Map<string, Schema>();
  for (const { document } of documents)
    for (const [name, s] of Object.entries(document.components?.schemas ?? {})) pool.set(name, s);
  const definitions = new Definitions(pool);
  const out = new Map<string, Schema>();
  for (const { apiVersion, document } of documents) {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    for (const s of Object.values(document.components?.schemas ?? {})) {
      const gvks = (s["x-kubernetes-group-version-kind"] ?? []) as {
        group: string;
        version: string;
        kind: string;
      }[];
      // Only the document's own group-version: DeleteOptions and WatchEvent name every group.
      for (const gvk of gvks)
        if (gvk.group === group && gvk.version === version)
          out.set(schemaFile(apiVersion, gvk.kind), definitions.standalone(s));
    }
  }
  for (const crd of crds) {
    for (const v of crd.spec.versions) {
      const root = v.schema?.openAPIV3Schema;
      if (!isSchema(root)) throw new Error(`${crd.spec.names.kind} ${v.name} has no openAPIV3Schema`);
      const apiVersion = `${crd.spec.group}/${v.name}`;
      // The API server publishes a CRD's own metadata as ObjectMeta, apiVersion and kind as strings.
      const published = { ...root, "x-kubernetes-embedded-resource": true };
      out.set(schemaFile(apiVersion, crd.spec.names.kind), definitions.standalone(published));
    }
  }
  return out;
}

/** The CRDs of every YAML file in `dir` (e.g. prometheusOperatorCrdsDir()). */
export function readCrdFiles(dir: string): CrdSource[] {
  const files = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n));
  const docs = files.sort().flatMap((f) => loadAll(readFileSync(join(dir, f), "utf8")));
  return docs.filter((d) => isSchema(d) && d.kind === "CustomResourceDefinition") as CrdSource[];
}

/** Every group-version document of the API server's OpenAPI v3 (`api/v1`, `apis/GROUP/VERSION`). */
export async function readOpenApiV3(
  kubeconfigPath: string,
): Promise<{ apiVersion: string; document: OpenApiV3Document }[]> {
  const client = new KubeClient(await loadKubeConfig(kubeconfigPath), { fieldManager: "kube-schemas" });
  try {
    const index = await client.request<{ paths: Record<string, { serverRelativeURL: string }> }>(
      "GET",
      "/openapi/v3",
    );
    const groupVersions = Object.entries(index.paths).filter(([p]) =>
      /^(api\/v1|apis\/[^/]+\/[^/]+)$/.test(p),
    );
    return await Promise.all(
      groupVersions.map(async ([p, { serverRelativeURL }]) => ({
        apiVersion: p.replace(/^apis?\//, ""),
        document: await client.request<OpenApiV3Document>("GET", serverRelativeURL),
      })),
    );
  } finally {
    client.close();
  }
}

/**
 * Writes the schema of every kind the API server at `kubeconfigPath` serves, and of `crds`, into
 * `dir` (laid out as SCHEMA_LOCATION says). Resolves to the files written, relative to `dir`.
 */
export async function writeKubeSchemas(
  kubeconfigPath: string,
  dir: string,
  crds: CrdSource[],
): Promise<string[]> {
  const schemas = buildKindSchemas(await readOpenApiV3(kubeconfigPath), crds);
  for (const [file, schema] of schemas) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), JSON.stringify(schema));
  }
  return [...schemas.keys()].sort();
}

/** kubeconform's `-output json -summary -verbose`: every resource, and the counts. */
export interface KubeconformReport {
  resources: {
    filename: string;
    kind: string;
    name: string;
    version: string;
    status: "statusValid" | "statusInvalid" | "statusError" | "statusSkipped";
    msg: string;
    validationErrors?: { path: string; msg: string }[];
  }[];
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

/**
 * Validates the manifests (a YAML stream, e.g. `helm template`'s output) with the pinned
 * kubeconform, strictly, against the schemas in `schemaDir` only: a kind without a schema there
 * is an error, never a download or a skip.
 */
export function runKubeconform(
  schemaDir: string,
  manifests: string,
  kubernetesVersion: string,
): Promise<KubeconformReport> {
  const kubeconform = kubeconformPath();
  if (!existsSync(kubeconform)) {
    return Promise.reject(new Error(`no ${kubeconform}: run bash e2e/rig/build-tools.sh`));
  }
  const args = [
    "-strict",
    "-summary",
    "-verbose",
    "-output",
    "json",
    "-kubernetes-version",
    kubernetesVersion.replace(/^v/, ""),
    "-schema-location",
    join(schemaDir, SCHEMA_LOCATION),
    "-",
  ];
  return new Promise((resolve, reject) => {
    const options = { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 };
    const child = execFile(kubeconform, args, options, (err, stdout, stderr) => {
      // Exit status 1 means "some resource is invalid": the report says which.
      try {
        resolve(JSON.parse(stdout) as KubeconformReport);
      } catch {
        reject(new Error(`kubeconform ${args.join(" ")}: ${stderr.trim() || err?.message || stdout}`));
      }
    });
    child.stdin?.end(manifests);
  });
}
