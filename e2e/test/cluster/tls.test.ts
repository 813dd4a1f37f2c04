// TLS end to end: a ZooKeeperCluster whose clients use TLS from a Secret in cert-manager's layout
// (made here with openssl: no cert-manager image can be pulled on the rig) and whose quorum uses
// the operator's own CA (spec.tls.quorum.generated), so both sources are proven on one ensemble.
// The members require client certificates (clientAuth: need): a client without one is refused, and
// one with a certificate of the CA is authenticated by it (x509). The members verify each other's
// host names through the cluster's DNS, a TLS client reads and writes through the client Service,
// the plain client port is unreachable from the pod network, and the operator grows the ensemble by
// one member through its TLS admin client, which presents the client Secret's certificate.
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, inject, onTestFailed, test } from "vitest";
import { selectorLabels } from "../../../operator/src/builders/labels.ts";
import { PORTS } from "../../../sidecar/src/contract.ts";
import { keyStorePem } from "../../../sidecar/src/tls.ts";
import { type CertPair, createCa, issueCert } from "../../rig/certs.ts";
import { runKubectl } from "../../rig/kube-control-plane.ts";
import { clientCertificateOutcome } from "../../rig/tls-probe.ts";
import {
  localZooKeeperCluster,
  OPERATOR_NAMESPACE,
  waitForQuorum,
  zkClientPod,
} from "../../rig/local-cluster.ts";
import { waitFor } from "../../rig/processes.ts";
import { startWriter } from "../../rig/writer.ts";

const kubeconfig = inject("clusterKubeconfig");
const images = inject("images");
const namespace = `e2e-tls-${randomBytes(3).toString("hex")}`;
const name = "zk";
// Not NAME-tls: that is the Secret the operator's CA writes.
const SECRET = "zk-client-cert";
// An application's client certificate (CN=e2e-app) from the same CA: the members require one.
const APP_SECRET = "e2e-app-cert";
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

interface PodMeta {
  metadata: { name: string; uid: string; creationTimestamp: string };
  status?: { podIP?: string };
}

async function podsJson(): Promise<PodMeta[]> {
  const selector = Object.entries(selectorLabels(name))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return (
    JSON.parse(await kubectl(["-n", namespace, "get", "pods", "-l", selector, "-o", "json"])) as {
      items: PodMeta[];
    }
  ).items;
}

/** The pod of the member the operator's status names as leader. */
async function leaderPod(): Promise<string> {
  return waitFor("the cluster status to name the leader", async () => {
    const c = JSON.parse(await kubectl(["-n", namespace, "get", "zookeepercluster", name, "-o", "json"])) as {
      status?: { leader?: string };
    };
    return c.status?.leader;
  });
}

/** A client certificate and key (PEM): the members require one. */
interface ClientCertificate {
  cert: string;
  key: string;
}

/** The SHA-256 fingerprint of the certificate a member's secure port presents. */
function tlsFingerprint(
  ip: string,
  servername: string,
  ca: string,
  client: ClientCertificate,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: ip, port: PORTS.secureClient, servername, ca, ...client });
    socket.setTimeout(5000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.once("secureConnect", () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.once("error", reject);
  });
}

/** A TLS handshake with a member's secure port, verified against `ca` and the member's DNS name. */
function tlsHandshake(
  ip: string,
  servername: string,
  ca: string,
  client: ClientCertificate,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: ip, port: PORTS.secureClient, servername, ca, ...client });
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
  const caPair = (): CertPair => ({ cert: join(certDir, "ca.crt"), key: join(certDir, "ca.key") });
  const appCertificate = (): ClientCertificate => ({
    cert: readFileSync(join(certDir, "e2e-app.crt"), "utf8"),
    key: readFileSync(join(certDir, "e2e-app.key"), "utf8"),
  });

  /** One certificate for every member and the client Service, as a cert-manager Certificate with these dnsNames would give. */
  const issueLeaf = (file: string): Promise<CertPair> =>
    issueCert(
      caPair(),
      certDir,
      file,
      { commonName: clientHost },
      [`*.${name}-headless.${namespace}.svc.cluster.local`, `${name}-client.${namespace}.svc`, clientHost],
      // Members are each other's clients too.
      "serverAuth,clientAuth",
    );

  /** A Secret of `files` (key → path), as kubectl would create it (JSON, for `kubectl apply`). */
  const secretFromFiles = (secret: string, files: Record<string, string>): Promise<string> =>
    kubectl([
      "-n",
      namespace,
      "create",
      "secret",
      "generic",
      secret,
      ...Object.entries(files).map(([key, path]) => `--from-file=${key}=${path}`),
      "--dry-run=client",
      "-o",
      "json",
    ]);

  /** The members' Secret in cert-manager's layout. */
  const secretManifest = (leaf: CertPair): Promise<string> =>
    secretFromFiles(SECRET, { "tls.crt": leaf.cert, "tls.key": leaf.key, "ca.crt": caPair().cert });

  /** The application's Secret: its client certificate and key, the CA, and ZooKeeper's PEM key store of both. */
  const appSecretManifest = async (): Promise<string> => {
    const app = await issueCert(caPair(), certDir, "e2e-app", { commonName: "e2e-app" }, [], "clientAuth");
    const material = { cert: readFileSync(app.cert, "utf8"), key: readFileSync(app.key, "utf8"), ca };
    const keyStore = join(certDir, "e2e-app-keystore.pem");
    writeFileSync(keyStore, keyStorePem(material));
    return secretFromFiles(APP_SECRET, {
      "tls.crt": app.cert,
      "tls.key": app.key,
      "ca.crt": caPair().cert,
      "keystore.pem": keyStore,
    });
  };

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), "e2e-tls-"));
    await createCa(certDir, "ca", "e2e-zk-ca");
    const leaf = await issueLeaf("zk");
    ca = readFileSync(caPair().cert, "utf8");
    await kubectl(["create", "namespace", namespace]);
    await kubectl(["apply", "-f", "-"], await secretManifest(leaf));
    await kubectl(["apply", "-f", "-"], await appSecretManifest());
    // A client pod with ZooKeeper's CLI set up for TLS, trusting the cluster's CA and presenting
    // the application's certificate (never the members' key).
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify(zkClientPod({ namespace, images, tlsCaSecret: APP_SECRET, clientCertificate: true })),
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
    manifest.spec.tls = { client: { secretName: SECRET, clientAuth: "need" }, quorum: { generated: true } };
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
        tls?: Record<
          string,
          { subject: string; issuer: string; problem: string | null; restartNeeded: boolean }
        >;
      };
      expect(status.serving).toBe(true);
      // The quorum's certificate is the one the operator's CA issued.
      expect(status.tls?.quorum).toMatchObject({
        subject: `CN=${name}-client.${namespace}.svc`,
        issuer: `CN=${name}.${namespace} ZooKeeper CA`,
        problem: null,
      });
      expect(status.tls?.client).toMatchObject({ problem: null, restartNeeded: false });
    }
  });

  test("a TLS client writes and reads through the client Service; the plain port is closed to the pod network", async () => {
    dumpOnFailure();
    const marker = `/tls-${randomBytes(3).toString("hex")}`;
    await zkCliTls("create", marker, "over-tls");
    // Read back on a new TLS session: the write went through.
    expect(await zkCliTls("get", marker)).toContain("over-tls");
    // ZooKeeper's x509 provider authenticated the client by its certificate.
    expect(await zkCliTls("whoami")).toMatch(/x509\s*:?\s*CN=e2e-app/);
    for (const [pod, ip] of await podIps()) {
      const ordinal = Number(pod.slice(name.length + 1));
      // The secure port proves the member's name with the cluster's CA...
      expect(await tlsHandshake(ip, memberHost(ordinal), ca, appCertificate())).toBe(clientHost);
      // ...and refuses a client without a certificate, and serves one with the CA's.
      const probe = { host: ip, port: PORTS.secureClient, servername: memberHost(ordinal), ca };
      expect(await clientCertificateOutcome(probe)).toMatch(/^refused/);
      expect(await clientCertificateOutcome({ ...probe, client: appCertificate() })).toBe("served");
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

  test("a renewed client certificate rolls the members, leader last, under a TLS writer's traffic with nothing lost", async () => {
    dumpOnFailure();
    // The writer/checker, connected like an application: TLS to the client Service.
    const writer = await startWriter(kubeconfig, namespace, name, {
      image: images.sidecar.ref,
      members: 3,
      tlsCaSecret: APP_SECRET,
      clientCertificate: true,
    });
    onTestFailed(async () => {
      console.error(`===== writer =====\n${await writer.logs()}`);
    });
    const mark = await writer.markFault("client-certificate-renewal");
    const before = await podsJson();
    const leader = await leaderPod();
    const leaf = await issueLeaf("zk-renewed");
    const started = Date.now();
    // What cert-manager does on renewal: the same Secret, a new certificate and key.
    await kubectl(["apply", "-f", "-"], await secretManifest(leaf));
    const fingerprint = new X509Certificate(readFileSync(leaf.cert)).fingerprint256;
    // Every member restarts once into the renewed certificate...
    await waitFor(
      "every member to serve the renewed client certificate after a restart",
      async () => {
        const pods = await podsJson();
        if (
          pods.some(
            (p) => before.find((b) => b.metadata.name === p.metadata.name)?.metadata.uid === p.metadata.uid,
          )
        )
          return false;
        for (const p of pods) {
          const st = (await (
            await fetch(`http://${p.status?.podIP ?? ""}:${PORTS.sidecarHttp}/status`)
          ).json()) as {
            serving: boolean;
            tls?: Record<string, { fingerprint: string; restartNeeded: boolean }>;
          };
          if (!st.serving || st.tls?.client?.fingerprint !== fingerprint || st.tls.client.restartNeeded)
            return false;
        }
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    await waitForQuorum(kubeconfig, namespace, name, { timeoutMs: 120_000 });
    process.stderr.write(
      `[e2e] ${namespace}: client certificate renewed; every member restarted into it ${((Date.now() - started) / 1000).toFixed(1)} s after the Secret changed\n`,
    );
    // ...the leader last: its pod is the newest.
    const after = await podsJson();
    const newest = [...after].sort(
      (a, b) => Date.parse(b.metadata.creationTimestamp) - Date.parse(a.metadata.creationTimestamp),
    )[0];
    expect(newest?.metadata.name).toBe(leader);
    // The renewed certificate is what clients now get, and the data is still there.
    const ip = after.find((p) => p.metadata.name === leader)?.status?.podIP ?? "";
    expect(
      await tlsFingerprint(ip, memberHost(Number(leader.slice(name.length + 1))), ca, appCertificate()),
    ).toBe(fingerprint);
    expect(await zkCliTls("ls", "/")).toMatch(/tls-[0-9a-f]{6}/);
    // Every write the writer got an acknowledgement for is on every member, unchanged.
    const window = await mark.end();
    const verdict = await writer.verify();
    const report = await writer.stop();
    process.stderr.write(
      `[e2e] ${namespace}: renewal under TLS traffic: ${window.acknowledged} acknowledged in the window, ${window.failed} failed, longest gap ${(window.longestGap.ms / 1000).toFixed(1)} s; ${verdict.acknowledged} checked on every member, ${verdict.lost} lost\n`,
    );
    expect(window.acknowledged).toBeGreaterThan(0);
    expect(verdict.unreadable, JSON.stringify(verdict.members.map((m) => [m.member, m.error]))).toBe(0);
    expect(verdict.lost).toBe(0);
    expect(verdict.corrupted).toBe(0);
    expect(report.acknowledged).toBeGreaterThan(window.acknowledged);
    expect(report.verdict.lost).toBe(0);
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
    expect(await tlsHandshake(ip, memberHost(3), ca, appCertificate())).toBe(clientHost);
    // The data written before the change is still served.
    expect(await zkCliTls("ls", "/")).toMatch(/tls-[0-9a-f]{6}/);
  });

  test("no secret value appears in any log, Event, status or sidecar /status", async () => {
    // The secrets: the super user's password and digest (NAME-admin), and the TLS private keys.
    const admin = JSON.parse(
      await kubectl(["-n", namespace, "get", "secret", `${name}-admin`, "-o", "json"]),
    ) as {
      data: Record<string, string>;
    };
    const decoded = Object.values(admin.data).map((v) => Buffer.from(v, "base64").toString("utf8"));
    // The private keys: the client Secret's, and the operator's CA's and quorum certificate's.
    const operatorKey = async (secret: string): Promise<string> => {
      const s = JSON.parse(await kubectl(["-n", namespace, "get", "secret", secret, "-o", "json"])) as {
        data: Record<string, string>;
      };
      return Buffer.from(s.data["tls.key"] ?? "", "base64").toString("utf8");
    };
    const keys = [
      readFileSync(join(certDir, "zk.key"), "utf8"),
      await operatorKey(`${name}-ca`),
      await operatorKey(`${name}-tls`),
    ];
    // Any 40 characters of a key's base64 body would give a part of it away.
    const keySlices = keys.flatMap((pem) => {
      const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s/g, "");
      return Array.from({ length: Math.floor(body.length / 40) }, (_, i) => body.slice(i * 40, i * 40 + 40));
    });
    expect(keySlices.length).toBeGreaterThan(60);
    const needles = [...decoded, ...Object.values(admin.data), ...keySlices].filter((n) => n.length >= 8);
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
