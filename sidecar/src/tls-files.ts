// The I/O edge of TLS (tls.ts is the pure part): reads the mounted TLS Secrets and writes the PEM
// stores ZooKeeper reads. `init` prepares every store before its first write; `serve` keeps the
// quorum stores in step with a renewed Secret (ZooKeeper reloads them) and reports a renewed
// client certificate, which ZooKeeper 3.8 only reads at start.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type SidecarStatus, TLS_SECRET_KEYS } from "./contract.ts";
import { writeAtomically } from "./atomic-write.ts";
import type { Logger } from "./log.ts";
import { ownHost } from "./render.ts";
import { errCode, invalidInput, type Settings } from "./settings.ts";
import { checkTlsMaterial, storeFiles, type TlsRole, type TlsSummary } from "./tls.ts";
import type { TlsMaterial } from "./contract.ts";

/** One role's checked Secret and the store files made from it. */
export interface PreparedTls {
  role: TlsRole;
  dir: string;
  summary: TlsSummary;
  files: Record<string, string>;
}

export async function readTlsMaterial(dir: string): Promise<TlsMaterial> {
  const read = async (key: keyof typeof TLS_SECRET_KEYS): Promise<string> => {
    const path = join(dir, TLS_SECRET_KEYS[key]);
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      throw invalidInput(`cannot read ${path} (TLS Secret key ${TLS_SECRET_KEYS[key]}): ${errCode(err)}`);
    }
  };
  return { cert: await read("cert"), key: await read("key"), ca: await read("ca") };
}

function roles(settings: Settings): [TlsRole, string][] {
  const out: [TlsRole, string][] = [];
  if (settings.tls.clientDir !== null) out.push(["client", settings.tls.clientDir]);
  if (settings.tls.quorumDir !== null) out.push(["quorum", settings.tls.quorumDir]);
  return out;
}

/** Reads and checks one role's Secret; throws a SidecarError (exit 3) naming the problem. */
export async function prepareRole(
  settings: Settings,
  role: TlsRole,
  dir: string,
  now: Date,
): Promise<PreparedTls> {
  const material = await readTlsMaterial(dir);
  const summary = checkTlsMaterial(material, role, {
    dir,
    host: ownHost(settings),
    now,
    clientAuth: settings.tls.clientAuth,
  });
  return { role, dir, summary, files: storeFiles(role, material) };
}

/** Every TLS role `settings` turns on, checked; nothing is written. */
export async function prepareTls(settings: Settings, now: Date): Promise<PreparedTls[]> {
  return Promise.all(roles(settings).map(([role, dir]) => prepareRole(settings, role, dir, now)));
}

/**
 * Writes the store files that differ from what is on disk; returns their names. Only the owner
 * reads them (they hold private keys); the store folder is an in-memory emptyDir in the pod.
 */
export async function writeStores(storeDir: string, files: Record<string, string>): Promise<string[]> {
  await mkdir(storeDir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(storeDir, name);
    const current = await readFile(path, "utf8").catch(() => null);
    if (current === text) continue;
    await writeAtomically(path, text, 0o600);
    written.push(name);
  }
  return written;
}

export type TlsStatus = NonNullable<SidecarStatus["tls"]>;

/**
 * Compares the mounted Secrets with the stores, once. A changed quorum Secret is checked and
 * written to the quorum stores, where ZooKeeper's file watcher reloads it (sslQuorumReloadCertFiles);
 * a changed client Secret is only reported (restartNeeded). A Secret that fails the checks is
 * never written: ZooKeeper keeps the last good certificate and the status says why.
 */
export async function syncTls(
  settings: Settings,
  logger: Logger,
  now: Date,
  previous: TlsStatus = {},
): Promise<TlsStatus> {
  const status: TlsStatus = {};
  for (const [role, dir] of roles(settings)) {
    let prepared: PreparedTls;
    try {
      prepared = await prepareRole(settings, role, dir, now);
    } catch (err) {
      const problem = err instanceof Error ? err.message : String(err);
      const last = previous[role];
      if (last?.problem !== problem)
        logger.warn({ role, problem }, "TLS Secret refused; ZooKeeper keeps the last good one");
      status[role] = {
        subject: last?.subject ?? "",
        issuer: last?.issuer ?? "",
        notAfter: last?.notAfter ?? "",
        fingerprint: last?.fingerprint ?? "",
        restartNeeded: last?.restartNeeded ?? false,
        problem,
      };
      continue;
    }
    const { summary, files } = prepared;
    let restartNeeded = false;
    if (role === "quorum") {
      const written = await writeStores(settings.tls.storeDir, files);
      if (written.length > 0)
        logger.info({ role, written, ...summary }, "quorum certificate renewed: ZooKeeper reloads it");
    } else {
      for (const [name, text] of Object.entries(files)) {
        const current = await readFile(join(settings.tls.storeDir, name), "utf8").catch(() => null);
        if (current !== text) restartNeeded = true;
      }
      if (restartNeeded && !previous.client?.restartNeeded)
        logger.info({ role, ...summary }, "client certificate renewed: ZooKeeper uses it after a restart");
    }
    status[role] = { ...summary, restartNeeded, problem: null };
  }
  return status;
}
