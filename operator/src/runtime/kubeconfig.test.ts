import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { inClusterConnection, parseKubeconfig } from "./kubeconfig.ts";
import { checkLeaderElectionConfig, microTime } from "./leader.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("parseKubeconfig", () => {
  test("JSON with inline certificates and the current context", async () => {
    const text = JSON.stringify({
      "current-context": "b",
      contexts: [
        { name: "a", context: { cluster: "c1", user: "u1" } },
        { name: "b", context: { cluster: "c2", user: "u2" } },
      ],
      clusters: [
        { name: "c1", cluster: { server: "https://one:6443" } },
        { name: "c2", cluster: { server: "https://two:6443/", "certificate-authority-data": b64("CA") } },
      ],
      users: [
        { name: "u1", user: { token: "t1" } },
        { name: "u2", user: { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") } },
      ],
    });
    const c = await parseKubeconfig(text, "/x/config");
    expect(c).toMatchObject({
      server: "https://two:6443",
      ca: "CA",
      cert: "CERT",
      key: "KEY",
      insecureSkipTlsVerify: false,
    });
    expect(c.authorization()).toBeUndefined();
  });

  test("YAML with a token file next to it, and insecure-skip-tls-verify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-"));
    writeFileSync(join(dir, "token"), "secret-token\n");
    const text = [
      "apiVersion: v1",
      "kind: Config",
      "current-context: ctx",
      "contexts: [{name: ctx, context: {cluster: c, user: u}}]",
      "clusters: [{name: c, cluster: {server: 'https://h:443', insecure-skip-tls-verify: true}}]",
      `users: [{name: u, user: {tokenFile: ${join(dir, "token")}}}]`,
    ].join("\n");
    const c = await parseKubeconfig(text, join(dir, "config"));
    expect(c.insecureSkipTlsVerify).toBe(true);
    expect(c.authorization()).toBe("Bearer secret-token");
  });

  test.each([
    [{ "current-context": "nope", contexts: [] }, 'the current context "nope" is not defined'],
    [
      {
        "current-context": "x",
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        clusters: [{ name: "c", cluster: { server: "https://h" } }],
        users: [{ name: "u", user: { exec: { command: "aws" } } }],
      },
      "exec or auth-provider plugin, which zk-operator does not support",
    ],
  ])("%j is refused: %s", async (doc, message) => {
    await expect(parseKubeconfig(JSON.stringify(doc), "/k")).rejects.toThrow(message);
  });

  test("outside a pod, in-cluster config says what to do", () => {
    expect(() => inClusterConnection({})).toThrow("pass --kubeconfig or set $KUBECONFIG");
  });
});

describe("leader election settings", () => {
  test.each([
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, null],
    [
      { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      "greater than the renew deadline",
    ],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }, "1.2 × the retry period"],
  ])("%j → %s", (c, problem) => {
    const r = checkLeaderElectionConfig(c);
    if (problem === null) expect(r).toBeNull();
    else expect(r).toContain(problem);
  });

  test("MicroTime has microseconds", () => {
    expect(microTime(new Date("2026-01-02T03:04:05.678Z"))).toBe("2026-01-02T03:04:05.678000Z");
  });
});
