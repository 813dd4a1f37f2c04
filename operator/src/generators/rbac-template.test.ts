import { expect, test } from "vitest";
import { OPERATOR_PERMISSIONS } from "../rbac.ts";
import { renderRulesTemplate } from "./rbac-template.ts";

test("the chart partials: both defines, one comment per rule, the Lease name from the chart", () => {
  const text = renderRulesTemplate();
  expect(text).toContain('{{- define "zookeeper-operator.operatorRules" }}');
  expect(text).toContain('{{- define "zookeeper-operator.leaderElectionRules" }}');
  expect(text).toContain('  - {{ include "zookeeper-operator.leaseName" . }}\n');
  const comments = text.split("\n").filter((l) => l.startsWith("# ")).length;
  expect(comments).toBe(OPERATOR_PERMISSIONS.length + 2);
  expect(text).not.toContain("PLACEHOLDER");
});
