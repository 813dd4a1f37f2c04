// A small YAML emitter for JSON values (block style), enough for the generated CRD: plain scalars
// where YAML reads them back as the same string, JSON-quoted strings everywhere else (a JSON string
// is a valid YAML double-quoted scalar).

const PLAIN = /^[A-Za-z_/][A-Za-z0-9 _./()=-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") {
    const plain = PLAIN.test(value) && !RESERVED.test(value) && !value.endsWith(" ") && !value.includes(" -");
    return plain ? value : JSON.stringify(value);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new Error(`cannot emit ${typeof value} as YAML`);
}

function isEmptyCollection(value: unknown): string | null {
  if (Array.isArray(value) && value.length === 0) return "[]";
  if (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 0
  ) {
    return "{}";
  }
  return null;
}

function emit(value: unknown, indent: string, out: string[], prefix: string): void {
  const empty = isEmptyCollection(value);
  if (empty !== null || typeof value !== "object" || value === null) {
    out.push(`${prefix}${empty ?? scalar(value)}`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      emitItem(item, indent, out, i === 0 ? prefix : indent);
    });
    return;
  }
  let first = true;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    const lead = first ? prefix : indent;
    first = false;
    const k = scalar(key);
    const nestedEmpty = isEmptyCollection(v);
    if (typeof v === "object" && v !== null && nestedEmpty === null) {
      out.push(`${lead}${k}:`);
      if (Array.isArray(v)) emit(v, indent, out, indent);
      else emit(v, indent + "  ", out, indent + "  ");
    } else {
      out.push(`${lead}${k}: ${nestedEmpty ?? scalar(v)}`);
    }
  }
}

function emitItem(item: unknown, indent: string, out: string[], prefix: string): void {
  const empty = isEmptyCollection(item);
  if (typeof item !== "object" || item === null || empty !== null) {
    out.push(`${prefix}- ${empty ?? scalar(item)}`);
  } else if (Array.isArray(item)) {
    out.push(`${prefix}-`);
    emit(item, indent + "  ", out, indent + "  ");
  } else {
    emit(item, indent + "  ", out, `${prefix}- `);
  }
}

/** One YAML document for a JSON-compatible value. */
export function renderYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, "", out, "");
  return out.join("\n") + "\n";
}
