// What each member's sidecar says about its ZooKeeper server, for a status that tells the truth:
// the operator cannot know from Kubernetes alone which member leads, nor whether a ready pod
// still serves. One /status read per member with an address, all at once, through the reader
// the runtime passes in (runtime/sidecar-status.ts: HTTP with a short timeout, so a hung pod
// costs one timeout, not one per member).
import type { SidecarStatus } from "../../../sidecar/src/contract.ts";
import type { MemberMode, PodObservation } from "./observe.ts";

/** What a pod's sidecar answered: its status, or null when it could not be asked or answered garbage. */
export type StatusReader = (ip: string) => Promise<SidecarStatus | null>;

/** The mode the cluster status shows for a sidecar's answer. Pure. */
export function modeOf(status: SidecarStatus): MemberMode {
  switch (status.mode) {
    case "leader":
    case "follower":
    case "observer":
      return status.mode;
    // standalone never happens with the config the sidecar renders (standaloneEnabled=false);
    // a standalone server serves no ensemble, so it is not a member that counts.
    default:
      return "down";
  }
}

/**
 * Asks every member pod that has an address and is not being deleted. Members whose sidecar did
 * not answer are left out of the map (their mode is unknown, not "down").
 */
export async function readMemberModes(
  pods: readonly PodObservation[],
  read: StatusReader,
): Promise<Map<number, MemberMode>> {
  const asked = pods.filter((p) => p.ip !== null && !p.deleting);
  const answers = await Promise.all(asked.map(async (p) => [p.id, await read(p.ip ?? "")] as const));
  const modes = new Map<number, MemberMode>();
  for (const [id, status] of answers) if (status !== null) modes.set(id, modeOf(status));
  return modes;
}
