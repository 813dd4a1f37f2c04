import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { inClusterConnection, loadConnection, parseKubeconfig, selectKubeconfig } from "./kubeconfig.ts";
import { checkLeaderElectionConfig, microTime } from "./leader.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const V1 = "client.authentication.k8s.io/v1";

/** A kubeconfig whose current context joins cluster `c` and user `u`. */
function doc(cluster: Record<string, unknown>, user: Record<string, unknown>) {
  return {
    "current-context": "ctx",
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    clusters: [{ name: "c", cluster }],
    users: [{ name: "u", user }],
  };
}

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
    expect(await c.authorization()).toBeUndefined();
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
    expect(await c.authorization()).toBe("Bearer secret-token");
  });

  test("relative tokenFile and certificate files are relative to the kubeconfig, not the cwd", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-"));
    mkdirSync(join(dir, "creds"));
    writeFileSync(join(dir, "creds", "token"), "relative-token\n");
    writeFileSync(join(dir, "creds", "ca.crt"), "CA-FROM-FILE");
    writeFileSync(join(dir, "creds", "tls.crt"), "CERT-FROM-FILE");
    writeFileSync(join(dir, "creds", "tls.key"), "KEY-FROM-FILE");
    const path = join(dir, "config");
    writeFileSync(
      path,
      JSON.stringify(
        doc(
          { server: "https://h", "certificate-authority": "creds/ca.crt" },
          {
            tokenFile: "creds/token",
            "client-certificate": "./creds/tls.crt",
            "client-key": "creds/tls.key",
          },
        ),
      ),
    );
    expect(process.cwd()).not.toBe(dir);
    const c = await loadConnection(path);
    expect(await c.authorization()).toBe("Bearer relative-token");
    expect(c).toMatchObject({ ca: "CA-FROM-FILE", cert: "CERT-FROM-FILE", key: "KEY-FROM-FILE" });
  });

  test("a KUBECONFIG-style list is merged as kubectl does: first definition and current-context win", async () => {
    const a = mkdtempSync(join(tmpdir(), "kc-a-"));
    const b = mkdtempSync(join(tmpdir(), "kc-b-"));
    writeFileSync(join(b, "token"), "token-of-b\n");
    writeFileSync(
      join(a, "config"),
      JSON.stringify({
        "current-context": "ctx",
        contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
        clusters: [{ name: "c", cluster: { server: "https://from-a" } }],
      }),
    );
    writeFileSync(
      join(b, "config"),
      [
        "current-context: other",
        "contexts: [{name: other, context: {cluster: c, user: u}}]",
        "clusters: [{name: c, cluster: {server: 'https://from-b'}}]",
        "users: [{name: u, user: {tokenFile: token}}]",
      ].join("\n"),
    );
    const c = await loadConnection(`${join(a, "config")}:${join(b, "config")}`);
    expect(c.server).toBe("https://from-a");
    // b's relative tokenFile is relative to b's directory.
    expect(await c.authorization()).toBe("Bearer token-of-b");
  });

  test("an oidc auth-provider goes through @kubernetes/client-node: an unexpired id-token is sent", async () => {
    const jwt = [
      b64url({ alg: "none" }),
      b64url({ exp: Math.floor(Date.now() / 1000) + 3600, sub: "u" }),
      "sig",
    ].join(".");
    const c = await parseKubeconfig(
      JSON.stringify(
        doc({ server: "https://h" }, { "auth-provider": { name: "oidc", config: { "id-token": jwt } } }),
      ),
      "/x/config",
    );
    expect(await c.authorization()).toBe(`Bearer ${jwt}`);
  });

  test("an oidc auth-provider whose id-token expired and cannot be refreshed says so", async () => {
    const jwt = [b64url({ alg: "none" }), b64url({ exp: 1 }), "sig"].join(".");
    const text = JSON.stringify(
      doc({ server: "https://h" }, { "auth-provider": { name: "oidc", config: { "id-token": jwt } } }),
    );
    await expect(parseKubeconfig(text, "/x/config")).rejects.toThrow(
      "kubeconfig /x/config: users[u].auth-provider: gave no token (an expired oidc id-token needs client-id, refresh-token and idp-issuer-url)",
    );
  });

  test.each<[string, unknown, string]>([
    ["no current context", { contexts: [] }, "current-context is not set"],
    [
      "an undefined current context",
      { "current-context": "nope", contexts: [] },
      'current-context "nope" is not defined',
    ],
    [
      "a context naming a missing cluster",
      { ...doc({ server: "https://h" }, {}), clusters: [] },
      'contexts[ctx].cluster "c" is not defined',
    ],
    [
      "a context naming a missing user",
      { ...doc({ server: "https://h" }, {}), users: [] },
      'contexts[ctx].user "u" is not defined',
    ],
    ["no server", doc({}, {}), "clusters[c].server is missing"],
    [
      "a server that is no URL",
      doc({ server: "h:6443" }, {}),
      'clusters[c].server "h:6443" is not an https:// or http:// URL',
    ],
    [
      "proxy-url",
      doc({ server: "https://h", "proxy-url": "http://proxy:3128" }, {}),
      "clusters[c].proxy-url is not supported",
    ],
    [
      "an exec without command",
      doc({ server: "https://h" }, { exec: { apiVersion: V1 } }),
      "users[u].exec.command is missing",
    ],
    [
      "an exec without apiVersion",
      doc({ server: "https://h" }, { exec: { command: "aws" } }),
      "users[u].exec.apiVersion is missing",
    ],
    [
      "an exec of a removed apiVersion",
      doc(
        { server: "https://h" },
        { exec: { command: "aws", apiVersion: "client.authentication.k8s.io/v1alpha1" } },
      ),
      'users[u].exec.apiVersion "client.authentication.k8s.io/v1alpha1" is not supported',
    ],
    [
      "exec args that are not strings",
      doc({ server: "https://h" }, { exec: { command: "aws", apiVersion: V1, args: [1] } }),
      "users[u].exec.args is not a list of strings",
    ],
    [
      "an unknown auth-provider",
      doc({ server: "https://h" }, { "auth-provider": { name: "keystone" } }),
      'users[u].auth-provider.name "keystone" is not supported (oidc, gcp, azure)',
    ],
    [
      "impersonation",
      doc({ server: "https://h" }, { token: "t", as: "admin" }),
      "users[u].as (impersonation) is not supported",
    ],
    [
      "a certificate without its key",
      doc({ server: "https://h" }, { "client-certificate-data": b64("C") }),
      "users[u].client-key is missing (client-certificate is set)",
    ],
    [
      "a user without a name",
      { ...doc({ server: "https://h" }, {}), users: [{ user: {} }] },
      "users[0].name is missing",
    ],
    [
      "clusters that are not a list",
      { ...doc({ server: "https://h" }, {}), clusters: {} },
      "clusters is not a list",
    ],
    ["a file that is a list", [], "is not a kubeconfig (expected a mapping)"],
  ])("%s is refused", async (_what, d, message) => {
    await expect(parseKubeconfig(JSON.stringify(d), "/k")).rejects.toThrow(`kubeconfig /k: ${message}`);
  });

  test("files the kubeconfig names are reported with their field when missing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-"));
    const path = join(dir, "config");
    await expect(
      parseKubeconfig(JSON.stringify(doc({ server: "https://h" }, { tokenFile: "nope" })), path),
    ).rejects.toThrow(`kubeconfig ${path}: users[u].tokenFile: cannot read ${join(dir, "nope")} (ENOENT)`);
    await expect(
      parseKubeconfig(
        JSON.stringify(doc({ server: "https://h", "certificate-authority": "ca.crt" }, {})),
        path,
      ),
    ).rejects.toThrow(
      `kubeconfig ${path}: clusters[c].certificate-authority: cannot read ${join(dir, "ca.crt")} (ENOENT)`,
    );
  });

  test("a file of the list that does not exist, and text that is no kubeconfig", async () => {
    await expect(loadConnection("/nonexistent/config")).rejects.toThrow(
      "kubeconfig /nonexistent/config: cannot be read (ENOENT)",
    );
    await expect(parseKubeconfig("a: [b\n", "/k")).rejects.toThrow("kubeconfig /k: is neither JSON nor YAML");
  });

  test("outside a pod, in-cluster config says what to do", () => {
    expect(() => inClusterConnection({})).toThrow("pass --kubeconfig or set $KUBECONFIG");
  });
});

describe("selectKubeconfig: which reader a kubeconfig takes", () => {
  const exec = { exec: { command: "aws", apiVersion: V1, args: ["eks", "get-token"] } };
  test.each<[string, "lean" | "client-node", Record<string, unknown>]>([
    ["client certificates", "lean", { "client-certificate-data": b64("C"), "client-key-data": b64("K") }],
    ["a token", "lean", { token: "t" }],
    ["a token file", "lean", { tokenFile: "/t" }],
    ["basic auth", "lean", { username: "a", password: "b" }],
    ["no credentials", "lean", {}],
    ["an exec plugin", "client-node", exec],
    ["an oidc auth-provider", "client-node", { "auth-provider": { name: "oidc", config: {} } }],
  ])("%s → %s", (_what, loader, user) => {
    expect(selectKubeconfig([{ path: "/k", doc: doc({ server: "https://h" }, user) }]).loader).toBe(loader);
  });

  test("only the current context's user counts, also across a list of files", () => {
    const first = doc({ server: "https://h" }, { token: "t" });
    const second = {
      users: [{ name: "plugin", user: exec }],
      contexts: [{ name: "p", context: { cluster: "c", user: "plugin" } }],
    };
    expect(
      selectKubeconfig([
        { path: "/a", doc: first },
        { path: "/b", doc: second },
      ]).loader,
    ).toBe("lean");
    const switched = { ...first, "current-context": "p" };
    const s = selectKubeconfig([
      { path: "/a", doc: switched },
      { path: "/b", doc: second },
    ]);
    expect(s.loader).toBe("client-node");
    expect(s.user).toMatchObject({ name: "plugin", file: "/b" });
  });

  test("a context without a user is anonymous", () => {
    const d = doc({ server: "https://h" }, {});
    const s = selectKubeconfig([
      { path: "/k", doc: { ...d, contexts: [{ name: "ctx", context: { cluster: "c" } }] } },
    ]);
    expect(s).toMatchObject({ user: null, loader: "lean" });
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
