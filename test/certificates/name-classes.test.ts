/**
 * Issue 17 and issue 10 item 16, through the public API: every name-bearing field (the CN,
 * the emailAddress and each SAN type) and both input routes (attributes, and a CSR built byte
 * by byte with the names' exact bytes) give the same verdict for every test name. Classes:
 * (1) names in the subject meet the SAN rules, (2) one normalisation, (3) UTS #46 validity,
 * (4) addresses never certified and IPv4 in IPv6 clothing, (5) mailboxes and sub-addresses.
 * Then the subject names' place in the SANs: copied (the default), required, or not required.
 */
import { X509Certificate } from "node:crypto";
import { toASCII } from "tr46";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presetSpec } from "../../src/issuance/policy-engine";
import { ipToBytes } from "../../src/signer";
import { buildCsr } from "../support/der-csr";
import {
  Code,
  createProfileRows,
  createRoot,
  issue,
  issueRequest,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
  violationKeys,
} from "./helpers";

type Field = "cn" | "emailAddress" | "dns" | "ip" | "email" | "uri";
type Verdict = "issued" | "refused";

/** A policy with rules for every name type; the CN rule allows any value. */
function namesSpec(subjectNamesInSans?: "COPY" | "REQUIRE" | "NOT_REQUIRED") {
  const spec = presetSpec("DUAL_PURPOSE_SERVER");
  spec.subject = {
    COMMON_NAME: { allowed: ["*"], denied: [], required: false },
    EMAIL_ADDRESS: { allowed: ["*"], denied: [], required: false },
  };
  spec.sans = {
    dns: {
      allowed: ["**.example.com", "bücher.example", "db"],
      denied: ["secret.example.com", "*.internal.example.com"],
      required: false,
    },
    ip: { allowed: ["0.0.0.0/0", "::/0"], denied: ["10.0.0.0/8"], required: false },
    email: { allowed: ["@example.com"], denied: ["ceo@example.com"], required: false },
    uri: { allowed: ["spiffe://prod.example/ns/team-a/*"], denied: [], required: false },
  };
  if (subjectNamesInSans) spec.subjectNamesInSans = subjectNamesInSans;
  return spec;
}

// [field, value, verdict, class]
const CASES: Array<[Field, string, Verdict, string]> = [
  // 1. Names in the subject are names.
  ["cn", "api.example.com", "issued", "1"],
  ["cn", "secret.example.com", "refused", "1: denied DNS name"],
  ["cn", "api.other.org", "refused", "1: DNS name outside the allow list"],
  ["cn", "db", "issued", "1: single label, allowed"],
  ["cn", "cache", "refused", "1: single label, not allowed"],
  ["cn", "10.1.2.3", "refused", "1: denied IP"],
  ["cn", "192.0.2.7", "issued", "1"],
  ["cn", "ceo@example.com", "refused", "1: denied mailbox"],
  ["cn", "alice@example.com", "issued", "1"],
  ["cn", "spiffe://prod.example/ns/team-b/sa/x", "refused", "1: URI outside the allow list"],
  ["cn", "spiffe://prod.example/ns/team-a/sa/x", "issued", "1"],
  ["cn", "Payments API", "issued", "1: free text"],
  ["cn", "010.0.0.1", "refused", "1: reads as an address, is none"],
  ["cn", "svc_x.example.com", "refused", "1: not a host name"],
  ["emailAddress", "ceo@example.com", "refused", "1 / 10.16"],
  ["emailAddress", "alice@example.com", "issued", "1 / 10.16"],
  ["emailAddress", "alice@other.org", "refused", "1 / 10.16"],
  // 2. One normalisation (UTS #46) before any rule.
  ["dns", "x\u3002internal.example.com", "refused", "2: ideographic full stop"],
  ["cn", "x\u3002internal.example.com", "refused", "2: ideographic full stop"],
  ["cn", "x\uff0einternal.example.com", "refused", "2: fullwidth full stop"],
  ["cn", "x\uff61internal.example.com", "refused", "2: halfwidth ideographic full stop"],
  ["cn", "SECRET.Example.COM.", "refused", "2: case and trailing dot"],
  ["dns", "\uff21\uff30\uff29\uff0eexample\uff0ecom", "issued", "2: fullwidth letters"],
  ["cn", "\uff21\uff30\uff29\uff0eexample\uff0ecom", "issued", "2: fullwidth letters"],
  ["email", "alice@EXAMPLE\u3002com", "issued", "2: email domain"],
  // 3. UTS #46 validity: U-labels and A-labels alike.
  ["dns", "bücher.example", "issued", "3"],
  ["cn", "Bücher.example", "issued", "3"],
  ["dns", "a\u05d0.example.com", "refused", "3: Bidi rule"],
  ["cn", "a\u05d0.example.com", "refused", "3: Bidi rule"],
  ["email", "x@a\u05d0.example.com", "refused", "3: Bidi rule in an email domain"],
  ["uri", "spiffe://a\u05d0.example.com/x", "refused", "3: Bidi rule in a URI host"],
  ["dns", "xn--abc-.example.com", "refused", "3: fake A-label"],
  ["cn", "xn--abc-.example.com", "refused", "3: fake A-label"],
  ["dns", "a\u200db.example.com", "refused", "3: ZWJ outside CONTEXTJ"],
  ["dns", "-a.example.com", "refused", "3: hyphen"],
  // 4. Addresses never certified; IPv4 in IPv6 clothing.
  ["ip", "::", "refused", "4"],
  ["ip", "0.0.0.0", "refused", "4"],
  ["ip", "255.255.255.255", "refused", "4"],
  ["cn", "::", "refused", "4"],
  ["ip", "::ffff:10.1.2.3", "refused", "4: mapped"],
  ["ip", "::a01:203", "refused", "4: compatible"],
  ["ip", "64:ff9b::a01:203", "refused", "4: NAT64"],
  ["cn", "64:ff9b::a01:203", "refused", "4: NAT64 in the CN"],
  ["ip", "64:ff9b:1:a01:2:300::", "refused", "4: NAT64 local-use /48"],
  ["ip", "2002:a01:203::1", "refused", "4: 6to4"],
  ["ip", "2001:0:4136:e378:8000:63bf:f5fe:fdfc", "refused", "4: Teredo of 10.1.2.3"],
  ["ip", "64:ff9b::c000:207", "issued", "4: NAT64 of an allowed IPv4 address"],
  ["ip", "192.0.2.7", "issued", "4"],
  // 5. Mailboxes and sub-addresses.
  ["email", "ceo+x@example.com", "refused", "5: sub-address of a denied mailbox"],
  ["email", "CEO+y@example.com", "refused", "5: in any case"],
  ["email", "ceo%evil.example@example.com", "refused", "5: percent hack"],
  ["email", "evil!ceo@example.com", "refused", "5: bang path"],
  ["email", '"ceo"@example.com', "refused", "5: quoted local part"],
  ["email", "alice+tag@example.com", "refused", "5: sub-address without allow_sub_addresses"],
  ["email", "alice@example.com", "issued", "5"],
  ["emailAddress", "ceo+x@example.com", "refused", "5"],
];

/** What a byte-exact client puts in an IA5String: A-labels (UTS #46 mapping, no checks). */
function ia5Form(host: string): string {
  const mapped = toASCII(host, {});
  if (mapped !== null) return mapped;
  return host; // not expected for the table's names; the CSR parser would then refuse 8-bit bytes
}
function ia5Email(address: string): string {
  const at = address.lastIndexOf("@");
  return `${address.slice(0, at)}@${ia5Form(address.slice(at + 1))}`;
}
function ia5Uri(uri: string): string {
  const m = /^([a-z]+:\/\/)([^/]+)(.*)$/.exec(uri);
  return m ? `${m[1]}${ia5Form(m[2]!)}${m[3]}` : uri;
}

describe("name classes through both routes", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "names", spec: namesSpec() });
    await createProfileRows(h, { caId: root.id, slug: "require", spec: namesSpec("REQUIRE") });
    await createProfileRows(h, {
      caId: root.id,
      slug: "cn-free",
      spec: namesSpec("NOT_REQUIRED"),
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A subject for requests whose name is a SAN: free text, so it adds no name of its own. */
  const FILLER = "Name Class Test";

  const viaAttributes = (field: Field, value: string) =>
    issueRequest({
      certificateProfile: "names",
      validateOnly: true,
      source: {
        $case: "attributes",
        value: {
          subject: {
            commonName: field === "cn" ? value : FILLER,
            emailAddress: field === "emailAddress" ? value : "",
          },
          subjectAlternativeNames: {
            dnsNames: field === "dns" ? [value] : [],
            ipAddresses: field === "ip" ? [value] : [],
            emailAddresses: field === "email" ? [value] : [],
            uris: field === "uri" ? [value] : [],
          },
        },
      },
    });

  const viaCsr = (field: Field, value: string) => {
    const { csrPem } = buildCsr({
      subject: [
        ["CN", field === "cn" ? value : FILLER],
        ...(field === "emailAddress"
          ? [["emailAddress", ia5Email(value)] as ["emailAddress", string]]
          : []),
      ],
      dns: field === "dns" ? [ia5Form(value)] : [],
      ip: field === "ip" ? [ipToBytes(value)!] : [],
      email: field === "email" ? [ia5Email(value)] : [],
      uri: field === "uri" ? [ia5Uri(value)] : [],
    });
    return issueRequest({
      certificateProfile: "names",
      validateOnly: true,
      source: { $case: "csrPem", value: csrPem },
    });
  };

  async function verdictOf(req: ReturnType<typeof issueRequest>) {
    try {
      await issue(h, req);
      return { verdict: "issued" as Verdict, reason: "" };
    } catch (err) {
      const e = await rpcError(Promise.reject(err));
      expect(e.code).toBe(Code.INVALID_ARGUMENT);
      return { verdict: "refused" as Verdict, reason: e.reason ?? "" };
    }
  }

  it.each(CASES)("%s %j: %s on both routes (class %s)", async (field, value, expected) => {
    const before = await rowCounts(h);
    const attributes = await verdictOf(viaAttributes(field, value));
    const csr = await verdictOf(viaCsr(field, value));
    expect(attributes.verdict, "attributes route").toBe(expected);
    expect(csr.verdict, "CSR route").toBe(expected);
    // Refused by the policy on both routes, not by a parser on one of them.
    if (expected === "refused") {
      expect(attributes.reason).toBe("POLICY_VIOLATION");
      expect(csr.reason).toBe("POLICY_VIOLATION");
    }
    expect(await rowCounts(h)).toEqual(before); // validate_only writes nothing
  });

  describe("subject names and the SANs", () => {
    const attributes = (
      profile: string,
      cn: string,
      emailAddress = "",
      dns: string[] = [],
      email: string[] = [],
    ) =>
      issueRequest({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: cn, emailAddress },
            subjectAlternativeNames: { dnsNames: dns, emailAddresses: email },
          },
        },
      });

    it("COPY (the default) certifies the CN and emailAddress in the SANs, normalised", async () => {
      const res = await issue(h, attributes("names", "API.Example.com.", "alice@EXAMPLE.com"));
      const x = new X509Certificate(res.certificate!.certificatePem);
      expect(x.subject).toBe("CN=api.example.com\nemailAddress=alice@example.com");
      expect(x.subjectAltName).toBe("DNS:api.example.com, email:alice@example.com");
      expect(x.checkHost("api.example.com")).toBe("api.example.com");

      const { csrPem } = buildCsr({
        subject: [
          ["CN", "db"],
          ["emailAddress", "bob@example.com"],
        ],
      });
      const fromCsr = await issue(
        h,
        issueRequest({ certificateProfile: "names", source: { $case: "csrPem", value: csrPem } }),
      );
      const y = new X509Certificate(fromCsr.certificate!.certificatePem);
      expect(y.subjectAltName).toBe("DNS:db, email:bob@example.com");
    });

    it("COPY adds nothing for a free-text CN, nor a name already among the SANs", async () => {
      const res = await issue(h, attributes("names", "api.example.com", "", ["API.example.com"]));
      const x = new X509Certificate(res.certificate!.certificatePem);
      expect(x.subjectAltName).toBe("DNS:api.example.com");
      const text = await issue(h, attributes("names", "Payments API", "", ["api.example.com"]));
      expect(new X509Certificate(text.certificate!.certificatePem).subjectAltName).toBe(
        "DNS:api.example.com",
      );
    });

    it("REQUIRE refuses a CN or emailAddress missing from the SANs and records one FAILED request", async () => {
      const before = await rowCounts(h);
      const err = await rpcError(
        issue(h, attributes("require", "api.example.com", "alice@example.com")),
      );
      expect(err.reason).toBe("POLICY_VIOLATION");
      expect(violationKeys(err.violations)).toEqual([
        "attributes.subject.common_name SUBJECT_NAME_NOT_IN_SANS",
        "attributes.subject.email_address SUBJECT_NAME_NOT_IN_SANS",
      ]);
      const after = await rowCounts(h);
      expect(after).toEqual({ requests: before.requests + 1, certificates: before.certificates });
      const [row] = await h.db.query("select status from certificate_request where id = $1", [
        err.metadata.certificate_request_id,
      ]);
      expect(row!.status).toBe("FAILED");

      const ok = await issue(
        h,
        attributes(
          "require",
          "api.example.com",
          "alice@example.com",
          ["api.example.com"],
          ["alice@example.com"],
        ),
      );
      expect(ok.certificate).toBeDefined();
    });

    it("NOT_REQUIRED leaves the CN out of the SANs but still checks it; an emailAddress must be a SAN", async () => {
      const res = await issue(h, attributes("cn-free", "api.example.com", "", ["db"]));
      expect(new X509Certificate(res.certificate!.certificatePem).subjectAltName).toBe("DNS:db");
      const denied = await rpcError(
        issue(h, attributes("cn-free", "secret.example.com", "", ["db"])),
      );
      expect(violationKeys(denied.violations)).toEqual([
        "attributes.subject.common_name SAN_DENIED",
      ]);
      const email = await rpcError(
        issue(h, attributes("cn-free", "Payments API", "alice@example.com", ["db"])),
      );
      expect(violationKeys(email.violations)).toEqual([
        "attributes.subject.email_address SUBJECT_NAME_NOT_IN_SANS",
      ]);
    });
  });
});
