import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseMntr } from "./zk.ts";
import { renderZooKeeperMetrics, summaryName } from "./zk-metrics.ts";

const realMntr = readFileSync(join(import.meta.dirname, "testdata", "mntr-3.8.0-leader.txt"), "utf8");

function typeOf(text: string, name: string): string | undefined {
  return new RegExp(`^# TYPE ${name} (\\S+)$`, "m").exec(text)?.[1];
}

function value(text: string, sample: string): string | undefined {
  const escaped = sample.replace(/[{}"=.]/g, (c) => `\\${c}`);
  return new RegExp(`^${escaped} (\\S+)$`, "m").exec(text)?.[1];
}

describe("renderZooKeeperMetrics on a real 3.8.0 leader's mntr", () => {
  const { text, skipped } = renderZooKeeperMetrics(parseMntr(realMntr));

  it("skips nothing", () => {
    expect(skipped).toEqual([]);
  });

  it("gives gauges and counters their type and base unit", () => {
    expect(typeOf(text, "zookeeper_znode_count")).toBe("gauge");
    expect(value(text, "zookeeper_znode_count")).toBe("5");
    expect(typeOf(text, "zookeeper_packets_received_total")).toBe("counter");
    expect(value(text, "zookeeper_uptime_seconds")).toBe("3.491");
    expect(value(text, "zookeeper_leader_uptime_seconds")).toBe("3.465");
    expect(typeOf(text, "zookeeper_approximate_data_size_bytes")).toBe("gauge");
    expect(value(text, "zookeeper_approximate_data_size_bytes")).toBe("119");
    expect(typeOf(text, "zookeeper_looking_count_total")).toBe("counter");
  });

  it("marks the server state as a label", () => {
    expect(value(text, 'zookeeper_server_state{state="leader"}')).toBe("1");
    expect(value(text, 'zookeeper_server_state{state="follower"}')).toBe("0");
    expect(value(text, 'zookeeper_build_info{version="3.8.0"}')).toBe("1");
  });

  it("turns summary sets into summaries, milliseconds into seconds", () => {
    expect(typeOf(text, "zookeeper_election_time_seconds")).toBe("summary");
    expect(value(text, "zookeeper_election_time_seconds_sum")).toBe("0.223");
    expect(value(text, "zookeeper_election_time_seconds_count")).toBe("1");
    expect(typeOf(text, "zookeeper_jvm_pause_time_seconds")).toBe("summary");
    expect(value(text, 'zookeeper_jvm_pause_time_seconds{quantile="0.99"}')).toBe("0");
    expect(typeOf(text, "zookeeper_sync_processor_queue_size")).toBe("summary");
    // The parts of a summary set are not exported again on their own.
    expect(text).not.toMatch(/^zookeeper_avg_election_time/m);
    expect(text).not.toMatch(/^zookeeper_cnt_/m);
  });

  it("declares each family once", () => {
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("renderZooKeeperMetrics on damaged input", () => {
  it("skips bad values and malformed lines and keeps the rest", () => {
    const { text, skipped } = renderZooKeeperMetrics(
      parseMntr(
        "zk_server_state\tfollower\nzk_znode_count\tlots\nzk_watch_count\t7\nnot a metric\nzk_cnt_x\t1\n",
      ),
    );
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toContain("malformed line");
    expect(skipped[1]).toContain("zk_znode_count: not a number");
    expect(value(text, "zookeeper_watch_count")).toBe("7");
    expect(text).not.toContain("zookeeper_znode_count ");
    // A summary set cut short (cnt without sum) is read as a plain counter.
    expect(typeOf(text, "zookeeper_cnt_x_total")).toBe("counter");
  });

  it("renders nothing for an empty answer, and an unknown state as its own label", () => {
    expect(renderZooKeeperMetrics(parseMntr(""))).toEqual({ text: "", skipped: [] });
    const { text } = renderZooKeeperMetrics(parseMntr('zk_server_state\tread"only\n'));
    expect(value(text, 'zookeeper_server_state{state="read\\"only"}')).toBe("1");
  });
});

describe("summaryName", () => {
  it.each([
    ["fsynctime", "zookeeper_fsynctime_seconds"],
    ["jvm_pause_time_ms", "zookeeper_jvm_pause_time_seconds"],
    ["readlatency", "zookeeper_readlatency_seconds"],
    ["write_batch_time_in_commit_processor", "zookeeper_write_batch_time_in_commit_processor_seconds"],
    ["startup_txns_loaded", "zookeeper_startup_txns_loaded"],
  ])("%s → %s", (set, name) => {
    expect(summaryName(set)).toBe(name);
  });
});
