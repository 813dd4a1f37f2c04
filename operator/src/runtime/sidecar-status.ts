// Reads a member's sidecar /status over HTTP for the reconcile pass (reconcile/sidecars.ts).
// node:http rather than fetch: fetch loads undici, several MiB of RSS the operator's budget
// does not have (docs/operator.md).
import { request } from "node:http";
import { HTTP_PATHS, PORTS, type SidecarStatus } from "../../../sidecar/src/contract.ts";
import type { StatusReader } from "../reconcile/sidecars.ts";

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
