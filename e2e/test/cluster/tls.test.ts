// TLS end to end: a ZooKeeperCluster whose clients and quorum use TLS, from a Secret in
// cert-manager's layout (made here with openssl: no cert-manager image can be pulled on the rig).
// The members verify each other's host names through the cluster's DNS, a TLS client reads and
// writes through the client Service, the plain client port is unreachable from the pod network,
// and the operator grows the ensemble by one member through its TLS admin client.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, inject, onTestFailed, test } from "vitest";
import { selectorLabels } from "../../../operator/src/builders/labels.ts";
import { PORTS } from "../../../sidecar/src/contract.ts";
import { createCa, issueCert } from "../../rig/certs.ts";
import { runKubectl } from "../../rig/kube-control-plane.ts";
import {
  localZooKeeperCluster,
  OPERATOR_NAMESPACE,
  waitForQuorum,
  zkClientPod,
} from "../../rig/local-cluster.ts";
import { waitFor } from "../../rig/processes.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `e2e-tls-${randomBytes(3).toString("hex")}`;
const name = "zk";
const SECRET = "zk-tls";
const kubectl = (args: string[], input?: string): Promise<string> =>
  runKubectl(kubeconfig, args, input === undefined ? { timeoutMs: 60_000 } : { input, timeoutMs: 60_000 });
const clientHost = `${name}-client.${namespace}.svc.cluster.local`;
const memberHost = (ordinal: number): string =>
  `${name}-${ordinal}.${name}-headless.${namespace}.svc.cluster.local`;

interface PodJson {
  metadata: { name: string };
  status?: { podIP?: string };
}

async function podIps(): Promise<Map<string, string>> {
  const selector = Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const pods = JSON.parse(await kubectl(["-n", namespace, "get", "pods", "-l", selector, "-o", "json"])) as {
    items: PodJson[];
  };
  return new Map(pods.items.map((p) => [p.metadata.name, p.status?.podIP ?? ""]));
}

/** ZooKeeper's CLI over TLS in the client pod (inside the pod network, with the cluster's DNS). */
function zkCliTls(...command: string[]): Promise<string> {
  return kubectl([
    "-n",
    namespace,
    "exec",
    "zk-client",
    "--",
    "zkCli.sh",
    "-server",
    `${clientHost}:${PORTS.secureClient}`,
    ...command,
  ]);
}

/** What a plain TCP connection from this host (on the pod network) gets. */
function tcpOutcome(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve("timeout");
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      resolve(err.code ?? err.message);
    });
  });
}

/** A TLS handshake with a member's secure port, verified against `ca` and the member's DNS name. */
function tlsHandshake(ip: string, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: ip, port: PORTS.secureClient, servername, ca });
    socket.setTimeout(5000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.once("secureConnect", () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.destroy();
      resolve(Array.isArray(cn) ? cn.join(",") : (cn ?? ""));
    });
    socket.once("error", reject);
  });
}

describe("a TLS ZooKeeperCluster (clients and quorum) in a real cluster", () => {
  let certDir: string;
  let ca = "";

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), "e2e-tls-"));
    const caPair = await createCa(certDir, "ca", "e2e-zk-ca");
    // One certificate for every member and the client Service, as a cert-manager Certificate with
    // these dnsNames would give; serverAuth and clientAuth, since members are each other's clients.
    const leaf = await issueCert(
      caPair,
      certDir,
      "zk",
      { commonName: clientHost },
      [`*.${name}-headless.${namespace}.svc.cluster.local`, `${name}-client.${namespace}.svc`, clientHost],
      "serverAuth,clientAuth",
    );
    ca = readFileSync(caPair.cert, "utf8");
    await kubectl(["create", "namespace", namespace]);
    await kubectl([
      "-n",
      namespace,
      "create",
      "secret",
      "generic",
      SECRET,
      `--from-file=tls.crt=${leaf.cert}`,
      `--from-file=tls.key=${leaf.key}`,
      `--from-file=ca.crt=${caPair.cert}`,
    ]);
    // A client pod with ZooKeeper's CLI set up for TLS, trusting the cluster's CA (only ca.crt).
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(zkClientPod({ namespace, images, tlsCaSecret: SECRET })),
    );
  }, 120_000);

  afterAll(async () => {
    rmSync(certDir, { recursive: true, force: true });
    await kubectl(["delete", "namespace", namespace, "--wait=false"]).catch(() => "");
  });

  function dumpOnFailure(): void {
    onTestFailed(async () => {
      const logs = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          kubectl(["-n", namespace, "logs", `${name}-${i}`, "-c", "zookeeper", "--tail=40"]).catch(
            (e: unknown) => String(e),
          ),
        ),
      );
      const operator = await kubectl([
        "-n",
        OPERATOR_NAMESPACE,
        "logs",
        "deploy/zookeeper-operator",
        "--tail=40",
      ]).catch((e: unknown) => String(e));
      console.error(`${logs.join("\n-----\n")}\n===== operator =====\n${operator}`);
    });
  }

  test("becomes Available: members verify each other's names through the cluster DNS", async () => {
    dumpOnFailure();
    const manifest = localZooKeeperCluster({
      name,
      namespace,
      replicas: 3,
      reclaimPolicy: "Delete",
      images,
    }) as {
      spec: Record<string, unknown>;
    };
    manifest.spec.tls = { client: { secretName: SECRET }, quorum: { secretName: SECRET } };
    const applied = Date.now();
    await kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
    const cluster = await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
    process.stderr.write(
      `[e2e] ${namespace}/${name} (TLS): Available ${((Date.now() - applied) / 1000).toFixed(1)} s after apply\n`,
    );
    expect(cluster.status?.connectionString).toBe(`${clientHost}:${PORTS.secureClient}`);
    // The sidecars report the certificate each server uses, and no problem with it.
    for (const ip of (await podIps()).values()) {
      const status = (await (await fetch(`http://${ip}:${PORTS.sidecarHttp}/status`)).json()) as {
        serving: boolean;
        tls?: Record<string, { subject: string; problem: string | null; restartNeeded: boolean }>;
      };
      expect(status.serving).toBe(true);
      expect(status.tls?.quorum).toMatchObject({ subject: `CN=${clientHost}`, problem: null });
      expect(status.tls?.client).toMatchObject({ problem: null, restartNeeded: false });
    }
  });

  test("a TLS client writes and reads through the client Service; the plain port is closed to the pod network", async () => {
    dumpOnFailure();
    const marker = `/tls-${randomBytes(3).toString("hex")}`;
    await zkCliTls("create", marker, "over-tls");
    // Read back on a new TLS session: the write went through.
    expect(await zkCliTls("get", marker)).toContain("over-tls");
    for (const [pod, ip] of await podIps()) {
      const ordinal = Number(pod.slice(name.length + 1));
      // The secure port proves the member's name with the cluster's CA...
      expect(await tlsHandshake(ip, memberHost(ordinal), ca)).toBe(clientHost);
      // ...and the plain one listens on the pod's loopback only, for its sidecar.
      expect(await tcpOutcome(ip, PORTS.client)).toBe("ECONNREFUSED");
    }
    // The client Service offers the secure port only.
    const svc = JSON.parse(
      await kubectl(["-n", namespace, "get", "service", `${name}-client`, "-o", "json"]),
    ) as {
      spec: { ports: { name: string; port: number }[] };
    };
    expect(svc.spec.ports.map((p) => `${p.name}:${p.port}`)).toEqual([`client-tls:${PORTS.secureClient}`]);
  });

  test("the operator adds a member through its TLS admin client; the new member's plain port is private too", async () => {
    dumpOnFailure();
    await kubectl([
      "-n",
      namespace,
      "patch",
      "zookeepercluster",
      name,
      "--type=merge",
      "-p",
      '{"spec":{"replicas":4}}',
    ]);
    const cluster = await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 240_000 });
    expect(cluster.status?.members?.map((m) => m.pod)).toEqual([
      `${name}-0`,
      `${name}-1`,
      `${name}-2`,
      `${name}-3`,
    ]);
    const ip = await waitFor("zk-3's address", async () => (await podIps()).get(`${name}-3`) || undefined);
    expect(await tcpOutcome(ip, PORTS.client)).toBe("ECONNREFUSED");
    expect(await tlsHandshake(ip, memberHost(3), ca)).toBe(clientHost);
    // The data written before the change is still served.
    expect(await zkCliTls("ls", "/")).toMatch(/tls-[0-9a-f]{6}/);
  });

  test("no secret value appears in any log, Event, status or sidecar /status", async () => {
    // The secrets: the super user's password and digest (NAME-admin), and the TLS private key.
    const admin = JSON.parse(
      await kubectl(["-n", namespace, "get", "secret", `${name}-admin`, "-o", "json"]),
    ) as {
      data: Record<string, string>;
    };
    const decoded = Object.values(admin.data).map((v) => Buffer.from(v, "base64").toString("utf8"));
    const keyPem = readFileSync(join(certDir, "zk.key"), "utf8");
    // Any 40 characters of the key's base64 body would give a part of it away.
    const keyBody = keyPem.replace(/-----[^-]+-----/g, "").replace(/\s/g, "");
    const needles = [
      ...decoded,
      ...Object.values(admin.data),
      ...Array.from({ length: Math.floor(keyBody.length / 40) }, (_, i) =>
        keyBody.slice(i * 40, i * 40 + 40),
      ),
    ].filter((n) => n.length >= 8);
    expect(needles.length).toBeGreaterThan(3);

    const haystacks: [string, string][] = [];
    const pods = [...(await podIps()).entries()];
    for (const [pod, ip] of pods) {
      for (const c of ["config", "sidecar", "zookeeper"])
        haystacks.push([`${pod}/${c} log`, await kubectl(["-n", namespace, "logs", pod, "-c", c])]);
      haystacks.push([
        `${pod} /status`,
        await (await fetch(`http://${ip}:${PORTS.sidecarHttp}/status`)).text(),
      ]);
      haystacks.push([
        `${pod} /metrics`,
        await (await fetch(`http://${ip}:${PORTS.sidecarHttp}/metrics`)).text(),
      ]);
    }
    haystacks.push([
      "operator log",
      await kubectl(["-n", OPERATOR_NAMESPACE, "logs", "deploy/zookeeper-operator", "--all-containers"]),
    ]);
    haystacks.push(["Events", await kubectl(["-n", namespace, "get", "events", "-o", "json"])]);
    haystacks.push([
      "cluster",
      await kubectl(["-n", namespace, "get", "zookeepercluster", name, "-o", "json"]),
    ]);
    // Every haystack is real text: a log that came back empty would prove nothing.
    for (const [what, text] of haystacks) expect(text.length, what).toBeGreaterThan(0);
    const leaks = haystacks.flatMap(([what, text]) => (needles.some((n) => text.includes(n)) ? [what] : []));
    expect(leaks).toEqual([]);
    process.stderr.write(
      `[e2e] ${namespace}: ${needles.length} secret fragments searched in ${haystacks.length} logs, Events, statuses and /status answers: none found\n`,
    );
  });
});
