/**
 * request_id idempotency: a repeated request_id returns what the first call decided (the same
 * certificate, or the same error), never signs a second certificate, even when 16 calls race;
 * the same request_id with a different request is ALREADY_EXISTS.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { Client } from "pg";
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
  ISSUED,
  issue,
  KeyAlgorithm,
  makeCsr,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  violationKeys,
} from "./helpers";

describe("IssueCertificate idempotency", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    await createProfileRows(h, { caId: root.id, slug: "other" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const rowsFor = (requestId: string) =>
    countRows(h, "certificate_request", `request_id = '${requestId}'`);
  const certsFor = (requestId: string) =>
    countRows(
      h,
      "certificate",
      `certificate_request_id in (select id from certificate_request where request_id = '${requestId}')`,
    );

  it("returns the same certificate for the same request_id, signed once", async () => {
    const req = attrRequest("web", {
      cn: "idem.example.com",
      dns: ["idem.example.com"],
      requestId: "idem-1",
    });
    const first = await issue(h, req);
    const second = await issue(h, req);
    expect(first.status).toBe(ISSUED);
    expect(second.status).toBe(ISSUED);
    expect(second.certificateRequestId).toBe(first.certificateRequestId);
    expect(second.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(second.certificate!.serialNumber).toBe(first.certificate!.serialNumber);
    expect(second.certificate!.certificatePem).toBe(first.certificate!.certificatePem);
    expect(await rowsFor("idem-1")).toBe(1);
    expect(await certsFor("idem-1")).toBe(1);
  });

  it("does the same for a CSR request", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=idemcsr.example.com", ["DNS:idemcsr.example.com"]);
    const req = csrRequest("web", csrPem, { requestId: "idem-csr" });
    const first = await issue(h, req);
    const second = await issue(h, req);
    expect(second.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(await certsFor("idem-csr")).toBe(1);
  });

  it("refuses the same request_id with a different request (ALREADY_EXISTS) and changes nothing", async () => {
    const req = attrRequest("web", {
      cn: "reuse.example.com",
      dns: ["reuse.example.com"],
      requestId: "idem-reuse",
    });
    const first = await issue(h, req);
    const before = await rowCounts(h);
    const variants = [
      attrRequest("web", {
        cn: "reuse.example.com",
        dns: ["other.example.com"],
        requestId: "idem-reuse",
      }),
      attrRequest("web", {
        cn: "reuse.example.com",
        dns: ["reuse.example.com"],
        requestId: "idem-reuse",
        ttlSeconds: 3 * DAY,
      }),
      attrRequest("web", {
        cn: "reuse.example.com",
        dns: ["reuse.example.com"],
        requestId: "idem-reuse",
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
      }),
      attrRequest("other", {
        cn: "reuse.example.com",
        dns: ["reuse.example.com"],
        requestId: "idem-reuse",
      }),
    ];
    for (const v of variants) {
      const err = await rpcError(issue(h, v));
      expect(err.code).toBe(Code.ALREADY_EXISTS);
      expect(err.reason).toBe("REQUEST_ID_REUSED");
      expect(err.metadata.certificate_request_id).toBe(first.certificateRequestId);
    }
    expect(await rowCounts(h)).toEqual(before);
  });

  it("is the same request whether the profile is named by slug or by id, either way round", async () => {
    const [web] = await h.db.query<{ id: string }>(
      "select id from certificate_profile where slug = 'web'",
    );
    const named = (profile: string, requestId: string) =>
      attrRequest(profile, { cn: "forms.example.com", dns: ["forms.example.com"], requestId });
    for (const [first, then, requestId] of [
      ["web", web!.id, "idem-forms-1"],
      [web!.id, "web", "idem-forms-2"],
    ] as const) {
      const a = await issue(h, named(first, requestId));
      const b = await issue(h, named(then, requestId));
      expect(b.certificateRequestId).toBe(a.certificateRequestId);
      expect(b.certificate!.certificateId).toBe(a.certificate!.certificateId);
      expect(b.privateKeyPem).toBe(a.privateKeyPem);
      expect(await certsFor(requestId)).toBe(1);
    }
    // Another profile by id is still another request.
    const [other] = await h.db.query<{ id: string }>(
      "select id from certificate_profile where slug = 'other'",
    );
    const err = await rpcError(issue(h, named(other!.id, "idem-forms-1")));
    expect([err.code, err.reason]).toEqual([Code.ALREADY_EXISTS, "REQUEST_ID_REUSED"]);
  });

  it("issues exactly one certificate when 16 calls with one request_id race", async () => {
    const req = attrRequest("web", {
      cn: "race.example.com",
      dns: ["race.example.com"],
      requestId: "idem-race",
    });
    const results = await Promise.all(Array.from({ length: 16 }, () => issue(h, req)));
    const ids = new Set(results.map((r) => r.certificate?.certificateId));
    const serials = new Set(results.map((r) => r.certificate?.serialNumber));
    const requests = new Set(results.map((r) => r.certificateRequestId));
    expect(results.every((r) => r.status === ISSUED)).toBe(true);
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBeTruthy();
    expect(serials.size).toBe(1);
    expect(requests.size).toBe(1);
    expect(await rowsFor("idem-race")).toBe(1);
    expect(await certsFor("idem-race")).toBe(1);
    expect(await countRows(h, "certificate", "common_name = 'race.example.com'")).toBe(1);
    // Every caller got the one generated key, which the certificate certifies (the replays
    // get it from the request, where it waits sealed for the replay window).
    const keys = new Set(results.map((r) => r.privateKeyPem));
    expect(keys.size).toBe(1);
    const x = new X509Certificate(results[0]!.certificate!.certificatePem);
    expect(x.checkPrivateKey(createPrivateKey(results[0]!.privateKeyPem))).toBe(true);
  });

  it("two calls with one request_id that both signed: one store wins, and both answer its certificate and key", async () => {
    // Each call's one statement that stores the request and its certificate waits for this
    // table lock (inserts conflict with SHARE), so both calls have read, found no request, and
    // signed before either stores.
    const blocker = new Client({ connectionString: h.db.url });
    await blocker.connect();
    try {
      await blocker.query("begin");
      await blocker.query("lock table certificate in share mode");
      const req = attrRequest("web", {
        cn: "both.example.com",
        dns: ["both.example.com"],
        requestId: "idem-both",
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      });
      const calls = [issue(h, req), issue(h, req)];
      const limit = Date.now() + 60_000;
      for (;;) {
        const [row] = await h.db.query<{ n: string }>(
          "select count(*) as n from pg_locks l join pg_database d on d.oid = l.database where not l.granted and d.datname = current_database()",
        );
        if (Number(row!.n) >= 2) break;
        if (Date.now() > limit) throw new Error("the two stores never waited");
        await new Promise((r) => setTimeout(r, 20));
      }
      // Both signed, and nothing of the request is written before its one commit.
      expect(await rowsFor("idem-both")).toBe(0);
      await blocker.query("commit");

      const [a, b] = await Promise.all(calls);
      for (const res of [a!, b!]) {
        expect(res.status).toBe(ISSUED);
        expect(res.certificateRequestId).toBe(a!.certificateRequestId);
        expect(res.certificate!.certificateId).toBe(a!.certificate!.certificateId);
        expect(res.certificate!.serialNumber).toBe(a!.certificate!.serialNumber);
        expect(res.privateKeyPem).toBe(a!.privateKeyPem);
      }
      const x = new X509Certificate(a!.certificate!.certificatePem);
      expect(x.checkPrivateKey(createPrivateKey(a!.privateKeyPem))).toBe(true);
      // The loser's certificate was dropped: one request, one certificate; two audit records
      // naming the request, the issuance's and the losing call's (answered as a replay of it;
      // since stop 60 of 2026-12-08 a replay's record names the request it answered).
      expect(await rowsFor("idem-both")).toBe(1);
      expect(await certsFor("idem-both")).toBe(1);
      expect(await countRows(h, "certificate", "common_name = 'both.example.com'")).toBe(1);
      expect(
        await countRows(
          h,
          "audit_record",
          `resource_id = '${a!.certificateRequestId}' and resource_type = 'certificate_request'`,
        ),
      ).toBe(2);
    } finally {
      await blocker.end();
    }
  });

  it("replays a FAILED request as the same error, recording nothing new", async () => {
    const req = attrRequest("web", {
      cn: "fail.example.com",
      dns: ["x.evil.example.com"],
      requestId: "idem-fail",
      ttlSeconds: 365 * DAY,
    });
    const first = await rpcError(issue(h, req));
    expect(first.code).toBe(Code.INVALID_ARGUMENT);
    expect(first.reason).toBe("POLICY_VIOLATION");
    const before = await rowCounts(h);
    const again = await rpcError(issue(h, req));
    expect(again.code).toBe(first.code);
    expect(again.reason).toBe(first.reason);
    expect(again.message).toBe(first.message);
    expect(violationKeys(again.violations)).toEqual(violationKeys(first.violations));
    expect(violationKeys(again.violations)).toEqual(
      [
        "attributes.subject_alternative_names.dns_names[0] SAN_DENIED",
        "ttl TTL_EXCEEDS_MAX",
      ].sort(),
    );
    expect(await rowCounts(h)).toEqual(before);
    expect(await rowsFor("idem-fail")).toBe(1);
  });

  // Regression: a replayed refusal once lost certificate_request_id in its ErrorInfo.
  it("names the recorded request in the replayed error's ErrorInfo", async () => {
    const req = attrRequest("web", {
      cn: "fail2.example.com",
      dns: ["y.evil.example.com"],
      requestId: "idem-fail-2",
    });
    const first = await rpcError(issue(h, req));
    const again = await rpcError(issue(h, req));
    expect(first.metadata.certificate_request_id).toBeTruthy();
    expect(again.metadata.certificate_request_id).toBe(first.metadata.certificate_request_id);
  });
});
