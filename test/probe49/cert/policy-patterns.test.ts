/**
 * Probe 49 (CERT): patterns as operators write them. A denied pattern written in Unicode, in
 * upper case, with a trailing dot or in a non-canonical IP form must deny the names it reads as,
 * since requested names are normalised (lower case, A-labels, RFC 5952) before matching; and the
 * policy's signature-algorithm rule must pick the algorithm when the request names none.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificatePolicyPreset,
  SubjectNamesInSans,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import type { SubjectAlternativeNames } from "../../../gen/ts/certmint/v1/common";
import { KeyAlgorithm, SignatureAlgorithm } from "../../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../../gen/ts/google/protobuf/duration";
import { call, expectRpcError } from "../../support/harness";
import {
  attributesRequest,
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
  WEB_RULES,
} from "./live";
import { OID, parseCert } from "./x509";

describe("probe49 cert: policy patterns as written", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createRootCa(live, "rsa-root", KeyAlgorithm.KEY_ALGORITHM_RSA_2048);
    // Every pattern is valid input to CreateCertificatePolicy; if one were refused there, the
    // creation would fail and so would every test below, which is a finding too.
    await createPolicy(
      live,
      "written",
      {
        sanRules: {
          dns: {
            allowed: ["**.example.com"],
            denied: [
              "bücher.example.com",
              "SHOUT.example.com",
              "dot.example.com.",
              "**.Deep.Example.Com",
            ],
          },
          ip: { allowed: ["0.0.0.0/0", "::/0"], denied: ["2001:DB8:0:0::/64", "10.9.0.0/16"] },
          email: { allowed: ["@example.com"], denied: ["CEO@Example.COM"] },
          uri: { allowed: ["https://**.example.com/*"], denied: ["https://Admin.Example.com/*"] },
        },
        subjectRules: { commonName: { allowed: ["*"], denied: ["*admin*"] } },
      },
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_DUAL_PURPOSE_SERVER,
    );
    await createProfile(live, "written", "written", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
  });

  const DENIED: Array<[string, DeepPartial<SubjectAlternativeNames>, string?]> = [
    ["an A-label of a name denied in Unicode", { dnsNames: ["xn--bcher-kva.example.com"] }],
    ["the Unicode name denied in Unicode", { dnsNames: ["bücher.example.com"] }],
    ["a name denied in upper case", { dnsNames: ["shout.example.com"] }],
    ["a name denied with a trailing dot", { dnsNames: ["dot.example.com"] }],
    ["a subtree denied in mixed case", { dnsNames: ["a.deep.example.com"] }],
    ["an address of a range denied in upper-case IPv6", { ipAddresses: ["2001:db8::5"] }],
    [
      "an IPv4-mapped address in hex form of a denied IPv4 range",
      { ipAddresses: ["::ffff:a09:1"] },
    ],
    ["a NAT64 address of a denied IPv4 range", { ipAddresses: ["64:ff9b::10.9.0.1"] }],
    ["an IPv4-translated address of a denied IPv4 range", { ipAddresses: ["::ffff:0:10.9.0.1"] }],
    ["a 6to4 address of a denied IPv4 range", { ipAddresses: ["2002:a09:1::1"] }],
    // Teredo: the client's IPv4 address is the last 32 bits inverted (RFC 4380 4).
    [
      "a Teredo address of a denied IPv4 range",
      { ipAddresses: ["2001:0:4136:e378:8000:63bf:f5f6:fffe"] },
    ],
    ["a mailbox denied in mixed case", { emailAddresses: ["ceo@example.com"] }],
    ["a sub-address of a denied mailbox", { emailAddresses: ["ceo+x@example.com"] }],
    ["a URI whose host is denied in mixed case", { uris: ["https://admin.example.com/x"] }],
    [
      "a CN matching a denied glob in another case",
      { dnsNames: ["ok.example.com"] },
      "ADMIN console",
    ],
  ];

  it.each(DENIED)("denies %s", async (_what, sans, cn) => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(live, attributesRequest("written", { sans, cn })),
    );
    expect(e.code, e.message).toBe(3);
    expect(e.violations.length).toBeGreaterThan(0);
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("the policy as stored shows the patterns in the form they are matched in", async () => {
    const got = await call(live.policies, "getCertificatePolicy", { certificatePolicy: "written" });
    const denied = got.certificatePolicy!.sanRules!.dns!.denied;
    // Either kept as written or normalised; both must deny (above). Recorded for the report.
    expect(denied.length).toBe(4);
  });

  it("a signature algorithm rule: a profile must default to an allowed one, which is used", async () => {
    await createPolicy(live, "sha384-only", {
      ...WEB_RULES,
      signatureAlgorithms: { allowed: [SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA384_WITH_RSA] },
    });
    // Without a default the CA's own (SHA-256) would break the rule: refused with details.
    const bare = await expectRpcError(
      createProfile(live, "sha384-bare", "sha384-only", { ca: "rsa-root" }),
    );
    expect(bare.code).toBe(3);
    expect(bare.violations.length).toBeGreaterThan(0);
    await createProfile(
      live,
      "sha384-only",
      "sha384-only",
      { ca: "rsa-root" },
      {
        defaults: {
          ttl: { seconds: "86400", nanos: 0 },
          signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA384_WITH_RSA,
        },
      },
    );
    const res = await issueCertificate(
      live,
      attributesRequest("sha384-only", { sans: { dnsNames: ["s.example.com"] } }),
    );
    expect(parseCert(res.certificate!.certificatePem).outerSignatureOid).toBe(OID.sha384Rsa);
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("sha384-only", {
          sans: { dnsNames: ["t.example.com"] },
          extra: { signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA },
        }),
      ),
    );
    expect(e.code).toBe(3);
  });

  it("subject_names_in_sans: REQUIRE refuses a CN missing from the SANs, NOT_REQUIRED leaves it out but checks it", async () => {
    await createPolicy(live, "require", {
      ...WEB_RULES,
      subjectNamesInSans: SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_REQUIRE,
    });
    await createProfile(live, "require", "require", { ca: "root" });
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("require", {
          cn: "cn.example.com",
          sans: { dnsNames: ["other.example.com"] },
        }),
      ),
    );
    expect(e.code).toBe(3);
    expect(e.reason).toBe("POLICY_VIOLATION");
    expect(await certificateCount(live.db)).toBe(before);
    await createPolicy(live, "not-required", {
      ...WEB_RULES,
      subjectNamesInSans: SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_NOT_REQUIRED,
    });
    await createProfile(live, "not-required", "not-required", { ca: "root" });
    const ok = await issueCertificate(
      live,
      attributesRequest("not-required", {
        cn: "cn.example.com",
        sans: { dnsNames: ["other.example.com"] },
      }),
    );
    const san = parseCert(ok.certificate!.certificatePem).ext("2.5.29.17")!;
    expect(san.value.includes(Buffer.from("cn.example.com"))).toBe(false);
    const outside = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("not-required", {
          cn: "cn.example.org",
          sans: { dnsNames: ["other.example.com"] },
        }),
      ),
    );
    expect(outside.code).toBe(3);
  });
});
