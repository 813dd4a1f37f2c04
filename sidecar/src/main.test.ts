// The CLI as the kubelet runs it: a real `node sidecar/src/main.ts` process, its exit code and its
// one-line message for every bad input, and what it leaves on disk.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES } from "./contract.ts";

const MAIN = join(import.meta.dirname, "main.ts");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  env: Record<string, string>,
  uid?: number,
  onStdout?: (soFar: string) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      onStdout?.(stdout);
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe("zk-sidecar init", () => {
  let root: string;
  let env: Record<string, string>;
  const data = (): string => join(root, "data");
  const conf = (): string => join(root, "conf");
  const op = (): string => join(root, "op");
  const terminationLog = (): string => join(root, "termination-log");

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "zk-sidecar-"));
    chmodSync(root, 0o755);
    for (const d of [data(), conf(), op()]) mkdirSync(d);
    writeFileSync(join(op(), "members"), "version=0\n1=participant\n2=participant\n3=participant\n");
    writeFileSync(join(op(), "zoo.cfg.static"), "tickTime=2000\ninitLimit=10\nsyncLimit=2\n");
    env = {
      POD_NAME: "zk-1",
      POD_NAMESPACE: "default",
      ZK_DATA_DIR: data(),
      ZK_CONF_DIR: conf(),
      ZK_OPERATOR_CONFIG_DIR: op(),
      // Nothing resolves the pod's stable DNS name here; the wait has its own test below.
      ZK_DNS_WAIT_MS: "0",
      // Never /dev/termination-log of the machine running the tests; absent unless a test makes it.
      ZK_TERMINATION_MESSAGE_PATH: terminationLog(),
    };
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("writes myid, zoo.cfg and the dynamic file, and a second run changes nothing", async () => {
    const first = await run(["init"], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ msg: "config rendered", myid: 2, source: "rendered" });
    expect(readFileSync(join(data(), "myid"), "utf8")).toBe("2\n");
    expect(readdirSync(conf()).sort()).toEqual(["zoo.cfg", "zoo.cfg.dynamic.0"]);
    const cfg = readFileSync(join(conf(), "zoo.cfg"), "utf8");
    expect(cfg).toContain(`dynamicConfigFile=${conf()}/zoo.cfg.dynamic.0`);
    const second = await run(["init"], env);
    expect(second.code).toBe(0);
    expect(readFileSync(join(conf(), "zoo.cfg"), "utf8")).toBe(cfg);
  });

  const cases: [string, () => Record<string, string>, () => void, number, string][] = [
    [
      "a pod name without an ordinal",
      () => ({ POD_NAME: "zookeeper" }),
      () => undefined,
      EXIT_CODES.invalidInput,
      'zk-sidecar: pod name "zookeeper" (from POD_NAME) has no ordinal: expected NAME-ORDINAL, e.g. zk-0\n',
    ],
    [
      "an ordinal beyond the member list",
      () => ({ POD_NAME: "zk-3" }),
      () => undefined,
      EXIT_CODES.invalidInput,
      "zk-sidecar: pod zk-3 has ordinal 3 (server id 4), which is not in the member list (ids 1, 2, 3)\n",
    ],
    [
      "a malformed member list",
      () => ({}),
      () => {
        writeFileSync(join(op(), "members"), "version=0\n1=participant\n2:participant\n");
      },
      EXIT_CODES.invalidInput,
      'zk-sidecar: members file line 3: expected ID=participant|observer, got "2:participant"\n',
    ],
    [
      "a value with a newline",
      () => ({ ZK_CLUSTER_DOMAIN: "cluster.local\nserver.9=evil:1:2" }),
      () => undefined,
      EXIT_CODES.invalidInput,
      'zk-sidecar: ZK_CLUSTER_DOMAIN contains a line break: "cluster.local\\nserver.9=evil:1:2"\n',
    ],
    [
      "a missing namespace",
      () => ({ POD_NAMESPACE: "" }),
      () => undefined,
      EXIT_CODES.invalidInput,
      "zk-sidecar: POD_NAMESPACE is not set\n",
    ],
    [
      "a missing members file",
      () => ({}),
      () => {
        rmSync(join(op(), "members"));
      },
      EXIT_CODES.invalidInput,
      "", // checked below: names the path and ENOENT
    ],
    [
      "a sidecar-owned key in the static settings",
      () => ({}),
      () => {
        writeFileSync(join(op(), "zoo.cfg.static"), "tickTime=2000\nreconfigEnabled=false\n");
      },
      EXIT_CODES.invalidInput,
      "zk-sidecar: zoo.cfg.static line 2: reconfigEnabled is set by the sidecar and must not be given\n",
    ],
    [
      "a malformed rejoin-empty",
      () => ({}),
      () => {
        writeFileSync(join(op(), "rejoin-empty"), "2 3\n");
      },
      EXIT_CODES.invalidInput,
      'zk-sidecar: ConfigMap key rejoin-empty: "2 3" is not a server id: expected server ids separated by commas, e.g. 2,3\n',
    ],
    [
      "a malformed initialized-at",
      () => ({}),
      () => {
        writeFileSync(join(op(), "initialized-at"), "1767225600\n");
      },
      EXIT_CODES.invalidInput,
      'zk-sidecar: ConfigMap key initialized-at: expected an ISO 8601 time such as 2026-01-01T00:00:00.000Z, got "1767225600"\n',
    ],
    [
      "a data directory that does not exist",
      () => ({ ZK_DATA_DIR: "/nonexistent/data" }),
      () => undefined,
      EXIT_CODES.notWritable,
      "zk-sidecar: data directory /nonexistent/data is not a writable directory: ENOENT\n",
    ],
  ];

  for (const [what, override, setup, code, message] of cases) {
    it(`refuses ${what} with exit ${code} and one line`, async () => {
      setup();
      const r = await run(["init"], { ...env, ...override() });
      expect(r.code).toBe(code);
      expect(r.stdout).toBe("");
      if (message) expect(r.stderr).toBe(message);
      else expect(r.stderr).toBe(`zk-sidecar: cannot read ${op()}/members (ConfigMap key members): ENOENT\n`);
      expect(readdirSync(conf())).toEqual([]);
    });
  }

  it("refuses an unwritable config directory with exit 5", async () => {
    // Root may write into any directory whatever its mode bits; only a read-only mount stops it.
    // So as root the directory becomes a read-only bind mount (EROFS), otherwise mode 0555 (EACCES).
    // (Running as another uid instead fails wherever the checkout's parent is private, as in CI.)
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      execFileSync("mount", ["--bind", conf(), conf()]);
      execFileSync("mount", ["-o", "remount,bind,ro", conf()]);
    } else {
      chmodSync(conf(), 0o555);
    }
    try {
      const r = await run(["init"], env);
      expect(r.code).toBe(EXIT_CODES.notWritable);
      expect(r.stderr).toBe(
        `zk-sidecar: config directory ${conf()} is not a writable directory: ${asRoot ? "EROFS" : "EACCES"}\n`,
      );
      expect(readdirSync(data())).toEqual([]);
    } finally {
      if (asRoot) execFileSync("umount", [conf()]);
    }
  });

  it("waits for its own DNS name in a pod, then fails with exit 6 and writes nothing", async () => {
    const started = Date.now();
    const r = await run(["init"], { ...env, ZK_DNS_WAIT_MS: "1500", ZK_CLUSTER_DOMAIN: "invalid" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(r.code).toBe(EXIT_CODES.dnsNotReady);
    expect(r.stderr).toMatch(
      /^zk-sidecar: own DNS name zk-1\.zk-headless\.default\.svc\.invalid did not resolve within 1500 ms \((ENOTFOUND|EAI_AGAIN)\); is the headless Service publishing not-ready addresses\?\n$/,
    );
    expect(readdirSync(conf())).toEqual([]);
    expect(readdirSync(data())).toEqual([]);
  });

  it("refuses a myid of another server and touches nothing", async () => {
    writeFileSync(join(data(), "myid"), "3\n");
    mkdirSync(join(data(), "version-2"));
    const r = await run(["init"], env);
    expect(r.code).toBe(EXIT_CODES.conflict);
    expect(r.stderr).toBe(
      `zk-sidecar: ${data()}/myid holds "3" but this pod is server 2: the volume belongs to another server; nothing was changed\n`,
    );
    expect(readFileSync(join(data(), "myid"), "utf8")).toBe("3\n");
    expect(readdirSync(data()).sort()).toEqual(["myid", "version-2"]);
    expect(readdirSync(conf())).toEqual([]);
  });

  describe("an empty data directory of an initialized ensemble", () => {
    const AT = "2026-01-01T00:00:00.000Z";
    const refusal = (dataDir: string): string =>
      `zk-sidecar: pod zk-1 (server 2): the data directory ${dataDir} holds no ZooKeeper database, but the ensemble has been initialized since ${AT} (ConfigMap zk-config, key initialized-at) and key rejoin-empty does not list 2. Refusing to start an empty server, which could form a quorum without the ensemble's data; nothing was written. If this volume was lost, follow docs/operations.md "Lost volumes" (the operator re-adds server 2 empty by listing it in rejoin-empty while the other members hold a quorum); if it should hold data, restore that first.\n`;

    beforeEach(() => {
      writeFileSync(join(op(), "initialized-at"), `${AT}\n`);
    });

    it("is refused with exit 7, the message in the termination log, and nothing written", async () => {
      // ZooKeeper's first start creates version-2 and its epoch files before its first snapshot.
      mkdirSync(join(data(), "version-2"));
      writeFileSync(join(data(), "version-2", "currentEpoch"), "1");
      writeFileSync(join(op(), "rejoin-empty"), "1,3\n");
      writeFileSync(terminationLog(), "stale message of an earlier run, longer than the new one");
      const r = await run(["init"], { ...env, ZK_REJOIN_WAIT_MS: "0" });
      expect(r.code).toBe(EXIT_CODES.emptyDataRefused);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(refusal(data()));
      expect(readFileSync(terminationLog(), "utf8")).toBe(refusal(data()));
      expect(readdirSync(data())).toEqual(["version-2"]);
      expect(readdirSync(join(data(), "version-2"))).toEqual(["currentEpoch"]);
      expect(readdirSync(conf())).toEqual([]);
    });

    it("does not create a termination log that the kubelet did not", async () => {
      const r = await run(["init"], { ...env, ZK_REJOIN_WAIT_MS: "0" });
      expect(r.code).toBe(EXIT_CODES.emptyDataRefused);
      expect(readdirSync(root).sort()).toEqual(["conf", "data", "op"]);
    });

    it("starts empty when rejoin-empty lists the server, and says so", async () => {
      writeFileSync(join(op(), "rejoin-empty"), "2\n");
      const r = await run(["init"], env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({
        level: 30,
        initializedAt: AT,
        msg: "data directory is empty and rejoin-empty lists server 2: starting empty, ZooKeeper syncs the data from the leader",
      });
      expect(lines[1]).toMatchObject({ msg: "config rendered", data: "rejoin-empty" });
      expect(readFileSync(join(data(), "myid"), "utf8")).toBe("2\n");
    });

    it("starts as before when the volume holds a database", async () => {
      mkdirSync(join(data(), "version-2"));
      writeFileSync(join(data(), "version-2", "snapshot.0"), "");
      const r = await run(["init"], env);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ msg: "config rendered", data: "has-data" });
    });

    it("waits for the kubelet to bring a rejoin-empty written a moment later", async () => {
      let allowedAt = 0;
      // The operator's change arrives once init says it waits.
      const r = await run(["init"], { ...env, ZK_REJOIN_WAIT_MS: "20000" }, undefined, (soFar) => {
        if (allowedAt === 0 && soFar.includes("waiting up to")) {
          writeFileSync(join(op(), "rejoin-empty"), "2\n");
          allowedAt = Date.now();
        }
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      // Re-read every 2 s: the change is seen at the next re-read, long before the 20 s.
      expect(Date.now() - allowedAt).toBeLessThan(10_000);
      const msgs = r.stdout
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).toEqual([
        "data directory is empty but the ensemble was initialized: waiting up to 20000 ms for the operator to list server 2 in rejoin-empty before refusing",
        "the ConfigMap changed while init waited: no longer refused",
        "data directory is empty and rejoin-empty lists server 2: starting empty, ZooKeeper syncs the data from the leader",
        "config rendered",
      ]);
    });
  });

  it.each([
    [["init", "--force"], "zk-sidecar: unknown flag --force for init (usage: zk-sidecar init | serve)\n"],
    [["serve", "--port=1"], "zk-sidecar: unknown flag --port=1 for serve (usage: zk-sidecar init | serve)\n"],
    [["init", "now"], 'zk-sidecar: unexpected argument "now" for init (usage: zk-sidecar init | serve)\n'],
    [["start"], 'zk-sidecar: unknown subcommand "start" (usage: zk-sidecar init | serve)\n'],
    [[], "zk-sidecar: missing subcommand (usage: zk-sidecar init | serve)\n"],
  ])("refuses %j with exit 2", async (args, message) => {
    const r = await run(args, env);
    expect(r.code).toBe(EXIT_CODES.usage);
    expect(r.stderr).toBe(message);
    expect(readdirSync(conf())).toEqual([]);
  });
});

describe("zk-sidecar serve without ZooKeeper", () => {
  async function freePort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const address = srv.address();
    await new Promise<void>((r) =>
      srv.close(() => {
        r();
      }),
    );
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  }

  it("answers not live and not ready with the reason, and exits 0 on SIGTERM", async () => {
    const [httpPort, zkPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, [MAIN, "serve"], {
      env: {
        PATH: process.env.PATH ?? "",
        POD_NAME: "zk-0",
        POD_NAMESPACE: "default",
        ZK_SIDECAR_HTTP_HOST: "127.0.0.1",
        ZK_SIDECAR_HTTP_PORT: String(httpPort),
        ZK_CLIENT_PORT: String(zkPort),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((r) =>
      child.on("exit", (code) => {
        r(code);
      }),
    );
    try {
      const base = `http://127.0.0.1:${httpPort}`;
      let live: Response | null = null;
      for (let i = 0; i < 100 && live === null; i++) {
        live = await fetch(`${base}/livez`).catch(() => null);
        if (live === null) await new Promise((r) => setTimeout(r, 100));
      }
      expect(live?.status).toBe(503);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { ready: boolean; mode: string; reason: string };
      expect(body).toMatchObject({ ready: false, mode: "unreachable" });
      expect(body.reason).toContain("ECONNREFUSED");
      const status = (await (await fetch(`${base}/status`)).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ myid: 1, serving: false, ready: false, config: null });
      expect(status.lastError).toMatchObject({ reason: "connection" });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain("zookeeper_up 0");
      expect(metrics).toMatch(
        /^zk_sidecar_four_letter_word_errors_total\{word="srvr",reason="connection"\} [1-9]/m,
      );
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain('"msg":"shutting down"');
  });
});
