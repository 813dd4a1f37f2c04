import { describe, expect, test } from "vitest";
import { parseWriterEnv, WRITER_DEFAULTS } from "./config.ts";

const base = {
  ZK_CONNECT: "zk-client.ns.svc.cluster.local:2181",
  ZK_MEMBERS: "2=zk-1.h:2181, 1=zk-0.h:2181",
};

describe("parseWriterEnv", () => {
  test("members sorted by id, defaults filled in", () => {
    const s = parseWriterEnv({ ...base, ZK_STATUS_URLS: "1=http://zk-0.h:8081/status" });
    expect(s.members).toEqual([
      { id: 1, address: "zk-0.h:2181" },
      { id: 2, address: "zk-1.h:2181" },
    ]);
    expect(s.statusUrls.get(1)).toBe("http://zk-0.h:8081/status");
    expect(s.ratePerSecond).toBe(WRITER_DEFAULTS.ratePerSecond);
    expect(s.httpPort).toBe(8090);
    expect(s.run).toBeNull();
    expect(s.tlsCaFile).toBeNull();
  });

  test("client TLS: the CA file that verifies the members", () => {
    expect(parseWriterEnv({ ...base, ZK_TLS_CA: "/tls/ca.crt" }).tlsCaFile).toBe("/tls/ca.crt");
  });

  test("client certificates: certificate and key together, with the CA", () => {
    const tls = { ZK_TLS_CA: "/tls/ca.crt", ZK_TLS_CERT: "/tls/tls.crt", ZK_TLS_KEY: "/tls/tls.key" };
    expect(parseWriterEnv({ ...base, ...tls }).tlsClient).toEqual({
      certFile: "/tls/tls.crt",
      keyFile: "/tls/tls.key",
    });
    expect(parseWriterEnv(base).tlsClient).toBeNull();
    expect(() => parseWriterEnv({ ...base, ZK_TLS_CA: "/ca", ZK_TLS_CERT: "/c" })).toThrow(
      "ZK_TLS_CERT and ZK_TLS_KEY go together, with ZK_TLS_CA",
    );
  });

  test("numbers from the environment", () => {
    expect(parseWriterEnv({ ...base, WRITE_RATE: "200", HTTP_PORT: "9000" })).toMatchObject({
      ratePerSecond: 200,
      httpPort: 9000,
    });
  });

  test.each([
    ["no connection string", { ZK_MEMBERS: base.ZK_MEMBERS }, /ZK_CONNECT is required/],
    ["no members", { ZK_CONNECT: base.ZK_CONNECT }, /ZK_MEMBERS is required/],
    ["a member without an id", { ...base, ZK_MEMBERS: "zk-0:2181" }, /ZK_MEMBERS: expected ID=VALUE/],
    ["an id twice", { ...base, ZK_MEMBERS: "1=a:1,1=b:1" }, /id 1 appears twice/],
    [
      "a status URL of no member",
      { ...base, ZK_STATUS_URLS: "7=http://x/status" },
      /id 7 is not in ZK_MEMBERS/,
    ],
    ["a zero rate", { ...base, WRITE_RATE: "0" }, /WRITE_RATE: expected a positive integer/],
    [
      "a rate that is not a number",
      { ...base, WRITE_RATE: "fast" },
      /WRITE_RATE: expected a positive integer/,
    ],
    [
      "a run id that breaks the payload format",
      { ...base, WRITER_RUN: "a|b" },
      /WRITER_RUN: letters, digits/,
    ],
  ])("refuses %s", (_name, env, message) => {
    expect(() => parseWriterEnv(env)).toThrow(message);
  });
});
