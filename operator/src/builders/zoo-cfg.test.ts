import { describe, expect, test } from "vitest";
import { SIDECAR_OWNED_ZOO_CFG_KEYS } from "../../../sidecar/src/contract.ts";
import { computeConfigHash, renderStaticConfig } from "./zoo-cfg.ts";
import { resolvedFor, testCluster } from "../../test/fixtures/cluster.ts";

const render = (spec: Parameters<typeof testCluster>[0]): string =>
  renderStaticConfig(resolvedFor(testCluster(spec)));

describe("renderStaticConfig", () => {
  test.each([
    [
      "defaults",
      {},
      [
        "tickTime=2000",
        "initLimit=10",
        "syncLimit=5",
        "maxClientCnxns=60",
        "autopurge.snapRetainCount=3",
        "autopurge.purgeInterval=1",
        "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
        "metricsProvider.httpPort=7000",
        "metricsProvider.exportJvmInfo=true",
      ],
    ],
    [
      "typed keys, additional keys sorted after them, metrics off",
      {
        config: {
          tickTime: 3000,
          syncLimit: 2,
          additional: { "jute.maxbuffer": "4194304", globalOutstandingLimit: "2000" },
        },
        metrics: { enabled: false },
      },
      [
        "tickTime=3000",
        "initLimit=10",
        "syncLimit=2",
        "maxClientCnxns=60",
        "autopurge.snapRetainCount=3",
        "autopurge.purgeInterval=1",
        "globalOutstandingLimit=2000",
        "jute.maxbuffer=4194304",
      ],
    ],
    ["another metrics port", { metrics: { port: 9141 } }, ["metricsProvider.httpPort=9141"]],
  ] as const)("%s", (_, spec, lines) => {
    const text = render(spec);
    expect(text.endsWith("\n")).toBe(true);
    if (lines.length > 3) expect(text.trimEnd().split("\n")).toEqual(lines);
    else for (const l of lines) expect(text.split("\n")).toContain(l);
  });

  test("never renders a key the sidecar owns (zk-sidecar init would refuse it)", () => {
    const keys = render({ config: { additional: { globalOutstandingLimit: "1" } } })
      .trimEnd()
      .split("\n")
      .map((l) => l.split("=")[0] ?? "");
    for (const owned of SIDECAR_OWNED_ZOO_CFG_KEYS) {
      expect(keys.filter((k) => (owned.endsWith(".") ? k.startsWith(owned) : k === owned))).toEqual([]);
    }
  });
});

describe("computeConfigHash", () => {
  test("is stable and changes with the configuration", () => {
    const a = computeConfigHash(render({}));
    expect(computeConfigHash(render({}))).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(computeConfigHash(render({ config: { tickTime: 2001 } }))).not.toBe(a);
    expect(computeConfigHash(render({ config: { additional: { globalOutstandingLimit: "5" } } }))).not.toBe(
      a,
    );
  });

  test("does not change with settings outside zoo.cfg", () => {
    const a = computeConfigHash(render({}));
    expect(computeConfigHash(render({ replicas: 5, image: "zookeeper:3.9.3", jvm: { heap: "1g" } }))).toBe(a);
  });
});
