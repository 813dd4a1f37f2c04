import { describe, expect, test } from "vitest";
import type { SidecarStatus } from "../../../sidecar/src/contract.ts";
import type { PodObservation } from "./observe.ts";
import { podObservation, sidecarStatus } from "../../test/fixtures/observed.ts";
import { committedConfig, modeOf, readMembers } from "./sidecars.ts";

function status(mode: SidecarStatus["mode"]): SidecarStatus {
  return sidecarStatus(mode);
}

function pod(id: number, ip: string | null, deleting = false): PodObservation {
  return podObservation(id, { ip, deleting });
}

describe("modeOf", () => {
  test.each([
    ["leader", "leader"],
    ["follower", "follower"],
    ["observer", "observer"],
    ["not-serving", "down"],
    ["unreachable", "down"],
    ["standalone", "down"],
  ] as const)("%s → %s", (mode, expected) => {
    expect(modeOf(status(mode))).toBe(expected);
  });
});

describe("readMembers", () => {
  test("asks each pod with an address once, skips pods without one or being deleted", async () => {
    const asked: string[] = [];
    const answers: Record<string, SidecarStatus | null> = {
      "10.0.0.1": status("follower"),
      "10.0.0.2": status("leader"),
      "10.0.0.3": null, // no answer: left out, so the status says unknown rather than guessing
    };
    const { modes } = await readMembers(
      [pod(1, "10.0.0.1"), pod(2, "10.0.0.2"), pod(3, "10.0.0.3"), pod(4, null), pod(5, "10.0.0.5", true)],
      (ip) => {
        asked.push(ip);
        return Promise.resolve(answers[ip] ?? null);
      },
    );
    expect(asked.sort()).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    expect([...modes]).toEqual([
      [1, "follower"],
      [2, "leader"],
    ]);
  });
});

function withConfig(mode: SidecarStatus["mode"], version: string, ids: number[]): SidecarStatus {
  return {
    ...status(mode),
    config: {
      version,
      members: ids.map((id) => ({
        id,
        host: `zk-${id - 1}.zk-headless`,
        quorumPort: 2888,
        electionPort: 3888,
        role: "participant" as const,
        clientAddress: null,
        clientPort: 2181,
      })),
    },
  };
}

describe("committedConfig", () => {
  test("the leader's config wins, members sorted by id", () => {
    expect(
      committedConfig([
        withConfig("follower", "200000001", [1, 2, 3, 4]),
        withConfig("leader", "100000000", [3, 1, 2]),
      ]),
    ).toEqual({
      source: "zookeeper",
      configVersion: "100000000",
      members: [
        { id: 1, role: "participant" },
        { id: 2, role: "participant" },
        { id: 3, role: "participant" },
      ],
    });
  });

  test("without a leader: the newest version a serving member reports", () => {
    const c = committedConfig([
      withConfig("follower", "100000000", [1, 2, 3]),
      withConfig("follower", "200000001", [1, 2]),
    ]);
    expect(c).toMatchObject({ source: "zookeeper", configVersion: "200000001" });
  });

  test("without a leader, of equal versions the view most members share: not a joiner's own", () => {
    const c = committedConfig([
      withConfig("follower", "100000000", [1, 2, 3, 4]),
      withConfig("follower", "100000000", [1, 2, 3]),
      withConfig("follower", "100000000", [1, 2, 3]),
    ]);
    expect(c).toMatchObject({ configVersion: "100000000", members: [{ id: 1 }, { id: 2 }, { id: 3 }] });
  });

  test("nobody serving, or no config: none", () => {
    expect(committedConfig([status("not-serving"), status("unreachable")])).toEqual({ source: "none" });
    expect(committedConfig([])).toEqual({ source: "none" });
  });
});
