/**
 * CRLs of a CA near and past its own certificate's end (an outside probe, stop 40 of
 * 2026-12-05): a CRL's nextUpdate is never later than the CA's notAfter (RFC 5280 5.1.2.5);
 * once the CA has ended, its last CRL is served as it is (GetCertificateRevocationList and
 * GET /crl/<id>.crl), and a revocation after the end is signed on a CRL with the same dates
 * (thisUpdate of the last one, nextUpdate the CA's notAfter), which `openssl verify -crl_check`
 * uses to find a certificate revoked. Before the fix the CA's expired key signed CRLs dated
 * after its end with nextUpdate a day ahead, which no relying party could use.
 *
 * The server's clock (startTestCertmint's `now`) is moved past the CA's end; openssl checks at
 * the real time, still within the CA's life (as a relying party whose clock runs behind).
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { crlFields } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { createIntermediate, createRoot, openssl, opensslOk, TempDir } from "./helpers";

const notAfterOf = (pem: string) => new Date(new X509Certificate(pem).validTo);

describe("CRLs of a CA whose certificate expires", () => {
  const clock = new MovableClock();
  const tmp = new TempDir();
  let h: TestCertmint;
  let base = "";
  let rootPem = "";
  let rootEnd = new Date(0);
  let interPem = "";
  let interId = "";
  let interEnd = new Date(0);
  const leaves: Array<{ id: string; pem: string; serial: string }> = [];

  beforeAll(async () => {
    const port = await unusedPort();
    base = `http://127.0.0.1:${port}`;
    h = await startTestCertmint(
      {
        CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
        CERTMINT_CRL_VALIDITY_SECONDS: "86400",
        CERTMINT_CRL_CACHE_SECONDS: "60",
      },
      { now: clock.now },
    );
    const root = await createRoot(h, "expiring-crl-root");
    rootPem = root.certificatePem;
    rootEnd = notAfterOf(rootPem);
    const inter = await createIntermediate(h, "expiring-crl-inter", root.id, { ttlSeconds: 3600 });
    interPem = inter.certificatePem;
    interId = inter.id;
    interEnd = notAfterOf(interPem);
    await createProfileRows(h, { slug: "web", caId: inter.id });
    for (const name of ["before", "after"]) {
      const cn = `${name}.example.com`;
      const res = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web", { cn, dns: [cn], ttlSeconds: 600 }),
      );
      const c = res.certificate!;
      leaves.push({ id: c.certificateId, pem: c.certificatePem, serial: c.serialNumber });
    }
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const getCrl = async (ref: string) => {
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: ref,
      encoding: 0,
      knownCrlNumber: "",
    });
    return { pem: crl.crlPem, der: Buffer.from(crl.crlDer), ...crlFields(tmp, crl.crlPem) };
  };
  const revoke = (id: string) =>
    call(h.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
  /** `openssl verify -crl_check` of a leaf with the intermediate's CRL, at the real time. */
  const verifyLeaf = (leafPem: string, crlPem: string) =>
    openssl([
      "verify",
      "-crl_check",
      "-CAfile",
      tmp.file("root.pem", rootPem),
      "-untrusted",
      tmp.file("inter.pem", interPem),
      "-CRLfile",
      tmp.file("inter.crl", crlPem),
      tmp.file("leaf.pem", leafPem),
    ]);
  const listed = (crlPem: string) =>
    opensslOk(["crl", "-noout", "-text", "-in", tmp.file("listed.crl", crlPem)]).toUpperCase();

  it("a CA with less than a CRL validity period left: nextUpdate is its notAfter, not a day ahead", async () => {
    const crl = await getCrl(interId);
    expect(crl.next.getTime()).toBe(interEnd.getTime());
    expect(crl.last.getTime()).toBeLessThan(interEnd.getTime());
    const v = openssl([
      "crl",
      "-noout",
      "-in",
      tmp.file("c.crl", crl.pem),
      "-CAfile",
      tmp.file("ca.pem", interPem),
      "-verify",
    ]);
    expect(v.stdout + v.stderr).toMatch(/verify OK/);
    // A CA with years left keeps the configured validity.
    const root = await getCrl("expiring-crl-root");
    expect(root.next.getTime() - root.last.getTime()).toBe(86_400_000);
    expect(root.next.getTime()).toBeLessThan(rootEnd.getTime());
  });

  it("past the CA's end: its last CRL is served as it is, a later revocation keeps its dates, and openssl uses it", async () => {
    const [before, after] = leaves as [(typeof leaves)[0], (typeof leaves)[0]];
    await revoke(before.id);
    const last = await getCrl(interId);
    expect(listed(last.pem)).toContain(`SERIAL NUMBER: ${before.serial.toUpperCase()}`);
    expect(last.next.getTime()).toBe(interEnd.getTime());

    // The server's clock passes the intermediate's notAfter (the root is still valid).
    clock.advance(Math.ceil((interEnd.getTime() - clock.now().getTime()) / 1000) + 120);
    expect(clock.now().getTime()).toBeGreaterThan(interEnd.getTime());

    // The last CRL, byte for byte, over gRPC and from the publication port.
    const served = await getCrl(interId);
    expect(served.number).toBe(last.number);
    expect(served.der.equals(last.der)).toBe(true);
    const res = await fetch(`${base}/crl/${interId}.crl`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(last.der)).toBe(true);

    // A revocation after the end: a new CRL (next number) dated as the last one, listing both.
    await revoke(after.id);
    const final = await getCrl(interId);
    expect(final.number).toBeGreaterThan(last.number);
    expect(final.last.getTime()).toBe(last.last.getTime());
    expect(final.next.getTime()).toBe(interEnd.getTime());
    const text = listed(final.pem);
    expect(text).toContain(`SERIAL NUMBER: ${before.serial.toUpperCase()}`);
    expect(text).toContain(`SERIAL NUMBER: ${after.serial.toUpperCase()}`);
    // Served as it is from then on, not signed again.
    expect((await getCrl(interId)).number).toBe(final.number);

    // A relying party within the CA's life (by its clock) finds the certificate revoked.
    for (const leaf of [before, after]) {
      const v = verifyLeaf(leaf.pem, final.pem);
      expect(v.stdout + v.stderr).toMatch(/certificate revoked/);
      expect(v.stdout + v.stderr).not.toMatch(/CRL is not yet valid|CRL has expired/);
    }
  });
});
