/**
 * Policy refusals: every violation at once as BadRequest field violations with the API's
 * field paths, the refusal recorded as one FAILED request that GetRequestStatus explains; and
 * validate_only, which runs the same checks and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  attrRequest,
  Code,
  countRows,
  createProfileRows,
  createRoot,
  csrRequest,
  DAY,
  decodeStatus,
  FAILED,
  issue,
  makeCsr,
  requestStatus,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  violationKeys,
} from "./helpers";

const SAN = "attributes.subject_alternative_names";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("policy refusals", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** Denied name, name outside the allow list, disallowed IP, TTL over the 90-day maximum. */
  const badAttributes = (extra: { requestId?: string; validateOnly?: boolean } = {}) =>
    attrRequest("web", {
      cn: "api.example.com",
      dns: ["x.evil.example.com", "api.other.org", "ok.example.com"],
      ip: ["192.168.1.1"],
      ttlSeconds: 100 * DAY,
      ...extra,
    });
  const BAD_ATTRIBUTE_VIOLATIONS = [
    `${SAN}.dns_names[0] SAN_DENIED`,
    `${SAN}.dns_names[1] SAN_NOT_ALLOWED`,
    `${SAN}.ip_addresses[0] SAN_NOT_ALLOWED`,
    "ttl TTL_EXCEEDS_MAX",
  ].sort();

  it("returns every violation at once and records one FAILED request", async () => {
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, badAttributes()));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(err.domain).toBe("certmint.dev");
    expect(violationKeys(err.violations)).toEqual(BAD_ATTRIBUTE_VIOLATIONS);
    for (const v of err.violations) expect(v.description).not.toBe("");

    const id = err.metadata.certificate_request_id!;
    expect(id).toMatch(UUID);
    const after = await rowCounts(h);
    expect(after.requests).toBe(before.requests + 1);
    expect(after.certificates).toBe(before.certificates);
    const [row] = await h.db.query("select * from certificate_request where id = $1", [id]);
    expect(row!.status).toBe("FAILED");
    expect(row!.certificate_id).toBeNull();
    expect(row!.reserved_serial).toBeNull();
    // What would have been certified: the names normalised, the CN copied into the SANs.
    expect(row!.sans).toMatchObject({
      dns: ["x.evil.example.com", "api.other.org", "ok.example.com", "api.example.com"],
    });
    expect(await countRows(h, "certificate", `certificate_request_id = '${id}'`)).toBe(0);

    const st = await requestStatus(h, id);
    expect(st.certificateRequest!.id).toBe(id);
    expect(st.certificateRequest!.status).toBe(FAILED);
    expect(st.certificateRequest!.certificateId).toBe("");
    expect(st.certificate).toBeUndefined();
    expect(st.privateKeyPem).toBe("");
    const stored = decodeStatus(st.certificateRequest!.error);
    expect(stored.code).toBe(Code.INVALID_ARGUMENT);
    expect(stored.reason).toBe("POLICY_VIOLATION");
    expect(stored.message).toBe(err.message);
    expect(violationKeys(stored.violations)).toEqual(BAD_ATTRIBUTE_VIOLATIONS);
  });

  it("names csr_pem as the field of violations that come from a CSR", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=api.example.com", [
      "DNS:x.evil.example.com",
      "DNS:api.other.org",
    ]);
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, csrRequest("web", csrPem, { ttlSeconds: 100 * DAY })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(violationKeys(err.violations)).toEqual(
      ["csr_pem SAN_DENIED", "csr_pem SAN_NOT_ALLOWED", "ttl TTL_EXCEEDS_MAX"].sort(),
    );
    const after = await rowCounts(h);
    expect(after).toEqual({ requests: before.requests + 1, certificates: before.certificates });
    const st = await requestStatus(h, err.metadata.certificate_request_id!);
    expect(st.certificateRequest!.status).toBe(FAILED);
    expect(violationKeys(decodeStatus(st.certificateRequest!.error).violations)).toEqual(
      violationKeys(err.violations),
    );
  });

  it("reports a subject the policy forbids on attributes.subject.*", async () => {
    const req = attrRequest("web", { cn: "api.example.com", dns: ["api.example.com"] });
    if (req.source?.$case !== "attributes") throw new Error("attributes expected");
    req.source.value.subject!.organization = ["Example Corp"];
    const err = await rpcError(issue(h, req));
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(violationKeys(err.violations)).toEqual([
      "attributes.subject.organization[0] SUBJECT_NOT_ALLOWED",
    ]);
  });

  // Regression: violation indexes once shifted when duplicate names were dropped first.
  it("points a violation at the request's own index when names repeat", async () => {
    const err = await rpcError(
      issue(
        h,
        attrRequest("web", {
          cn: "api.example.com",
          dns: ["api.example.com", "API.EXAMPLE.COM.", "x.evil.example.com"],
        }),
      ),
    );
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(violationKeys(err.violations)).toEqual([`${SAN}.dns_names[2] SAN_DENIED`]);
  });

  describe("validate_only", () => {
    it("accepts a valid request without signing or storing anything", async () => {
      const before = await rowCounts(h);
      const res = await issue(
        h,
        attrRequest("web", {
          cn: "dry.example.com",
          dns: ["dry.example.com"],
          validateOnly: true,
          requestId: "dry-1",
        }),
      );
      expect(res.certificate).toBeUndefined();
      expect(res.privateKeyPem).toBe("");
      expect(res.certificateRequestId).toBe("");
      expect(res.status).toBe(0); // UNSPECIFIED: nothing was stored
      expect(await rowCounts(h)).toEqual(before);

      // The request_id was not used up: the real call with it issues.
      const real = await issue(
        h,
        attrRequest("web", { cn: "dry.example.com", dns: ["dry.example.com"], requestId: "dry-1" }),
      );
      expect(real.certificate?.certificateId).toMatch(UUID);
    });

    it("checks a CSR (signature and policy) without storing anything", async () => {
      const { csrPem } = makeCsr(tmp, "/CN=drycsr.example.com", ["DNS:drycsr.example.com"]);
      const before = await rowCounts(h);
      const res = await issue(h, csrRequest("web", csrPem, { validateOnly: true }));
      expect(res.certificate).toBeUndefined();
      expect(res.certificateRequestId).toBe("");
      expect(await rowCounts(h)).toEqual(before);
    });

    it("returns the same violations for an invalid request and writes no row", async () => {
      const before = await rowCounts(h);
      const err = await rpcError(issue(h, badAttributes({ validateOnly: true })));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("POLICY_VIOLATION");
      expect(violationKeys(err.violations)).toEqual(BAD_ATTRIBUTE_VIOLATIONS);
      expect(err.metadata.certificate_request_id).toBeUndefined();
      expect(await rowCounts(h)).toEqual(before);
    });
  });
});
