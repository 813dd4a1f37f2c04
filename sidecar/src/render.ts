// Pure rendering and decisions of `zk-sidecar init`: zoo.cfg, the dynamic membership file, which
// membership wins when the data volume already holds one ZooKeeper wrote, and whether an empty
// data volume may start at all.
import {
  CONFIGMAP_KEYS,
  EXIT_CODES,
  FILES,
  FOUR_LETTER_WORDS,
  LOOPBACK_CLIENT_ADDRESS,
  type Member,
  type MembersFile,
  memberHost,
  parseMembersFile,
  parseRejoinEmpty,
  parseServerLine,
  renderServerLine,
  SIDECAR_OWNED_ZOO_CFG_KEYS,
  zooCfgValueProblem,
} from "./contract.ts";
import { invalidInput, isWildcardAddress, MAX_SERVER_ID, SidecarError, type Settings } from "./settings.ts";
import { renderTlsSettings } from "./tls.ts";

/** One `key=value` of the operator's static settings, in the order given. */
export interface StaticSetting {
  key: string;
  value: string;
}

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function ownedBySidecar(key: string): boolean {
  return SIDECAR_OWNED_ZOO_CFG_KEYS.some((owned) =>
    owned.endsWith(".") ? key.startsWith(owned) : key === owned,
  );
}

/** Parses the operator's `zoo.cfg.static`; throws naming the first bad line. */
export function parseStaticConfig(text: string): StaticSetting[] {
  const out: StaticSetting[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    const value = eq < 0 ? "" : line.slice(eq + 1).trim();
    if (eq < 0 || !KEY.test(key)) {
      throw invalidInput(`zoo.cfg.static line ${i + 1}: expected key=value, got ${JSON.stringify(raw)}`);
    }
    const problem = zooCfgValueProblem(line);
    if (problem) throw invalidInput(`zoo.cfg.static line ${i + 1}: ${key}'s value ${problem}`);
    if (ownedBySidecar(key)) {
      throw invalidInput(`zoo.cfg.static line ${i + 1}: ${key} is set by the sidecar and must not be given`);
    }
    if (seen.has(key)) throw invalidInput(`zoo.cfg.static line ${i + 1}: ${key} appears twice`);
    seen.add(key);
    out.push({ key, value });
  }
  return out;
}

/** Parses the operator's members file; every problem is bad input. */
export function parseMembers(text: string): MembersFile {
  try {
    return parseMembersFile(text);
  } catch (err) {
    throw invalidInput(err instanceof Error ? err.message : String(err));
  }
}

/** The version hex of a file name `zoo.cfg.dynamic.<hex>`; null for anything else (e.g. `.next`). */
export function parseDynamicFileName(name: string): bigint | null {
  if (!name.startsWith(FILES.dynamicConfigPrefix)) return null;
  const hex = name.slice(FILES.dynamicConfigPrefix.length);
  return /^[0-9a-f]{1,16}$/.test(hex) ? BigInt(`0x${hex}`) : null;
}

export function dynamicFileName(version: string): string {
  return `${FILES.dynamicConfigPrefix}${BigInt(`0x${version}`).toString(16)}`;
}

/** This server's own stable DNS name. */
export function ownHost(settings: Settings): string {
  const { cluster, id } = settings.identity;
  return memberHost(cluster, id, settings.namespace, settings.headlessService, settings.clusterDomain);
}

/**
 * The dynamic membership file from the operator's members: one `server.ID` line per member, every
 * member (this server included) addressed by its stable DNS name.
 *
 * No exception for the own line, on purpose. Writing the bind address there (0.0.0.0, the usual
 * trick against ZOOKEEPER-4708) leaks: the leader sends its own view of the config to every
 * follower when it establishes an epoch, and all of them then store and use
 * `server.<leader>=0.0.0.0` (seen on the rig: the leader's own line reaches every server's
 * zoo.cfg.dynamic.<version>). Instead, with the wildcard bind address (a pod), zoo.cfg sets
 * `quorumListenOnAllIPs=true` so the quorum and election ports bind every interface whatever
 * the own line says, and `init` waits until the own DNS name resolves (waitForOwnName).
 *
 * Client addresses: with the wildcard bind address no line has one (the client port binds every
 * interface, as the sidecar's four-letter words to 127.0.0.1 need). With a specific bind address
 * (the loopback rig, where each name resolves to that server's own 127.x address) every line
 * names its host, because a server applies its own line's client address from a committed config
 * it receives and would otherwise rebind its client port to the wildcard. With client TLS in a
 * pod every line names 127.0.0.1: the plain client port then serves only the sidecar inside the
 * pod, and clients use the secure port (tls.ts). The operator's reconfigurations must write the
 * same lines (LOOPBACK_CLIENT_ADDRESS).
 */
export function renderDynamicConfig(settings: Settings, members: Member[]): string {
  const wildcard = isWildcardAddress(settings.bindAddress);
  const podClientAddress = settings.tls.clientDir === null ? null : LOOPBACK_CLIENT_ADDRESS;
  const lines = [...members]
    .sort((a, b) => a.id - b.id)
    .map((m) => {
      const host = memberHost(
        settings.identity.cluster,
        m.id,
        settings.namespace,
        settings.headlessService,
        settings.clusterDomain,
      );
      return renderServerLine(m.id, host, m.role, settings.ports, wildcard ? podClientAddress : host);
    });
  return lines.join("\n") + "\n";
}

/** zoo.cfg: the operator's static settings, then the keys the sidecar owns. */
export function renderZooCfg(
  settings: Settings,
  staticSettings: StaticSetting[],
  dynamicConfigPath: string,
): string {
  const lines = [
    "# Rendered by `zk-sidecar init` at every start; ZooKeeper rewrites it after a reconfig.",
    "# Operator settings (ConfigMap key zoo.cfg.static):",
    ...staticSettings.map((s) => `${s.key}=${s.value}`),
    "# Owned by the sidecar:",
    `dataDir=${settings.dataDir}`,
    `dynamicConfigFile=${dynamicConfigPath}`,
    // A one-member ensemble stays a reconfigurable quorum instead of turning standalone.
    "standaloneEnabled=false",
    "reconfigEnabled=true",
    // Only the words the sidecar itself sends (DESIGN.md: the whitelist is what the sidecar uses).
    `4lw.commands.whitelist=${FOUR_LETTER_WORDS.join(",")}`,
    // ZooKeeper's AdminServer (dump, envi, cons, ... over HTTP) has no authentication, and the
    // sidecar uses four-letter words: off, so nothing on the pod network can read it.
    "admin.enableServer=false",
  ];
  // In a pod: bind quorum and election ports on every interface (see renderDynamicConfig).
  if (isWildcardAddress(settings.bindAddress)) lines.push("quorumListenOnAllIPs=true");
  lines.push(...renderTlsSettings(settings));
  return lines.join("\n") + "\n";
}

/** A dynamic config file found on the data volume, written by ZooKeeper (or by an earlier init). */
export interface DynamicFile {
  name: string;
  version: bigint;
  text: string;
}

export interface VolumeState {
  /** Contents of the existing myid file, or null. */
  myid: string | null;
  /** Dynamic config files found beside zoo.cfg. */
  dynamicFiles: DynamicFile[];
  /**
   * Whether ZooKeeper's database holds anything: a `snapshot.*` or `log.*` file in
   * dataDir/version-2 (isDatabaseFile). The folder alone is not a database: ZooKeeper creates it
   * and its epoch files at its first start, a moment before it writes `snapshot.0`.
   */
  hasDatabase: boolean;
}

/** A file of ZooKeeper's database in dataDir/version-2 (not `acceptedEpoch`, `currentEpoch`, ...). */
export function isDatabaseFile(name: string): boolean {
  return /^(snapshot|log)\.[0-9a-f]+/.test(name);
}

/** The ConfigMap keys about empty data directories, as read: null when the key is absent. */
export interface EmptyDataKeys {
  initializedAt: string | null;
  rejoinEmpty: string | null;
  /** CONFIGMAP_KEYS.joining: the server being added now; absent (undefined or null): none. */
  joining?: string | null;
}

export const NO_EMPTY_DATA_KEYS: EmptyDataKeys = { initializedAt: null, rejoinEmpty: null, joining: null };

/** What an empty (or not empty) data directory means, and why. */
export type EmptyDataDecision =
  /** The volume holds ZooKeeper's database: nothing to decide. */
  | { kind: "has-data" }
  /** Empty, and the ensemble was never initialized: a new ensemble. */
  | { kind: "new-ensemble" }
  /** Empty in an initialized ensemble, and the operator lists this server: it syncs from the leader. */
  | { kind: "rejoin-empty"; initializedAt: string }
  /** Empty in an initialized ensemble, and this server is the one being added: it syncs from the leader. */
  | { kind: "joining"; initializedAt: string }
  /** Empty in an initialized ensemble and not listed: a lost volume; `message` says what to do. */
  | { kind: "refused"; initializedAt: string; message: string };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses CONFIGMAP_KEYS.initializedAt (an ISO 8601 time); anything else is bad input. */
export function parseInitializedAt(text: string): string {
  const t = text.trim();
  if (!ISO_TIME.test(t) || Number.isNaN(Date.parse(t))) {
    throw invalidInput(
      `ConfigMap key ${CONFIGMAP_KEYS.initializedAt}: expected an ISO 8601 time such as 2026-01-01T00:00:00.000Z, got ${JSON.stringify(t)}`,
    );
  }
  return t;
}

/** Parses CONFIGMAP_KEYS.joining: one server id, or nothing; anything else is bad input. */
export function parseJoiningKey(text: string): number | null {
  const t = text.trim();
  if (t === "") return null;
  const id = /^[1-9][0-9]{0,2}$/.test(t) ? Number(t) : NaN;
  if (!(id <= MAX_SERVER_ID)) {
    throw invalidInput(
      `ConfigMap key ${CONFIGMAP_KEYS.joining}: expected one server id from 1 to ${MAX_SERVER_ID}, got ${JSON.stringify(t)}`,
    );
  }
  return id;
}

/** Parses CONFIGMAP_KEYS.rejoinEmpty; anything but server ids separated by commas is bad input. */
export function parseRejoinEmptyKey(text: string): number[] {
  let ids: number[];
  try {
    ids = parseRejoinEmpty(text);
  } catch (err) {
    throw invalidInput(
      `ConfigMap key ${err instanceof Error ? err.message : String(err)}: expected server ids separated by commas, e.g. 2,3`,
    );
  }
  const outside = ids.find((id) => id > MAX_SERVER_ID);
  if (outside !== undefined) {
    throw invalidInput(
      `ConfigMap key ${CONFIGMAP_KEYS.rejoinEmpty}: server id ${outside} is outside 1..${MAX_SERVER_ID}`,
    );
  }
  return ids;
}

/**
 * Decides whether an empty data directory may start. An initialized ensemble never re-bootstraps
 * silently (DESIGN.md): once the operator has recorded that the ensemble reached quorum
 * (`initialized-at`), an empty volume is a lost one, and empty servers that started anyway could
 * form a quorum of their own and overwrite the members that kept the data. Only a server the
 * operator lists in `rejoin-empty` starts empty (it then syncs from the leader). Both keys are
 * validated whatever the volume holds, so a malformed key shows at once, not at the first lost
 * volume.
 */
export function decideEmptyData(
  settings: Settings,
  volume: VolumeState,
  keys: EmptyDataKeys,
): EmptyDataDecision {
  const initializedAt = keys.initializedAt === null ? null : parseInitializedAt(keys.initializedAt);
  const rejoinEmpty = keys.rejoinEmpty === null ? [] : parseRejoinEmptyKey(keys.rejoinEmpty);
  const joining = keys.joining ? parseJoiningKey(keys.joining) : null;
  if (volume.hasDatabase) return { kind: "has-data" };
  if (initializedAt === null) return { kind: "new-ensemble" };
  const { id, podName, cluster } = settings.identity;
  if (joining === id) return { kind: "joining", initializedAt };
  if (rejoinEmpty.includes(id)) return { kind: "rejoin-empty", initializedAt };
  return {
    kind: "refused",
    initializedAt,
    message:
      `pod ${podName} (server ${id}): the data directory ${settings.dataDir} holds no ZooKeeper database, ` +
      `but the ensemble has been initialized since ${initializedAt} (ConfigMap ${cluster}-config, key ${CONFIGMAP_KEYS.initializedAt}) ` +
      `and key ${CONFIGMAP_KEYS.rejoinEmpty} does not list ${id}. Refusing to start an empty server, ` +
      `which could form a quorum without the ensemble's data; nothing was written. ` +
      `If this volume was lost, follow docs/operations.md "Lost volumes" (the operator re-adds server ${id} empty ` +
      `by listing it in ${CONFIGMAP_KEYS.rejoinEmpty} while the other members hold a quorum); ` +
      `if it should hold data, restore that first.`,
  };
}

export type DynamicChoice =
  | { kind: "zookeeper"; name: string; version: bigint; reason: string }
  | { kind: "rendered"; name: string; text: string; reason: string };

export interface InitPlan {
  myid: string;
  /** What the data directory's state means (never "refused": planInit throws instead). */
  emptyData: Exclude<EmptyDataDecision, { kind: "refused" }>;
  /** Move the old database and dynamic files aside before writing (stale data of a removed server). */
  moveAside: boolean;
  dynamic: DynamicChoice;
  zooCfg: string;
}

function idsIn(text: string): number[] {
  const ids: number[] = [];
  for (const line of text.split("\n")) {
    const parsed = parseServerLine(line);
    if (parsed) ids.push(parsed.id);
  }
  return ids;
}

/**
 * Decides what `init` writes. ZooKeeper's own state wins: the newest dynamic file on the volume is
 * used as ZooKeeper wrote it whenever it lists this server, whatever the members file's version
 * (a server that was down during a reconfiguration learns the newer config from the leader, and
 * a hand edit of the ConfigMap never reaches a server that has a config). A newest file that does
 * not list this server means the server was removed from the ensemble while it ran: its database
 * belongs to an earlier membership, so it starts clean. The server being added (the ConfigMap's
 * `joining`) also starts clean, unless ZooKeeper has committed it already (a newer file listing
 * it). An empty data directory of an initialized ensemble is refused unless the operator allows
 * it (decideEmptyData); that check comes last, so a wait for the operator (init.ts) is only ever
 * about it.
 */
export function planInit(
  settings: Settings,
  members: MembersFile,
  staticSettings: StaticSetting[],
  volume: VolumeState,
  keys: EmptyDataKeys,
): InitPlan {
  const { id, ordinal, podName } = settings.identity;
  if (!members.members.some((m) => m.id === id)) {
    const ids = members.members.map((m) => m.id).join(", ");
    throw invalidInput(
      `pod ${podName} has ordinal ${ordinal} (server id ${id}), which is not in the member list (ids ${ids})`,
    );
  }
  if (volume.myid !== null && volume.myid.trim() !== String(id)) {
    throw new SidecarError(
      `${settings.dataDir}/myid holds ${JSON.stringify(volume.myid.trim())} but this pod is server ${id}: the volume belongs to another server; nothing was changed`,
      EXIT_CODES.conflict,
    );
  }
  const emptyData = decideEmptyData(settings, volume, keys);
  if (emptyData.kind === "refused") throw new SidecarError(emptyData.message, EXIT_CODES.emptyDataRefused);
  const newest = [...volume.dynamicFiles].sort((a, b) =>
    a.version < b.version ? 1 : a.version > b.version ? -1 : 0,
  )[0];
  const holdsAnything = volume.hasDatabase || volume.dynamicFiles.length > 0;
  const joining = keys.joining ? parseJoiningKey(keys.joining) === id : false;
  const listed = newest !== undefined && idsIn(newest.text).includes(id);
  const committed = newest !== undefined && newest.version > BigInt(`0x${members.version}`);
  let dynamic: DynamicChoice;
  let moveAside = false;
  if (joining && !(listed && committed)) {
    moveAside = holdsAnything;
    dynamic = rendered(
      settings,
      members,
      holdsAnything
        ? `server ${id} is joining the ensemble: data from an earlier membership moved aside`
        : `server ${id} is joining the ensemble`,
    );
  } else if (newest && !listed) {
    moveAside = holdsAnything;
    dynamic = rendered(
      settings,
      members,
      `${newest.name} on the volume does not list server ${id}: stale data moved aside`,
    );
  } else if (newest) {
    dynamic = {
      kind: "zookeeper",
      name: newest.name,
      version: newest.version,
      reason: `${newest.name} (version ${newest.version.toString(16)}) lists server ${id}: ZooKeeper's own config wins over the members file (version ${members.version})`,
    };
  } else {
    dynamic = rendered(settings, members, "no dynamic config on the volume");
  }
  const dynamicPath = `${settings.confDir}/${dynamic.name}`;
  return {
    myid: `${id}\n`,
    emptyData,
    moveAside,
    dynamic,
    zooCfg: renderZooCfg(settings, staticSettings, dynamicPath),
  };
}

function rendered(settings: Settings, members: MembersFile, reason: string): DynamicChoice {
  return {
    kind: "rendered",
    name: dynamicFileName(members.version),
    text: renderDynamicConfig(settings, members.members),
    reason,
  };
}
