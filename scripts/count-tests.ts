// Adds up vitest's JSON reports into the one closing line CI reads: "tests: N passed, N failed",
// preceded by each failed test's name and the first line of its error, because CI keeps only the
// tail of the log and a count alone does not say which test to look at.
import { readFileSync } from "node:fs";
import { basename } from "node:path";

interface Assertion {
  fullName: string;
  status: string;
  failureMessages?: string[];
}
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults?: { name: string; message?: string; assertionResults?: Assertion[] }[];
}

const MESSAGE_CHARS = 300;

let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
for (const file of process.argv.slice(2)) {
  let r: Report;
  try {
    r = JSON.parse(readFileSync(file, "utf8")) as Report;
  } catch {
    continue; // A project that did not run (an earlier phase failed) wrote no report.
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  const project = basename(file, ".json");
  for (const suite of r.testResults ?? []) {
    for (const a of suite.assertionResults ?? []) {
      if (a.status !== "failed") continue;
      failures.push(`[${project}] ${suite.name}: ${a.fullName}\n    ${firstLine(a.failureMessages?.[0])}`);
    }
    // A file that failed before any test ran (import error, hook failure) has only a message.
    if (suite.message && !(suite.assertionResults ?? []).some((a) => a.status === "failed")) {
      failures.push(`[${project}] ${suite.name}\n    ${firstLine(suite.message)}`);
    }
  }
}
if (failures.length) console.log(`=== failed tests ===\n${failures.join("\n")}`);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);

function firstLine(message: string | undefined): string {
  const line = (message ?? "(no message)").split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > MESSAGE_CHARS ? `${line.slice(0, MESSAGE_CHARS)}…` : line;
}
