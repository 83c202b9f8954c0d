/**
 * Stop 59's outside probe of names in the subject (probe A), on a live server:
 * - a common name written in A-labels is held to the rules its U-label spelling is: a word that
 *   mixes look-alike scripts (Cyrillic "е" in "еvil") is refused in "xn--vil-qdd.example.com"
 *   as in "еvil.example.com" (both sign the same bytes; before, only the U-label was refused);
 * - a common name that is a URI is matched against the CN's patterns with its host in U-labels
 *   too ("https://xn--bcher-kva.example.com/x" against a denied "*bücher*"), as a DNS name is;
 * - the 100-name bound holds for what is signed, the subject's names the policy copies into the
 *   SANs included (100 SANs and a common name gave 102);
 * - a common name that is a host with a port or a path ("secret.example.com:443") is refused, no
 *   longer free text past the DNS rules; "user:alice" stays free text;
 * - a countryName is an officially assigned ISO 3166-1 code ("UK", "XX" were signed).
 * Each refusal is INVALID_ARGUMENT on its field and stores no certificate.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import {
  attributesRequest,
  caCountRows,
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../probe49/cert/live";
import { expectRpcError } from "../support/harness";

describe("stop 59: names in the subject, as signed", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createPolicy(live, "names", {
      sanRules: {
        dns: { allowed: ["**.example.com"] },
        uri: { allowed: ["https://**.example.com/*"] },
      },
      subjectRules: {
        commonName: { allowed: ["*"], denied: ["*evil*", "*bücher*"] },
        country: { allowed: ["*"] },
      },
    });
    await createProfile(live, "names", "names", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
  });

  async function expectRefused(
    request: ReturnType<typeof attributesRequest>,
    field: RegExp,
    message: RegExp,
  ) {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(issueCertificate(live, request));
    expect(e.code, e.message).toBe(3);
    expect(e.violations.map((v) => v.field).join(), e.message).toMatch(field);
    expect(`${e.message} ${e.violations.map((v) => v.description).join(" ")}`).toMatch(message);
    expect(await certificateCount(live.db)).toBe(before);
  }

  const withCn = (cn: string, sans: { dnsNames?: string[]; uris?: string[] } = {}) =>
    attributesRequest("names", { subject: { commonName: cn }, sans });

  it.each([
    ["the U-label spelling", "\u0435vil.example.com"],
    ["the A-label spelling", "xn--vil-qdd.example.com"],
  ])("a common name mixing Latin and Cyrillic in %s is refused", async (_what, cn) => {
    await expectRefused(withCn(cn), /common_name/, /Latin, Cyrillic or Greek letters mixed/);
  });

  it("an A-label in one script is signed, its U-label matched by the denial", async () => {
    // xn--80ak6aa92e: "аррӏе" in Cyrillic only, no denial matches: signed.
    const res = await issueCertificate(live, withCn("xn--80ak6aa92e.example.com"));
    const cert = new X509Certificate(res.certificate!.certificatePem);
    expect(cert.subject).toContain("CN=xn--80ak6aa92e.example.com");
    // "bücher" in A-labels is denied by "*bücher*", as its U-label is.
    await expectRefused(withCn("xn--bcher-kva.example.com"), /common_name/, /denied pattern/);
  });

  it.each([
    ["in A-labels", "https://xn--bcher-kva.example.com/x"],
    ["in U-labels", "https://bücher.example.com/x"],
  ])("a common name that is a URI with its host %s meets the CN's denial", async (_what, cn) => {
    await expectRefused(withCn(cn), /common_name/, /denied pattern "\*bücher\*"/);
  });

  it("a URI common name the denials do not match is signed, and copied into the SANs", async () => {
    const res = await issueCertificate(live, withCn("https://books.example.com/x"));
    const cert = new X509Certificate(res.certificate!.certificatePem);
    expect(cert.subjectAltName).toContain("URI:https://books.example.com/x");
  });

  it.each([
    ["secret.example.com:443", /"secret\.example\.com" with a port or a path/],
    ["evil.org/", /"evil\.org" with a port or a path/],
    ["10.0.0.1:8443", /"10\.0\.0\.1" with a port or a path/],
  ])("the host-like common name %s is refused", async (cn, message) => {
    await expectRefused(withCn(cn), /common_name/, message);
  });

  it.each(["user:alice", "team/ci"])("the free-text common name %s is signed", async (cn) => {
    const res = await issueCertificate(live, withCn(cn, { dnsNames: ["free.example.com"] }));
    expect(new X509Certificate(res.certificate!.certificatePem).subject).toContain(`CN=${cn}`);
  });

  const hundredNames = (n: number) =>
    Array.from({ length: n }, (_, i) => `n${i}.bound.example.com`);

  it("100 SANs and a common name to copy are refused TOO_MANY_SANS; 99 and the name are signed", async () => {
    await expectRefused(
      withCn("cn.bound.example.com", { dnsNames: hundredNames(100) }),
      /subject_alternative_names/,
      /at most 100 subject alternative names, the subject's names/,
    );
    const res = await issueCertificate(
      live,
      withCn("cn.bound.example.com", { dnsNames: hundredNames(99) }),
    );
    const sans = new X509Certificate(res.certificate!.certificatePem).subjectAltName!.split(", ");
    expect(sans).toHaveLength(100);
    expect(sans).toContain("DNS:cn.bound.example.com");
    // The common name among the 100 is not copied again: signed with 100.
    const among = await issueCertificate(
      live,
      withCn("n0.bound.example.com", { dnsNames: hundredNames(100) }),
    );
    const names = new X509Certificate(among.certificate!.certificatePem).subjectAltName!;
    expect(names.split(", ")).toHaveLength(100);
  });

  it.each([
    ["UK", /the United Kingdom's is GB/],
    ["XX", /ISO 3166-1 alpha-2/],
    ["ZZ", /ISO 3166-1 alpha-2/],
  ])("the country %s is refused", async (country, message) => {
    await expectRefused(
      attributesRequest("names", {
        subject: { commonName: "c.example.com", country },
        sans: { dnsNames: ["c.example.com"] },
      }),
      /country/,
      message,
    );
  });

  it("an assigned code (GB) is signed", async () => {
    const res = await issueCertificate(
      live,
      attributesRequest("names", {
        subject: { commonName: "c.example.com", country: "GB" },
        sans: { dnsNames: ["c.example.com"] },
      }),
    );
    expect(new X509Certificate(res.certificate!.certificatePem).subject).toContain("C=GB");
  });

  it("a CA's subject with an unassigned country is refused and no CA is stored", async () => {
    const [{ n: before }] = (await caCountRows(live)) as [{ n: number }];
    const e = await expectRpcError(
      createRootCa(live, "uk-root", KeyAlgorithm.KEY_ALGORITHM_EC_P256, {
        subject: { commonName: "UK Root", country: "UK" },
      }),
    );
    expect(e.code, e.message).toBe(3);
    expect(e.message).toMatch(/the United Kingdom's is GB/);
    const [{ n: after }] = (await caCountRows(live)) as [{ n: number }];
    expect(after).toBe(before);
  });
});
