// What spec.jvm.options may not do, as patterns both the CRD's CEL rules (RE2) and resolveSpec
// (JavaScript, `u` flag) apply, so the API server and the operator refuse the same options.
// SERVER_JVMFLAGS is split on whitespace by zkServer.sh: an option with a space or a line break
// becomes two options (or a main class), so each option must be one token. The heap is
// jvm.heap's (the operator sizes requests from it), and ZooKeeper's authentication and ACL
// properties are the operator's: an option that set them could bypass every ACL.
import { AUTH_PROPERTIES, AUTH_PROPERTY_PREFIXES } from "./defaults.ts";

/** One token: starts with `-`, no whitespace (ASCII or Unicode separators) and no control character. */
export const JVM_OPTION_TOKEN = "^-[^\\s\\p{Z}\\p{Cc}]+$";

/** Options that size the heap behind jvm.heap's back. */
export const JVM_HEAP_OPTION =
  "^-(Xm[sx]|XX:(MaxHeapSize|InitialHeapSize|MinHeapSize|[-+]?[A-Za-z]*RAM(Percentage|Fraction)?)=?)";

/**
 * `-Dzookeeper.` properties the operator owns: authentication and ACLs (defaults.ts, the same list
 * that zoo.cfg keys are checked against) and the four-letter-word whitelist the sidecar needs.
 */
export const JVM_OWNED_PROPERTY = `^-Dzookeeper\\.(${[...AUTH_PROPERTIES, "4lw.commands.whitelist"]
  .map((k) => `${escapeRegExp(k)}(=|$)`)
  .concat(AUTH_PROPERTY_PREFIXES.map(escapeRegExp))
  .join("|")})`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Why `option` is refused, or null when it is allowed (resolveSpec's copy of the CEL rules). */
export function jvmOptionProblem(option: string): string | null {
  if (!new RegExp(JVM_OPTION_TOKEN, "u").test(option))
    return "each JVM option must be one token starting with '-', without spaces, line breaks or control characters";
  if (new RegExp(JVM_HEAP_OPTION, "u").test(option))
    return "set the heap with spec.jvm.heap, not a JVM option";
  if (new RegExp(JVM_OWNED_PROPERTY, "u").test(option) || option.includes("superDigest"))
    return "authentication and ACL properties (skipACL, superUser, auth providers, the super digest) are owned by the operator";
  return null;
}
