// What each member's sidecar says about its ZooKeeper server, for a status that tells the truth:
// the operator cannot know from Kubernetes alone which member leads, nor whether a ready pod
// still serves. One /status read per member with an address, all at once, through the reader
// the runtime passes in (runtime/sidecar-status.ts: HTTP with a short timeout, so a hung pod
// costs one timeout, not one per member).
import type { ServerLine, SidecarStatus } from "../../../sidecar/src/contract.ts";
import { type ClientCertificateObservation, observeClientCertificates } from "./client-certificate.ts";
import type { EnsembleObservation, MemberMode, PodObservation, SyncObservation } from "./observe.ts";

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

/** What the members' sidecars said: each one's mode, and the committed ensemble config. */
export interface MemberReports {
  /** Server id → mode, for the sidecars that answered; the others are unknown, not "down". */
  modes: Map<number, MemberMode>;
  ensemble: EnsembleObservation;
  sync: SyncObservation;
  clientCertificate: ClientCertificateObservation;
}

/** Asks every member pod that has an address and is not being deleted, all at once. */
export async function readMembers(
  pods: readonly PodObservation[],
  read: StatusReader,
): Promise<MemberReports> {
  const asked = pods.filter((p) => p.ip !== null && !p.deleting);
  const answers = await Promise.all(asked.map(async (p) => [p.id, await read(p.ip ?? "")] as const));
  const statuses = new Map<number, SidecarStatus>();
  for (const [id, status] of answers) if (status !== null) statuses.set(id, status);
  return {
    modes: new Map([...statuses].map(([id, status]) => [id, modeOf(status)])),
    ensemble: committedConfig([...statuses.values()]),
    sync: syncOf(statuses),
    clientCertificate: observeClientCertificates(statuses),
  };
}

/** Each serving member's zxid and the leader's synced followers, from the sidecars' answers. Pure. */
export function syncOf(statuses: ReadonlyMap<number, SidecarStatus>): SyncObservation {
  const zxids = new Map<number, string>();
  let syncedFollowers: number | null = null;
  for (const [id, s] of statuses) {
    if (modeOf(s) === "down") continue;
    if (s.lastZxid !== null) zxids.set(id, s.lastZxid);
    if (s.mode === "leader") syncedFollowers = s.syncedFollowers;
  }
  return { zxids, syncedFollowers };
}

/**
 * The committed ensemble config from the sidecars' answers: the leader's, since it is the one
 * that commits; without a leader, the newest any serving member reports, and of equal versions the
 * one most members report (a joiner's own view, the committed members plus itself, carries the
 * committed version until it is added). Pure.
 */
export function committedConfig(statuses: readonly SidecarStatus[]): EnsembleObservation {
  const withConfig = statuses.filter(
    (s): s is SidecarStatus & { config: { version: string; members: ServerLine[] } } =>
      s.serving && s.config !== null && s.config.version !== null,
  );
  const leader = withConfig.find((s) => s.mode === "leader");
  const key = (s: (typeof withConfig)[number]): string => JSON.stringify(s.config.members.map((m) => m.id));
  const reporters = (s: (typeof withConfig)[number]): number =>
    withConfig.filter((o) => o.config.version === s.config.version && key(o) === key(s)).length;
  const newest = [...withConfig].sort((a, b) => {
    const [va, vb] = [BigInt(`0x${a.config.version}`), BigInt(`0x${b.config.version}`)];
    return va !== vb ? (vb > va ? 1 : -1) : reporters(b) - reporters(a);
  })[0];
  const chosen = leader ?? newest;
  if (!chosen) return { source: "none" };
  return {
    source: "zookeeper",
    configVersion: chosen.config.version,
    members: chosen.config.members.map((m) => ({ id: m.id, role: m.role })).sort((a, b) => a.id - b.id),
  };
}
