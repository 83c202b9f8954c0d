/**
 * A subject value with white space at its start or end is refused. "evil.org " read as free
 * text (no host name has white space), so under a policy whose DNS rules allow only
 * *.example.com and whose CN rule is "*" it was signed with no SAN at all, and a CA's name
 * constraints did not see it; whatever trims the value (a log pipeline, an inventory, a
 * validator applying RFC 4518's insignificant-space handling) reads "evil.org". Until stop 43 of
 * 2026-12-06 it was signed (an outside probe). The refusal is a policy refusal (recorded FAILED,
 * nothing signed), and a value with white space inside stays free text.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  issue,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

let h: TestCertmint;

beforeAll(async () => {
  h = await startTestCertmint();
  const ca = await createRoot(h);
  await createProfileRows(h, { caId: ca.id });
}, 60_000);
afterAll(() => h?.stop());

describe("a common name with white space at an end", () => {
  it.each([
    ["a trailing space", "evil.org "],
    ["a leading space", " evil.org"],
    ["a trailing no-break space", "evil.org\u00a0"],
    ["a trailing ideographic space", "evil.org\u3000"],
    ["a name of the policy's own, padded", "api.example.com "],
    ["a line separator inside (U+2028)", "evil.org\u2028x"],
    ["a paragraph separator inside (U+2029)", "evil.org\u2029x"],
  ])("is refused with %s, signing nothing", async (_what, value) => {
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, attrRequest("web", { cn: value })));
    expect([Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION]).toContain(err.code);
    expect(err.message).toMatch(/starts or ends with white space|line-separator/);
    // A policy refusal is recorded as a FAILED request (as every refusal of the policy is); no
    // certificate.
    const after = await rowCounts(h);
    expect(after.certificates).toBe(before.certificates);
    expect(after.requests).toBe(before.requests + 1);
  });

  it("is signed without it; free text with white space inside is signed as it is", async () => {
    const plain = await issue(h, attrRequest("web", { cn: "api.example.com" }));
    const cert = new X509Certificate(plain.certificate!.certificatePem);
    expect(cert.subject).toBe("CN=api.example.com");
    expect(cert.subjectAltName).toBe("DNS:api.example.com");
    const text = await issue(
      h,
      attrRequest("web", { cn: "Build Agent 7", dns: ["b.example.com"] }),
    );
    expect(new X509Certificate(text.certificate!.certificatePem).subject).toBe("CN=Build Agent 7");
  });
});

describe("a CA's subject", () => {
  it.each([
    ["a trailing space", "Issuing CA "],
    ["a leading no-break space", "\u00a0Issuing CA"],
    ["a line separator", "Issuing\u2028CA"],
  ])(
    "is refused with %s (INVALID_ARGUMENT, SUBJECT_VALUE_INVALID), creating nothing",
    async (_what, value) => {
      const before = await h.db.query("select id from certificate_authority");
      const err = await rpcError(
        call(
          h.authorities,
          "createRootCertificateAuthority",
          CreateRootCertificateAuthorityRequest.fromPartial({
            slug: "padded",
            subject: { commonName: value },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          }),
        ),
      );
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
        ["subject.common_name", "SUBJECT_VALUE_INVALID"],
      ]);
      expect(await h.db.query("select id from certificate_authority")).toEqual(before);
    },
  );
});
