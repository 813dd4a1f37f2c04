import { expect, test } from "vitest";
import { buildAdminSecret, computeSuperDigest, generateAdminPassword } from "./admin-secret.ts";
import { LABELS_OF_ZK, OWNER, testCluster } from "../../test/fixtures/cluster.ts";

test.each([
  // `echo -n super:admin | openssl dgst -binary -sha1 | base64`
  ["admin", "super:xQJmxLMiHGwaqBvst5y6rkB6HQs="],
])("computeSuperDigest(%j) is ZooKeeper's digest form", (password, digest) => {
  expect(computeSuperDigest(password)).toBe(digest);
});

test("NAME-admin holds the password and its digest, base64 in data", () => {
  const secret = buildAdminSecret(testCluster(), "admin");
  expect(secret.metadata).toEqual({
    name: "zk-admin",
    namespace: "prod",
    labels: LABELS_OF_ZK,
    ownerReferences: [OWNER],
  });
  expect(secret.type).toBe("Opaque");
  const decoded = Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
  );
  expect(decoded).toEqual({ password: "admin", superDigest: "super:xQJmxLMiHGwaqBvst5y6rkB6HQs=" });
  expect(secret.stringData).toBeUndefined();
});

test("the same password builds the same Secret (a resync changes nothing)", () => {
  expect(buildAdminSecret(testCluster(), "p")).toEqual(buildAdminSecret(testCluster(), "p"));
});

test("generated passwords are long, URL-safe and different every time", () => {
  const a = generateAdminPassword();
  expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(generateAdminPassword()).not.toBe(a);
});
