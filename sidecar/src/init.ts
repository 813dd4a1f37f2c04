// `zk-sidecar init`: the thin I/O edge around planInit. Every check that can fail runs before the
// first write, so a failed init leaves the volume as it found it.
import { lookup } from "node:dns/promises";
import { constants } from "node:fs";
import { access, mkdir, readdir, readFile, rename, stat } from "node:fs/promises";
import { writeAtomically } from "./atomic-write.ts";
import { prepareTls, writeStores } from "./tls-files.ts";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CONFIGMAP_KEYS, EXIT_CODES, FILES } from "./contract.ts";
import type { Logger } from "./log.ts";
import {
  type DynamicFile,
  type EmptyDataKeys,
  type InitPlan,
  isDatabaseFile,
  ownHost,
  parseDynamicFileName,
  parseMembers,
  parseStaticConfig,
  planInit,
  type VolumeState,
} from "./render.ts";
import { errCode, invalidInput, isWildcardAddress, type Settings, SidecarError } from "./settings.ts";

async function readInput(dir: string, key: string): Promise<string> {
  const path = join(dir, key);
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw invalidInput(`cannot read ${path} (ConfigMap key ${key}): ${errCode(err)}`);
  }
}

/** A ConfigMap key that may be absent (an older operator, a new ensemble): null when it is. */
async function readOptionalInput(dir: string, key: string): Promise<string | null> {
  const path = join(dir, key);
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (errCode(err) === "ENOENT") return null;
    throw invalidInput(`cannot read ${path} (ConfigMap key ${key}): ${errCode(err)}`);
  }
}

export async function readEmptyDataKeys(operatorConfigDir: string): Promise<EmptyDataKeys> {
  return {
    initializedAt: await readOptionalInput(operatorConfigDir, CONFIGMAP_KEYS.initializedAt),
    rejoinEmpty: await readOptionalInput(operatorConfigDir, CONFIGMAP_KEYS.rejoinEmpty),
    joining: await readOptionalInput(operatorConfigDir, CONFIGMAP_KEYS.joining),
  };
}

async function assertWritableDir(dir: string, what: string): Promise<void> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new SidecarError(
      `${what} ${dir} is not a writable directory: ${errCode(err)}`,
      EXIT_CODES.notWritable,
    );
  }
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (errCode(err) === "ENOENT") return null;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The names in a directory; none when it does not exist. */
async function readdirOptional(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errCode(err) === "ENOENT") return [];
    throw err;
  }
}

export async function readVolumeState(settings: Settings): Promise<VolumeState> {
  const dynamicFiles: DynamicFile[] = [];
  for (const name of await readdir(settings.confDir)) {
    const version = parseDynamicFileName(name);
    if (version === null) continue;
    dynamicFiles.push({ name, version, text: await readFile(join(settings.confDir, name), "utf8") });
  }
  // Snapshots always live in dataDir; a `dataLogDir` elsewhere only moves the logs, and every
  // server writes snapshot.0 at its first start, so dataDir alone tells whether ZooKeeper ran here.
  const database = await readdirOptional(join(settings.dataDir, "version-2"));
  return {
    myid: await readOptional(join(settings.dataDir, FILES.myid)),
    dynamicFiles,
    hasDatabase: database.some(isDatabaseFile),
  };
}

/**
 * Moves ZooKeeper's database and dynamic files into a `stale-<time>` folder beside them. Renames
 * stay within one directory tree, because the data and conf mounts of one volume are different
 * mount points and a rename between them fails.
 */
async function moveAside(settings: Settings, now: Date): Promise<string[]> {
  const stamp = now.toISOString().replace(/[:.]/g, "-");
  const moved: string[] = [];
  const dataTarget = join(settings.dataDir, `stale-${stamp}`);
  if (await exists(join(settings.dataDir, "version-2"))) {
    await mkdir(dataTarget, { recursive: true });
    await rename(join(settings.dataDir, "version-2"), join(dataTarget, "version-2"));
    moved.push(join(settings.dataDir, "version-2"));
  }
  const confTarget = join(settings.confDir, `stale-${stamp}`);
  for (const name of await readdir(settings.confDir)) {
    if (!name.startsWith(FILES.dynamicConfigPrefix)) continue;
    await mkdir(confTarget, { recursive: true });
    await rename(join(settings.confDir, name), join(confTarget, name));
    moved.push(join(settings.confDir, name));
  }
  return moved;
}

export type Resolve = (name: string) => Promise<string[]>;

const resolveWithSystem: Resolve = async (name) => (await lookup(name, { all: true })).map((a) => a.address);

/**
 * Waits until this pod's own stable DNS name resolves to an address other than loopback. A
 * ZooKeeper that starts before its own record exists cannot bind or announce its quorum address
 * (ZOOKEEPER-4708, strimzi #8675); an early 127.0.0.1 answer (Strimzi PR #8731) is as bad.
 * Nothing is written before this returns, so a timeout leaves the volume as it was.
 */
export async function waitForOwnName(
  settings: Settings,
  resolve: Resolve = resolveWithSystem,
): Promise<string[]> {
  const name = ownHost(settings);
  const deadline = Date.now() + settings.dnsWaitMs;
  for (;;) {
    let last: string;
    try {
      const addresses = (await resolve(name)).filter((a) => !a.startsWith("127.") && a !== "::1");
      if (addresses.length > 0) return addresses;
      last = "only loopback addresses";
    } catch (err) {
      last = errCode(err);
    }
    if (Date.now() >= deadline) {
      throw new SidecarError(
        `own DNS name ${name} did not resolve within ${settings.dnsWaitMs} ms (${last}); is the headless Service publishing not-ready addresses?`,
        EXIT_CODES.dnsNotReady,
      );
    }
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
  }
}

/** How often `init` re-reads the ConfigMap while it waits for rejoin-empty. */
export const REJOIN_POLL_MS = 2000;

/**
 * Plans with the ConfigMap's empty-data keys and, while the plan's only objection is an empty data
 * directory (EXIT_CODES.emptyDataRefused; planInit checks everything else first), re-reads them
 * every `pollMs` for up to ZK_REJOIN_WAIT_MS. The kubelet updates mounted ConfigMap files up to
 * about a minute after the operator changes them: a server the operator lists in rejoin-empty a
 * moment later then starts now, not after a crash-loop backoff. Nothing is written meanwhile.
 */
export async function planWaitingForRejoin(
  settings: Settings,
  plan: (keys: EmptyDataKeys) => InitPlan,
  readKeys: () => Promise<EmptyDataKeys>,
  logger: Logger,
  pollMs = REJOIN_POLL_MS,
): Promise<InitPlan> {
  const started = Date.now();
  const deadline = started + settings.rejoinWaitMs;
  let waiting = false;
  for (;;) {
    try {
      const result = plan(await readKeys());
      if (waiting)
        logger.info(
          { waitedMs: Date.now() - started, emptyData: result.emptyData.kind },
          "the ConfigMap changed while init waited: no longer refused",
        );
      return result;
    } catch (err) {
      if (!(err instanceof SidecarError) || err.exitCode !== EXIT_CODES.emptyDataRefused) throw err;
      if (Date.now() >= deadline) {
        if (!waiting) throw err;
        throw new SidecarError(
          `${err.message} (${CONFIGMAP_KEYS.rejoinEmpty} was re-read for ${settings.rejoinWaitMs} ms)`,
          err.exitCode,
        );
      }
      if (!waiting) {
        logger.warn(
          { waitMs: settings.rejoinWaitMs, pollMs, refusal: err.message },
          `data directory is empty but the ensemble was initialized: waiting up to ${settings.rejoinWaitMs} ms for the operator to list server ${settings.identity.id} in ${CONFIGMAP_KEYS.rejoinEmpty} before refusing`,
        );
        waiting = true;
      }
      await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  }
}

export interface InitResult {
  plan: InitPlan;
  moved: string[];
}

const SILENT: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function runInit(
  settings: Settings,
  options: { now?: Date; resolve?: Resolve; logger?: Logger; rejoinPollMs?: number } = {},
): Promise<InitResult> {
  const now = options.now ?? new Date();
  const logger = options.logger ?? SILENT;
  const membersText = await readInput(settings.operatorConfigDir, CONFIGMAP_KEYS.members);
  const staticText = await readInput(settings.operatorConfigDir, CONFIGMAP_KEYS.staticConfig);
  const members = parseMembers(membersText);
  const staticSettings = parseStaticConfig(staticText);
  // The TLS Secrets are checked before anything is written; ZooKeeper would only fail later.
  const tls = await prepareTls(settings, now);
  await assertWritableDir(settings.dataDir, "data directory");
  await assertWritableDir(settings.confDir, "config directory");
  const volume = await readVolumeState(settings);
  const plan = await planWaitingForRejoin(
    settings,
    (keys) => planInit(settings, members, staticSettings, volume, keys),
    () => readEmptyDataKeys(settings.operatorConfigDir),
    logger,
    options.rejoinPollMs,
  );
  if (plan.emptyData.kind === "joining") {
    logger.info(
      { initializedAt: plan.emptyData.initializedAt },
      `server ${settings.identity.id} is joining the ensemble (${CONFIGMAP_KEYS.joining}): starting empty, ZooKeeper syncs the data from the leader`,
    );
  }
  if (plan.emptyData.kind === "rejoin-empty") {
    logger.info(
      { initializedAt: plan.emptyData.initializedAt },
      `data directory is empty and ${CONFIGMAP_KEYS.rejoinEmpty} lists server ${settings.identity.id}: starting empty, ZooKeeper syncs the data from the leader`,
    );
  }
  // In a pod (wildcard bind address) ZooKeeper finds its own quorum address through DNS.
  if (isWildcardAddress(settings.bindAddress) && settings.dnsWaitMs > 0)
    await waitForOwnName(settings, options.resolve);
  const moved = plan.moveAside ? await moveAside(settings, now) : [];
  for (const role of tls) {
    await writeStores(settings.tls.storeDir, role.files);
    logger.info({ role: role.role, secret: role.dir, ...role.summary }, "TLS stores written");
  }
  if (plan.dynamic.kind === "rendered") {
    await writeAtomically(join(settings.confDir, plan.dynamic.name), plan.dynamic.text);
  }
  await writeAtomically(join(settings.dataDir, FILES.myid), plan.myid);
  await writeAtomically(join(settings.confDir, FILES.zooCfg), plan.zooCfg);
  return { plan, moved };
}
