import { describe, expect, it } from "vitest";
import { EXIT_CODES } from "./contract.ts";
import { waitForOwnName } from "./init.ts";
import { readSettings, SidecarError } from "./settings.ts";

const settings = (waitMs: number) =>
  readSettings({ POD_NAME: "zk-0", POD_NAMESPACE: "prod", ZK_DNS_WAIT_MS: String(waitMs) }, "unused-0");

describe("waitForOwnName", () => {
  it("asks for the pod's own stable name and waits past loopback answers and lookup errors", async () => {
    const answers: (string[] | Error)[] = [
      Object.assign(new Error("not found"), { code: "ENOTFOUND" }),
      ["127.0.1.1"],
      ["10.1.2.3", "127.0.0.1"],
    ];
    const asked: string[] = [];
    const addresses = await waitForOwnName(settings(10_000), (name) => {
      asked.push(name);
      const a = answers.shift() ?? [];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    });
    expect(addresses).toEqual(["10.1.2.3"]);
    expect(asked).toEqual(Array(3).fill("zk-0.zk-headless.prod.svc.cluster.local"));
  });

  it("gives up after ZK_DNS_WAIT_MS with exit code 6, naming the last answer", async () => {
    const err = await waitForOwnName(settings(50), () => Promise.resolve(["127.0.0.1"])).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SidecarError);
    expect((err as SidecarError).exitCode).toBe(EXIT_CODES.dnsNotReady);
    expect((err as SidecarError).message).toBe(
      "own DNS name zk-0.zk-headless.prod.svc.cluster.local did not resolve within 50 ms (only loopback addresses); is the headless Service publishing not-ready addresses?",
    );
  });
});
