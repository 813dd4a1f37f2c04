import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES, type MembersFile } from "./contract.ts";
import { planWaitingForRejoin, readVolumeState, runInit, waitForOwnName } from "./init.ts";
import type { Logger } from "./log.ts";
import { type EmptyDataKeys, planInit, type VolumeState } from "./render.ts";
import { readSettings, type Settings, SidecarError } from "./settings.ts";

const settings = (waitMs: number) =>
  readSettings({ POD_NAME: "zk-0", POD_NAMESPACE: "prod", ZK_DNS_WAIT_MS: String(waitMs) }, "unused-0");

describe("waitForOwnName", () => {
  it("asks for the pod's own stable name and waits past loopback answers and lookup errors", async () => {
    const answers: (string[] | Error)[] = [
      Object.assign(new Error("not found"), { code: "ENOTFOUND" }),
      ["127.0.1.1"],
      ["10.1.2.3", "127.0.0.1"],
    ];
    const asked: string[] = [];
    const addresses = await waitForOwnName(settings(10_000), (name) => {
      asked.push(name);
      const a = answers.shift() ?? [];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    });
    expect(addresses).toEqual(["10.1.2.3"]);
    expect(asked).toEqual(Array(3).fill("zk-0.zk-headless.prod.svc.cluster.local"));
  });

  it("gives up after ZK_DNS_WAIT_MS with exit code 6, naming the last answer", async () => {
    const err = await waitForOwnName(settings(50), () => Promise.resolve(["127.0.0.1"])).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SidecarError);
    expect((err as SidecarError).exitCode).toBe(EXIT_CODES.dnsNotReady);
    expect((err as SidecarError).message).toBe(
      "own DNS name zk-0.zk-headless.prod.svc.cluster.local did not resolve within 50 ms (only loopback addresses); is the headless Service publishing not-ready addresses?",
    );
  });
});

describe("readVolumeState", () => {
  let root: string;
  let s: Settings;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "zk-volume-"));
    for (const d of ["data", "conf"]) mkdirSync(join(root, d));
    s = readSettings(
      {
        POD_NAME: "zk-0",
        POD_NAMESPACE: "prod",
        ZK_DATA_DIR: join(root, "data"),
        ZK_CONF_DIR: join(root, "conf"),
      },
      "unused-0",
    );
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("an empty volume, and version-2 with only the epoch files of a first start, hold no database", async () => {
    expect((await readVolumeState(s)).hasDatabase).toBe(false);
    mkdirSync(join(root, "data", "version-2"));
    writeFileSync(join(root, "data", "version-2", "acceptedEpoch"), "0");
    writeFileSync(join(root, "data", "version-2", "currentEpoch"), "0");
    expect((await readVolumeState(s)).hasDatabase).toBe(false);
  });

  it.each(["snapshot.0", "log.100000001"])("version-2 with %s holds a database", async (name) => {
    mkdirSync(join(root, "data", "version-2"));
    writeFileSync(join(root, "data", "version-2", name), "");
    expect((await readVolumeState(s)).hasDatabase).toBe(true);
  });
});

describe("planWaitingForRejoin", () => {
  const AT = "2026-01-01T00:00:00.000Z";
  const s = (waitMs: number) =>
    readSettings({ POD_NAME: "zk-1", POD_NAMESPACE: "prod", ZK_REJOIN_WAIT_MS: String(waitMs) }, "unused-0");
  const members: MembersFile = {
    version: "0",
    members: [1, 2, 3].map((id) => ({ id, role: "participant" as const })),
  };
  const EMPTY: VolumeState = { myid: null, dynamicFiles: [], hasDatabase: false };

  function recorder(): { logger: Logger; lines: { level: string; msg: string }[] } {
    const lines: { level: string; msg: string }[] = [];
    const at = (level: string) => (_fields: Record<string, unknown>, msg: string) =>
      lines.push({ level, msg });
    return { logger: { info: at("info"), warn: at("warn"), error: at("error") }, lines };
  }

  it("re-reads the keys until the operator lists the server, and says so", async () => {
    const answers: EmptyDataKeys[] = [
      { initializedAt: AT, rejoinEmpty: null },
      { initializedAt: AT, rejoinEmpty: "3" },
      { initializedAt: AT, rejoinEmpty: "2,3" },
    ];
    let reads = 0;
    const { logger, lines } = recorder();
    const settings = s(10_000);
    const plan = await planWaitingForRejoin(
      settings,
      (keys) => planInit(settings, members, [], EMPTY, keys),
      () => Promise.resolve(answers[Math.min(reads++, answers.length - 1)] as EmptyDataKeys),
      logger,
      10,
    );
    expect(plan.emptyData).toEqual({ kind: "rejoin-empty", initializedAt: AT });
    expect(reads).toBe(3);
    expect(lines.map((l) => l.level)).toEqual(["warn", "info"]);
    expect(lines[0]?.msg).toBe(
      "data directory is empty but the ensemble was initialized: waiting up to 10000 ms for the operator to list server 2 in rejoin-empty before refusing",
    );
  });

  it("refuses with exit 7 after ZK_REJOIN_WAIT_MS, saying how long it waited", async () => {
    const settings = s(60);
    let reads = 0;
    const started = Date.now();
    const err = await planWaitingForRejoin(
      settings,
      (keys) => planInit(settings, members, [], EMPTY, keys),
      () => {
        reads++;
        return Promise.resolve({ initializedAt: AT, rejoinEmpty: null });
      },
      recorder().logger,
      10,
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    expect(reads).toBeGreaterThan(2);
    expect(err).toBeInstanceOf(SidecarError);
    expect((err as SidecarError).exitCode).toBe(EXIT_CODES.emptyDataRefused);
    expect((err as SidecarError).message).toMatch(
      /^pod zk-1 \(server 2\): .* \(rejoin-empty was re-read for 60 ms\)$/,
    );
  });

  it("with ZK_REJOIN_WAIT_MS=0 refuses at once, and never waits on any other error", async () => {
    const { logger, lines } = recorder();
    let reads = 0;
    const read = () => {
      reads++;
      return Promise.resolve<EmptyDataKeys>({ initializedAt: AT, rejoinEmpty: null });
    };
    const now = s(0);
    const refused = await planWaitingForRejoin(
      now,
      (k) => planInit(now, members, [], EMPTY, k),
      read,
      logger,
    ).catch((e: unknown) => e);
    expect((refused as SidecarError).exitCode).toBe(EXIT_CODES.emptyDataRefused);
    expect((refused as SidecarError).message).not.toContain("re-read");
    const later = s(10_000);
    const conflict = await planWaitingForRejoin(
      later,
      (k) => planInit(later, members, [], { ...EMPTY, myid: "1\n" }, k),
      read,
      logger,
    ).catch((e: unknown) => e);
    expect((conflict as SidecarError).exitCode).toBe(EXIT_CODES.conflict);
    expect(reads).toBe(2);
    expect(lines).toEqual([]);
  });
});

describe("runInit on an empty data directory of an initialized ensemble", () => {
  let root: string;
  let settings: Settings;
  const op = (): string => join(root, "op");

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "zk-rejoin-"));
    for (const d of ["data", "conf", "op"]) mkdirSync(join(root, d));
    writeFileSync(join(op(), "members"), "version=0\n1=participant\n2=participant\n3=participant\n");
    writeFileSync(join(op(), "zoo.cfg.static"), "tickTime=2000\n");
    writeFileSync(join(op(), "initialized-at"), "2026-01-01T00:00:00.000Z\n");
    settings = readSettings(
      {
        POD_NAME: "zk-1",
        POD_NAMESPACE: "prod",
        ZK_DATA_DIR: join(root, "data"),
        ZK_CONF_DIR: join(root, "conf"),
        ZK_OPERATOR_CONFIG_DIR: op(),
        ZK_BIND_ADDRESS: "127.0.0.1",
        ZK_REJOIN_WAIT_MS: "5000",
      },
      "unused-0",
    );
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("picks up a rejoin-empty the operator writes while it waits, then writes", async () => {
    setTimeout(() => {
      writeFileSync(join(op(), "rejoin-empty"), "2\n");
    }, 100);
    const { plan } = await runInit(settings, { rejoinPollMs: 20 });
    expect(plan.emptyData.kind).toBe("rejoin-empty");
    expect(readFileSync(join(root, "data", "myid"), "utf8")).toBe("2\n");
    expect(readdirSync(join(root, "conf")).sort()).toEqual(["zoo.cfg", "zoo.cfg.dynamic.0"]);
  });

  it("refuses after the wait and leaves the volume as it found it", async () => {
    mkdirSync(join(root, "data", "version-2"));
    writeFileSync(join(root, "data", "version-2", "currentEpoch"), "1");
    const err = await runInit({ ...settings, rejoinWaitMs: 50 }, { rejoinPollMs: 20 }).catch(
      (e: unknown) => e,
    );
    expect((err as SidecarError).exitCode).toBe(EXIT_CODES.emptyDataRefused);
    expect(readdirSync(join(root, "data"))).toEqual(["version-2"]);
    expect(readdirSync(join(root, "data", "version-2"))).toEqual(["currentEpoch"]);
    expect(readdirSync(join(root, "conf"))).toEqual([]);
  });
});
