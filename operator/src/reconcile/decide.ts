// decideStep: the one pure decision of a reconcile pass: which membership the children are built
// for, and what (if anything) the operator is waiting for or refusing. Exactly one step per pass.
// Today it bootstraps an ensemble and keeps it: a change of spec.replicas is refused visibly.
// `members` is what the builders render, `blocked` is what the status reports.
import type { Member } from "../../../sidecar/src/contract.ts";
import type { ResolvedSpec } from "../api/resolve.ts";
import type { Observed } from "./observe.ts";

export type StepType = "Bootstrap" | "Keep" | "Paused";

export interface Step {
  type: StepType;
  /** The membership the children are built for (the ConfigMap's members, the StatefulSet's size). */
  members: Member[];
  /** The members file version to render ("0" before any reconfiguration). */
  membersVersion: string;
  /** Set when the spec asks for something this step does not do; reported in the status. */
  blocked: { reason: "ScalingNotSupported"; message: string } | null;
}

export function participants(n: number): Member[] {
  return Array.from({ length: n }, (_, i) => ({ id: i + 1, role: "participant" as const }));
}

export function decideStep(spec: ResolvedSpec, observed: Observed): Step {
  const current = currentMembership(observed);
  if (spec.paused) {
    return {
      type: "Paused",
      members: current?.members ?? [],
      membersVersion: current?.version ?? "0",
      blocked: null,
    };
  }
  if (current === null) {
    // No ensemble yet: members 1..N as participants, all pods start together (Parallel).
    return { type: "Bootstrap", members: participants(spec.replicas), membersVersion: "0", blocked: null };
  }
  const blocked =
    current.members.length === spec.replicas
      ? null
      : {
          reason: "ScalingNotSupported" as const,
          message: `spec.replicas is ${spec.replicas} but the ensemble has ${current.members.length} members; changing membership one server at a time is not implemented in this operator version, so the ensemble is kept as it is`,
        };
  return { type: "Keep", members: current.members, membersVersion: current.version, blocked };
}

/**
 * The membership we already run, from the most reliable source we have: the committed ensemble
 * config, else the members file we wrote, else the StatefulSet's size (its ConfigMap was deleted).
 * null when no ensemble was ever created.
 */
export function currentMembership(observed: Observed): { members: Member[]; version: string } | null {
  if (observed.ensemble.source === "zookeeper") {
    return { members: observed.ensemble.members, version: observed.ensemble.configVersion };
  }
  if (observed.membersFile)
    return { members: observed.membersFile.members, version: observed.membersFile.version };
  const size = observed.statefulSet?.spec?.replicas;
  if (observed.statefulSet && size !== undefined && size > 0)
    return { members: participants(size), version: "0" };
  return null;
}
