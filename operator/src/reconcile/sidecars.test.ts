import { describe, expect, test } from "vitest";
import type { SidecarStatus } from "../../../sidecar/src/contract.ts";
import type { PodObservation } from "./observe.ts";
import { modeOf, readMemberModes } from "./sidecars.ts";

function status(mode: SidecarStatus["mode"]): SidecarStatus {
  const serving = mode === "leader" || mode === "follower" || mode === "observer" || mode === "standalone";
  return {
    myid: 1,
    mode,
    serving,
    ready: serving && mode !== "standalone",
    reason: "",
    lastZxid: null,
    config: null,
    lastError: null,
    checkedAt: "2026-01-01T00:00:00.000Z",
  };
}

function pod(id: number, ip: string | null, deleting = false): PodObservation {
  return { name: `zk-${id - 1}`, id, ready: true, phase: "Running", image: null, deleting, ip };
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

describe("readMemberModes", () => {
  test("asks each pod with an address once, skips pods without one or being deleted", async () => {
    const asked: string[] = [];
    const answers: Record<string, SidecarStatus | null> = {
      "10.0.0.1": status("follower"),
      "10.0.0.2": status("leader"),
      "10.0.0.3": null, // no answer: left out, so the status says unknown rather than guessing
    };
    const modes = await readMemberModes(
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
