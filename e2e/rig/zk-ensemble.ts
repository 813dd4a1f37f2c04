// Real ZooKeeper ensembles on loopback, for the zk test tier and for developers.
//
// Each server is its own JVM (Debian's ZooKeeper 3.8) on its own address 127.B.0.ID, with the
// ports a pod would have (2181, 2888, 3888). Java resolves the stable DNS names pods get,
// NAME-(ID-1).NAME-headless.NAMESPACE.svc.cluster.local, through a hosts file handed to it with
// -Djdk.net.hosts.file, so the very configs the sidecar renders for pods run here unchanged.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { type Block, claimBlock, RigProcess, waitFor } from "./processes.ts";

// Debian's zookeeper.jar names its dependencies in its manifest but leaves out netty-codec and
// netty-resolver, which the Netty connection factory (TLS) needs: without them the secure port
// fails every connection with NoClassDefFoundError io/netty/handler/codec/ByteToMessageDecoder.
export const ZOOKEEPER_JARS = [
  "/usr/share/java/zookeeper.jar",
  "/usr/share/java/netty-codec.jar",
  "/usr/share/java/netty-resolver.jar",
  "/usr/share/java/slf4j-simple.jar",
];
const JAVA = "/usr/bin/java";
const ZOO_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
const CLI_MAIN = "org.apache.zookeeper.ZooKeeperMain";

/** The dynamic config a server added to a running ensemble first starts with. */
export interface JoinConfig {
  /** The committed config's version (hex, as after `version=`) that `servers` extends. */
  version: string;
  /** Its `server.N=` lines: the committed members and the joiner itself (ZkEnsemble.serverLine). */
  servers: string[];
}

export interface ZkEnsembleOptions {
  /** Number of servers (ids 1..size). */
  size: number;
  /** Cluster name, as in the pod names NAME-0, NAME-1, ... */
  name?: string;
  namespace?: string;
  clusterDomain?: string;
  tickTime?: number;
  initLimit?: number;
  syncLimit?: number;
  heapMb?: number;
  /** Starts servers with a super user of this password (reconfig is authorised with it). */
  superPassword?: string;
  /**
   * Writes the server's zoo.cfg (server.confDir/zoo.cfg) before every start, in place of the
   * rig's own rendering. The sidecar tests run `zk-sidecar init` here.
   */
  prepare?: (server: ZkServer, ensemble: ZkEnsemble) => Promise<void>;
}

/** `super:<base64 sha1("super:" + password)>`, the digest ZooKeeper's super user is set with. */
export function superDigest(password: string): string {
  return `super:${createHash("sha1").update(`super:${password}`).digest("base64")}`;
}

/** Sends one four-letter word and returns the whole answer. */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`${word} to ${host}:${port} timed out`)));
    socket.on("connect", () => socket.end(word));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

export class ZkServer {
  readonly id: number;
  readonly ip: string;
  readonly dnsName: string;
  readonly dataDir: string;
  readonly confDir: string;
  process: RigProcess | null = null;
  /** The config a server added later first starts with (see ZkEnsemble.addServer); null: the bootstrap one. */
  readonly join: JoinConfig | null;
  private readonly ensemble: ZkEnsemble;

  constructor(ensemble: ZkEnsemble, id: number, join: JoinConfig | null = null) {
    this.ensemble = ensemble;
    this.id = id;
    this.join = join;
    this.ip = ensemble.block.ip(id);
    this.dnsName = ensemble.dnsName(id);
    this.dataDir = ensemble.block.path(`server-${id}`, "data");
    this.confDir = ensemble.block.path(`server-${id}`, "conf");
  }

  get zooCfgPath(): string {
    return join(this.confDir, "zoo.cfg");
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`server ${this.id} is already running`);
    const ens = this.ensemble;
    if (ens.options.prepare) await ens.options.prepare(this, ens);
    else this.renderDefaultConfig();
    if (!existsSync(this.zooCfgPath)) throw new Error(`server ${this.id}: no zoo.cfg at ${this.zooCfgPath}`);
    const jvm = [
      `-Xmx${ens.options.heapMb ?? 128}m`,
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      `-Djdk.net.hosts.file=${ens.hostsFile}`,
      "-Dzookeeper.admin.enableServer=false",
      "-Dorg.slf4j.simpleLogger.showDateTime=true",
    ];
    if (ens.options.superPassword) {
      jvm.push(
        `-Dzookeeper.DigestAuthenticationProvider.superDigest=${superDigest(ens.options.superPassword)}`,
      );
    }
    this.process = new RigProcess(ens.block, {
      name: `zk-${this.id}`,
      command: JAVA,
      args: [...jvm, "-cp", [this.confDir, ...ZOOKEEPER_JARS].join(":"), ZOO_MAIN, this.zooCfgPath],
    });
    await waitFor(`server ${this.id} to answer ruok`, async () => {
      if (!this.running) throw new Error(`server ${this.id} exited; log: ${this.process?.logPath}`);
      return (await this.fourLetter("ruok").catch(() => "")) === "imok";
    });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
  }

  async kill(): Promise<void> {
    await this.process?.kill();
  }

  freeze(): void {
    this.process?.freeze();
  }

  thaw(): void {
    this.process?.thaw();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  fourLetter(word: string): Promise<string> {
    return fourLetterWord(this.ip, 2181, word);
  }

  /** leader | follower | observer | standalone, or null when the server is not serving. */
  async mode(): Promise<string | null> {
    const srvr = await this.fourLetter("srvr").catch(() => "");
    return /^Mode: (\w+)/m.exec(srvr)?.[1] ?? null;
  }

  /**
   * The rig's own zoo.cfg: every bootstrap member a participant, addressed by its stable DNS name;
   * a server added later starts with its join config instead.
   */
  private renderDefaultConfig(): void {
    const o = this.ensemble.options;
    writeFileSync(join(this.dataDir, "myid"), `${this.id}\n`);
    if (!existsSync(this.zooCfgPath)) {
      const ens = this.ensemble;
      // Named like the files ZooKeeper writes itself (zoo.cfg.dynamic.<version>), from which it
      // takes the config's version.
      const dynamic = join(
        this.dataDir,
        this.join ? `zoo.cfg.dynamic.${this.join.version}` : "zoo.cfg.dynamic",
      );
      const lines =
        this.join?.servers ?? ens.servers.filter((s) => s.id <= o.size).map((s) => ens.serverLine(s.id));
      writeFileSync(dynamic, lines.join("\n") + "\n");
      writeFileSync(
        this.zooCfgPath,
        [
          `tickTime=${o.tickTime ?? 2000}`,
          `initLimit=${o.initLimit ?? 10}`,
          `syncLimit=${o.syncLimit ?? 5}`,
          `dataDir=${this.dataDir}`,
          "standaloneEnabled=false",
          "reconfigEnabled=true",
          "4lw.commands.whitelist=*",
          `dynamicConfigFile=${dynamic}`,
        ].join("\n") + "\n",
      );
    }
  }
}

export class ZkEnsemble {
  readonly block: Block;
  readonly options: ZkEnsembleOptions;
  readonly name: string;
  readonly namespace: string;
  readonly clusterDomain: string;
  readonly hostsFile: string;
  readonly servers: ZkServer[] = [];

  constructor(block: Block, options: ZkEnsembleOptions) {
    this.block = block;
    this.options = options;
    this.name = options.name ?? "zk";
    this.namespace = options.namespace ?? "default";
    this.clusterDomain = options.clusterDomain ?? "cluster.local";
    this.hostsFile = join(block.dir, "hosts");
    for (let id = 1; id <= options.size; id++) this.servers.push(new ZkServer(this, id));
    this.writeHostsFile();
  }

  dnsName(id: number): string {
    return `${this.name}-${id - 1}.${this.name}-headless.${this.namespace}.svc.${this.clusterDomain}`;
  }

  server(id: number): ZkServer {
    const s = this.servers.find((x) => x.id === id);
    if (!s) throw new Error(`no server ${id} in ensemble ${this.name}`);
    return s;
  }

  /** `server.ID=NAME:2888:3888:ROLE;NAME:2181`, the rig's line for server `id` by its stable DNS name. */
  serverLine(id: number, role: "participant" | "observer" = "participant"): string {
    const host = this.dnsName(id);
    return `server.${id}=${host}:2888:3888:${role};${host}:2181`;
  }

  /**
   * A new slot (id size+1, ...) with its DNS name; not started. Without `join` it starts with the
   * bootstrap members; a server that joins a running ensemble needs `join`: the committed config
   * plus itself (never more than one joiner as participant at a time).
   */
  addServer(join?: JoinConfig): ZkServer {
    const s = new ZkServer(this, this.servers.length + 1, join ?? null);
    this.servers.push(s);
    this.writeHostsFile();
    return s;
  }

  /** "127.B.0.1:2181,...": Node clients connect by address (only Java reads the hosts file). */
  connectionString(ids?: number[]): string {
    return (ids ?? this.servers.map((s) => s.id)).map((id) => `${this.server(id).ip}:2181`).join(",");
  }

  async startAll(): Promise<void> {
    await Promise.all(this.servers.filter((s) => !s.running).map((s) => s.start()));
  }

  /** Waits until the running servers (or `ids`) all serve, with exactly one leader among them. */
  async waitForQuorum(options: { ids?: number[]; timeoutMs?: number } = {}): Promise<ZkServer> {
    const ids = options.ids ?? this.servers.filter((s) => s.running).map((s) => s.id);
    return waitFor(
      `quorum of servers ${ids.join(",")}`,
      async () => {
        const modes = await Promise.all(ids.map((id) => this.server(id).mode()));
        if (modes.some((m) => m === null)) return undefined;
        const leaders = ids.filter((_, i) => modes[i] === "leader");
        return leaders.length === 1 && leaders[0] !== undefined ? this.server(leaders[0]) : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 60_000 },
    );
  }

  async leader(): Promise<ZkServer> {
    return this.waitForQuorum();
  }

  /**
   * Runs ZooKeeper's own command-line client against server `id`, feeding it `commands` one per
   * line (e.g. `addauth digest super:secret`, then `reconfig -add ...`), and returns its output.
   * With `tls` it connects over TLS to the server's stable DNS name (host names verified) on
   * `tls.port`, trusting the PEM CA file `tls.trustStore`, presenting the PEM key store
   * `tls.keyStore` (key and certificate in one file) when the server asks for a certificate.
   */
  async cli(
    id: number,
    commands: string[],
    timeoutMs = 60_000,
    tls?: { port: number; trustStore: string; keyStore?: string },
  ): Promise<string> {
    const server = this.server(id);
    const secure = tls
      ? [
          "-Dzookeeper.client.secure=true",
          "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
          `-Dzookeeper.ssl.trustStore.location=${tls.trustStore}`,
          "-Dzookeeper.ssl.trustStore.type=PEM",
          ...(tls.keyStore
            ? [`-Dzookeeper.ssl.keyStore.location=${tls.keyStore}`, "-Dzookeeper.ssl.keyStore.type=PEM"]
            : []),
        ]
      : [];
    const child = spawn(
      JAVA,
      [
        "-Xmx64m",
        "-XX:TieredStopAtLevel=1",
        `-Djdk.net.hosts.file=${this.hostsFile}`,
        ...secure,
        "-cp",
        ZOOKEEPER_JARS.join(":"),
        CLI_MAIN,
        "-server",
        tls ? `${server.dnsName}:${tls.port}` : `${server.ip}:2181`,
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const out: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => out.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdin.end([...commands, "quit"].join("\n") + "\n");
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    const text = Buffer.concat(out).toString("utf8");
    if (code === null) throw new Error(`zkCli against server ${id} timed out:\n${text}`);
    return text;
  }

  /** All server logs, for a failing test's output. */
  async logs(): Promise<string> {
    const parts = await Promise.all(
      this.servers.map(
        async (s) => `===== server ${s.id} (${s.ip}) =====\n${(await s.process?.log()) ?? "(never started)"}`,
      ),
    );
    return parts.join("\n");
  }

  async destroy(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
    await this.block.release();
  }

  private writeHostsFile(): void {
    const lines = ["127.0.0.1 localhost"];
    for (const s of this.servers) lines.push(`${s.ip} ${s.dnsName}`);
    writeFileSync(this.hostsFile, lines.join("\n") + "\n");
  }
}

/** Claims a loopback block and prepares `size` servers (not started). */
export async function createEnsemble(
  options: ZkEnsembleOptions,
  blockOptions: { persistent?: boolean } = {},
): Promise<ZkEnsemble> {
  if (!Number.isInteger(options.size) || options.size < 1 || options.size > 200) {
    throw new Error(`ensemble size must be 1..200, got ${options.size}`);
  }
  if (!existsSync(ZOOKEEPER_JARS[0] ?? "")) {
    throw new Error(
      "Debian's zookeeper package is not installed (apt-get install zookeeper); the test command installs it",
    );
  }
  const block = await claimBlock("zk", blockOptions);
  return new ZkEnsemble(block, options);
}
