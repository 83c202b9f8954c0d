import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset as Preset } from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  EnrollmentMethod,
  PrivateKeyRetention,
  ValidityOverflow,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  ExtendedKeyUsage as Eku,
  KeyAlgorithm,
  KeyUsage as Ku,
  SignatureAlgorithm,
} from "../../gen/ts/certmint/v1/common";
import { countRows, createPolicyRpc, DAY, days, webPolicy } from "../policies/helpers";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { byCa, createProfileRpc, createRootCa, selfSigned } from "./helpers";

let h: TestCertmint;
let rootId: string;
let webPolicyId: string;
beforeAll(async () => {
  h = await startTestCertmint();
  rootId = (await createRootCa(h, "root")).id; // EC P-256, signs ECDSA_WITH_SHA256
  webPolicyId = (
    await createPolicyRpc(h, webPolicy("web"), Preset.CERTIFICATE_POLICY_PRESET_TLS_SERVER)
  ).id;
});
afterAll(async () => {
  await h?.stop();
});

const profiles = () => countRows(h, "certificate_profile");

describe("CreateCertificateProfile", () => {
  it("stores a CA-issued profile with its defaults, policy and CA by id", async () => {
    const p = await createProfileRpc(h, {
      slug: "web-api",
      description: "API servers",
      certificatePolicy: "web",
      issuer: byCa("root"),
      defaults: {
        ttl: days(30),
        subject: { commonName: "api.example.com" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
        keyUsages: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_KEY_ENCIPHERMENT],
        extendedKeyUsages: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH],
      },
      renewal: { autoRenew: true, renewBeforeDays: 10 },
      requireApproval: true,
      validityOverflow: ValidityOverflow.VALIDITY_OVERFLOW_TRUNCATE,
      privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
    });
    expect(p).toMatchObject({
      slug: "web-api",
      description: "API servers",
      certificatePolicy: webPolicyId,
      issuer: { $case: "certificateAuthority", value: rootId },
      enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_API,
      defaults: {
        ttl: days(30),
        subject: { commonName: "api.example.com" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
        signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
        keyUsages: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_KEY_ENCIPHERMENT],
        extendedKeyUsages: [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH],
      },
      renewal: { autoRenew: true, renewBeforeDays: 10 },
      requireApproval: true,
      validityOverflow: ValidityOverflow.VALIDITY_OVERFLOW_TRUNCATE,
      privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
      etag: '"1"',
    });
    const [row] = await h.db.query(
      "select policy_id, ca_id, self_signed, enrollment_method, defaults, renewal, validity_overflow, private_key_retention from certificate_profile where slug = 'web-api'",
    );
    expect(row).toEqual({
      policy_id: webPolicyId,
      ca_id: rootId,
      self_signed: false,
      enrollment_method: "API",
      defaults: {
        ttlSeconds: 30 * DAY,
        subject: { attributes: [{ type: "COMMON_NAME", value: "api.example.com" }] },
        keyAlgorithm: "RSA_2048",
        keyUsages: ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"],
        extendedKeyUsages: ["SERVER_AUTH"],
      },
      renewal: {
        autoRenew: true,
        renewBeforeDays: 10,
        allowSharedRenewal: false,
        renewBeforeSeconds: 0,
      },
      validity_overflow: "TRUNCATE",
      private_key_retention: "STORE_ENCRYPTED",
    });
  });

  it("maps UNSPECIFIED enums to their documented defaults and drops repeated usages", async () => {
    const p = await createProfileRpc(h, {
      slug: "web-plain",
      certificatePolicy: webPolicyId,
      issuer: byCa(rootId),
      defaults: { keyUsages: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_DIGITAL_SIGNATURE] },
    });
    expect(p).toMatchObject({
      enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_API,
      validityOverflow: ValidityOverflow.VALIDITY_OVERFLOW_FAIL,
      privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
      defaults: { keyUsages: [Ku.KEY_USAGE_DIGITAL_SIGNATURE] },
      renewal: { autoRenew: false, renewBeforeDays: 0 },
    });
    expect(p.defaults?.ttl).toBeUndefined();
    expect(p.defaults?.subject).toBeUndefined();
  });

  it("creates a self-signed profile", async () => {
    const p = await createProfileRpc(h, {
      slug: "self",
      certificatePolicy: "web",
      issuer: selfSigned,
      defaults: { keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519 },
    });
    expect(p.issuer).toEqual({ $case: "selfSigned", value: true });
    const [row] = await h.db.query(
      "select ca_id, self_signed from certificate_profile where slug = 'self'",
    );
    expect(row).toEqual({ ca_id: null, self_signed: true });
  });

  it("accepts a CA still waiting for its certificate (issuance waits until it is ACTIVE)", async () => {
    const ext = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "pending-ca",
      description: "",
      subject: {
        commonName: "Pending CA",
        organization: [],
        organizationalUnit: [],
        country: "",
        state: "",
        locality: "",
        streetAddress: "",
        postalCode: "",
        serialNumber: "",
        emailAddress: "",
      },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      signatureAlgorithm: 0,
    });
    const p = await createProfileRpc(h, {
      slug: "on-pending",
      certificatePolicy: "web",
      issuer: byCa("pending-ca"),
    });
    expect(p.issuer).toEqual({
      $case: "certificateAuthority",
      value: ext.certificateAuthority!.id,
    });
  });

  it("ignores what only says the defaults lack names (a request brings its own)", async () => {
    await createPolicyRpc(h, {
      slug: "names-required",
      subjectRules: { commonName: { allowed: ["*"], required: true } },
      sanRules: { dns: { allowed: ["**"], required: true } },
      maxTtl: days(30),
    });
    const p = await createProfileRpc(h, {
      slug: "no-names",
      certificatePolicy: "names-required",
      issuer: byCa("root"),
    });
    expect(p.slug).toBe("no-names");
  });

  it("gives a profile without a key algorithm the first the policy allows, not a refused EC_P256", async () => {
    await createPolicyRpc(h, {
      slug: "rsa-only",
      sanRules: { dns: { allowed: ["**"] } },
      keyAlgorithms: { allowed: [KeyAlgorithm.KEY_ALGORITHM_RSA_3072] },
      maxTtl: days(30),
    });
    const p = await createProfileRpc(h, {
      slug: "rsa-profile",
      certificatePolicy: "rsa-only",
      issuer: byCa("root"),
      defaults: { keyUsages: [Ku.KEY_USAGE_KEY_ENCIPHERMENT] },
    });
    expect(p.slug).toBe("rsa-profile");
  });
});

describe("CreateCertificateProfile refusals", () => {
  it("refuses defaults that break the policy, every violation on certificate_profile.defaults.*", async () => {
    const before = await profiles();
    const err = await expectRpcError(
      createProfileRpc(h, {
        slug: "broken",
        certificatePolicy: "web",
        issuer: byCa("root"),
        defaults: {
          ttl: days(100),
          subject: { commonName: "api.example.org", organization: ["Acme"] },
          signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA,
          keyUsages: [
            Ku.KEY_USAGE_DIGITAL_SIGNATURE,
            Ku.KEY_USAGE_DIGITAL_SIGNATURE,
            Ku.KEY_USAGE_KEY_ENCIPHERMENT,
          ],
          extendedKeyUsages: [Eku.EXTENDED_KEY_USAGE_CODE_SIGNING],
        },
      }),
    );
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PROFILE_BREAKS_POLICY" });
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.defaults.subject.organization[0]", "SUBJECT_NOT_ALLOWED"],
      ["certificate_profile.defaults.subject.common_name", "SUBJECT_NOT_ALLOWED"],
      // The CN reads as a DNS name: the DNS SAN rules apply to it too (issue 17).
      ["certificate_profile.defaults.subject.common_name", "SAN_NOT_ALLOWED"],
      // A generated key is EC_P256 (no default key algorithm), which cannot encipher keys;
      // the index is the request's, past the repeated DIGITAL_SIGNATURE.
      ["certificate_profile.defaults.key_usages[2]", "KEY_USAGE_INCONSISTENT"],
      ["certificate_profile.defaults.extended_key_usages[0]", "EXTENDED_KEY_USAGE_NOT_ALLOWED"],
      ["certificate_profile.defaults.ttl", "TTL_EXCEEDS_MAX"],
      // The root CA has an EC key.
      ["certificate_profile.defaults.signature_algorithm", "SIGNATURE_ALGORITHM_MISMATCH"],
    ]);
    expect(await profiles()).toBe(before);
  });

  it("refuses a signature algorithm the policy does not allow, even the CA's own default", async () => {
    await createPolicyRpc(h, {
      slug: "sha384-only",
      sanRules: { dns: { allowed: ["**"] } },
      signatureAlgorithms: { allowed: [SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384] },
      maxTtl: days(30),
    });
    const err = await expectRpcError(
      createProfileRpc(h, {
        slug: "sha256-ca",
        certificatePolicy: "sha384-only",
        issuer: byCa("root"),
      }),
    );
    expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.defaults.signature_algorithm", "SIGNATURE_ALGORITHM_NOT_ALLOWED"],
    ]);
    const ok = await createProfileRpc(h, {
      slug: "sha384-ca",
      certificatePolicy: "sha384-only",
      issuer: byCa("root"),
      defaults: { signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA384 },
    });
    expect(ok.slug).toBe("sha384-ca");
  });

  it("accepts a policy that allows only CA certificates: its requests are CA requests", async () => {
    await createPolicyRpc(h, { slug: "sub-ca" }, Preset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA);
    const res = await createProfileRpc(h, {
      slug: "sub-ca-profile",
      certificatePolicy: "sub-ca",
      issuer: byCa("root"),
    });
    expect(res.slug).toBe("sub-ca-profile");
  });

  it("refuses renew_before_days that is not shorter than the default TTL", async () => {
    const before = await profiles();
    const attempt = (ttl: ReturnType<typeof days> | undefined, renewBeforeDays: number) =>
      expectRpcError(
        createProfileRpc(h, {
          slug: "renewal",
          certificatePolicy: "web",
          issuer: byCa("root"),
          defaults: { ttl },
          renewal: { autoRenew: true, renewBeforeDays },
        }),
      );
    const equal = await attempt(days(10), 10);
    // No policy is involved (until 2026-12-05 this said the defaults broke the policy).
    expect(equal).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "PROFILE_RENEWAL_INVALID",
    });
    expect(equal.message).toBe("the profile's renewal settings are invalid (1 problem)");
    expect(equal.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.renewal.renew_before_days", "RENEW_BEFORE_TOO_LONG"],
    ]);
    const negative = await attempt(days(10), -1);
    expect(negative.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.renewal.renew_before_days", "RENEW_BEFORE_INVALID"],
    ]);
    // Without a default TTL, requests get 30 days (capped at the policy's max_ttl).
    const fallback = await attempt(undefined, 30);
    expect(fallback.violations.map((v) => v.reason)).toEqual(["RENEW_BEFORE_TOO_LONG"]);
    expect(await profiles()).toBe(before);
  });

  it("takes renew_before as a Duration for short lifetimes, shorter than the TTL, not with renew_before_days", async () => {
    const before = await profiles();
    const attempt = (
      ttlSeconds: number,
      renewal: { renewBefore?: number; renewBeforeDays?: number },
    ) =>
      createProfileRpc(h, {
        slug: "short-lived",
        certificatePolicy: "web",
        issuer: byCa("root"),
        defaults: { ttl: { seconds: String(ttlSeconds), nanos: 0 } },
        renewal: {
          autoRenew: true,
          renewBeforeDays: renewal.renewBeforeDays ?? 0,
          renewBefore:
            renewal.renewBefore === undefined
              ? undefined
              : { seconds: String(renewal.renewBefore), nanos: 0 },
        },
      });
    const tooLong = await expectRpcError(attempt(120, { renewBefore: 120 }));
    expect(tooLong.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.renewal.renew_before", "RENEW_BEFORE_TOO_LONG"],
    ]);
    const both = await expectRpcError(attempt(30 * DAY, { renewBefore: 60, renewBeforeDays: 1 }));
    expect(both.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.renewal.renew_before", "RENEW_BEFORE_CONFLICT"],
    ]);
    expect(await profiles()).toBe(before);
    // Two minutes, renewed one minute before notAfter.
    const ok = await attempt(120, { renewBefore: 60 });
    expect(ok.renewal).toMatchObject({ autoRenew: true, renewBefore: { seconds: "60", nanos: 0 } });
    const [row] = await h.db.query<{ renewal: Record<string, unknown> }>(
      "select renewal from certificate_profile where slug = 'short-lived'",
    );
    expect(row!.renewal).toMatchObject({ autoRenew: true, renewBeforeSeconds: 60 });
  });

  it("refuses a profile without exactly one issuer, and EST (not available yet), all at once", async () => {
    const before = await profiles();
    for (const issuer of [undefined, { $case: "selfSigned" as const, value: false }, byCa("")]) {
      const err = await expectRpcError(
        createProfileRpc(h, { slug: "no-issuer", certificatePolicy: "web", issuer }),
      );
      expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "PROFILE_INVALID" });
      expect(err.violations.map((v) => [v.field, v.reason])).toEqual([
        ["certificate_profile.certificate_authority", "ISSUER_MISSING"],
      ]);
    }
    const both = await expectRpcError(
      createProfileRpc(h, {
        slug: "est",
        certificatePolicy: "",
        enrollmentMethod: EnrollmentMethod.ENROLLMENT_METHOD_EST,
      }),
    );
    expect(both.violations.map((v) => [v.field, v.reason])).toEqual([
      ["certificate_profile.certificate_policy", "REFERENCE_MISSING"],
      ["certificate_profile.certificate_authority", "ISSUER_MISSING"],
      ["certificate_profile.enrollment_method", "ENROLLMENT_METHOD_UNAVAILABLE"],
    ]);
    expect(await profiles()).toBe(before);
  });

  it("answers NOT_FOUND for an unknown policy or CA", async () => {
    const before = await profiles();
    const policy = await expectRpcError(
      createProfileRpc(h, { slug: "lost", certificatePolicy: "nope", issuer: byCa("root") }),
    );
    expect(policy).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_POLICY_NOT_FOUND",
    });
    const ca = await expectRpcError(
      createProfileRpc(h, { slug: "lost", certificatePolicy: "web", issuer: byCa("nope") }),
    );
    expect(ca).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_AUTHORITY_NOT_FOUND" });
    expect(await profiles()).toBe(before);
  });

  it("refuses malformed fields: slug, UNSPECIFIED usage, fractional TTL", async () => {
    const before = await profiles();
    const slug = await expectRpcError(
      createProfileRpc(h, { slug: "-x", certificatePolicy: "web", issuer: byCa("root") }),
    );
    expect(slug).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "SLUG_INVALID" });
    expect(slug.violations.map((v) => v.field)).toEqual(["certificate_profile.slug"]);
    const usage = await expectRpcError(
      createProfileRpc(h, {
        slug: "bad-usage",
        certificatePolicy: "web",
        issuer: byCa("root"),
        defaults: { keyUsages: [Ku.KEY_USAGE_DIGITAL_SIGNATURE, Ku.KEY_USAGE_UNSPECIFIED] },
      }),
    );
    expect(usage).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "ENUM_VALUE_UNSPECIFIED",
    });
    expect(usage.violations.map((v) => v.field)).toEqual([
      "certificate_profile.defaults.key_usages[1]",
    ]);
    const ttl = await expectRpcError(
      createProfileRpc(h, {
        slug: "bad-ttl",
        certificatePolicy: "web",
        issuer: byCa("root"),
        defaults: { ttl: { seconds: "60", nanos: 1 } },
      }),
    );
    expect(ttl).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "DURATION_INVALID" });
    expect(ttl.violations.map((v) => v.field)).toEqual(["certificate_profile.defaults.ttl"]);
    expect(await profiles()).toBe(before);
  });

  it("refuses a taken slug with ALREADY_EXISTS and writes no second row", async () => {
    await createProfileRpc(h, { slug: "dup", certificatePolicy: "web", issuer: byCa("root") });
    const err = await expectRpcError(
      createProfileRpc(h, { slug: "dup", certificatePolicy: "web", issuer: selfSigned }),
    );
    expect(err).toMatchObject({
      code: status.ALREADY_EXISTS,
      reason: "CERTIFICATE_PROFILE_SLUG_TAKEN",
    });
    expect(await countRows(h, "certificate_profile", "slug = 'dup'")).toBe(1);
  });
});
