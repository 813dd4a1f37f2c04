import { describe, expect, test } from "vitest";
import { parseConfig, parseDuration } from "./config.ts";

const defaults = { hostname: "host", pid: 42, inClusterNamespace: "zk-system" };

describe("parseConfig", () => {
  test("defaults", () => {
    const r = parseConfig([], {}, defaults);
    expect(r).toMatchObject({
      ok: true,
      config: {
        kubeconfig: null,
        namespaces: [],
        httpPort: 8080,
        workers: 4,
        resyncPeriodMs: 600_000,
        maxConcurrentRolls: 1,
        memberReadyTimeoutMs: 600_000,
        leaderElection: {
          enabled: true,
          namespace: "zk-system",
          name: "zk-operator",
          identity: "host_42",
          leaseDurationMs: 15_000,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
        },
      },
    });
  });

  test("flags win over environment variables", () => {
    const r = parseConfig(
      ["--workers=8", "--namespaces", "a,b"],
      { ZK_OPERATOR_WORKERS: "2", ZK_OPERATOR_NAMESPACES: "c" },
      defaults,
    );
    expect(r.ok && r.config.workers).toBe(8);
    expect(r.ok && r.config.namespaces).toEqual(["a", "b"]);
    const e = parseConfig([], { ZK_OPERATOR_WORKERS: "2", POD_NAME: "op-0" }, defaults);
    expect(e.ok && e.config.workers).toBe(2);
    expect(e.ok && e.config.leaderElection.identity).toBe("op-0");
  });

  test.each([
    [["--workers=0"], {}, '--workers: must be an integer from 1 to 64, got "0"'],
    [
      [],
      { ZK_OPERATOR_WORKERS: "many" },
      '$ZK_OPERATOR_WORKERS: must be an integer from 1 to 64, got "many"',
    ],
    [["--http-port=70000"], {}, "--http-port: must be an integer from 0 to 65535"],
    [["--resync-period=soon"], {}, "--resync-period: must be a duration like 15s, 500ms or 10m"],
    [["--namespaces=Bad_NS"], {}, '"Bad_NS" is not a valid namespace name'],
    [["--log-level=loud"], {}, "--log-level: must be one of fatal, error, warn, info, debug, trace"],
    [["--leader-elect=maybe"], {}, "--leader-elect: must be true or false"],
    [["--lease-duration=5s"], {}, "the lease duration must be greater than the renew deadline"],
    [["--renew-deadline=2s"], {}, "the renew deadline must be greater than 1.2 × the retry period"],
    [["--max-concurrent-rolls=0"], {}, "--max-concurrent-rolls: must be an integer from 1 to 1000"],
    [["--member-ready-timeout=0"], {}, "--member-ready-timeout: must be longer than 0"],
    [["--frobnicate"], {}, "unknown flag --frobnicate"],
    [["stray"], {}, 'unexpected argument "stray"'],
  ])("%j %j → %s", (argv, env, message) => {
    const r = parseConfig(argv, env, defaults);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.join("\n")).toContain(message);
  });

  test("leader election outside a cluster needs a namespace", () => {
    const r = parseConfig([], {}, { ...defaults, inClusterNamespace: null });
    expect(!r.ok && r.errors[0]).toContain("leader election needs a namespace");
    expect(parseConfig(["--leader-elect=false"], {}, { ...defaults, inClusterNamespace: null }).ok).toBe(
      true,
    );
  });

  test("the operator's own namespace (a NetworkPolicy admits it): POD_NAMESPACE, else the in-cluster one, else none", () => {
    const ns = (env: Record<string, string>, inCluster: string | null): string | null | undefined => {
      const r = parseConfig(["--leader-elect=false"], env, { ...defaults, inClusterNamespace: inCluster });
      return r.ok ? r.config.operatorNamespace : undefined;
    };
    expect(ns({ POD_NAMESPACE: "ops" }, "zk-system")).toBe("ops");
    expect(ns({}, "zk-system")).toBe("zk-system");
    expect(ns({}, null)).toBeNull();
  });

  test("--help", () => {
    const r = parseConfig(["--help"], {}, defaults);
    expect(!r.ok && "help" in r && r.help).toContain("--leader-election-namespace");
  });
});

test.each([
  ["15s", 15_000],
  ["500ms", 500],
  ["10m", 600_000],
  ["1m30s", 90_000],
  ["0", 0],
  ["1.5s", 1500],
  ["10", null],
  ["s", null],
  ["5x", null],
])("parseDuration(%s) = %s", (text, ms) => {
  expect(parseDuration(text)).toBe(ms);
});
