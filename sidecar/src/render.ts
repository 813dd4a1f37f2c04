// Pure rendering and decisions of `zk-sidecar init`: zoo.cfg, the dynamic membership file, and
// which membership wins when the data volume already holds one ZooKeeper wrote.
import {
  EXIT_CODES,
  FILES,
  FOUR_LETTER_WORDS,
  type Member,
  type MembersFile,
  memberHost,
  parseMembersFile,
  parseServerLine,
  renderServerLine,
  SIDECAR_OWNED_ZOO_CFG_KEYS,
} from "./contract.ts";
import { invalidInput, SidecarError, type Settings } from "./settings.ts";

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
    if (line.includes("\r")) throw invalidInput(`zoo.cfg.static line ${i + 1}: contains a carriage return`);
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

const WILDCARD = new Set(["0.0.0.0", "::", "[::]"]);

/** True for the bind address of a pod (every interface); false for a specific one (the rig). */
export function isWildcard(bindAddress: string): boolean {
  return WILDCARD.has(bindAddress);
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
 * it receives and would otherwise rebind its client port to the wildcard.
 */
export function renderDynamicConfig(settings: Settings, members: Member[]): string {
  const wildcard = isWildcard(settings.bindAddress);
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
      return renderServerLine(m.id, host, m.role, settings.ports, wildcard ? null : host);
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
    `admin.serverAddress=${settings.bindAddress}`,
  ];
  // In a pod: bind quorum and election ports on every interface (see renderDynamicConfig).
  if (isWildcard(settings.bindAddress)) lines.push("quorumListenOnAllIPs=true");
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
  /** Whether ZooKeeper's database (dataDir/version-2) exists. */
  hasDatabase: boolean;
}

export type DynamicChoice =
  | { kind: "zookeeper"; name: string; version: bigint; reason: string }
  | { kind: "rendered"; name: string; text: string; reason: string };

export interface InitPlan {
  myid: string;
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
 * used as ZooKeeper wrote it when it is at least as new as the operator's members and still lists
 * this server. A newest file that does not list this server means the server was removed from
 * the ensemble while it ran: its database belongs to an earlier membership, so it starts clean.
 */
export function planInit(
  settings: Settings,
  members: MembersFile,
  staticSettings: StaticSetting[],
  volume: VolumeState,
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
  const newest = [...volume.dynamicFiles].sort((a, b) =>
    a.version < b.version ? 1 : a.version > b.version ? -1 : 0,
  )[0];
  const wanted = BigInt(`0x${members.version}`);
  let dynamic: DynamicChoice;
  let moveAside = false;
  if (newest && !idsIn(newest.text).includes(id)) {
    moveAside = volume.hasDatabase || volume.dynamicFiles.length > 0;
    dynamic = rendered(
      settings,
      members,
      `${newest.name} on the volume does not list server ${id}: stale data moved aside`,
    );
  } else if (newest && newest.version >= wanted) {
    dynamic = {
      kind: "zookeeper",
      name: newest.name,
      version: newest.version,
      reason: `${newest.name} (version ${newest.version.toString(16)}) is at least as new as the members file (version ${members.version})`,
    };
  } else {
    dynamic = rendered(
      settings,
      members,
      newest
        ? `the members file (version ${members.version}) is newer than ${newest.name}`
        : "no dynamic config on the volume",
    );
  }
  const dynamicPath = `${settings.confDir}/${dynamic.name}`;
  return { myid: `${id}\n`, moveAside, dynamic, zooCfg: renderZooCfg(settings, staticSettings, dynamicPath) };
}

function rendered(settings: Settings, members: MembersFile, reason: string): DynamicChoice {
  return {
    kind: "rendered",
    name: dynamicFileName(members.version),
    text: renderDynamicConfig(settings, members.members),
    reason,
  };
}
