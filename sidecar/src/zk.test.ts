// Parsers of four-letter-word answers, on answers captured from a real ZooKeeper 3.8.0 leader
// (testdata/*-3.8.0-leader.txt) and on damaged variants of them.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConf, parseMntr, parseSrvr } from "./zk.ts";

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, "testdata", name), "utf8");

describe("parseSrvr", () => {
  it("reads mode, zxid, version and node count", () => {
    expect(parseSrvr(fixture("srvr-3.8.0-leader.txt"))).toEqual({
      mode: "leader",
      zxid: "0x200000000",
      version: "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC",
      nodeCount: 5,
    });
  });

  it("throws on an answer without a known Mode", () => {
    expect(() => parseSrvr("Zookeeper version: 3.8.0\nZxid: 0x1\n")).toThrow(/no known Mode line/);
    expect(() => parseSrvr("Mode: confused\n")).toThrow(/no known Mode line/);
  });

  it("tolerates a damaged zxid and node count", () => {
    expect(parseSrvr("Mode: follower\nZxid: banana\nNode count: -\n")).toMatchObject({
      mode: "follower",
      zxid: null,
      nodeCount: null,
    });
  });
});

describe("parseMntr", () => {
  it("reads every line of a real answer", () => {
    const mntr = parseMntr(fixture("mntr-3.8.0-leader.txt"));
    expect(mntr.malformed).toEqual([]);
    expect(mntr.values.get("server_state")).toBe("leader");
    expect(mntr.values.get("znode_count")).toBe("5");
    expect(mntr.values.size).toBeGreaterThan(300);
  });

  it("reports malformed lines instead of throwing", () => {
    const mntr = parseMntr("zk_znode_count\t5\ngarbage\nzk_watch_count 3\nzk_ok\t1\r\n");
    expect([...mntr.values]).toEqual([
      ["znode_count", "5"],
      ["ok", "1"],
    ]);
    expect(mntr.malformed).toEqual(["garbage", "zk_watch_count 3"]);
  });
});

describe("parseConf", () => {
  it("reads server id, committed version and members", () => {
    expect(parseConf(fixture("conf-3.8.0-leader.txt"))).toEqual({
      serverId: 1,
      version: "100000000",
      members: [
        {
          id: 1,
          host: "127.19.0.1",
          quorumPort: 2888,
          electionPort: 3888,
          role: "participant",
          clientAddress: "127.19.0.1",
          clientPort: 2181,
        },
      ],
    });
  });

  it("gives no members for an answer without a membership section", () => {
    expect(parseConf("clientPort=2181\n")).toEqual({ serverId: null, version: null, members: [] });
  });
});
