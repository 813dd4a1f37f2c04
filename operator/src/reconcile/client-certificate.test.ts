import { describe, expect, test } from "vitest";
import type { SidecarStatus } from "../../../sidecar/src/contract.ts";
import { sidecarStatus } from "../../test/fixtures/observed.ts";
import { decideClientCertificate, observeClientCertificates } from "./client-certificate.ts";

function status(fingerprint: string, restartNeeded: boolean, problem: string | null = null): SidecarStatus {
  return sidecarStatus("follower", {
    tls: { client: { subject: "CN=zk", issuer: "CN=ca", notAfter: "", fingerprint, restartNeeded, problem } },
  });
}

const observe = (entries: [number, SidecarStatus][]) => observeClientCertificates(new Map(entries));

describe("client certificate renewal", () => {
  test("nothing to do without TLS, or while every member serves the certificate it has mounted", () => {
    expect(decideClientCertificate(null, null)).toBeNull();
    expect(
      decideClientCertificate(
        null,
        observe([
          [1, status("AA", false)],
          [2, status("AA", false)],
        ]),
      ),
    ).toBeNull();
    expect(decideClientCertificate("AA", observe([[1, status("AA", false)]]))).toBe("AA");
  });

  test("a renewal every member has mounted, that some still need a restart for, goes into the template", () => {
    const obs = observe([
      [1, status("BB", true)],
      [2, status("BB", false)],
      [3, status("BB", true)],
    ]);
    expect(obs.restartNeeded).toEqual([1, 3]);
    expect(decideClientCertificate(null, obs)).toBe("BB");
    expect(decideClientCertificate("AA", obs)).toBe("BB");
  });

  test("while the kubelet has brought the renewal into some pods only, the roll waits", () => {
    const obs = observe([
      [1, status("BB", true)],
      [2, status("AA", false)],
    ]);
    expect(decideClientCertificate("AA", obs)).toBe("AA");
  });

  test("a Secret a sidecar refuses is no renewal", () => {
    const obs = observe([
      [1, status("BB", true, "tls.key is not the private key of the certificate")],
      [2, status("AA", false)],
    ]);
    expect(obs.mounted).toEqual(new Map([[2, "AA"]]));
    expect(decideClientCertificate("AA", obs)).toBe("AA");
  });
});
