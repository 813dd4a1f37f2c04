// When a renewed client certificate needs a roll. ZooKeeper 3.8 reloads renewed quorum
// certificates by itself (the sidecar rewrites its stores) but reads the client certificate only
// at start, so each sidecar reports `tls.client.restartNeeded` once the kubelet has brought the
// renewed Secret into its pod. The operator then records the renewed certificate's fingerprint in
// the pod template (CLIENT_CERTIFICATE_ANNOTATION): the template changes, and the rolling restart
// that follows every template change restarts the members one at a time, leader last, with the
// PodDisruptionBudget and the readiness gates of any other roll. Pure.
import type { SidecarStatus } from "../../../sidecar/src/contract.ts";

/** The client certificates the members' sidecars report, from those that answered with one. */
export interface ClientCertificateObservation {
  /** Server id → fingerprint of the client certificate mounted in that pod. */
  mounted: ReadonlyMap<number, string>;
  /** Server ids whose ZooKeeper still serves an older client certificate. */
  restartNeeded: readonly number[];
}

export function observeClientCertificates(
  statuses: ReadonlyMap<number, SidecarStatus>,
): ClientCertificateObservation {
  const mounted = new Map<number, string>();
  const restartNeeded: number[] = [];
  for (const [id, s] of statuses) {
    const client = s.tls?.client;
    // A Secret the sidecar refuses is not a renewal to roll to: the stores keep the last good one.
    if (!client || client.problem !== null || client.fingerprint === "") continue;
    mounted.set(id, client.fingerprint);
    if (client.restartNeeded) restartNeeded.push(id);
  }
  return { mounted, restartNeeded: restartNeeded.sort((a, b) => a - b) };
}

/**
 * The fingerprint the pod template should carry: `current` (the template's, null when it has
 * none), unless a member needs a restart for a certificate that every answering member has
 * mounted by now. While the kubelet is still bringing the renewed Secret into some pods they
 * disagree, and the roll waits, so that no member restarts into the old certificate. A new
 * cluster never rolls: no member needs a restart for the certificate it started with.
 */
export function decideClientCertificate(
  current: string | null,
  observed: ClientCertificateObservation | null,
): string | null {
  if (observed === null || observed.restartNeeded.length === 0) return current;
  const fingerprints = new Set(observed.mounted.values());
  const [renewed] = fingerprints;
  return fingerprints.size === 1 && renewed !== undefined ? renewed : current;
}
