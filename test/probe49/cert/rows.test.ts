/**
 * Probe 49 (CERT): what the database holds after requests that must change nothing or exactly
 * one thing: validate_only (accepted and refused), refusals (a FAILED request that
 * GetRequestStatus explains, no certificate), the max_ttl boundary, a repeated revocation and a
 * release of a certificate that is not on hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRequestStatus } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import { call, expectRpcError } from "../../support/harness";
import {
  attributesRequest,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "./live";

const MAX_TTL = 7 * 86400;

describe("probe49 cert: rows after refusals, dry runs and repeats", () => {
  let live: LiveCertmint;

  const counts = async () => {
    const [row] = await live.db.query<Record<string, number>>(
      `select (select count(*) from certificate)::int as certificates,
              (select count(*) from certificate_request)::int as requests,
              (select count(*) from certificate where revoked_at is not null)::int as revoked`,
    );
    return row!;
  };

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createPolicy(live, "web", {
      sanRules: { dns: { allowed: ["*.example.com"] } },
      subjectRules: { commonName: { allowed: ["*"] } },
      maxTtl: { seconds: String(MAX_TTL), nanos: 0 },
    });
    await createProfile(live, "web", "web", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
  });

  // Audit records are left out: every call that may change something is audited with its
  // outcome (README "Audit trail"), a dry run and a repeated revocation included.
  it("validate_only writes nothing, accepted or refused", async () => {
    const before = await counts();
    const ok = await issueCertificate(
      live,
      attributesRequest("web", {
        sans: { dnsNames: ["dry.example.com"] },
        extra: { validateOnly: true },
      }),
    );
    expect(ok.certificate?.certificatePem ?? "").toBe("");
    expect(ok.privateKeyPem).toBe("");
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("web", {
          sans: { dnsNames: ["dry.example.org"] },
          extra: { validateOnly: true },
        }),
      ),
    );
    expect(e.code).toBe(3);
    expect(await counts()).toEqual(before);
  });

  it("a refusal stores a FAILED request that GetRequestStatus explains, and no certificate", async () => {
    const before = await counts();
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("web", {
          sans: { dnsNames: ["a.b.example.com"] },
          extra: { requestId: "refused-1" },
        }),
      ),
    );
    expect(e.code).toBe(3);
    const after = await counts();
    expect(after.certificates).toBe(before.certificates);
    const [row] = await live.db.query<{
      id: string;
      status: string;
      error: { reason?: string } | null;
    }>("select id, status, error from certificate_request where request_id = 'refused-1'");
    expect(row?.status).toBe("FAILED");
    const status = await call(live.certificates, "getRequestStatus", {
      certificateRequestId: row!.id,
    });
    expect(status.certificateRequest!.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_FAILED,
    );
    expect(status.certificateRequest!.error!.code).toBe(3);
    expect(status.certificateRequest!.error!.details.length).toBeGreaterThan(0);
    expect(status.certificate).toBeUndefined();
  });

  it("a TTL of exactly max_ttl gives a period of exactly max_ttl; one second more is refused", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("web", {
        sans: { dnsNames: ["ttl.example.com"] },
        extra: { ttl: { seconds: String(MAX_TTL), nanos: 0 } },
      }),
    );
    const c = res.certificate!;
    const nb = c.notBefore!.getTime();
    const na = c.notAfter!.getTime();
    // RFC 5280 4.1.2.5: notBefore through notAfter, both inclusive.
    expect((na - nb) / 1000 + 1).toBe(MAX_TTL);
    const before = await counts();
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("web", {
          sans: { dnsNames: ["ttl2.example.com"] },
          extra: { ttl: { seconds: String(MAX_TTL + 1), nanos: 0 } },
        }),
      ),
    );
    expect(e.code).toBe(3);
    expect((await counts()).certificates).toBe(before.certificates);
  });

  it("a malformed TTL (negative nanos, zero length) is INVALID_ARGUMENT with a violation", async () => {
    for (const ttl of [
      { seconds: "60", nanos: -1 },
      { seconds: "0", nanos: 1 },
      { seconds: "-1", nanos: 0 },
    ]) {
      const e = await expectRpcError(
        issueCertificate(
          live,
          attributesRequest("web", { sans: { dnsNames: ["bad-ttl.example.com"] }, extra: { ttl } }),
        ),
      );
      expect(e.code, JSON.stringify(ttl)).toBe(3);
      expect(e.violations.map((v) => v.field).join(), JSON.stringify(ttl)).toMatch(/ttl/);
    }
  });

  it("a profile whose default TTL exceeds the policy's max_ttl is refused", async () => {
    const e = await expectRpcError(
      createProfile(
        live,
        "too-long",
        "web",
        { ca: "root" },
        { defaults: { ttl: { seconds: String(MAX_TTL * 2), nanos: 0 } } },
      ),
    );
    expect(e.code).toBe(3);
  });

  it("revoking twice writes one revocation; releasing a valid one changes nothing", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("web", { sans: { dnsNames: ["twice.example.com"] } }),
    );
    const id = res.certificate!.certificateId;
    await call(live.certificates, "revokeCertificate", {
      certificate: id,
      reason: R.REVOCATION_REASON_SUPERSEDED,
    });
    const once = await counts();
    await call(live.certificates, "revokeCertificate", {
      certificate: id,
      reason: R.REVOCATION_REASON_SUPERSEDED,
    });
    expect(await counts()).toEqual(once);
    const other = await issueCertificate(
      live,
      attributesRequest("web", { sans: { dnsNames: ["valid.example.com"] } }),
    );
    const before = await counts();
    const e = await expectRpcError(
      call(live.certificates, "releaseCertificateHold", {
        certificate: other.certificate!.certificateId,
      }),
    );
    expect(e.code).toBe(9);
    expect(e.reason).toBe("CERTIFICATE_NOT_ON_HOLD");
    expect(await counts()).toEqual(before);
  });
});
