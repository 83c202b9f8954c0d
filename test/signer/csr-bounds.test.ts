/**
 * A CSR carries no more identity than IssueCertificate's attributes may (src/model/limits.ts),
 * and no name PostgreSQL cannot store or a C reader would cut short: CSRs built byte by byte
 * (test/support/raw-der.ts) with too many or too long attributes and names, NUL, and unpaired
 * surrogates, each refused by parseCsr with a precise reason.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { parseCsr } from "../../src/signer";
import {
  bmp,
  generalName,
  name,
  OID,
  p256Spki,
  rawCsr,
  sanRequest,
  tlv,
  utf8,
} from "../support/raw-der";

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const spki = p256Spki.named(publicKey);
const cn = (value: Buffer): [Buffer, Buffer] => [OID.commonName, value];
const org = (value: string): [Buffer, Buffer] => [OID.organization, utf8(value)];
const csr = (subject: Buffer, attributes: Buffer[] = []) =>
  rawCsr({ privateKey, subject, spki, attributes });
const dnsNames = (names: string[]) =>
  sanRequest(names.map((n): [number, Buffer] => [generalName.dns, Buffer.from(n)]));

function refusal(pem: string): { reason: string; message: string } {
  try {
    parseCsr(pem);
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    return { reason: (e as CertmintError).reason, message: (e as CertmintError).message };
  }
  return { reason: "ACCEPTED", message: "" };
}

describe("a CSR is bounded like IssueCertificate's attributes", () => {
  it("accepts 10 organizations and 100 names of a type, the most the API takes", () => {
    const orgs = Array.from({ length: 10 }, (_, i) => org(`Org ${i}`));
    const names = Array.from({ length: 100 }, (_, i) => `n${i}.example.com`);
    const parsed = parseCsr(csr(name(...orgs, cn(utf8("a.example.com"))), [dnsNames(names)]));
    expect(parsed.subject.attributes).toHaveLength(11);
    expect(parsed.sans.dns).toHaveLength(100);
  });

  it.each([
    [
      "11 organizations",
      () => csr(name(...Array.from({ length: 11 }, (_, i) => org(`Org ${i}`)))),
      "CSR_SUBJECT_TOO_MANY_VALUES",
    ],
    [
      "2,800 organizations (a 56 KB CSR, under its 64 KiB limit)",
      () => csr(name(...Array.from({ length: 2800 }, (_, i) => org(`o${i}`)))),
      "CSR_SUBJECT_TOO_MANY_VALUES",
    ],
    [
      "two common names",
      () => csr(name(cn(utf8("a.example.com")), cn(utf8("b.example.com")))),
      "CSR_SUBJECT_TOO_MANY_VALUES",
    ],
    [
      "a 65-character common name (RFC 5280 ub-common-name 64)",
      () => csr(name(cn(utf8("x".repeat(65))))),
      "CSR_SUBJECT_VALUE_TOO_LONG",
    ],
    [
      "101 DNS names",
      () => csr(name(), [dnsNames(Array.from({ length: 101 }, (_, i) => `n${i}.example.com`))]),
      "CSR_SAN_TOO_MANY",
    ],
    [
      "a URI of 2,049 characters",
      () =>
        csr(name(), [
          sanRequest([[generalName.uri, Buffer.from(`spiffe://example/${"p".repeat(2049 - 17)}`)]]),
        ]),
      "CSR_SAN_TOO_LONG",
    ],
  ])("refuses %s", (_name, make, reason) => {
    const { reason: got, message } = refusal(make());
    expect(got).toBe(reason);
    expect(message.length).toBeLessThan(200);
  });
});

describe("names PostgreSQL cannot store, or C readers would cut short", () => {
  it.each([
    ["NUL in a UTF8String common name", () => csr(name(cn(utf8(Buffer.from("a\0.example.com")))))],
    ["an unpaired surrogate in a BMPString", () => csr(name(cn(bmp([0x61, 0xd800, 0x62]))))],
    ["NUL in a BMPString", () => csr(name(cn(bmp([0x61, 0x0000, 0x62]))))],
    [
      "NUL in a DNS name (the null-prefix trick)",
      () => csr(name(), [dnsNames(["good.example.com\0.evil.example.com"])]),
    ],
    [
      "NUL in an email name",
      () => csr(name(), [sanRequest([[generalName.email, Buffer.from("a\0@example.com")]])]),
    ],
    ["NUL in a PrintableString", () => csr(name(cn(tlv(0x13, Buffer.from("a\0b")))))],
  ])("refuses %s (CSR_MALFORMED)", (_name, make) => {
    const { reason, message } = refusal(make());
    expect(reason).toBe("CSR_MALFORMED");
    expect(message).toMatch(/NUL|surrogate/);
  });

  it("still reads BMPString text with paired surrogates", () => {
    // U+1F600 as the pair D83D DE00.
    const parsed = parseCsr(csr(name(cn(bmp([0x61, 0xd83d, 0xde00])))));
    expect(parsed.subject.attributes).toEqual([{ type: "COMMON_NAME", value: "a😀" }]);
  });
});
