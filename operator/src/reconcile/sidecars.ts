// What each member's sidecar says about its ZooKeeper server, for a status that tells the truth:
// the operator cannot know from Kubernetes alone which member leads, nor whether a ready pod
// still serves. One GET of /status per member with an address, all at once, each bounded by a
// short timeout, so a hung pod costs one timeout, not one per member.
//
// node:http rather than fetch: fetch loads undici, several MiB of RSS the operator's budget
// does not have (docs/operator.md).
import { request } from "node:http";
import { HTTP_PATHS, PORTS, type SidecarStatus } from "../../../sidecar/src/contract.ts";
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
  pods: PodObservation[],
  read: StatusReader,
): Promise<Map<number, MemberMode>> {
  const asked = pods.filter((p) => p.ip !== null && !p.deleting);
  const answers = await Promise.all(asked.map(async (p) => [p.id, await read(p.ip ?? "")] as const));
  const modes = new Map<number, MemberMode>();
  for (const [id, status] of answers) if (status !== null) modes.set(id, modeOf(status));
  return modes;
}

function isSidecarStatus(v: unknown): v is SidecarStatus {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.mode === "string" && typeof o.myid === "number" && typeof o.serving === "boolean";
}

/** GET http://IP:8081/status with a timeout; null on any failure (logged by the caller's status). */
export function httpStatusReader(timeoutMs: number, port: number = PORTS.sidecarHttp): StatusReader {
  return (ip) =>
    new Promise((resolve) => {
      const req = request(
        { host: ip, port, path: HTTP_PATHS.status, method: "GET", timeout: timeoutMs },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (body.length < 64 * 1024) body += chunk;
          });
          res.on("end", () => {
            try {
              const parsed: unknown = JSON.parse(body);
              resolve(isSidecarStatus(parsed) ? parsed : null);
            } catch {
              resolve(null);
            }
          });
          res.on("error", () => {
            resolve(null);
          });
        },
      );
      req.on("timeout", () => {
        req.destroy();
      });
      req.on("error", () => {
        resolve(null);
      });
      req.end();
    });
}
