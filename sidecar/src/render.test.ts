import { describe, expect, it } from "vitest";
import { EXIT_CODES, parseServerLine, type MembersFile } from "./contract.ts";
import {
  decideEmptyData,
  dynamicFileName,
  type EmptyDataKeys,
  isDatabaseFile,
  NO_EMPTY_DATA_KEYS,
  parseDynamicFileName,
  parseMembers,
  parseStaticConfig,
  planInit,
  renderDynamicConfig,
  renderZooCfg,
  type VolumeState,
} from "./render.ts";
import { readSettings, SidecarError } from "./settings.ts";

const pod = (name: string, extra: Record<string, string> = {}) =>
  readSettings({ POD_NAME: name, POD_NAMESPACE: "prod", ...extra }, "unused-0");

const THREE: MembersFile = {
  version: "0",
  members: [
    { id: 1, role: "participant" },
    { id: 2, role: "participant" },
    { id: 3, role: "participant" },
  ],
};

const EMPTY: VolumeState = { myid: null, dynamicFiles: [], hasDatabase: false };

function errorOf(fn: () => unknown): SidecarError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SidecarError) return err;
    throw err;
  }
  throw new Error("expected a SidecarError");
}

describe("renderDynamicConfig", () => {
  it("addresses every member, itself included, by stable DNS name, without client addresses in a pod", () => {
    expect(renderDynamicConfig(pod("zk-1"), THREE.members)).toBe(
      [
        "server.1=zk-0.zk-headless.prod.svc.cluster.local:2888:3888:participant;2181",
        "server.2=zk-1.zk-headless.prod.svc.cluster.local:2888:3888:participant;2181",
        "server.3=zk-2.zk-headless.prod.svc.cluster.local:2888:3888:participant;2181",
        "",
      ].join("\n"),
    );
  });

  it("with a specific bind address every line names its client address", () => {
    const s = pod("zk-0", { ZK_BIND_ADDRESS: "127.20.0.1", ZK_CLUSTER_DOMAIN: "example.org" });
    const lines = renderDynamicConfig(s, [
      { id: 2, role: "observer" },
      { id: 1, role: "participant" },
    ]).split("\n");
    expect(lines[0]).toBe(
      "server.1=zk-0.zk-headless.prod.svc.example.org:2888:3888:participant;zk-0.zk-headless.prod.svc.example.org:2181",
    );
    expect(lines[1]).toBe(
      "server.2=zk-1.zk-headless.prod.svc.example.org:2888:3888:observer;zk-1.zk-headless.prod.svc.example.org:2181",
    );
  });

  it("renders lines the contract parses back", () => {
    for (const line of renderDynamicConfig(pod("zk-0", { ZK_CLIENT_PORT: "2281" }), THREE.members)
      .trim()
      .split("\n")) {
      expect(parseServerLine(line)).toMatchObject({ quorumPort: 2888, electionPort: 3888, clientPort: 2281 });
    }
  });
});

describe("renderZooCfg", () => {
  it("puts the operator's settings first and the sidecar's keys after them", () => {
    const cfg = renderZooCfg(
      pod("zk-0"),
      parseStaticConfig("tickTime=2000\nsyncLimit=2\n"),
      "/conf/zoo.cfg.dynamic.0",
    );
    const keys = cfg
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split("=")[0]);
    expect(keys).toEqual([
      "tickTime",
      "syncLimit",
      "dataDir",
      "dynamicConfigFile",
      "standaloneEnabled",
      "reconfigEnabled",
      "4lw.commands.whitelist",
      "admin.enableServer",
      "quorumListenOnAllIPs",
    ]);
    expect(cfg).toContain("dynamicConfigFile=/conf/zoo.cfg.dynamic.0\n");
    expect(cfg).toContain("standaloneEnabled=false\n");
    expect(cfg).toContain("reconfigEnabled=true\n");
    expect(cfg).toContain("4lw.commands.whitelist=ruok,srvr,mntr,conf\n");
    expect(cfg).toContain("quorumListenOnAllIPs=true\n");
    // The unauthenticated AdminServer is off; the sidecar uses four-letter words.
    expect(cfg).toContain("admin.enableServer=false\n");
  });

  it("binds to a specific address without quorumListenOnAllIPs", () => {
    const cfg = renderZooCfg(pod("zk-0", { ZK_BIND_ADDRESS: "127.20.0.1" }), [], "/conf/zoo.cfg.dynamic.0");
    expect(cfg).not.toContain("quorumListenOnAllIPs");
  });
});

describe("parseStaticConfig", () => {
  it("keeps key=value lines in order and skips comments", () => {
    expect(parseStaticConfig("# c\ntickTime = 3000\n\nmetricsProvider.httpPort=7000\n")).toEqual([
      { key: "tickTime", value: "3000" },
      { key: "metricsProvider.httpPort", value: "7000" },
    ]);
  });

  it.each([
    ["tickTime\n", "line 1: expected key=value"],
    ["a=1\n=2\n", "line 2: expected key=value"],
    ["dataDir=/elsewhere\n", "dataDir is set by the sidecar"],
    ["server.4=x:1:2\n", "server.4 is set by the sidecar"],
    ["4lw.commands.whitelist=*\n", "4lw.commands.whitelist is set by the sidecar"],
    ["quorumListenOnAllIPs=false\n", "quorumListenOnAllIPs is set by the sidecar"],
    ["tickTime=1\ntickTime=2\n", "tickTime appears twice"],
    ["globalOutstandingLimit=1000\\\ntickTime=2000\n", "globalOutstandingLimit's value contains a backslash"],
    // ZooKeeper exits on this one: "Malformed \uxxxx encoding" (a \u escape is read before it).
    ["jute.maxbuffer=1\\uZZZZ\n", "jute.maxbuffer's value contains a backslash"],
    ["globalOutstandingLimit=10\u000700\n", "globalOutstandingLimit's value contains a control character"],
  ])("refuses %j: %s", (text, message) => {
    const err = errorOf(() => parseStaticConfig(text));
    expect(err.message).toContain(message);
    expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
  });
});

describe("parseMembers", () => {
  it.each([
    ["1=participant\n", "version=HEX line is missing"],
    ["version=0\n", "no members"],
    ["version=0\n1=leader\n", 'line 2: expected ID=participant|observer, got "1=leader"'],
    ["version=0\n1=participant\n1=observer\n", "server id 1 appears twice"],
    ["version=0\n0=participant\n", "server id 0 is outside 1..255"],
    ["version=zz\n1=participant\n", 'line 1: expected ID=participant|observer, got "version=zz"'],
  ])("refuses %j: %s", (text, message) => {
    const err = errorOf(() => parseMembers(text));
    expect(err.message).toContain(message);
    expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
  });
});

describe("dynamic file names", () => {
  it("reads the version from the suffix and ignores everything else", () => {
    expect(parseDynamicFileName("zoo.cfg.dynamic.100000000")).toBe(0x100000000n);
    expect(parseDynamicFileName("zoo.cfg.dynamic.0")).toBe(0n);
    expect(parseDynamicFileName("zoo.cfg.dynamic.next")).toBeNull();
    expect(parseDynamicFileName("zoo.cfg.dynamic.tmp-12")).toBeNull();
    expect(parseDynamicFileName("zoo.cfg")).toBeNull();
    expect(dynamicFileName("0100000000")).toBe("zoo.cfg.dynamic.100000000");
  });
});

describe("planInit", () => {
  const zkFile = (version: bigint, ids: number[]) => ({
    name: `zoo.cfg.dynamic.${version.toString(16)}`,
    version,
    text: ids.map((id) => `server.${id}=h${id}:2888:3888:participant;2181`).join("\n") + "\n",
  });

  it("renders the members file on an empty volume", () => {
    const plan = planInit(pod("zk-1"), THREE, [], EMPTY, NO_EMPTY_DATA_KEYS);
    expect(plan.myid).toBe("2\n");
    expect(plan.moveAside).toBe(false);
    expect(plan.dynamic).toMatchObject({ kind: "rendered", name: "zoo.cfg.dynamic.0" });
    expect(plan.zooCfg).toContain("dynamicConfigFile=/conf/zoo.cfg.dynamic.0\n");
  });

  it("uses ZooKeeper's newer file as it is", () => {
    const volume: VolumeState = {
      myid: "2\n",
      hasDatabase: true,
      dynamicFiles: [zkFile(0x100000000n, [1, 2, 3]), zkFile(0x200000003n, [1, 2])],
    };
    const plan = planInit(pod("zk-1"), THREE, [], volume, NO_EMPTY_DATA_KEYS);
    expect(plan.dynamic).toMatchObject({ kind: "zookeeper", name: "zoo.cfg.dynamic.200000003" });
    expect(plan.moveAside).toBe(false);
    expect(plan.zooCfg).toContain("dynamicConfigFile=/conf/zoo.cfg.dynamic.200000003\n");
  });

  it("uses ZooKeeper's file when it is exactly as new as the members file", () => {
    const plan = planInit(
      pod("zk-0"),
      { ...THREE, version: "100000000" },
      [],
      {
        ...EMPTY,
        dynamicFiles: [zkFile(0x100000000n, [1, 2, 3])],
      },
      NO_EMPTY_DATA_KEYS,
    );
    expect(plan.dynamic.kind).toBe("zookeeper");
  });

  it("keeps ZooKeeper's own file when the members file is newer (a member that was down during a reconfig, or a hand edit)", () => {
    const plan = planInit(
      pod("zk-0"),
      { ...THREE, version: "300000000" },
      [],
      {
        myid: "1",
        hasDatabase: true,
        dynamicFiles: [zkFile(0x100000000n, [1, 2])],
      },
      NO_EMPTY_DATA_KEYS,
    );
    expect(plan.dynamic).toMatchObject({ kind: "zookeeper", name: "zoo.cfg.dynamic.100000000" });
    expect(plan.dynamic.reason).toContain("ZooKeeper's own config wins over the members file");
    expect(plan.moveAside).toBe(false);
  });

  describe("the server being added (joining)", () => {
    const AT = "2026-01-01T00:00:00.000Z";
    const FOUR = {
      version: "200000003",
      members: [1, 2, 3, 4].map((id) => ({ id, role: "participant" as const })),
    };
    const joining = (id: string): EmptyDataKeys => ({ initializedAt: AT, rejoinEmpty: null, joining: id });

    it("starts empty in an initialized ensemble and renders the committed members plus itself", () => {
      const plan = planInit(pod("zk-3"), FOUR, [], EMPTY, joining("4"));
      expect(plan.emptyData).toEqual({ kind: "joining", initializedAt: AT });
      expect(plan.moveAside).toBe(false);
      expect(plan.dynamic).toMatchObject({ kind: "rendered", name: "zoo.cfg.dynamic.200000003" });
      if (plan.dynamic.kind !== "rendered") throw new Error("rendered expected");
      expect(plan.dynamic.text.trim().split("\n")).toHaveLength(4);
    });

    it("moves aside what a retained volume holds from an earlier membership, even a config that lists it", () => {
      for (const files of [[zkFile(0x100000000n, [1, 2, 3, 4])], [zkFile(0x200000000n, [1, 2, 3])], []]) {
        const plan = planInit(
          pod("zk-3"),
          FOUR,
          [],
          { myid: "4\n", hasDatabase: true, dynamicFiles: files },
          joining("4"),
        );
        expect(plan.moveAside).toBe(true);
        expect(plan.dynamic).toMatchObject({ kind: "rendered", name: "zoo.cfg.dynamic.200000003" });
        expect(plan.dynamic.reason).toBe(
          "server 4 is joining the ensemble: data from an earlier membership moved aside",
        );
      }
    });

    it("keeps its data once ZooKeeper committed it (restarted before the operator cleared joining)", () => {
      const plan = planInit(
        pod("zk-3"),
        FOUR,
        [],
        {
          myid: "4\n",
          hasDatabase: true,
          dynamicFiles: [zkFile(0x200000003n, [1, 2, 3, 4]), zkFile(0x300000000n, [1, 2, 3, 4])],
        },
        joining("4"),
      );
      expect(plan.moveAside).toBe(false);
      expect(plan.dynamic).toMatchObject({ kind: "zookeeper", name: "zoo.cfg.dynamic.300000000" });
    });

    it("is only about the server it names: another empty server is still refused", () => {
      expect(errorOf(() => planInit(pod("zk-1"), FOUR, [], EMPTY, joining("4"))).exitCode).toBe(
        EXIT_CODES.emptyDataRefused,
      );
    });

    it.each(["four", "0", "4,5", "256"])("refuses a malformed joining key %j", (value) => {
      const err = errorOf(() => planInit(pod("zk-3"), FOUR, [], EMPTY, joining(value)));
      expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
      expect(err.message).toBe(
        `ConfigMap key joining: expected one server id from 1 to 255, got ${JSON.stringify(value)}`,
      );
    });
  });

  it("moves stale data aside when ZooKeeper's newest file no longer lists this server", () => {
    const plan = planInit(
      pod("zk-2"),
      { ...THREE, version: "200000003" },
      [],
      {
        myid: "3\n",
        hasDatabase: true,
        dynamicFiles: [zkFile(0x100000000n, [1, 2, 3]), zkFile(0x200000003n, [1, 2])],
      },
      NO_EMPTY_DATA_KEYS,
    );
    expect(plan.moveAside).toBe(true);
    expect(plan.dynamic).toMatchObject({ kind: "rendered", name: "zoo.cfg.dynamic.200000003" });
    expect(plan.dynamic.reason).toContain("stale data moved aside");
  });

  it("refuses an ordinal beyond the member list", () => {
    const err = errorOf(() => planInit(pod("zk-3"), THREE, [], EMPTY, NO_EMPTY_DATA_KEYS));
    expect(err.message).toBe(
      "pod zk-3 has ordinal 3 (server id 4), which is not in the member list (ids 1, 2, 3)",
    );
    expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
  });

  it("refuses a volume whose myid belongs to another server", () => {
    const err = errorOf(() =>
      planInit(pod("zk-0"), THREE, [], { ...EMPTY, myid: "3\n" }, NO_EMPTY_DATA_KEYS),
    );
    expect(err.message).toBe(
      '/data/myid holds "3" but this pod is server 1: the volume belongs to another server; nothing was changed',
    );
    expect(err.exitCode).toBe(EXIT_CODES.conflict);
  });
});

describe("empty data directories (initialized-at, rejoin-empty)", () => {
  const AT = "2026-01-01T00:00:00.000Z";
  const HAS_DATA: VolumeState = { myid: "2\n", dynamicFiles: [], hasDatabase: true };
  const keys = (initializedAt: string | null, rejoinEmpty: string | null = null): EmptyDataKeys => ({
    initializedAt,
    rejoinEmpty,
  });
  const REFUSAL =
    'pod zk-1 (server 2): the data directory /data holds no ZooKeeper database, but the ensemble has been initialized since 2026-01-01T00:00:00.000Z (ConfigMap zk-config, key initialized-at) and key rejoin-empty does not list 2. Refusing to start an empty server, which could form a quorum without the ensemble\'s data; nothing was written. If this volume was lost, follow docs/operations.md "Lost volumes" (the operator re-adds server 2 empty by listing it in rejoin-empty while the other members hold a quorum); if it should hold data, restore that first.';

  it.each<[string, VolumeState, EmptyDataKeys, string]>([
    ["a new ensemble: empty, never initialized", EMPTY, keys(null), "new-ensemble"],
    ["an older operator: neither key", EMPTY, keys(null, null), "new-ensemble"],
    ["rejoin-empty without initialized-at changes nothing", EMPTY, keys(null, "1"), "new-ensemble"],
    ["initialized, empty, listed", EMPTY, keys(AT, "2"), "rejoin-empty"],
    ["initialized, empty, listed among others with spaces", EMPTY, keys(AT, " 1, 2 ,3\n"), "rejoin-empty"],
    ["initialized, data present", HAS_DATA, keys(AT), "has-data"],
    ["initialized, data present, listed anyway", HAS_DATA, keys(AT, "2"), "has-data"],
    [
      "initialized-at with a time zone offset and a newline",
      HAS_DATA,
      keys("2026-01-01T01:00:00+01:00\n"),
      "has-data",
    ],
  ])("%s → %s", (_what, volume, k, kind) => {
    expect(decideEmptyData(pod("zk-1"), volume, k).kind).toBe(kind);
    expect(planInit(pod("zk-1"), THREE, [], volume, k).emptyData.kind).toBe(kind);
  });

  it("an allowed empty server renders as a new one would, and says since when the ensemble is initialized", () => {
    const plan = planInit(pod("zk-1"), THREE, [], EMPTY, keys(AT, "2"));
    expect(plan.emptyData).toEqual({ kind: "rejoin-empty", initializedAt: AT });
    expect(plan.myid).toBe("2\n");
    expect(plan.dynamic).toMatchObject({ kind: "rendered", name: "zoo.cfg.dynamic.0" });
  });

  it.each<[string, EmptyDataKeys]>([
    ["rejoin-empty absent", keys(AT)],
    ["rejoin-empty empty", keys(AT, "\n")],
    ["rejoin-empty lists other servers", keys(AT, "1,3")],
  ])("initialized, empty, %s → exit 7 naming pod, id, time and what to do", (_what, k) => {
    const err = errorOf(() => planInit(pod("zk-1"), THREE, [], EMPTY, k));
    expect(err.exitCode).toBe(EXIT_CODES.emptyDataRefused);
    expect(err.message).toBe(REFUSAL);
  });

  it("a myid of another server is a conflict before it is an empty data directory", () => {
    const err = errorOf(() => planInit(pod("zk-1"), THREE, [], { ...EMPTY, myid: "3\n" }, keys(AT)));
    expect(err.exitCode).toBe(EXIT_CODES.conflict);
  });

  it.each<[EmptyDataKeys, string]>([
    [
      keys("yesterday"),
      'ConfigMap key initialized-at: expected an ISO 8601 time such as 2026-01-01T00:00:00.000Z, got "yesterday"',
    ],
    [
      keys(""),
      'ConfigMap key initialized-at: expected an ISO 8601 time such as 2026-01-01T00:00:00.000Z, got ""',
    ],
    [keys("2026-13-01T00:00:00Z"), 'got "2026-13-01T00:00:00Z"'],
    [keys("2026-01-01 00:00:00"), 'got "2026-01-01 00:00:00"'],
    [
      keys(AT, "two"),
      'ConfigMap key rejoin-empty: "two" is not a server id: expected server ids separated by commas, e.g. 2,3',
    ],
    [keys(AT, "2;3"), 'ConfigMap key rejoin-empty: "2;3" is not a server id'],
    [keys(AT, "2,,3"), 'ConfigMap key rejoin-empty: "" is not a server id'],
    [keys(AT, "0"), 'ConfigMap key rejoin-empty: "0" is not a server id'],
    [keys(null, "300"), "ConfigMap key rejoin-empty: server id 300 is outside 1..255"],
  ])("refuses malformed keys %j, whatever the volume holds: %s", (k, message) => {
    for (const volume of [EMPTY, HAS_DATA]) {
      const err = errorOf(() => planInit(pod("zk-1"), THREE, [], volume, k));
      expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
      expect(err.message).toContain(message);
    }
  });

  it("counts snapshots and transaction logs as a database, not the epoch files of a first start", () => {
    for (const name of ["snapshot.0", "snapshot.100000000", "snapshot.1a.snappy", "log.100000001"])
      expect(isDatabaseFile(name)).toBe(true);
    for (const name of [
      "acceptedEpoch",
      "currentEpoch",
      "currentEpoch.tmp",
      "updatingEpoch",
      "snapshot.",
      "logs",
    ])
      expect(isDatabaseFile(name)).toBe(false);
  });
});
