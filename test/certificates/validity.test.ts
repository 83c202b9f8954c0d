/**
 * A certificate never outlives its issuer (RFC 5280 4.1.2.5, 6.1.3): with validityOverflow
 * FAIL a TTL beyond the CA's notAfter is FAILED_PRECONDITION VALIDITY_EXCEEDS_ISSUER; with
 * TRUNCATE the certificate ends exactly when the CA does.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  DAY,
  FAILED,
  ISSUED,
  issue,
  renewRequest,
  requestStatus,
  rowCounts,
  rpcError,
  seconds,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
} from "./helpers";

describe("validity against the issuing CA", () => {
  let h: TestCertmint;
  let shortRoot: CertificateAuthority;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    const res = await call(
      h.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "short",
        subject: { commonName: "Short-lived Root" },
        ttl: seconds(2 * DAY),
      }),
    );
    shortRoot = res.certificateAuthority!;
    // The TLS server preset allows 90 days: the CA's 2 days are the tighter bound.
    await createProfileRows(h, { caId: shortRoot.id, slug: "fail", validityOverflow: "FAIL" });
    await createProfileRows(h, {
      caId: shortRoot.id,
      slug: "truncate",
      validityOverflow: "TRUNCATE",
    });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("FAIL: a TTL beyond the CA's notAfter is refused and nothing is issued", async () => {
    const before = await rowCounts(h);
    const err = await rpcError(
      issue(
        h,
        attrRequest("fail", {
          cn: "long.example.com",
          dns: ["long.example.com"],
          ttlSeconds: 10 * DAY,
        }),
      ),
    );
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("VALIDITY_EXCEEDS_ISSUER");
    const after = await rowCounts(h);
    expect(after.certificates).toBe(before.certificates);
    expect(after.requests).toBe(before.requests + 1);
    const st = await requestStatus(h, err.metadata.certificate_request_id!);
    expect(st.certificateRequest!.status).toBe(FAILED);
  });

  it("FAIL: a TTL inside the CA's validity is issued as asked", async () => {
    const sent = Date.now();
    const res = await issue(
      h,
      attrRequest("fail", { cn: "short.example.com", dns: ["short.example.com"], ttlSeconds: DAY }),
    );
    const answered = Date.now();
    expect(res.status).toBe(ISSUED);
    const x = new X509Certificate(res.certificate!.certificatePem);
    // TTL after the moment of issuance, which lies within the call (validTo has whole seconds).
    expect(new Date(x.validTo).getTime()).toBeGreaterThan(sent + DAY * 1000 - 1000);
    expect(new Date(x.validTo).getTime()).toBeLessThanOrEqual(answered + DAY * 1000);
  });

  // Found by an outside probe (2026-12-05, third stop): ttl = max_ttl made a period of
  // max_ttl + 61 s (the backdate uncounted).
  it("a TTL of the policy's maximum: notBefore..notAfter, both inclusive, is that maximum", async () => {
    const longRoot = await createRoot(h, "long");
    await createProfileRows(h, { caId: longRoot.id, slug: "max" });
    const policy = await h.db.query<{ spec: { maxTtlSeconds: number } }>(
      "select p.spec from certificate_policy p join certificate_profile f on f.policy_id = p.id where f.slug = 'max'",
    );
    const maxTtl = policy[0]!.spec.maxTtlSeconds;
    expect(maxTtl).toBeGreaterThan(DAY);
    for (const [cn, ttl] of [
      ["max.example.com", maxTtl],
      ["near.example.com", maxTtl - 30],
    ] as const) {
      const res = await issue(h, attrRequest("max", { cn, dns: [cn], ttlSeconds: ttl }));
      const x = new X509Certificate(res.certificate!.certificatePem);
      const period = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 1000 + 1;
      expect(period).toBe(maxTtl);
      const verified = verifyLeaf(tmp, longRoot.certificatePem, res.certificate!.certificatePem);
      expect(verified.code, verified.stderr).toBe(0);
    }
    // Further below the maximum than the backdate: notAfter is now + ttl, as asked.
    const sent = Date.now();
    const res = await issue(
      h,
      attrRequest("max", { cn: "day.example.com", dns: ["day.example.com"], ttlSeconds: DAY }),
    );
    const x = new X509Certificate(res.certificate!.certificatePem);
    expect(Date.parse(x.validTo)).toBeGreaterThan(sent + DAY * 1000 - 1000);
    expect((Date.parse(x.validTo) - Date.parse(x.validFrom)) / 1000).toBe(DAY + 60);
  });

  it("TRUNCATE: the certificate ends exactly when the CA does", async () => {
    const res = await issue(
      h,
      attrRequest("truncate", {
        cn: "trunc.example.com",
        dns: ["trunc.example.com"],
        ttlSeconds: 10 * DAY,
      }),
    );
    expect(res.status).toBe(ISSUED);
    const leaf = new X509Certificate(res.certificate!.certificatePem);
    const ca = new X509Certificate(shortRoot.certificatePem);
    expect(new Date(leaf.validTo).getTime()).toBe(new Date(ca.validTo).getTime());
    expect(res.certificate!.notAfter!.getTime()).toBe(shortRoot.notAfter!.getTime());
    expect(verifyLeaf(tmp, shortRoot.certificatePem, res.certificate!.certificatePem).code).toBe(0);
  });

  // A client may re-key a certificate that ends with its CA: the successor ends there too.
  // (Server-driven renewal refuses that: test/renewal/renewal-would-not-extend.test.ts.)
  it("a client's renewal of a certificate cut to its CA's end is made, and cut to that end again", async () => {
    const res = await issue(
      h,
      attrRequest("truncate", {
        cn: "cut.example.com",
        dns: ["cut.example.com"],
        ttlSeconds: 10 * DAY,
      }),
    );
    expect(res.certificate!.notAfter!.getTime()).toBe(shortRoot.notAfter!.getTime());
    const renewed = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({ certificateId: res.certificate!.certificateId }),
    );
    expect(renewed.status).toBe(ISSUED);
    expect(renewed.certificate!.notAfter!.getTime()).toBe(shortRoot.notAfter!.getTime());
  });
});
