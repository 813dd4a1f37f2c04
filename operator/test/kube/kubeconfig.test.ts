// Kubeconfigs beyond the admin's client certificate, against the real API server: an exec
// credential plugin (a shell script printing an ExecCredential with a ServiceAccount's token from
// the TokenRequest API) loaded through @kubernetes/client-node, run once and again when its
// credential expires; a plugin that returns a client certificate; broken plugins with a clear
// error; a relative tokenFile, also from the second file of a KUBECONFIG-style list.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { runKubectl } from "../../../e2e/rig/kube-control-plane.ts";
import { KubeClient, KubeError } from "../../src/runtime/kube.ts";
import { loadConnection } from "../../src/runtime/kubeconfig.ts";

const kubeconfig = inject("kubeconfig");
const kubectl = (args: string[]): Promise<string> => runKubectl(kubeconfig, args);
const namespace = `kubeconfig-${randomBytes(3).toString("hex")}`;
const SA = "reader";
const EXEC_V1 = "client.authentication.k8s.io/v1";

interface AdminKubeconfig {
  clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  users: { user: { "client-certificate-data": string; "client-key-data": string } }[];
}

const admin = JSON.parse(readFileSync(kubeconfig, "utf8")) as AdminKubeconfig;
const cluster = admin.clusters[0]?.cluster;
if (!cluster) throw new Error(`${kubeconfig} has no cluster`);
let token = "";

beforeAll(async () => {
  await kubectl(["create", "namespace", namespace]);
  await kubectl(["-n", namespace, "create", "serviceaccount", SA]);
  await kubectl(["-n", namespace, "create", "role", "cm-reader", "--verb=get,list", "--resource=configmaps"]);
  await kubectl([
    "-n",
    namespace,
    "create",
    "rolebinding",
    "cm-reader",
    "--role=cm-reader",
    `--serviceaccount=${namespace}:${SA}`,
  ]);
  await kubectl(["-n", namespace, "create", "configmap", "probe", "--from-literal=a=b"]);
  token = (await kubectl(["-n", namespace, "create", "token", SA, "--duration=1h"])).trim();
});

afterAll(async () => {
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
});

/** A kubeconfig for the rig's API server with the given user, written into `dir`. */
function writeKubeconfig(dir: string, user: Record<string, unknown>, name = "config"): string {
  const path = join(dir, name);
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "rig", cluster }],
    users: [{ name: "plugin", user }],
    contexts: [{ name: "rig", context: { cluster: "rig", user: "plugin" } }],
    "current-context": "rig",
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A plugin script in `dir` that counts its runs in `dir/runs`, then runs `body`. */
function writePlugin(dir: string, body: string): string {
  const path = join(dir, "plugin.sh");
  writeFileSync(path, ["#!/bin/sh", 'runs="$(dirname "$0")/runs"', 'echo x >> "$runs"', body, ""].join("\n"));
  chmodSync(path, 0o755);
  return path;
}

function runsOf(dir: string): number {
  const path = join(dir, "runs");
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).length : 0;
}

const configMapsPath = () => `/api/v1/namespaces/${namespace}/configmaps`;

async function configMapNames(client: KubeClient): Promise<string[]> {
  const list = await client.list<{ metadata: { name: string } }>(configMapsPath());
  return list.items.map((c) => c.metadata.name);
}

describe("an exec credential plugin", () => {
  test("its token reaches the API server, and it runs once while the credential is valid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-exec-"));
    writeFileSync(join(dir, "token"), token);
    writePlugin(
      dir,
      // The variable comes from exec.env; the plugin refuses to work without it.
      `[ "$GREETING" = hello ] || { echo "no GREETING" >&2; exit 3; }
printf '{"apiVersion":"${EXEC_V1}","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat "$(dirname "$0")/token")"`,
    );
    // A command with a slash is relative to the kubeconfig's directory, not the cwd.
    const path = writeKubeconfig(dir, {
      exec: { apiVersion: EXEC_V1, command: "./plugin.sh", env: [{ name: "GREETING", value: "hello" }] },
    });
    const client = new KubeClient(await loadConnection(path), { fieldManager: "kubeconfig-test" });
    try {
      expect(await configMapNames(client)).toContain("probe");
      await client.request("GET", `${configMapsPath()}/probe`);
      await client.request("GET", `${configMapsPath()}/probe`);
      expect(runsOf(dir)).toBe(1);
      // The identity is the ServiceAccount's: what its Role does not allow is refused.
      const denied = await client
        .request("GET", `/api/v1/namespaces/${namespace}/secrets`)
        .catch((err: unknown) => err);
      expect(denied).toBeInstanceOf(KubeError);
      expect((denied as KubeError).code).toBe(403);
      expect((denied as KubeError).message).toContain(`system:serviceaccount:${namespace}:${SA}`);
    } finally {
      client.close();
    }
  });

  test("an expired credential is fetched again, once for concurrent requests", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-exec-"));
    writeFileSync(join(dir, "token"), token);
    writePlugin(
      dir,
      `expires=$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"${EXEC_V1}","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$(cat "$(dirname "$0")/token")" "$expires"`,
    );
    const path = writeKubeconfig(dir, { exec: { apiVersion: EXEC_V1, command: join(dir, "plugin.sh") } });
    const client = new KubeClient(await loadConnection(path), { fieldManager: "kubeconfig-test" });
    try {
      expect(await configMapNames(client)).toContain("probe");
      expect(runsOf(dir)).toBe(1);
      await new Promise((r) => setTimeout(r, 6_000));
      // Three requests find the credential expired at once: they share one run of the plugin.
      const lists = await Promise.all([
        configMapNames(client),
        configMapNames(client),
        configMapNames(client),
      ]);
      expect(lists.every((names) => names.includes("probe"))).toBe(true);
      expect(runsOf(dir)).toBe(2);
    } finally {
      client.close();
    }
  });

  test("a plugin that returns a client certificate instead of a token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-exec-"));
    const user = admin.users[0]?.user;
    if (!user) throw new Error(`${kubeconfig} has no user`);
    const pem = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
    writeFileSync(
      join(dir, "credential.json"),
      JSON.stringify({
        apiVersion: EXEC_V1,
        kind: "ExecCredential",
        status: {
          clientCertificateData: pem(user["client-certificate-data"]),
          clientKeyData: pem(user["client-key-data"]),
        },
      }),
    );
    writePlugin(dir, 'cat "$(dirname "$0")/credential.json"');
    const path = writeKubeconfig(dir, { exec: { apiVersion: EXEC_V1, command: "./plugin.sh" } });
    const conn = await loadConnection(path);
    expect(conn.cert).toContain("BEGIN CERTIFICATE");
    expect(await conn.authorization()).toBeUndefined();
    const client = new KubeClient(conn, { fieldManager: "kubeconfig-test" });
    try {
      // The admin's certificate may read secrets, which the ServiceAccount above may not.
      await client.request("GET", `/api/v1/namespaces/${namespace}/secrets`);
      expect(runsOf(dir)).toBe(1);
    } finally {
      client.close();
    }
  });

  test.each([
    ["exits 1", 'echo "token service unavailable" >&2\nexit 1', "failed: token service unavailable"],
    ["prints garbage", "echo 'this is not json'", "did not print an ExecCredential ("],
    ["prints JSON without status", "echo '{}'", "printed JSON that is not an ExecCredential (no status)"],
    [
      "prints no token",
      `echo '{"apiVersion":"${EXEC_V1}","kind":"ExecCredential","status":{}}'`,
      "returned an ExecCredential with no status.token and no client certificate",
    ],
  ])("a plugin that %s gives a clear error", async (_what, body, message) => {
    const dir = mkdtempSync(join(tmpdir(), "kc-exec-"));
    writePlugin(dir, body);
    const path = writeKubeconfig(dir, { exec: { apiVersion: EXEC_V1, command: "./plugin.sh" } });
    const err = (await loadConnection(path).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(
      `kubeconfig ${path}: users[plugin].exec: ${join(dir, "plugin.sh")} ${message}`,
    );
    expect(err.message).not.toContain("\n");
  });

  test("a plugin that is not there names the command and the install hint", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-exec-"));
    const path = writeKubeconfig(dir, {
      exec: { apiVersion: EXEC_V1, command: "zk-no-such-plugin", installHint: "install zk-no-such-plugin" },
    });
    await expect(loadConnection(path)).rejects.toThrow(
      `kubeconfig ${path}: users[plugin].exec: zk-no-such-plugin could not be run (spawn zk-no-such-plugin ENOENT): install zk-no-such-plugin`,
    );
  });
});

describe("a token file", () => {
  test("relative to its kubeconfig, also in the second file of a KUBECONFIG list", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kc-token-"));
    writeFileSync(join(dir, "sa-token"), `${token}\n`);
    const path = writeKubeconfig(dir, { tokenFile: "sa-token" });
    expect(process.cwd()).not.toBe(dir);
    const client = new KubeClient(await loadConnection(path), { fieldManager: "kubeconfig-test" });
    try {
      expect(await configMapNames(client)).toContain("probe");
    } finally {
      client.close();
    }

    // The first file chooses the context and the cluster; the user and its token come from the
    // second, with the token next to that second file.
    const other = mkdtempSync(join(tmpdir(), "kc-list-"));
    const first = join(other, "config");
    writeFileSync(
      first,
      JSON.stringify({
        "current-context": "rig",
        clusters: [{ name: "rig", cluster }],
        contexts: [{ name: "rig", context: { cluster: "rig", user: "plugin" } }],
      }),
    );
    const listed = new KubeClient(await loadConnection(`${first}:${path}`), {
      fieldManager: "kubeconfig-test",
    });
    try {
      expect(await configMapNames(listed)).toContain("probe");
    } finally {
      listed.close();
    }
  });
});
