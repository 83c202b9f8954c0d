/**
 * Malformed requests to the certificate lifecycle RPCs: each is refused with the documented
 * code and reason, and none of them writes a row.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CertificateView } from "../../gen/ts/certmint/v1/certificate_service";
import {
  type ExtendedKeyUsage,
  KeyUsage,
  type RevocationReason,
  type SignatureAlgorithm,
} from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  type CertificateStatus,
  Code,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  issueRequest,
  type KeyAlgorithm,
  makeCsr,
  opensslOk,
  RenewalKeySource,
  renewRequest,
  requestStatus,
  rowCounts,
  rpcError,
  seconds,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

const pem = (der: Buffer, label: string) =>
  `-----BEGIN ${label}-----\n${der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END ${label}-----\n`;

describe("bad input", () => {
  let h: TestCertmint;
  let rootPem: string;
  let certId: string;
  const tmp = new TempDir();
  let before: { requests: number; certificates: number };

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    rootPem = root.certificatePem;
    await createProfileRows(h, { caId: root.id, slug: "web" });
    const res = await issue(
      h,
      attrRequest("web", { cn: "ok.example.com", dns: ["ok.example.com"] }),
    );
    certId = res.certificate!.certificateId;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });
  // Every test here is a refusal: none may write a row.
  beforeEach(async () => {
    before = await rowCounts(h);
  });
  afterEach(async () => {
    expect(await rowCounts(h)).toEqual(before);
  });

  const valid = () => attrRequest("web", { cn: "api.example.com", dns: ["api.example.com"] });

  it("refuses a request without csr_pem or attributes", async () => {
    const err = await rpcError(issue(h, issueRequest({ certificateProfile: "web" })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("SOURCE_MISSING");
    expect(err.violations.map((v) => v.field)).toEqual(["source"]);
  });

  it("answers NOT_FOUND for an unknown profile, INVALID_ARGUMENT for none", async () => {
    for (const ref of ["nope", "00000000-0000-4000-8000-000000000000"]) {
      const req = valid();
      req.certificateProfile = ref;
      const err = await rpcError(issue(h, req));
      expect(err.code).toBe(Code.NOT_FOUND);
      expect(err.reason).toBe("CERTIFICATE_PROFILE_NOT_FOUND");
    }
    const req = valid();
    req.certificateProfile = "";
    const err = await rpcError(issue(h, req));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.violations.map((v) => v.field)).toEqual(["certificate_profile"]);
  });

  it("refuses malformed CSRs with CSR_MALFORMED", async () => {
    const garbage = [
      "not a csr",
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
      pem(Buffer.from("3003020100", "hex"), "CERTIFICATE REQUEST"),
      rootPem.replace(/CERTIFICATE/g, "CERTIFICATE REQUEST"),
    ];
    for (const csr of garbage) {
      const err = await rpcError(issue(h, csrRequest("web", csr, { requestId: "bad-csr" })));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("CSR_MALFORMED");
      expect(err.violations).toHaveLength(1);
    }
  });

  // Regression: the CSR parse error once named the field "csr" instead of csr_pem.
  it("names csr_pem as the field of a CSR that cannot be parsed", async () => {
    const err = await rpcError(issue(h, csrRequest("web", "not a csr")));
    expect(err.violations.map((v) => v.field)).toEqual(["csr_pem"]);
  });

  it("refuses a CSR whose signature does not verify (CSR_SIGNATURE_INVALID)", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=tamper.example.com", ["DNS:tamper.example.com"]);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
    const at = der.indexOf(Buffer.from("tamper.example.com"));
    expect(at).toBeGreaterThan(0);
    der.write("temper", at, "latin1"); // the subject CN, inside the signed CertificationRequestInfo
    const tampered = pem(der, "CERTIFICATE REQUEST");
    expect(tampered).not.toBe(csrPem);
    const err = await rpcError(issue(h, csrRequest("web", tampered)));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_SIGNATURE_INVALID");
  });

  it("refuses a CSR with a weak RSA key (CSR_KEY_TOO_WEAK)", async () => {
    const keyPath = tmp.out("weak.key");
    const csrPem = opensslOk([
      "req",
      "-new",
      "-newkey",
      "rsa:1024",
      "-nodes",
      "-keyout",
      keyPath,
      "-subj",
      "/CN=weak.example.com",
    ]);
    const err = await rpcError(issue(h, csrRequest("web", csrPem)));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_KEY_TOO_WEAK");
  });

  it("refuses a request_id over 128 characters or with control characters", async () => {
    // Length and NUL are the contract's limits, checked before the request is decoded
    // (src/api/request-limits.ts); other control characters are request_id's own rule.
    for (const [requestId, reason] of [
      ["x".repeat(129), "REQUEST_FIELD_INVALID"],
      ["line\nbreak", "REQUEST_ID_INVALID"],
      ["nul\u0000", "REQUEST_FIELD_INVALID"],
    ]) {
      const req = valid();
      req.requestId = requestId!;
      const err = await rpcError(issue(h, req));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe(reason);
      expect(err.violations.map((v) => v.field)).toEqual(["request_id"]);
    }
  });

  it("refuses unknown and UNSPECIFIED enum values, naming the field", async () => {
    const cases: Array<[(r: ReturnType<typeof valid>) => void, string, string]> = [
      [
        (r) => {
          if (r.source?.$case === "attributes") r.source.value.keyAlgorithm = 99 as KeyAlgorithm;
        },
        "attributes.key_algorithm",
        "ENUM_VALUE_UNKNOWN",
      ],
      [
        (r) => {
          r.signatureAlgorithm = 99 as SignatureAlgorithm;
        },
        "signature_algorithm",
        "ENUM_VALUE_UNKNOWN",
      ],
      [
        (r) => {
          r.keyUsages = [KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE, 99 as KeyUsage];
        },
        "key_usages[1]",
        "ENUM_VALUE_UNKNOWN",
      ],
      [
        (r) => {
          r.extendedKeyUsages = [77 as ExtendedKeyUsage];
        },
        "extended_key_usages[0]",
        "ENUM_VALUE_UNKNOWN",
      ],
      [
        (r) => {
          r.keyUsages = [KeyUsage.KEY_USAGE_UNSPECIFIED];
        },
        "key_usages[0]",
        "ENUM_VALUE_UNSPECIFIED",
      ],
    ];
    for (const [mutate, field, reason] of cases) {
      const req = valid();
      mutate(req);
      const err = await rpcError(issue(h, req));
      expect(err.code, field).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason, field).toBe(reason);
      expect(err.violations.map((v) => v.field)).toEqual([field]);
    }
    const revoke = await rpcError(
      call(h.certificates, "revokeCertificate", {
        certificate: certId,
        reason: 99 as RevocationReason,
      }),
    );
    expect(revoke.code).toBe(Code.INVALID_ARGUMENT);
    expect(revoke.reason).toBe("ENUM_VALUE_UNKNOWN");
    expect(revoke.violations.map((v) => v.field)).toEqual(["reason"]);
    const renew = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: certId, keySource: 9 as RenewalKeySource }),
      ),
    );
    expect(renew.code).toBe(Code.INVALID_ARGUMENT);
    expect(renew.violations.map((v) => v.field)).toEqual(["key_source"]);
    const list = await rpcError(
      call(h.certificates, "listCertificates", {
        pageSize: 0,
        pageToken: "",
        certificateProfile: "",
        certificateAuthority: "",
        status: 9 as CertificateStatus,
        nameContains: "",
        view: 0,
      }),
    );
    expect(list.code).toBe(Code.INVALID_ARGUMENT);
    expect(list.violations.map((v) => v.field)).toEqual(["status"]);
    const view = await rpcError(
      call(h.certificates, "listCertificates", {
        pageSize: 0,
        pageToken: "",
        certificateProfile: "",
        certificateAuthority: "",
        status: 0,
        nameContains: "",
        view: 7 as CertificateView,
      }),
    );
    expect(view.code).toBe(Code.INVALID_ARGUMENT);
    expect(view.reason).toBe("ENUM_VALUE_UNKNOWN");
    expect(view.violations.map((v) => v.field)).toEqual(["view"]);
    // The certificate was not revoked by the refused call.
    const [row] = await h.db.query("select revoked_at from certificate where id = $1", [certId]);
    expect(row!.revoked_at).toBeNull();
  });

  it("refuses a TTL that is not a positive whole number of seconds", async () => {
    // Past google.protobuf.Duration's range (315,576,000,000 s) too: no validity ends there.
    const tooLong = [seconds(315_576_000_001), { seconds: "9007199254740991", nanos: 0 }];
    for (const ttl of [seconds(0), seconds(-5), { seconds: "10", nanos: 5 }, ...tooLong]) {
      const req = valid();
      req.ttl = ttl;
      const err = await rpcError(issue(h, req));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("DURATION_INVALID");
      expect(err.violations.map((v) => v.field)).toEqual(["ttl"]);
    }
  });

  it("refuses more than 100 SANs (TOO_MANY_SANS)", async () => {
    // 100 per type is the contract's limit; 100 in all is the certificate's.
    const dns = Array.from({ length: 60 }, (_, i) => `n${i}.example.com`);
    const ip = Array.from({ length: 41 }, (_, i) => `10.0.0.${i + 1}`);
    const err = await rpcError(issue(h, attrRequest("web", { cn: "many.example.com", dns, ip })));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("TOO_MANY_SANS");
  });

  it("GetRequestStatus: INVALID_ARGUMENT for a malformed id, NOT_FOUND for an unknown one", async () => {
    const bad = await rpcError(requestStatus(h, "abc"));
    expect(bad.code).toBe(Code.INVALID_ARGUMENT);
    expect(bad.reason).toBe("CERTIFICATE_REQUEST_ID_INVALID");
    const unknown = await rpcError(requestStatus(h, "00000000-0000-4000-8000-000000000000"));
    expect(unknown.code).toBe(Code.NOT_FOUND);
    expect(unknown.reason).toBe("CERTIFICATE_REQUEST_NOT_FOUND");
  });

  it("RenewCertificate: unknown certificate, CSR source without a CSR", async () => {
    const unknown = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: "00000000-0000-4000-8000-000000000000" }),
      ),
    );
    expect(unknown.code).toBe(Code.NOT_FOUND);
    const noCsr = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: certId, keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR }),
      ),
    );
    expect(noCsr.code).toBe(Code.INVALID_ARGUMENT);
    expect(noCsr.reason).toBe("CSR_REQUIRED");
  });
});
