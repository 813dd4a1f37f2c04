// The reconcile loop against a real API server and controller-manager (no kubelet: pods stay
// Pending, so members are honestly "down"). The operator runs in this process, watching one
// namespace of its own.
import { randomBytes, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { waitFor } from "../../../e2e/rig/processes.ts";
import { KIND } from "../../src/api/types.ts";
import { childNames, CONFIG_HASH_ANNOTATION } from "../../src/builders/labels.ts";
import { issueLeafCertificate } from "../../src/runtime/certificate-issuer.ts";
import { CHILD_KINDS } from "../../src/children.ts";
import type { RunningOperator } from "../../src/main.ts";
import { CLUSTER_RESOURCE } from "../../src/api/types.ts";
import {
  RESOURCES,
  collectionPath,
  objectPath,
  type KubeObject,
  type ResourceType,
} from "../../src/api/objects.ts";
import {
  adminClient,
  clustersIn,
  conditionOf,
  apiServerWrites,
  getObject,
  installCrd,
  kubectlFor,
  metricValue,
  startInProcess,
  testConfig,
  waitQuiet,
} from "./support.ts";

const kubeconfig = inject("kubeconfig");
const kubectl = kubectlFor(kubeconfig);
const admin = await adminClient(kubeconfig);
const namespace = `rec-${randomBytes(3).toString("hex")}`;
let op: RunningOperator;

interface Obj extends KubeObject {
  type?: string;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  status?: Record<string, unknown>;
}

function childId(type: ResourceType, name: string): string {
  return `${type.kind}/${name}`;
}

const clusters = clustersIn(admin, namespace);
const createCluster = clusters.create;
const patchCluster = clusters.patch;
const getCluster = clusters.get;

async function children(name: string): Promise<Map<string, Obj | null>> {
  const out = new Map<string, Obj | null>();
  // The one table of child kinds says which objects a cluster owns. Not the optional kinds: this
  // API server serves no PodMonitors (chart.test.ts installs their CRD under a running operator),
  // and not the operator's CA, which only a cluster with spec.tls.*.generated gets, nor the kinds a
  // spec switches on (the NetworkPolicy).
  const operatorTls = [childNames(name).caSecret, childNames(name).tlsSecret];
  for (const { type, names } of CHILD_KINDS.filter((k) => k.optional !== true && k.prune !== true)) {
    for (const childName of names(name).filter((n) => !operatorTls.includes(n))) {
      out.set(childId(type, childName), await getObject<Obj>(admin, type, namespace, childName));
    }
  }
  return out;
}

async function waitForChildren(name: string): Promise<Map<string, Obj>> {
  return waitFor(`every child of ${name}`, async () => {
    const all = await children(name);
    return [...all.values()].every((o) => o !== null) ? (all as Map<string, Obj>) : undefined;
  });
}

/** What changes only when someone changes an object: generation where the kind has one, else resourceVersion. */
function version(o: Obj | null | undefined): string {
  if (!o) return "absent";
  return o.metadata?.generation !== undefined
    ? `g${o.metadata.generation}`
    : `rv${o.metadata?.resourceVersion ?? ""}`;
}

const condition = conditionOf;

beforeAll(async () => {
  await installCrd(kubeconfig);
  await kubectl(["create", "namespace", namespace]);
  op = await startInProcess(testConfig(kubeconfig, { namespaces: [namespace] }));
});

afterAll(async () => {
  await op.stop();
  await kubectl(["delete", "namespace", namespace, "--wait=false", "--ignore-not-found"]);
});

describe("a new ZooKeeperCluster", () => {
  test("gets every child with the expected spec, a filled status and printer columns, and Events", async () => {
    const created = await createCluster("zk-a", { replicas: 3 });
    const all = await waitForChildren("zk-a");
    const uid = created.metadata.uid;
    for (const [id, obj] of all) {
      const owner = obj.metadata?.ownerReferences?.[0];
      expect(owner, id).toMatchObject({
        kind: KIND,
        name: "zk-a",
        uid,
        controller: true,
        blockOwnerDeletion: true,
      });
      expect(obj.metadata?.labels?.["app.kubernetes.io/managed-by"], id).toBe("zk-operator");
    }
    const sts = all.get("StatefulSet/zk-a");
    expect(sts?.spec).toMatchObject({
      replicas: 3,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "OnDelete" },
      serviceName: "zk-a-headless",
    });
    const template = sts?.spec?.template as { metadata: { annotations: Record<string, string> } };
    expect(template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]+$/);
    expect(all.get("Service/zk-a-headless")?.spec).toMatchObject({
      clusterIP: "None",
      publishNotReadyAddresses: true,
    });
    expect(all.get("Service/zk-a-client")?.spec).toMatchObject({ type: "ClusterIP" });
    expect(all.get("PodDisruptionBudget/zk-a")?.spec).toMatchObject({ maxUnavailable: 1 });
    const cm = all.get("ConfigMap/zk-a-config");
    expect(cm?.data?.members).toBe("version=0\n1=participant\n2=participant\n3=participant\n");
    expect(cm?.data?.["zoo.cfg.static"]).toContain("tickTime=2000");
    const secret = all.get("Secret/zk-a-admin");
    const password = Buffer.from(secret?.data?.password ?? "", "base64").toString();
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(secret?.data?.superDigest ?? "", "base64").toString()).toMatch(
      /^super:[A-Za-z0-9+/=]+$/,
    );

    // Status: from Kubernetes objects only; no kubelet, so no member is ready.
    const cluster = await waitFor("the status of zk-a", async () => {
      const c = await getCluster("zk-a");
      return c?.status?.observedGeneration === c?.metadata.generation && c?.status?.version ? c : undefined;
    });
    expect(cluster.status).toMatchObject({
      replicas: 3,
      readyReplicas: 0,
      version: "3.9.4",
      connectionString: `zk-a-client.${namespace}.svc.cluster.local:2181`,
      members: [
        { id: 1, pod: "zk-a-0", role: "participant", mode: "down", ready: false, synced: false },
        { id: 2, pod: "zk-a-1", role: "participant", mode: "down", ready: false, synced: false },
        { id: 3, pod: "zk-a-2", role: "participant", mode: "down", ready: false, synced: false },
      ],
    });
    expect(condition(cluster, "Available")).toMatchObject({ status: "False", reason: "QuorumNotReady" });
    expect(condition(cluster, "Available")?.message).toBe("0 of 3 members are ready; a quorum needs 2");
    expect(condition(cluster, "Progressing")?.status).toBe("True");
    expect(condition(cluster, "Degraded")).toBeDefined();

    const table = await kubectl(["get", "zk", "zk-a", "-n", namespace]);
    const [header, row] = table.trim().split("\n");
    expect(header?.split(/\s+/)).toEqual([
      "NAME",
      "REPLICAS",
      "READY",
      "LEADER",
      "VERSION",
      "AVAILABLE",
      "AGE",
    ]);
    // No leader while no member serves: the LEADER cell is empty.
    expect(row?.split(/\s+/).slice(0, 5)).toEqual(["zk-a", "3", "0", "3.9.4", "False"]);

    const events = await admin.request<{
      items: { reason: string; note: string; regarding: { name: string } }[];
    }>("GET", `${collectionPath(RESOURCES.Event, namespace)}?fieldSelector=regarding.name=zk-a`);
    const created_ = events.items.filter((e) => e.reason === "Created").map((e) => e.note);
    expect(created_).toEqual([
      "Created ConfigMap zk-a-config, Secret zk-a-admin, Service zk-a-headless, Service zk-a-client, PodDisruptionBudget zk-a, StatefulSet zk-a",
    ]);
  });
});

describe("a change of a user-facing field", () => {
  const cases: { field: string; patch: object; changes: string[]; check: (all: Map<string, Obj>) => void }[] =
    [
      {
        field: "image",
        patch: { spec: { image: "docker.io/library/zookeeper:3.9.3" } },
        changes: ["StatefulSet/zk-b"],
        check: (all) => {
          expect(JSON.stringify(all.get("StatefulSet/zk-b")?.spec)).toContain(
            "docker.io/library/zookeeper:3.9.3",
          );
        },
      },
      {
        field: "resources",
        patch: {
          spec: { resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1Gi" } } },
        },
        changes: ["StatefulSet/zk-b"],
        check: (all) => {
          expect(JSON.stringify(all.get("StatefulSet/zk-b")?.spec)).toContain('"cpu":"250m"');
        },
      },
      {
        field: "config.tickTime (rolls the pods through the config hash)",
        patch: { spec: { config: { tickTime: 3000 } } },
        changes: ["ConfigMap/zk-b-config", "StatefulSet/zk-b"],
        check: (all) => {
          expect(all.get("ConfigMap/zk-b-config")?.data?.["zoo.cfg.static"]).toContain("tickTime=3000");
        },
      },
      {
        field: "disruptionBudget.maxUnavailable",
        patch: { spec: { disruptionBudget: { maxUnavailable: 2 } } },
        changes: ["PodDisruptionBudget/zk-b"],
        check: (all) => {
          expect(all.get("PodDisruptionBudget/zk-b")?.spec?.maxUnavailable).toBe(2);
        },
      },
      {
        field: "service.type and annotations",
        patch: { spec: { service: { type: "NodePort", annotations: { "example.com/lb": "internal" } } } },
        changes: ["Service/zk-b-client"],
        check: (all) => {
          const svc = all.get("Service/zk-b-client");
          expect(svc?.spec?.type).toBe("NodePort");
          expect(svc?.metadata?.annotations?.["example.com/lb"]).toBe("internal");
        },
      },
      {
        field: "pod.labels and pod.annotations",
        patch: { spec: { pod: { labels: { team: "data" }, annotations: { "example.com/scrape": "yes" } } } },
        changes: ["StatefulSet/zk-b"],
        check: (all) => {
          const t = all.get("StatefulSet/zk-b")?.spec?.template as {
            metadata: { labels: Record<string, string>; annotations: Record<string, string> };
          };
          expect(t.metadata.labels.team).toBe("data");
          expect(t.metadata.annotations["example.com/scrape"]).toBe("yes");
        },
      },
    ];

  beforeAll(async () => {
    await createCluster("zk-b", { replicas: 5 });
    await waitForChildren("zk-b");
    await waitQuiet(op);
  });

  test.each(cases)("$field changes only $changes", async ({ patch, changes, check }) => {
    const before = await children("zk-b");
    const hashBefore = (
      before.get("StatefulSet/zk-b")?.spec?.template as { metadata: { annotations: Record<string, string> } }
    ).metadata.annotations[CONFIG_HASH_ANNOTATION];
    await patchCluster("zk-b", patch);
    await waitFor(`${changes.join(", ")} to change`, async () => {
      const now = await children("zk-b");
      return changes.every((id) => version(now.get(id)) !== version(before.get(id)));
    });
    await waitQuiet(op);
    const after = await children("zk-b");
    check(after as Map<string, Obj>);
    for (const [id, obj] of after) {
      if (changes.includes(id)) continue;
      expect(version(obj), `${id} must not change`).toBe(version(before.get(id)));
    }
    const hashAfter = (
      after.get("StatefulSet/zk-b")?.spec?.template as { metadata: { annotations: Record<string, string> } }
    ).metadata.annotations[CONFIG_HASH_ANNOTATION];
    if (changes.includes("ConfigMap/zk-b-config")) expect(hashAfter).not.toBe(hashBefore);
    else expect(hashAfter).toBe(hashBefore);
  });

  test("a replicas change waits, visibly, while no member reports the committed config: nothing is changed", async () => {
    const before = await children("zk-b");
    await patchCluster("zk-b", { spec: { replicas: 3, disruptionBudget: { maxUnavailable: 1 } } });
    // No ZooKeeper runs here: membership is decided on the committed config only, never the ConfigMap.
    const c = await waitFor("Progressing=True Scaling", async () => {
      const x = await getCluster("zk-b");
      return condition(x, "Progressing")?.reason === "Scaling" ? x : undefined;
    });
    expect(condition(c, "Progressing")?.status).toBe("True");
    expect(condition(c, "Progressing")?.message).toContain("no member reports the committed ensemble config");
    await waitQuiet(op);
    const after = await children("zk-b");
    expect(version(after.get("StatefulSet/zk-b"))).toBe(version(before.get("StatefulSet/zk-b")));
    expect(after.get("ConfigMap/zk-b-config")?.data?.members).toBe(
      before.get("ConfigMap/zk-b-config")?.data?.members,
    );
  });
});

describe("children are kept", () => {
  test("a deleted child is recreated", async () => {
    const before = await children("zk-a");
    for (const [type, name] of [
      [RESOURCES.ConfigMap, "zk-a-config"],
      [RESOURCES.Service, "zk-a-client"],
      [RESOURCES.StatefulSet, "zk-a"],
    ] as const) {
      const oldUid = before.get(childId(type, name))?.metadata?.uid;
      await admin.request("DELETE", objectPath(type, namespace, name));
      const recreated = await waitFor(`${type.kind}/${name} to be recreated`, async () => {
        const o = await getObject<Obj>(admin, type, namespace, name);
        return o && o.metadata?.uid !== oldUid ? o : undefined;
      });
      expect(recreated.metadata?.ownerReferences?.[0]?.name).toBe("zk-a");
    }
    // The admin password survives: it is generated once and read back, never regenerated.
    const secretAfter = await getObject<Obj>(admin, RESOURCES.Secret, namespace, "zk-a-admin");
    expect(secretAfter?.data?.password).toBe(before.get("Secret/zk-a-admin")?.data?.password);
  });

  test("a field we own, changed by someone else, is restored; a field we do not own is left alone", async () => {
    await waitQuiet(op);
    await kubectl([
      "-n",
      namespace,
      "patch",
      "pdb",
      "zk-a",
      "--type=merge",
      "-p",
      '{"spec":{"maxUnavailable":2}}',
    ]);
    await kubectl(["-n", namespace, "annotate", "service", "zk-a-client", "example.com/owner=another-tool"]);
    await kubectl(["-n", namespace, "label", "statefulset", "zk-a", "example.com/team=storage"]);
    await waitFor("the PDB to be restored", async () => {
      const pdb = await getObject<Obj>(admin, RESOURCES.PodDisruptionBudget, namespace, "zk-a");
      return pdb?.spec?.maxUnavailable === 1;
    });
    await waitQuiet(op);
    // Reconcile once more on purpose: a pass must still leave the other tool's fields alone.
    op.controller.resyncAll();
    await waitQuiet(op);
    const svc = await getObject<Obj>(admin, RESOURCES.Service, namespace, "zk-a-client");
    expect(svc?.metadata?.annotations?.["example.com/owner"]).toBe("another-tool");
    const sts = await getObject<Obj>(admin, RESOURCES.StatefulSet, namespace, "zk-a");
    expect(sts?.metadata?.labels?.["example.com/team"]).toBe("storage");
    expect(sts?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("zk-operator");
  });

  test("kubectl rollout restart: the operator keeps kubectl's template annotation, so the template's revision moves and the roll follows", async () => {
    await waitQuiet(op);
    const revision = async (): Promise<string | undefined> => {
      const status = (await getObject<Obj>(admin, RESOURCES.StatefulSet, namespace, "zk-a"))?.status;
      return (status as { updateRevision?: string } | undefined)?.updateRevision;
    };
    const before = await waitFor("the StatefulSet's revision", revision);
    await kubectl(["-n", namespace, "rollout", "restart", "statefulset/zk-a"]);
    await waitQuiet(op);
    // Reconcile once more on purpose: the operator's apply must not take kubectl's annotation away.
    op.controller.resyncAll();
    await waitQuiet(op);
    const sts = await getObject<Obj>(admin, RESOURCES.StatefulSet, namespace, "zk-a");
    const template = sts?.spec?.template as { metadata: { annotations: Record<string, string> } };
    expect(template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toMatch(/^\d{4}-/);
    expect(template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]+$/);
    // A new template revision is what the operator's roll acts on, as for any template change
    // (the e2e tier rolls real members for an image, a config and the restart annotation).
    await waitFor("a new revision", async () => ((await revision()) !== before ? true : undefined));
  });
});

describe("the operator's CA (spec.tls.*.generated)", () => {
  const name = "zk-t";
  const decoded = (secret: Obj | null, key: string): string =>
    Buffer.from(secret?.data?.[key] ?? "", "base64").toString();
  const secret = (n: string) => getObject<Obj>(admin, RESOURCES.Secret, namespace, n);
  const issuedEvents = async (): Promise<string[]> =>
    (
      await admin.request<{ items: { reason: string; note: string }[] }>(
        "GET",
        `${collectionPath(RESOURCES.Event, namespace)}?fieldSelector=regarding.name=${name}`,
      )
    ).items
      .filter((e) => e.reason === "CertificateIssued")
      .map((e) => e.note);

  /** Puts `leaf` into NAME-tls, as if the operator had issued it. */
  const replaceCertificate = (leaf: { cert: string; key: string }) =>
    admin.request("PATCH", objectPath(RESOURCES.Secret, namespace, `${name}-tls`), {
      body: {
        data: {
          "tls.crt": Buffer.from(leaf.cert).toString("base64"),
          "tls.key": Buffer.from(leaf.key).toString("base64"),
        },
      },
      contentType: "application/merge-patch+json",
    });

  test("makes a CA and a certificate for every member's name, which the pods mount for both roles", async () => {
    await createCluster(name, {
      replicas: 3,
      tls: { client: { generated: true }, quorum: { generated: true } },
    });
    const { ca, tls } = await waitFor("NAME-ca and NAME-tls", async () => {
      const [c, t] = [await secret(`${name}-ca`), await secret(`${name}-tls`)];
      return c !== null && t !== null ? { ca: c, tls: t } : undefined;
    });
    expect([ca.type, tls.type]).toEqual(["kubernetes.io/tls", "kubernetes.io/tls"]);
    expect(Object.keys(ca.data ?? {}).sort()).toEqual(["tls.crt", "tls.key"]);
    expect(Object.keys(tls.data ?? {}).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    const caCert = new X509Certificate(decoded(ca, "tls.crt"));
    const leaf = new X509Certificate(decoded(tls, "tls.crt"));
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe(`CN=${name}.${namespace} ZooKeeper CA`);
    expect(decoded(tls, "ca.crt")).toBe(decoded(ca, "tls.crt"));
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.checkHost(`${name}-2.${name}-headless.${namespace}.svc.cluster.local`)).toBeDefined();
    expect(leaf.checkHost(`${name}-client.${namespace}.svc`)).toBeDefined();
    const days = (new Date(leaf.validTo).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89);
    expect(days).toBeLessThan(91);
    const sts = await waitFor("the StatefulSet", () =>
      getObject<Obj>(admin, RESOURCES.StatefulSet, namespace, name),
    );
    const volumes = JSON.stringify((sts?.spec?.template as { spec: { volumes: unknown[] } }).spec.volumes);
    expect(volumes).toContain(
      `{"name":"tls-client","secret":{"secretName":"${name}-tls","defaultMode":288}}`,
    );
    expect(volumes).toContain(
      `{"name":"tls-quorum","secret":{"secretName":"${name}-tls","defaultMode":288}}`,
    );
    // The Event is recorded after the applies of the same pass: wait for it, not just the Secrets.
    await waitFor("the CertificateIssued Event", async () =>
      (await issuedEvents()).length > 0 ? true : undefined,
    );
    expect(await issuedEvents()).toEqual([
      `issued a new CA in ${name}-ca (no CA yet) and the members' certificate in ${name}-tls (a new CA)`,
    ]);
  });

  test("renews the certificate when less than 30 days are left, from the same CA", async () => {
    const ca = await secret(`${name}-ca`);
    const pair = { cert: decoded(ca, "tls.crt"), key: decoded(ca, "tls.key") };
    const now = Date.now();
    const expiring = await issueLeafCertificate(pair, {
      commonName: `${name}-client.${namespace}.svc`,
      dnsNames: ["short-lived.example"],
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 10 * 86_400_000),
    });
    // Names that are not the members' too: either reason issues a new one; the Event says which came first.
    await replaceCertificate(expiring);
    const renewed = await waitFor("a renewed certificate", async () => {
      const tls = await secret(`${name}-tls`);
      const cert = new X509Certificate(decoded(tls, "tls.crt"));
      return new Date(cert.validTo).getTime() - now > 80 * 86_400_000 ? { tls, cert } : undefined;
    });
    expect(renewed.cert.verify(new X509Certificate(pair.cert).publicKey)).toBe(true);
    expect(decoded(await secret(`${name}-ca`), "tls.key")).toBe(pair.key);
    expect(renewed.cert.checkHost(`${name}-0.${name}-headless.${namespace}.svc.cluster.local`)).toBeDefined();
    const expected = `issued the members' certificate in ${name}-tls (the members' names changed)`;
    await waitFor("the CertificateIssued Event", async () =>
      (await issuedEvents()).includes(expected) ? true : undefined,
    );
  });

  test("a near-expiry certificate for the right names is renewed too", async () => {
    const ca = await secret(`${name}-ca`);
    const pair = { cert: decoded(ca, "tls.crt"), key: decoded(ca, "tls.key") };
    const current = new X509Certificate(decoded(await secret(`${name}-tls`), "tls.crt"));
    const now = Date.now();
    const notAfter = new Date(Math.floor((now + 20 * 86_400_000) / 1000) * 1000);
    const expiring = await issueLeafCertificate(pair, {
      commonName: current.subject.replace(/^CN=/, ""),
      dnsNames: (current.subjectAltName ?? "").split(", ").map((n) => n.replace(/^DNS:/, "")),
      notBefore: new Date(now - 86_400_000),
      notAfter,
    });
    await replaceCertificate(expiring);
    await waitFor("a renewed certificate", async () => {
      const cert = new X509Certificate(decoded(await secret(`${name}-tls`), "tls.crt"));
      return new Date(cert.validTo).getTime() - now > 80 * 86_400_000 ? true : undefined;
    });
    const expected = `issued the members' certificate in ${name}-tls (renewal: it expires at ${notAfter.toISOString()})`;
    await waitFor("the CertificateIssued Event", async () =>
      (await issuedEvents()).includes(expected) ? true : undefined,
    );
  });
});

describe("spec.networkPolicy", () => {
  const name = "zk-np";
  const policy = () => getObject<Obj>(admin, RESOURCES.NetworkPolicy, namespace, name);

  test("enabled: the operator keeps a NetworkPolicy for the members; disabled: it deletes it", async () => {
    await createCluster(name, {
      replicas: 3,
      networkPolicy: { enabled: true, clients: [{ namespaceSelector: { matchLabels: { team: "kafka" } } }] },
    });
    const np = await waitFor("the NetworkPolicy", async () => (await policy()) ?? undefined);
    const spec = np.spec as {
      podSelector: unknown;
      ingress: { from: unknown[]; ports?: { port: number }[] }[];
    };
    expect(spec.podSelector).toEqual({
      matchLabels: {
        "app.kubernetes.io/name": "zookeeper",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": "server",
      },
    });
    expect(spec.ingress.map((r) => (r.ports ?? []).map((p) => p.port))).toEqual([
      [],
      [2181],
      [2181, 8081],
      [7000, 8081],
    ]);
    expect(spec.ingress[1]?.from).toEqual([{ namespaceSelector: { matchLabels: { team: "kafka" } } }]);
    // The operator's namespace (testConfig's) reaches the client port and the sidecars.
    expect(spec.ingress[2]?.from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "zk-operator" } } },
    ]);
    await patchCluster(name, { spec: { networkPolicy: { enabled: false } } });
    await waitFor("the NetworkPolicy to be deleted", async () =>
      (await policy()) === null ? true : undefined,
    );
  });

  test("a peer without a selector is refused by the API server", async () => {
    const refused = await createCluster("zk-np-bad", {
      networkPolicy: { enabled: true, clients: [{}] },
    }).then(
      () => "accepted",
      (err: unknown) => String(err),
    );
    expect(refused).toContain("a peer needs namespaceSelector or podSelector (or both)");
  });
});

describe("a no-op resync", () => {
  test("writes nothing", async () => {
    await waitQuiet(op, 3000);
    const resources = [
      "configmaps",
      "secrets",
      "services",
      "statefulsets",
      "poddisruptionbudgets",
      "networkpolicies",
      "zookeeperclusters",
    ];
    const metricsBefore = await op.metrics.registry.metrics();
    const serverBefore = await apiServerWrites(admin, resources);
    const passesBefore = metricValue(metricsBefore, "zk_operator_reconcile_total");
    op.controller.resyncAll();
    await waitFor("every cluster to be reconciled once more", async () => {
      const text = await op.metrics.registry.metrics();
      return metricValue(text, "zk_operator_reconcile_total") >= passesBefore + 2;
    });
    await waitQuiet(op);
    const serverAfter = await apiServerWrites(admin, resources);
    const metricsAfter = await op.metrics.registry.metrics();
    expect(serverAfter).toEqual(serverBefore);
    // The operator's own count covers Events too (other components write Events as well).
    for (const verb of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect(metricValue(metricsAfter, "zk_operator_kube_requests_total", { verb }), verb).toBe(
        metricValue(metricsBefore, "zk_operator_kube_requests_total", { verb }),
      );
    }
  });
});

describe("an operator restarted over existing clusters", () => {
  test("writes nothing: the children it lists match what it applies", async () => {
    await createCluster("zk-r", { replicas: 3 });
    await waitForChildren("zk-r");
    await waitQuiet(op, 3000);
    const resources = ["configmaps", "secrets", "services", "statefulsets", "poddisruptionbudgets"];
    const serverBefore = await apiServerWrites(admin, resources);
    await op.stop();
    // A new process: every cache is filled from a list, none from watch events.
    op = await startInProcess(testConfig(kubeconfig, { namespaces: [namespace] }));
    const clusterCount = (await admin.list(collectionPath(CLUSTER_RESOURCE, namespace))).items.length;
    expect(clusterCount).toBeGreaterThanOrEqual(1);
    await waitFor("every cluster reconciled by the new operator", async () => {
      const text = await op.metrics.registry.metrics();
      return metricValue(text, "zk_operator_reconcile_total") >= clusterCount;
    });
    await waitQuiet(op);
    expect(await apiServerWrites(admin, resources)).toEqual(serverBefore);
    const text = await op.metrics.registry.metrics();
    for (const verb of ["PUT", "PATCH", "DELETE"])
      expect(metricValue(text, "zk_operator_kube_requests_total", { verb }), verb).toBe(0);
  });
});

describe("an invalid spec the schema cannot catch", () => {
  test("is terminal: the status says why, an Event is recorded, and the operator does not retry", async () => {
    // The heap must leave room in the memory limit for the JVM's off-heap memory: a comparison of
    // two quantities in different units, which the CRD does not express.
    await createCluster("zk-heap", {
      replicas: 3,
      jvm: { heap: "2g" },
      resources: { limits: { memory: "1Gi" } },
    });
    const c = await waitFor("Degraded=True", async () => {
      const x = await getCluster("zk-heap");
      return condition(x, "Degraded")?.status === "True" ? x : undefined;
    });
    expect(condition(c, "Degraded")).toMatchObject({ reason: "InvalidSpec" });
    expect(condition(c, "Degraded")?.message).toContain(
      "spec.jvm.heap 2g must be smaller than the container's memory (1024 MiB)",
    );
    expect(condition(c, "Progressing")).toMatchObject({ status: "False", reason: "InvalidSpec" });
    expect(await getObject(admin, RESOURCES.StatefulSet, namespace, "zk-heap")).toBeNull();
    await waitQuiet(op);
    const terminalBefore = metricValue(await op.metrics.registry.metrics(), "zk_operator_reconcile_total", {
      result: "terminal",
    });
    // No hot loop: over three seconds without changes there is no further pass.
    await new Promise((r) => setTimeout(r, 3000));
    const terminalAfter = metricValue(await op.metrics.registry.metrics(), "zk_operator_reconcile_total", {
      result: "terminal",
    });
    expect(terminalAfter).toBe(terminalBefore);
    const events = await admin.request<{ items: { reason: string; type: string }[] }>(
      "GET",
      `${collectionPath(RESOURCES.Event, namespace)}?fieldSelector=regarding.name=zk-heap`,
    );
    expect(events.items.some((e) => e.reason === "InvalidSpec" && e.type === "Warning")).toBe(true);

    // Fixing the spec is the change the operator waits for.
    await admin.request("PATCH", objectPath(CLUSTER_RESOURCE, namespace, "zk-heap"), {
      body: [{ op: "remove", path: "/spec/jvm" }],
      contentType: "application/json-patch+json",
    });
    await waitForChildren("zk-heap");
  });
});

describe("a deleted ZooKeeperCluster", () => {
  test("has its children garbage-collected", async () => {
    await admin.request("DELETE", objectPath(CLUSTER_RESOURCE, namespace, "zk-a"));
    await waitFor(
      "every child of zk-a to be gone",
      async () => [...(await children("zk-a")).values()].every((o) => o === null),
      { timeoutMs: 90_000 },
    );
  });
});
