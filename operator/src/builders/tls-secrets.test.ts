import { expect, test } from "vitest";
import { LABELS_OF_ZK, OWNER, testCluster } from "../../test/fixtures/cluster.ts";
import { buildCaSecret, buildTlsSecret } from "./tls-secrets.ts";

const decode = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));

test("NAME-ca holds the CA's certificate and key; NAME-tls the members' certificate in cert-manager's layout", () => {
  const ca = buildCaSecret(testCluster(), { cert: "CA CERT", key: "CA KEY" });
  expect(ca.metadata).toEqual({
    name: "zk-ca",
    namespace: "prod",
    labels: LABELS_OF_ZK,
    ownerReferences: [OWNER],
  });
  expect(ca.type).toBe("kubernetes.io/tls");
  expect(decode(ca.data)).toEqual({ "tls.crt": "CA CERT", "tls.key": "CA KEY" });

  const leaf = buildTlsSecret(testCluster(), { cert: "LEAF", key: "LEAF KEY", ca: "CA CERT" });
  expect(leaf.metadata?.name).toBe("zk-tls");
  expect(leaf.type).toBe("kubernetes.io/tls");
  expect(decode(leaf.data)).toEqual({ "tls.crt": "LEAF", "tls.key": "LEAF KEY", "ca.crt": "CA CERT" });
  // The same material builds the same Secret: a resync applies nothing.
  expect(buildTlsSecret(testCluster(), { cert: "LEAF", key: "LEAF KEY", ca: "CA CERT" })).toEqual(leaf);
});
