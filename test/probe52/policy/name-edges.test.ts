/**
 * Probe 52 (POLICY): names a tenant asks for to get more than its policy allows, from outside on
 * a live compiled server: a wildcard that stands for a denied name, IP forms that carry the
 * never-certified 0.0.0.0 and 255.255.255.255 (README "Policies": "any IPv6 form below that
 * carries one of them"), email and URI spellings, and names a CA's name constraints forbid under
 * a policy that allows everything. Every refusal is INVALID_ARGUMENT or FAILED_PRECONDITION with
 * a reason and details and stores no certificate; every certificate signed passes
 * `openssl verify -x509_strict` and carries the name in its normalised form.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SubjectAlternativeNames } from "../../../gen/ts/certmint/v1/common";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../../gen/ts/google/protobuf/duration";
import {
  attributesRequest,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { expectRpcError } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { sanText, strictVerify } from "./verify";

describe("probe52 policy: name edges", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let constrainedPem = "";

  beforeAll(async () => {
    live = await startLive();
    rootPem = (
      await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256, {
        maxPathLength: 1,
      })
    ).certificatePem;
    // Everything allowed but one name and one mailbox: what a tenant gets on an open policy.
    await createPolicy(live, "open", {
      sanRules: {
        dns: { allowed: ["**"], denied: ["secret.example.net"], allowWildcardNames: true },
        ip: { allowed: ["0.0.0.0/0", "::/0"] },
        email: { allowed: ["@**"] },
        uri: { allowed: ["spiffe://prod.example/*", "https://**/*"] },
      },
      subjectRules: { commonName: { allowed: ["*"] } },
    });
    await createProfile(live, "open", "open", { ca: "root" });
    // The same open policy on an intermediate that may certify example.com names only.
    const inter = await createIntermediateCa(live, {
      slug: "example-only",
      parentCertificateAuthority: "root",
      subject: { commonName: "Example Only CA" },
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      nameConstraints: {
        permitted: {
          dnsNames: ["example.com"],
          ipRanges: ["10.0.0.0/8"],
          emailAddresses: ["example.com"],
          uriHosts: ["prod.example"],
        },
      },
    });
    constrainedPem = inter.certificateAuthority!.certificatePem;
    await createProfile(live, "constrained", "open", { ca: "example-only" });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  async function expectRefused(
    profile: string,
    sans: DeepPartial<SubjectAlternativeNames>,
    cn?: string,
  ) {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(live, attributesRequest(profile, { sans, cn })),
    );
    expect([3, 9], `${e.code} ${e.message}`).toContain(e.code);
    expect(e.reason, e.message).toBeTruthy();
    expect(e.violations.length + e.preconditions.length, e.message).toBeGreaterThan(0);
    expect(await certificateCount(live.db)).toBe(before);
    return e;
  }

  // Stop 52 left this alone; stop 53 refuses it: OpenSSL matches '*' only with two labels after
  // it, and a wildcard over a suffix would stand for every name under it.
  it("a wildcard over one label is refused even by a policy that allows every name", async () => {
    for (const dnsName of ["*.com", "*.corp", "*.COM."]) {
      const e = await expectRefused("open", { dnsNames: [dnsName] });
      expect(e.code).toBe(3);
      expect(e.violations.map((v) => v.description).join(" ")).toMatch(/single label/);
    }
    // As a common name too (it reads as a DNS name there).
    const cn = await expectRefused("open", { dnsNames: ["a.example.org"] }, "*.com");
    expect(cn.code).toBe(3);
    // Two labels under the '*' are signed.
    const res = await issueCertificate(
      live,
      attributesRequest("open", { sans: { dnsNames: ["*.example.org"] } }),
    );
    expect(sanText(tmp, res.certificate!.certificatePem)).toBe("DNS:*.example.org");
  });

  // Stop 55 of 2026-12-07: over a public suffix of more labels too (the Public Suffix List's
  // ICANN section, src/issuance/policy-engine/public-suffix.ts); before, "*.co.uk" was signed.
  it("a wildcard over a public suffix of the Public Suffix List is refused by a policy that allows every name", async () => {
    for (const dnsName of ["*.co.uk", "*.CO.UK.", "*.com.au", "*.公司.cn"]) {
      const e = await expectRefused("open", { dnsNames: [dnsName] });
      expect(e.code).toBe(3);
      expect(e.violations.map((v) => v.description).join(" ")).toMatch(/public suffix/);
    }
    const cn = await expectRefused("open", { dnsNames: ["a.example.org"] }, "*.co.uk");
    expect(cn.code).toBe(3);
    // One label lower it names a domain's hosts, and is signed.
    const res = await issueCertificate(
      live,
      attributesRequest("open", { sans: { dnsNames: ["*.example.co.uk"] } }),
    );
    expect(sanText(tmp, res.certificate!.certificatePem)).toBe("DNS:*.example.co.uk");
    expect(strictVerify(tmp, res.certificate!.certificatePem, [rootPem])).toMatch(/OK/);
  });

  it("a wildcard standing for a denied name is refused (README: denied if any name it stands for is)", async () => {
    await expectRefused("open", { dnsNames: ["*.example.net"] });
    await expectRefused("open", { dnsNames: ["*.EXAMPLE.net."] });
  });

  it("a wildcard not standing for the denied name is signed, normalised, and verifies strictly", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("open", { sans: { dnsNames: ["*.A.example.net."] } }),
    );
    const pem = res.certificate!.certificatePem;
    expect(sanText(tmp, pem)).toBe("DNS:*.a.example.net");
    expect(strictVerify(tmp, pem, [rootPem])).toMatch(/OK/);
  });

  // README: 0.0.0.0, :: and 255.255.255.255 "are never certified, whatever the rules", and
  // (policy-engine/types.ts) neither is "any IPv6 form below that carries one of them".
  const NEVER: Array<[string, string]> = [
    ["IPv4-mapped 0.0.0.0", "::ffff:0.0.0.0"],
    ["IPv4-mapped 255.255.255.255", "::ffff:255.255.255.255"],
    ["IPv4-compatible 255.255.255.255", "::255.255.255.255"],
    ["NAT64 255.255.255.255", "64:ff9b::255.255.255.255"],
    ["SIIT-translated 0.0.0.0", "::ffff:0:0.0.0.0"],
    ["6to4 of 255.255.255.255", "2002:ffff:ffff::1"],
    // RFC 8215 local-use NAT64 under the usual /96 prefix (README: "a /96 such as
    // 64:ff9b:1:abcd::/96 is usual"): the address translates to 255.255.255.255 / 0.0.0.0.
    ["local-use NAT64 /96 of 255.255.255.255", "64:ff9b:1:abcd::ffff:ffff"],
    // Not "64:ff9b:1:abcd::" (0.0.0.0 in the /96 layout): zero bits that read as 0.0.0.0 in one
    // layout are another layout's padding (64:ff9b:1:a01:2:300:: is 10.1.2.3 in the /48 one),
    // so only the broadcast address is refused in every layout; the allow and deny rules still
    // judge each layout's address (src/issuance/policy-engine/ip-match.ts).
  ];

  it.each(NEVER)("an IP SAN that is %s is never certified", async (_what, ip) => {
    await expectRefused("open", { ipAddresses: [ip] });
  });

  it.each(NEVER)("a CN that is %s is never certified either", async (_what, ip) => {
    await expectRefused("open", { dnsNames: ["cn.example.net"] }, ip);
  });

  const REFUSED: Array<[string, DeepPartial<SubjectAlternativeNames>]> = [
    ["an email with an address literal", { emailAddresses: ["a@[10.0.0.1]"] }],
    ["an email with a quoted local part", { emailAddresses: ['"a b"@example.net'] }],
    [
      "an email with a non-ASCII local part (SmtpUTF8Mailbox only)",
      { emailAddresses: ["ü@example.net"] },
    ],
    ["an email with a '%' route", { emailAddresses: ["a%evil.org@example.net"] }],
    ["an email whose domain ends in a numeric label", { emailAddresses: ["a@10.0.0.1"] }],
    ["a SPIFFE ID with a port", { uris: ["spiffe://prod.example:8443/ns/a"] }],
    ["a SPIFFE ID with a trailing slash", { uris: ["spiffe://prod.example/ns/a/"] }],
    ["a URI whose host is an IPv4 address", { uris: ["https://10.0.0.1/x"] }],
    ["a URI whose host is an IPv6 literal", { uris: ["https://[::1]/x"] }],
    ["a URI whose host is an integer IPv4", { uris: ["https://2130706433/x"] }],
    ["a URI whose host ends in a hex label", { uris: ["https://a.0x7f/x"] }],
    [
      "a URI without an authority (URN)",
      { uris: ["urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"] },
    ],
    ["a URI with a backslash", { uris: ["https://good.example\\@evil.org/x"] }],
    ["a DNS name with a zone id", { dnsNames: ["a.example.net%eth0"] }],
    ["an IP with a zone id in brackets", { ipAddresses: ["[fe80::1]"] }],
    ["an IPv4 CIDR /32 as an address", { ipAddresses: ["10.0.0.1/32"] }],
    ["a mapped IPv4 with a leading-zero octet", { ipAddresses: ["::ffff:010.0.0.1"] }],
    ["an IPv4 with a trailing dot", { ipAddresses: ["10.0.0.1."] }],
    ["an IPv4 with a leading space", { ipAddresses: [" 10.0.0.1"] }],
    ["a three-part IPv4", { ipAddresses: ["10.0.1"] }],
    ["a hex IPv4 octet", { ipAddresses: ["0x0a.0.0.1"] }],
    ["an IPv6 with a trailing newline", { ipAddresses: ["2001:db8::1\n"] }],
  ];

  it.each(REFUSED)("refuses %s", async (_what, sans) => {
    await expectRefused("open", sans);
  });

  it("an email with an IDN domain is signed with the A-label, and verifies strictly", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("open", { sans: { emailAddresses: ["a@Bücher.example.net"] } }),
    );
    const pem = res.certificate!.certificatePem;
    expect(sanText(tmp, pem)).toBe("email:a@xn--bcher-kva.example.net");
    expect(strictVerify(tmp, pem, [rootPem])).toMatch(/OK/);
  });

  // The policy allows everything; the CA's constraints do not. README: certmint refuses to sign
  // what falls outside the constraints (FAILED_PRECONDITION ISSUER_NAME_CONSTRAINTS), since every
  // verifier would reject it.
  const OUTSIDE: Array<[string, DeepPartial<SubjectAlternativeNames>, string?]> = [
    ["a wildcard over a public suffix", { dnsNames: ["*.com"] }],
    ["a wildcard one label above the permitted subtree", { dnsNames: ["*.example.org"] }],
    ["a U-label outside", { dnsNames: ["bücher.example.org"] }],
    ["a fullwidth-dot name outside", { dnsNames: ["evil\uff0eorg"] }],
    ["a look-alike of the permitted name", { dnsNames: ["example.com.evil.org"] }],
    ["an IPv4-mapped address outside", { ipAddresses: ["::ffff:11.0.0.1"] }],
    ["an email outside by its IDN domain", { emailAddresses: ["a@bücher.example.org"] }],
    [
      "an email below the permitted domain (OpenSSL: domain only)",
      { emailAddresses: ["a@x.example.com"] },
    ],
    ["a URI below the permitted host", { uris: ["spiffe://sub.prod.example/ns/a"] }],
    ["a CN that reads as a host outside", { dnsNames: ["a.example.com"] }, "evil.org"],
    ["a CN that reads as an email outside", { dnsNames: ["a.example.com"] }, "a@evil.org"],
    ["a CN that reads as a one-label host", { dnsNames: ["a.example.com"] }, "localhost"],
  ];

  it.each(OUTSIDE)(
    "under a constrained CA, refuses %s that the policy allows",
    async (_what, sans, cn) => {
      await expectRefused("constrained", sans, cn);
    },
  );

  it("under the constrained CA, names inside are signed and verify strictly with the chain", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("constrained", {
        cn: "API.Example.COM.",
        sans: {
          dnsNames: ["*.svc.example.com", "bücher.example.com"],
          ipAddresses: ["10.1.2.3"],
          emailAddresses: ["ops@example.com"],
          uris: ["spiffe://prod.example/ns/a"],
        },
      }),
    );
    const pem = res.certificate!.certificatePem;
    expect(strictVerify(tmp, pem, [rootPem], [constrainedPem])).toMatch(/OK/);
    const san = sanText(tmp, pem);
    expect(san).toContain("DNS:api.example.com");
    expect(san).toContain("DNS:xn--bcher-kva.example.com");
  });
});
