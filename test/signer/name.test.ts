/** Names and SANs: DER round trips, RFC 4514 strings, canonical IP text. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { SUBJECT_ATTRIBUTES, type SubjectName } from "../../src/model/pki";
import {
  canonicalIp,
  ipFromBytes,
  ipToBytes,
  nameToString,
  subjectToDer,
  subjectToString,
} from "../../src/signer";
import { parseDer, seq, toDer } from "../../src/signer/der";
import { sansFromAsn1, sansToAsn1 } from "../../src/signer/general-names";
import { sameDistinguishedName, subjectFromAsn1 } from "../../src/signer/name";

describe("subject names", () => {
  it("round-trips any valid SubjectName through DER", () => {
    const value = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 20 })
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are refused
      .filter((v) => !/[\x00-\x1f\x7f]/.test(v) && [...v].length <= 64);
    const attr = fc.oneof(
      fc.record({
        type: fc.constantFrom(
          ...SUBJECT_ATTRIBUTES.filter(
            (a) => !["COUNTRY", "SERIAL_NUMBER", "EMAIL_ADDRESS"].includes(a),
          ),
        ),
        value,
      }),
      fc.record({
        type: fc.constant("COUNTRY" as const),
        value: fc.constantFrom("US", "DE", "JP"),
      }),
      fc.record({
        type: fc.constant("SERIAL_NUMBER" as const),
        value: fc.stringMatching(/^[A-Za-z0-9 .-]{1,20}$/),
      }),
      fc.record({
        type: fc.constant("EMAIL_ADDRESS" as const),
        value: fc.stringMatching(/^[a-z]{1,8}@[a-z]{1,8}\.example$/),
      }),
    );
    fc.assert(
      fc.property(fc.array(attr, { maxLength: 6 }), (attributes) => {
        const name: SubjectName = { attributes };
        expect(subjectFromAsn1(parseDer(subjectToDer(name)).node)).toEqual(name);
      }),
      { numRuns: 300 },
    );
  });

  it("uses PrintableString for C and serialNumber, IA5String for email, UTF8String otherwise", () => {
    const der = subjectToDer({
      attributes: [
        { type: "COUNTRY", value: "US" },
        { type: "SERIAL_NUMBER", value: "42" },
        { type: "EMAIL_ADDRESS", value: "a@b.c" },
        { type: "COMMON_NAME", value: "ü" },
      ],
    }).toString("hex");
    expect(der).toContain("0603550406" + "1302" + "5553"); // countryName PrintableString "US"
    expect(der).toContain("0603550405" + "1302" + "3432"); // serialNumber PrintableString "42"
    expect(der).toContain(`1605${Buffer.from("a@b.c").toString("hex")}`); // IA5String
    expect(der).toContain("0603550403" + "0c02" + "c3bc"); // UTF8String "ü"
  });

  it("formats RFC 4514 strings: last RDN first, with escaping", () => {
    expect(
      subjectToString({
        attributes: [
          { type: "COUNTRY", value: "US" },
          { type: "ORGANIZATION", value: "Acme, Inc." },
          { type: "COMMON_NAME", value: " #lead+trail " },
        ],
      }),
    ).toBe("CN=\\ #lead\\+trail\\ ,O=Acme\\, Inc.,C=US");
    expect(subjectToString({ attributes: [{ type: "COMMON_NAME", value: "#x" }] })).toBe("CN=\\#x");
    expect(subjectToString({ attributes: [] })).toBe("");
  });

  it("formats names with attributes outside the vocabulary", async () => {
    const { execFileSync } = await import("node:child_process");
    const pem = execFileSync("openssl", [
      "req",
      "-new",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      "/dev/null",
      "-subj",
      "/DC=internal/DC=example/UID=42/CN=a+OU=b",
      "-multivalue-rdn",
    ]).toString();
    const { parseCertificate } = await import("../../src/signer");
    const cert = parseCertificate(pem);
    expect(cert.subject).toBeUndefined();
    expect(cert.subjectString).toBe("CN=a+OU=b,UID=42,DC=example,DC=internal");
    expect(nameToString(cert.subjectDer)).toBe(cert.subjectString);
  });

  it.each([
    [{ type: "COUNTRY", value: "usa" }],
    [{ type: "COMMON_NAME", value: "" }],
    [{ type: "COMMON_NAME", value: "x".repeat(65) }],
    [{ type: "EMAIL_ADDRESS", value: "ü@example.com" }],
    [{ type: "SERIAL_NUMBER", value: "a_b" }],
    [{ type: "COMMON_NAME", value: "evil.example\u0000.good.example" }],
    [{ type: "ORGANIZATION", value: "\ud800" }],
  ] as const)("refuses %o", (attribute) => {
    expect(() => subjectToDer({ attributes: [attribute] })).toThrow(CertmintError);
  });
});

describe("IP addresses", () => {
  it("canonicalises IPv6 like the WHATWG URL parser (RFC 5952), except IPv4-mapped", () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const bytes = ipToBytes(ip);
        expect(bytes?.length).toBe(16);
        const canonical = ipFromBytes(bytes!);
        if (canonical?.startsWith("::ffff:") && canonical.includes(".")) return;
        expect(canonical).toBe(new URL(`http://[${ip}]`).hostname.slice(1, -1));
        expect(canonicalIp(canonical!)).toBe(canonical);
      }),
      { numRuns: 1000 },
    );
  });

  it("round-trips IPv4 and keeps IPv4-mapped addresses dotted", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(ipFromBytes(ipToBytes(ip)!)).toBe(ip);
      }),
    );
    expect(canonicalIp("::FFFF:192.0.2.1")).toBe("::ffff:192.0.2.1");
    expect(canonicalIp("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    for (const bad of [
      "1.2.3",
      "01.2.3.4",
      "1.2.3.256",
      "fe80::1%eth0",
      "1::2::3",
      ":1:2",
      "g::1",
      "",
    ]) {
      expect(canonicalIp(bad), bad).toBeUndefined();
    }
  });
});

describe("subject alternative names", () => {
  it("round-trips through GeneralNames with canonical IPs", () => {
    const sans = {
      dns: ["a.example", "*.b.example"],
      ip: ["10.0.0.1", "2001:0db8::0001", "::ffff:10.0.0.2"],
      email: ["x@y.example"],
      uri: ["spiffe://td/ns/a", "urn:uuid:1"],
    };
    const back = sansFromAsn1(parseDer(toDer(seq(sansToAsn1(sans)))).node);
    expect(back).toEqual({ ...sans, ip: ["10.0.0.1", "2001:db8::1", "::ffff:10.0.0.2"] });
  });

  it.each([
    { dns: ["bad host\u00e9"], ip: [], email: [], uri: [] },
    { dns: [], ip: ["300.1.1.1"], email: [], uri: [] },
    { dns: [], ip: [], email: ["no-at-sign"], uri: [] },
    { dns: [], ip: [], email: [], uri: ["relative/path"] },
  ])("refuses %o with SAN_INVALID", (sans) => {
    try {
      sansToAsn1(sans);
      expect.unreachable();
    } catch (e) {
      expect((e as CertmintError).reason).toBe("SAN_INVALID");
      expect((e as CertmintError).violations[0]?.field).toMatch(/\[0\]$/);
    }
  });
});

describe("sameDistinguishedName maps as RFC 4518 2.2 does before comparing", () => {
  const cn = (value: string) => ({ attributes: [{ type: "COMMON_NAME" as const, value }] });
  it("zero-width space, soft hyphen, joiners, BOM and other format characters map to nothing", () => {
    for (const hidden of ["\u200b", "\u00ad", "\u200d", "\u034f", "\ufeff", "\u2060", "\ufe0f"]) {
      expect(sameDistinguishedName(cn(`Probe${hidden} Sub CA`), cn("Probe Sub CA"))).toBe(true);
    }
  });
  it("line and page controls and every separator map to a space (then runs fold to one)", () => {
    for (const space of ["\t", "\u0085", "\u00a0", "\u2028", "\u3000"]) {
      expect(sameDistinguishedName(cn(`Probe${space}Sub CA`), cn("Probe Sub CA"))).toBe(true);
    }
  });
  it("other characters still tell names apart", () => {
    expect(sameDistinguishedName(cn("Probe Sub CA"), cn("Probe Sub CB"))).toBe(false);
    expect(sameDistinguishedName(cn("Probe-Sub CA"), cn("ProbeSub CA"))).toBe(false);
    expect(sameDistinguishedName(cn("Probe\u{1F600} CA"), cn("Probe CA"))).toBe(false);
  });
});
