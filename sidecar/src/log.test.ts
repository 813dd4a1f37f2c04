import { describe, expect, it } from "vitest";
import { createLogger, renderLine } from "./log.ts";

describe("renderLine", () => {
  it("writes pino's shape: numeric level, time, base fields, line fields, msg", () => {
    const line = renderLine(
      "warn",
      1700000000000,
      { component: "zk-sidecar", pod: "zk-0" },
      { count: 2 },
      "skipped",
    );
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      level: 40,
      time: 1700000000000,
      component: "zk-sidecar",
      pod: "zk-0",
      count: 2,
      msg: "skipped",
    });
  });

  it("serializes an Error under err as pino does: type, message, stack, own fields", () => {
    const err = Object.assign(new TypeError("boom"), { code: "E_BOOM" });
    const parsed = JSON.parse(renderLine("error", 1, {}, { err }, "failed")) as {
      err: Record<string, unknown>;
    };
    expect(parsed.err).toMatchObject({ type: "TypeError", message: "boom", code: "E_BOOM" });
    expect(parsed.err.stack).toContain("TypeError: boom");
  });

  it("keeps the line when a field cannot be serialized", () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    const parsed = JSON.parse(renderLine("info", 1, { pod: "zk-0" }, { loop }, "hello")) as Record<
      string,
      unknown
    >;
    expect(parsed).toMatchObject({ level: 30, pod: "zk-0", msg: "hello" });
    expect(parsed.logError).toMatch(/not serializable/);
  });
});

describe("createLogger", () => {
  it("writes one line per call at or above its level, nothing when silent", () => {
    const lines: string[] = [];
    const log = createLogger({ base: { command: "serve" }, level: "warn", write: (l) => lines.push(l) });
    log.info({ a: 1 }, "dropped");
    log.warn({ a: 2 }, "kept");
    log.error({ a: 3 }, "kept too");
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { level: 40, command: "serve", a: 2, msg: "kept" },
      { level: 50, command: "serve", a: 3, msg: "kept too" },
    ]);
    const silent: string[] = [];
    createLogger({ level: "silent", write: (l) => silent.push(l) }).error({}, "nothing");
    expect(silent).toEqual([]);
  });
});
