// Processes the rig starts, and the loopback "blocks" they live in.
//
// Every environment the rig brings up (a ZooKeeper ensemble, a control plane) claims one block:
// the loopback subnet 127.B.0.0/24 and a folder run/blocks/B. Each server in it gets its own
// address (127.B.0.1, 127.B.0.2, ...), so servers keep their real ports (2181, 2888, ...) the way
// pods do, and several environments can run side by side without port clashes.
//
// Each block records who owns it and every process started in it, with the process's start
// time from /proc. A block whose owner is gone is stale: `reapStaleBlocks` ends the processes it
// recorded (by pid, and only if the pid still belongs to the same process) and removes it. That
// is how a run that was interrupted, even by SIGKILL, never breaks the next one.
import { spawn, type ChildProcess } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runRoot } from "./paths.ts";

const FIRST_BLOCK = 20;
const LAST_BLOCK = 250;

interface ProcessRecord {
  name: string;
  pid: number;
  startTime: string;
  command: string;
}

interface OwnerRecord {
  kind: string;
  /** The process whose life the block follows; null for a block kept by `rig up` until `rig down`. */
  pid: number | null;
  startTime: string | null;
  createdAt: string;
}

/** State and start time (fields 3 and 22 of /proc/PID/stat); the start time tells a reused pid apart. */
function readStat(pid: number): { state: string; startTime: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = rest[0];
    const startTime = rest[19];
    return state && startTime ? { state, startTime } : null;
  } catch {
    return null;
  }
}

export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/** True while `pid` is still the process recorded with `startTime` and has not exited. */
function isSameProcess(pid: number, startTime: string | null): boolean {
  const stat = readStat(pid);
  // A zombie has exited already; it only waits for its parent to collect it.
  return stat !== null && startTime !== null && stat.startTime === startTime && stat.state !== "Z";
}

function blocksDir(): string {
  return join(runRoot(), "blocks");
}

export class Block {
  readonly id: number;
  readonly dir: string;
  readonly kind: string;
  /** Kept by `rig up` until `rig down`, rather than ending with the process that claimed it. */
  readonly persistent: boolean;

  constructor(id: number, dir: string, kind: string, persistent = false) {
    this.id = id;
    this.dir = dir;
    this.kind = kind;
    this.persistent = persistent;
  }

  /** Address of host n (1..254) in this block. */
  ip(n: number): string {
    if (!Number.isInteger(n) || n < 1 || n > 254) throw new Error(`host number ${n} is outside 1..254`);
    return `127.${this.id}.0.${n}`;
  }

  /** A folder inside the block for one server's data and logs. */
  path(...parts: string[]): string {
    const p = join(this.dir, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  }

  /** Ends every process recorded in the block and removes its folder. */
  async release(): Promise<void> {
    await endRecordedProcesses(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Claims a free block. `persistent` blocks (from `rig up`) outlive the claiming process and are
 * only released by `rig down`; the others are reaped once their owner is gone.
 */
export async function claimBlock(kind: string, options: { persistent?: boolean } = {}): Promise<Block> {
  await reapStaleBlocks();
  mkdirSync(blocksDir(), { recursive: true });
  for (let id = FIRST_BLOCK; id <= LAST_BLOCK; id++) {
    const dir = join(blocksDir(), String(id));
    try {
      mkdirSync(dir); // atomic: exactly one claimer wins a block
    } catch {
      continue;
    }
    const owner: OwnerRecord = {
      kind,
      pid: options.persistent ? null : process.pid,
      startTime: options.persistent ? null : processStartTime(process.pid),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(dir, "owner.json"), JSON.stringify(owner, null, 2));
    mkdirSync(join(dir, "procs"));
    return new Block(id, dir, kind, options.persistent ?? false);
  }
  throw new Error(`no free loopback block in 127.${FIRST_BLOCK}-${LAST_BLOCK}.0.0: see ${blocksDir()}`);
}

/** Blocks currently on record, with their owners, for `rig status` and `rig down`. */
export function listBlocks(): {
  id: number;
  dir: string;
  owner: OwnerRecord | null;
  processes: ProcessRecord[];
}[] {
  if (!existsSync(blocksDir())) return [];
  return readdirSync(blocksDir())
    .filter((n) => /^\d+$/.test(n))
    .map((n) => {
      const dir = join(blocksDir(), n);
      return { id: Number(n), dir, owner: readOwner(dir), processes: readRecords(dir) };
    })
    .sort((a, b) => a.id - b.id);
}

function readOwner(dir: string): OwnerRecord | null {
  try {
    return JSON.parse(readFileSync(join(dir, "owner.json"), "utf8")) as OwnerRecord;
  } catch {
    return null;
  }
}

function readRecords(dir: string): ProcessRecord[] {
  const procs = join(dir, "procs");
  if (!existsSync(procs)) return [];
  const out: ProcessRecord[] = [];
  for (const f of readdirSync(procs)) {
    try {
      out.push(JSON.parse(readFileSync(join(procs, f), "utf8")) as ProcessRecord);
    } catch {
      // A record cut short by a crash names no process we could safely end.
    }
  }
  return out;
}

/** Ends the processes of block `id` and removes it, whoever owns it (`rig down`). */
export async function releaseBlockById(id: number): Promise<void> {
  const dir = join(blocksDir(), String(id));
  await endRecordedProcesses(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** True while a recorded process is still the one that was started. */
export function isRecordedProcessAlive(record: { pid: number; startTime: string }): boolean {
  return isSameProcess(record.pid, record.startTime);
}

/** Reaps blocks whose owner process is gone. Returns the ids it reaped. */
export async function reapStaleBlocks(): Promise<number[]> {
  const reaped: number[] = [];
  for (const b of listBlocks()) {
    const owner = b.owner;
    if (owner?.pid === null) continue; // kept by `rig up`
    // A block without an owner file is either being claimed right now or was cut short by a
    // crash; give a claimer a moment before calling it stale.
    if (owner === null) {
      if (Date.now() - statSync(b.dir).mtimeMs < 10_000) continue;
    } else if (isSameProcess(owner.pid, owner.startTime)) {
      continue;
    }
    await endRecordedProcesses(b.dir);
    rmSync(b.dir, { recursive: true, force: true });
    reaped.push(b.id);
  }
  return reaped;
}

async function endRecordedProcesses(dir: string): Promise<void> {
  const alive = readRecords(dir).filter((r) => isSameProcess(r.pid, r.startTime));
  for (const r of alive) signal(r.pid, "SIGCONT"); // a frozen process cannot act on SIGTERM
  for (const r of alive) signal(r.pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && alive.some((r) => isSameProcess(r.pid, r.startTime))) await sleep(100);
  for (const r of alive) if (isSameProcess(r.pid, r.startTime)) signal(r.pid, "SIGKILL");
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Records `pid` in the block, so that releasing or reaping the block ends it. For processes the
 * rig did not spawn itself but that must not outlive it (e.g. the containerd a dockerd starts).
 */
export function recordProcess(block: Block, name: string, pid: number, command = ""): void {
  const record: ProcessRecord = { name, pid, startTime: processStartTime(pid) ?? "", command };
  writeFileSync(join(block.dir, "procs", `${name}.json`), JSON.stringify(record, null, 2));
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * One process the rig started: its output goes to a log file in the block, its pid to the
 * block's record, and it can be stopped, killed, frozen and thawed.
 */
export class RigProcess {
  readonly name: string;
  readonly logPath: string;
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly recordPath: string;
  private exitCode: number | null | undefined = undefined;

  constructor(block: Block, options: StartOptions) {
    this.name = options.name;
    this.logPath = join(block.path("logs"), `${options.name}.log`);
    // The log file itself is the child's stdout and stderr (no pipe through us), so a process of
    // a persistent block keeps running, and logging, after `rig up` has exited.
    const logFd = openSync(this.logPath, "a");
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd ?? block.dir,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", logFd, logFd],
      detached: block.persistent,
    });
    closeSync(logFd);
    if (block.persistent) this.child.unref();
    const pid = this.child.pid;
    this.recordPath = join(block.dir, "procs", `${options.name}.json`);
    if (pid !== undefined)
      recordProcess(block, options.name, pid, [options.command, ...options.args].join(" "));
    const note = (text: string): void => {
      try {
        appendFileSync(this.logPath, `\n[rig] ${text}\n`);
      } catch {
        // The block was released (its folder removed) before this exit was reported.
      }
    };
    this.exited = new Promise((resolve) => {
      this.child.once("error", (err) => {
        note(`could not start ${options.command}: ${err.message}`);
        this.exitCode = null;
        resolve(null);
      });
      this.child.once("exit", (code, sig) => {
        note(`${options.name} exited with ${code ?? sig}`);
        this.exitCode = code;
        rmSync(this.recordPath, { force: true });
        resolve(code);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start; see ${this.logPath}`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM, then SIGKILL after the timeout. Resolves once the process is gone. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGCONT");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: the process gets no chance to clean up, as in a node or OOM kill. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGSTOP: the process stays but stops answering, like a long GC pause or a partition. */
  freeze(): void {
    this.child.kill("SIGSTOP");
  }

  thaw(): void {
    this.child.kill("SIGCONT");
  }

  async log(): Promise<string> {
    return readFile(this.logPath, "utf8").catch(() => "");
  }
}

/** Polls `check` until it returns a value other than undefined/false, or throws after the timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
