import { describe, expect, it } from "vitest";
import { EXIT_CODES } from "./contract.ts";
import { parsePodName, readSettings, SidecarError } from "./settings.ts";

const BASE = { POD_NAME: "zk-2", POD_NAMESPACE: "kafka" };

function errorOf(fn: () => unknown): SidecarError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SidecarError) return err;
    throw err;
  }
  throw new Error("expected a SidecarError");
}

describe("parsePodName", () => {
  it.each([
    ["zk-0", "zk", 0, 1],
    ["zk-2", "zk", 2, 3],
    ["my-zk-10", "my-zk", 10, 11],
    ["a-254", "a", 254, 255],
  ])("%s → cluster %s, ordinal %i, id %i", (pod, cluster, ordinal, id) => {
    expect(parsePodName(pod, "POD_NAME")).toEqual({ podName: pod, cluster, ordinal, id });
  });

  it.each([
    ["zk", "has no ordinal"],
    ["zk-", "has no ordinal"],
    ["-3", "has no ordinal"],
    ["zk-a", "has no ordinal"],
    ["zk-01", "leading zero"],
    ["ZK-1", "is not a DNS label"],
    ["zk-255", "above 255"],
  ])("%s is refused: %s", (pod, message) => {
    const err = errorOf(() => parsePodName(pod, "POD_NAME"));
    expect(err.message).toContain(message);
    expect(err.message).toContain(JSON.stringify(pod));
    expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
  });
});

describe("readSettings", () => {
  it("fills defaults from the contract", () => {
    const s = readSettings(BASE, "ignored-0");
    expect(s).toMatchObject({
      identity: { cluster: "zk", ordinal: 2, id: 3 },
      namespace: "kafka",
      headlessService: "zk-headless",
      clusterDomain: "cluster.local",
      ports: { client: 2181, quorum: 2888, election: 3888 },
      dataDir: "/data",
      confDir: "/conf",
      operatorConfigDir: "/etc/zookeeper-operator",
      bindAddress: "0.0.0.0",
      zkHost: "127.0.0.1",
      httpHost: "0.0.0.0",
      httpPort: 8081,
      readyCacheMs: 1000,
      fourLetterTimeoutMs: 1000,
      dnsWaitMs: 60_000,
      rejoinWaitMs: 60_000,
      tls: {
        clientDir: null,
        quorumDir: null,
        storeDir: "/var/run/zookeeper/tls",
        secureClientPort: 2281,
        clientAuth: "none",
        syncMs: 10_000,
      },
    });
  });

  it("takes the identity from the hostname when POD_NAME is unset", () => {
    const s = readSettings({ POD_NAMESPACE: "ns" }, "zoo-4");
    expect(s.identity).toEqual({ podName: "zoo-4", cluster: "zoo", ordinal: 4, id: 5 });
  });

  it("names the hostname as the source of a bad pod name", () => {
    expect(errorOf(() => readSettings({ POD_NAMESPACE: "ns" }, "laptop")).message).toBe(
      'pod name "laptop" (from the hostname) has no ordinal: expected NAME-ORDINAL, e.g. zk-0',
    );
  });

  it.each([
    [{ POD_NAMESPACE: undefined }, "POD_NAMESPACE is not set"],
    [{ POD_NAMESPACE: "Bad_NS" }, "POD_NAMESPACE is not a valid namespace name"],
    [{ ZK_CLUSTER_DOMAIN: "cluster.local\nserver.9=evil:1:2" }, "ZK_CLUSTER_DOMAIN contains a line break"],
    [{ POD_NAME: "zk-0\n" }, "POD_NAME contains a line break"],
    [{ ZK_HEADLESS_SERVICE: "zk-headless " }, "ZK_HEADLESS_SERVICE has leading or trailing spaces"],
    [{ ZK_HEADLESS_SERVICE: "zk_headless" }, "ZK_HEADLESS_SERVICE is not a valid Service name"],
    [{ ZK_CLIENT_PORT: "21a" }, "ZK_CLIENT_PORT must be a whole number"],
    [{ ZK_QUORUM_PORT: "70000" }, "ZK_QUORUM_PORT must be between 1 and 65535"],
    [{ ZK_ELECTION_PORT: "2181" }, "ZK_CLIENT_PORT and ZK_ELECTION_PORT must differ, both are 2181"],
    [
      { ZK_SIDECAR_HTTP_PORT: "3888" },
      "ZK_ELECTION_PORT and ZK_SIDECAR_HTTP_PORT must differ, both are 3888",
    ],
    [
      { ZK_TLS_CLIENT_DIR: "/tls", ZK_SECURE_CLIENT_PORT: "2888" },
      "ZK_SECURE_CLIENT_PORT and ZK_QUORUM_PORT must differ, both are 2888",
    ],
    [{ ZK_TLS_QUORUM_DIR: "tls" }, "ZK_TLS_QUORUM_DIR must be an absolute path"],
    [
      { ZK_TLS_CLIENT_DIR: "/tls", ZK_TLS_CLIENT_AUTH: "required" },
      'ZK_TLS_CLIENT_AUTH must be one of none, want, need: "required"',
    ],
    [{ ZK_TLS_CLIENT_AUTH: "need" }, "ZK_TLS_CLIENT_AUTH=need needs client TLS (ZK_TLS_CLIENT_DIR)"],
    [{ ZK_TLS_SYNC_MS: "10" }, "ZK_TLS_SYNC_MS must be between 100 and 3600000"],
    [{ ZK_DATA_DIR: "data" }, "ZK_DATA_DIR must be an absolute path"],
    [{ ZK_BIND_ADDRESS: "0.0.0.0;rm" }, "ZK_BIND_ADDRESS is not an address"],
    [{ ZK_READY_CACHE_MS: "-1" }, "ZK_READY_CACHE_MS must be a whole number"],
    [{ ZK_REJOIN_WAIT_MS: "1m" }, "ZK_REJOIN_WAIT_MS must be a whole number"],
    [{ ZK_REJOIN_WAIT_MS: "3600001" }, "ZK_REJOIN_WAIT_MS must be between 0 and 3600000"],
  ])("refuses %j: %s", (override, message) => {
    const err = errorOf(() => readSettings({ ...BASE, ...override }, "host-0"));
    expect(err.message).toContain(message);
    expect(err.exitCode).toBe(EXIT_CODES.invalidInput);
  });
});
