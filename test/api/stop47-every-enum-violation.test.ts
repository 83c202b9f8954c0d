/**
 * A request that breaks several independent field rules hears of all of them in one
 * INVALID_ARGUMENT (README, Errors: "BadRequest field violations for every rule a request
 * breaks"). Until stop 47 of 2026-12-06 each handler's enum codec threw at the first unknown
 * value: IssueCertificate with key_usages [99] and extended_key_usages [99] named key_usages[0]
 * alone (an outside probe, R, LOW-3), and a profile with two bad durations named the first.
 * Enum values are now checked with the contract's other limits (src/api/request-check.ts).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type CaCertificateRule,
  CertificatePolicy,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import type { ValidityOverflow } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import {
  type ExtendedKeyUsage,
  KeyUsage,
  type SignatureAlgorithm,
} from "../../gen/ts/certmint/v1/common";
import { ENUMS_LEFT_TO_HANDLERS, requestChecksOf } from "../../src/api/request-check";
import {
  attrRequest,
  Code,
  createProfileRows,
  createRoot,
  issue,
  type KeyAlgorithm,
  rowCounts,
  rpcError,
} from "../certificates/helpers";
import { byCa, createProfileRpc } from "../profiles/helpers";
import { allMethods, contract } from "../support/contract";
import { startTestCertmint, type TestCertmint } from "../support/harness";

const issueCheck = requestChecksOf("certmint.v1.CertificateService").get("IssueCertificate")!;
const policyCheck = requestChecksOf("certmint.v1.CertificatePolicyService").get(
  "CreateCertificatePolicy",
)!;
const violationsOf = (err: { violations: Array<{ field: string; reason?: string }> } | undefined) =>
  err?.violations.map((v) => [v.field, v.reason]);

describe("enum values are checked with the contract's limits (unit)", () => {
  const valid = () => attrRequest("web", { cn: "a.example.com", dns: ["a.example.com"] });
  const bytes = (r: IssueCertificateRequest) => IssueCertificateRequest.encode(r).finish();

  it("names every unknown and UNSPECIFIED value of every field", () => {
    const r = valid();
    if (r.source?.$case === "attributes") r.source.value.keyAlgorithm = 97 as KeyAlgorithm;
    r.signatureAlgorithm = -1 as SignatureAlgorithm; // ten bytes on the wire
    r.keyUsages = [KeyUsage.KEY_USAGE_UNSPECIFIED, 99 as KeyUsage];
    r.extendedKeyUsages = [99 as ExtendedKeyUsage];
    const refusal = issueCheck(bytes(r));
    expect(refusal?.reason).toBe("ENUM_VALUE_UNKNOWN"); // the first one's, as before
    expect(violationsOf(refusal)).toEqual([
      ["attributes.key_algorithm", "ENUM_VALUE_UNKNOWN"],
      ["key_usages[0]", "ENUM_VALUE_UNSPECIFIED"],
      ["key_usages[1]", "ENUM_VALUE_UNKNOWN"],
      ["extended_key_usages[0]", "ENUM_VALUE_UNKNOWN"],
      ["signature_algorithm", "ENUM_VALUE_UNKNOWN"],
    ]);
    expect(refusal?.message).toBe(
      "attributes.key_algorithm has an unknown value 97; key_usages[0] is UNSPECIFIED; key_usages[1] has an unknown value 99; and 2 more",
    );
    expect(refusal?.violations.at(-1)?.description).toBe("unknown enum value -1");
  });

  it("reads a singular field's last value, as a decoder does", () => {
    const r = valid();
    r.signatureAlgorithm = 99 as SignatureAlgorithm;
    const again = IssueCertificateRequest.encode(
      IssueCertificateRequest.fromPartial({ signatureAlgorithm: 1 }),
    ).finish();
    expect(issueCheck(Buffer.concat([bytes(r), again]))).toBeUndefined();
    expect(violationsOf(issueCheck(Buffer.concat([again, bytes(r)])))).toEqual([
      ["signature_algorithm", "ENUM_VALUE_UNKNOWN"],
    ]);
  });

  it("reports enum values with the other limits under REQUEST_FIELD_INVALID", () => {
    const r = valid();
    r.requestId = "x".repeat(129);
    r.keyUsages = [99 as KeyUsage];
    const refusal = issueCheck(bytes(r));
    expect(refusal?.reason).toBe("REQUEST_FIELD_INVALID");
    expect(violationsOf(refusal)).toEqual([
      ["request_id", "FIELD_TOO_LONG"],
      ["key_usages[0]", "ENUM_VALUE_UNKNOWN"],
    ]);
  });

  it("leaves the policy's rules to compilePolicy, which reports them with the rest", () => {
    const req = CreateCertificatePolicyRequest.fromPartial({
      certificatePolicy: CertificatePolicy.fromPartial({
        slug: "p",
        keyUsages: { allowed: [99 as KeyUsage, 0] },
        basicConstraints: { ca: 9 as CaCertificateRule },
      }),
    });
    expect(policyCheck(CreateCertificatePolicyRequest.encode(req).finish())).toBeUndefined();
  });

  it("checks every enum field of every request but the ones it names as left alone", () => {
    const enumFields = new Set<string>();
    const seen = new Set<string>();
    const walk = (typeName: string) => {
      if (seen.has(typeName)) return;
      seen.add(typeName);
      const m = contract.getMessage(typeName)!;
      for (const f of m.fields) {
        if (f.fieldKind === "enum" || (f.fieldKind === "list" && f.listKind === "enum"))
          enumFields.add(`${m.typeName}.${f.name}`);
        if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message"))
          walk(f.message.typeName);
      }
    };
    for (const m of allMethods()) walk(m.input.typeName);
    // Each one left alone exists, and is output-only, read under an update_mask, or a policy rule.
    expect([...ENUMS_LEFT_TO_HANDLERS].filter((k) => !enumFields.has(k))).toEqual([]);
    expect(
      [...ENUMS_LEFT_TO_HANDLERS].filter(
        (k) =>
          !/^certmint\.v1\.(AccessToken\.state|CertificateAuthority\.(type|status|key_algorithm|signature_algorithm|revocation_reason)|\w+Rule\.\w+|CertificatePolicy\.subject_names_in_sans)$/.test(
            k,
          ),
      ),
    ).toEqual([]);
    expect(enumFields.size - ENUMS_LEFT_TO_HANDLERS.size).toBeGreaterThanOrEqual(25);
  });
});

describe("every enum violation of a request, over gRPC", () => {
  let h: TestCertmint;
  let before: Awaited<ReturnType<typeof rowCounts>>;
  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });
  beforeEach(async () => {
    before = await rowCounts(h);
  });
  afterEach(async () => {
    expect(await rowCounts(h)).toEqual(before); // a refusal writes nothing
  });

  it("IssueCertificate key_usages [99] and extended_key_usages [99]: both named", async () => {
    const req = attrRequest("web", { cn: "b.example.com", dns: ["b.example.com"] });
    req.keyUsages = [99 as KeyUsage];
    req.extendedKeyUsages = [99 as ExtendedKeyUsage];
    const err = await rpcError(issue(h, req));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("ENUM_VALUE_UNKNOWN");
    expect(err.violations.map((v) => [v.field, v.reason, v.description])).toEqual([
      ["key_usages[0]", "ENUM_VALUE_UNKNOWN", "unknown enum value 99"],
      ["extended_key_usages[0]", "ENUM_VALUE_UNKNOWN", "unknown enum value 99"],
    ]);
    expect(err.message).toContain(
      "key_usages[0] has an unknown value 99; extended_key_usages[0] has an unknown value 99",
    );
  });

  it("CreateCertificateProfile: enum values of the profile and its defaults, all named", async () => {
    const err = await rpcError(
      createProfileRpc(h, {
        slug: "bad-enums",
        certificatePolicy: "web",
        issuer: byCa("root"),
        defaults: {
          keyUsages: [99 as KeyUsage],
          extendedKeyUsages: [0],
          signatureAlgorithm: 42 as SignatureAlgorithm,
        },
        validityOverflow: 9 as ValidityOverflow,
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("ENUM_VALUE_UNKNOWN");
    expect(err.violations.map((v) => [v.field, v.reason]).sort()).toEqual(
      [
        ["certificate_profile.defaults.key_usages[0]", "ENUM_VALUE_UNKNOWN"],
        ["certificate_profile.defaults.extended_key_usages[0]", "ENUM_VALUE_UNSPECIFIED"],
        ["certificate_profile.defaults.signature_algorithm", "ENUM_VALUE_UNKNOWN"],
        ["certificate_profile.validity_overflow", "ENUM_VALUE_UNKNOWN"],
      ].sort(),
    );
  });

  it("CreateCertificateProfile: two bad durations, both named", async () => {
    const err = await rpcError(
      createProfileRpc(h, {
        slug: "bad-durations",
        certificatePolicy: "web",
        issuer: byCa("root"),
        defaults: { ttl: { seconds: "10", nanos: 5 } },
        renewal: { renewBefore: { seconds: "-3", nanos: 0 } },
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("DURATION_INVALID");
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.defaults.ttl", "DURATION_INVALID"],
      ["certificate_profile.renewal.renew_before", "DURATION_INVALID"],
    ]);
  });
});
