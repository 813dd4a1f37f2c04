import { pino } from "pino";
import { describe, expect, test } from "vitest";
import { createMetrics } from "./metrics.ts";
import { buildServer } from "./server.ts";

function app(synced: boolean, leading: boolean) {
  const metrics = createMetrics();
  metrics.setSources({
    queueDepth: () => 7,
    isLeader: () => leading,
    clusters: () => [
      {
        apiVersion: "v",
        kind: "ZooKeeperCluster",
        metadata: { name: "a" },
        status: {
          conditions: [
            {
              type: "Available",
              status: "True",
              reason: "QuorumReady",
              message: "m",
              lastTransitionTime: "t",
            },
            {
              type: "Progressing",
              status: "False",
              reason: "ScalingRefused",
              message: "m",
              lastTransitionTime: "t",
            },
          ],
        },
      },
    ],
    informers: () => [{ name: "Pod", synced, objects: 3 }],
  });
  metrics.reconciles.inc({ result: "success" });
  metrics.reconcileDuration.observe({ result: "success" }, 0.02);
  return buildServer({
    logger: pino({ level: "silent" }),
    registry: metrics.registry,
    synced: () => synced,
    informers: () => [{ name: "Pod", synced, objects: 3 }],
    leader: () => ({ leading, identity: "me", leader: leading ? "me" : "other" }),
  });
}

describe("the operator's HTTP server", () => {
  test("/healthz answers while the process serves", async () => {
    const res = await app(false, false).inject({ url: "/healthz" });
    expect(res.statusCode).toBe(200);
  });

  test("/readyz is 503 until every informer has synced, and reports the leader state", async () => {
    const notReady = await app(false, true).inject({ url: "/readyz" });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ ready: false, notSynced: ["Pod"] });
    const ready = await app(true, false).inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      ready: true,
      notSynced: [],
      leading: false,
      identity: "me",
      leader: "other",
    });
  });

  test("/metrics has reconciles, queue depth, leader and clusters by condition", async () => {
    const res = await app(true, true).inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('zk_operator_reconcile_total{result="success"} 1');
    expect(res.body).toContain("zk_operator_workqueue_depth 7");
    expect(res.body).toContain("zk_operator_leader 1");
    expect(res.body).toContain('zk_operator_clusters{condition="Available",status="True"} 1');
    expect(res.body).toContain('zk_operator_clusters{condition="Degraded",status="Unknown"} 1');
    // By reason: every reason of the status table, 0 when no cluster has it.
    expect(res.body).toContain(
      'zk_operator_clusters_by_reason{condition="Progressing",reason="ScalingRefused"} 1',
    );
    expect(res.body).toContain(
      'zk_operator_clusters_by_reason{condition="Available",reason="QuorumReady"} 1',
    );
    expect(res.body).toContain('zk_operator_clusters_by_reason{condition="Progressing",reason="Scaling"} 0');
    expect(res.body).toContain("process_resident_memory_bytes");
    expect(res.body).toContain("zk_operator_reconcile_duration_seconds_bucket");
  });
});
