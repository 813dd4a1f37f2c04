import { expect, test } from "vitest";
import { childMetadata, childNames, ownerReference, selectorLabels, tlsSecretName } from "./labels.ts";
import { LABELS_OF_ZK, OWNER, testCluster } from "../../test/fixtures/cluster.ts";

test("child names (DESIGN.md)", () => {
  expect(childNames("web")).toEqual({
    statefulSet: "web",
    headless: "web-headless",
    client: "web-client",
    pdb: "web",
    configMap: "web-config",
    adminSecret: "web-admin",
    caSecret: "web-ca",
    tlsSecret: "web-tls",
    podMonitor: "web",
    networkPolicy: "web",
  });
});

test("a role's TLS Secret is the user's, or NAME-tls from the operator's CA", () => {
  expect(tlsSecretName("web", { secretName: "mine" })).toBe("mine");
  expect(tlsSecretName("web", { generated: true })).toBe("web-tls");
});

test("selector labels are name, instance and component; children add managed-by", () => {
  expect(selectorLabels("zk")).toEqual({
    "app.kubernetes.io/name": "zookeeper",
    "app.kubernetes.io/instance": "zk",
    "app.kubernetes.io/component": "server",
  });
  expect(childMetadata(testCluster(), "zk-x").labels).toEqual(LABELS_OF_ZK);
});

test("the owner reference makes the cluster the controller and blocks its deletion until GC", () => {
  expect(ownerReference(testCluster())).toEqual(OWNER);
  expect(childMetadata(testCluster(), "x")).toEqual({
    name: "x",
    namespace: "prod",
    labels: LABELS_OF_ZK,
    ownerReferences: [OWNER],
  });
});

test("our labels win over labels passed in", () => {
  const meta = childMetadata(testCluster(), "x", {
    labels: { "app.kubernetes.io/instance": "other", extra: "1" },
  });
  expect(meta.labels).toEqual({ ...LABELS_OF_ZK, extra: "1" });
});
