/**
 * Probe 52 (POLICY): a CSR's subject in forms the policy's fields do not show (a second CN, a
 * CN inside a multi-valued RDN, DC and UID, BMPString, UniversalString, TeletexString,
 * PrintableString spellings of a host name, a right-to-left override, a NUL inside a BMPString)
 * and a CSR that asks for more than the policy gives (anyExtendedKeyUsage and codeSigning,
 * keyCertSign, its own name constraints, a path length without cA). The policy allows
 * `**.example.com` names and any CN. Each subject spelling of `evil.org` must be refused with
 * INVALID_ARGUMENT and nothing stored, never signed; what a CSR asks beyond the policy must not
 * reach the certificate, which must pass `openssl verify -x509_strict`.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import {
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import {
  basicConstraints,
  extKeyUsage,
  keyUsage,
  parseCert,
  OID as X509,
} from "../../probe49/cert/x509";
import { oid } from "../../support/der-csr";
import { expectRpcError } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { bmp, OID, octets, rawCsr, seq, set, tlv } from "../../support/raw-der";
import { sanText, strictVerify, subjectText } from "./verify";

const CN = "2.5.4.3";
const O = "2.5.4.10";
const DC = "0.9.2342.19200300.100.1.25";
const UID = "0.9.2342.19200300.100.1.1";
const EMAIL = "1.2.840.113549.1.9.1";

const UTF8 = 0x0c;
const PRINTABLE = 0x13;
const TELETEX = 0x14;
const IA5 = 0x16;
const UNIVERSAL = 0x1c;

/** One AttributeTypeAndValue. */
const atv = (type: string, value: Buffer) => seq(oid(type), value);
const str = (tag: number, text: string) => tlv(tag, Buffer.from(text, "latin1"));
const utf8 = (text: string) => tlv(UTF8, Buffer.from(text, "utf8"));
const bmpOf = (text: string) => bmp([...text].flatMap((c) => splitUtf16(c)));
const universal = (text: string) =>
  tlv(
    UNIVERSAL,
    Buffer.concat(
      [...text].map((c) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(c.codePointAt(0)!);
        return b;
      }),
    ),
  );
function splitUtf16(c: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < c.length; i++) out.push(c.charCodeAt(i));
  return out;
}

/** A Name of single-valued RDNs, each an AttributeTypeAndValue. */
const name = (...atvs: Buffer[]) => seq(...atvs.map((a) => set(a)));

/** An Extension: extnID, critical when asked, extnValue. */
const extension = (id: string, value: Buffer, critical = false) =>
  seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), octets(value));
const extensionRequest = (...extensions: Buffer[]) =>
  seq(OID.extensionRequest, set(seq(...extensions)));
const dnsSan = (...names: string[]) =>
  extension("2.5.29.17", seq(...names.map((n) => tlv(0x82, Buffer.from(n, "latin1")))));

function csr(subject: Buffer, extensions: Buffer[] = [dnsSan("a.example.com")]) {
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return rawCsr({
    privateKey: key.privateKey as KeyObject,
    subject,
    spki: key.publicKey.export({ type: "spki", format: "der" }),
    attributes: extensions.length > 0 ? [extensionRequest(...extensions)] : [],
  });
}

describe("probe52 policy: CSR subjects and requested extensions", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";

  beforeAll(async () => {
    live = await startLive();
    rootPem = (await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256)).certificatePem;
    await createPolicy(live, "web", {
      sanRules: { dns: { allowed: ["**.example.com"] } },
      subjectRules: { commonName: { allowed: ["*"] }, organization: { allowed: ["*"] } },
    });
    await createProfile(live, "web", "web", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  const REFUSED: Array<[string, () => string]> = [
    ["a BMPString CN evil.org", () => csr(name(atv(CN, bmpOf("evil.org"))))],
    ["a UniversalString CN evil.org", () => csr(name(atv(CN, universal("evil.org"))))],
    ["a TeletexString CN evil.org", () => csr(name(atv(CN, str(TELETEX, "evil.org"))))],
    ["a PrintableString CN evil.org", () => csr(name(atv(CN, str(PRINTABLE, "evil.org"))))],
    ["an IA5String CN evil.org", () => csr(name(atv(CN, str(IA5, "evil.org"))))],
    [
      "a BMPString CN of mathematical bold letters reading evil.org",
      () => csr(name(atv(CN, bmpOf("\u{1d41e}vil.org")))),
    ],
    ["a fullwidth CN reading evil.org", () => csr(name(atv(CN, utf8("\uff45vil\uff0eorg"))))],
    [
      "an allowed CN followed by a second CN evil.org",
      () => csr(name(atv(CN, utf8("a.example.com")), atv(CN, utf8("evil.org")))),
    ],
    [
      "a second CN evil.org before the allowed one",
      () => csr(name(atv(CN, utf8("evil.org")), atv(CN, utf8("a.example.com")))),
    ],
    [
      "a CN evil.org inside a multi-valued RDN with an allowed CN",
      () => csr(seq(set(atv(CN, utf8("a.example.com")), atv(CN, utf8("evil.org"))))),
    ],
    [
      "a CN evil.org inside a multi-valued RDN with O",
      () => csr(seq(set(atv(O, utf8("Acme")), atv(CN, utf8("evil.org"))))),
    ],
    [
      "DC=evil, DC=org beside an allowed CN",
      () =>
        csr(
          name(atv(DC, str(IA5, "org")), atv(DC, str(IA5, "evil")), atv(CN, utf8("a.example.com"))),
        ),
    ],
    [
      "a UID beside an allowed CN",
      () => csr(name(atv(UID, utf8("root")), atv(CN, utf8("a.example.com")))),
    ],
    [
      "an emailAddress the policy has no rule for (as UTF8String)",
      () => csr(name(atv(CN, utf8("a.example.com")), atv(EMAIL, utf8("ceo@evil.org")))),
    ],
    ["a CN that is an email address", () => csr(name(atv(CN, utf8("ceo@evil.org"))))],
    ["a CN that is a URI", () => csr(name(atv(CN, utf8("https://evil.org/"))))],
    ["a CN that is an IP address", () => csr(name(atv(CN, utf8("192.0.2.1"))))],
    [
      "a CN with a right-to-left override showing a.example.com",
      () => csr(name(atv(CN, utf8("\u202emoc.elpmaxe.a"))), [dnsSan("a.example.com")]),
    ],
    [
      "a BMPString CN with a NUL after the allowed name",
      () =>
        csr(name(atv(CN, bmp([..."a.example.com"].map((c) => c.charCodeAt(0)).concat([0, 0x65]))))),
    ],
    ["a BMPString CN with a lone surrogate", () => csr(name(atv(CN, bmp([0x61, 0xd800, 0x62]))))],
    [
      "a UTF8String CN that is not UTF-8 (Latin-1 bytes)",
      () => csr(name(atv(CN, tlv(UTF8, Buffer.from("b\u00fccher.example.com", "latin1"))))),
    ],
    [
      "an O that reads evil.org followed by a CN the SANs miss",
      () =>
        csr(name(atv(O, utf8("Acme")), atv(CN, utf8("evil.example.org"))), [
          dnsSan("a.example.com"),
        ]),
    ],
  ];

  // RFC 9598: an internationalised mailbox goes in an otherName SmtpUTF8Mailbox, never in an
  // rfc822Name (IA5String). Neither may carry one here: the policy allows no email names.
  REFUSED.push(
    [
      "an otherName SmtpUTF8Mailbox beside an allowed DNS name",
      () =>
        csr(name(atv(CN, utf8("a.example.com"))), [
          extension(
            "2.5.29.17",
            seq(
              tlv(0x82, Buffer.from("a.example.com")),
              tlv(0xa0, oid("1.3.6.1.5.5.7.8.9"), tlv(0xa0, utf8("\u00fc@evil.org"))),
            ),
          ),
        ]),
    ],
    [
      "an rfc822Name with UTF-8 octets beside an allowed DNS name",
      () =>
        csr(name(atv(CN, utf8("a.example.com"))), [
          extension(
            "2.5.29.17",
            seq(
              tlv(0x82, Buffer.from("a.example.com")),
              tlv(0x81, Buffer.from("\u00fc@example.com", "utf8")),
            ),
          ),
        ]),
    ],
  );

  it.each(REFUSED)("refuses %s, storing nothing", async (_what, make) => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(issueCertificate(live, csrRequest("web", make())));
    expect(e.code, e.message).toBe(3);
    expect(e.reason, e.message).toBeTruthy();
    expect(e.violations.map((v) => v.field).join(","), e.message).toMatch(/csr|subject/);
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("a CSR without a SAN and a CN that is a host name: the CN is signed among the SANs", async () => {
    const res = await issueCertificate(
      live,
      csrRequest("web", csr(name(atv(CN, bmpOf("Only.Example.COM"))), [])),
    );
    const pem = res.certificate!.certificatePem;
    expect(sanText(tmp, pem)).toBe("DNS:only.example.com");
    expect(subjectText(tmp, pem)).toBe("CN=only.example.com");
    expect(strictVerify(tmp, pem, [rootPem], [], ["-verify_hostname", "only.example.com"])).toMatch(
      /OK/,
    );
  });

  it("usages, CA flags and name constraints a CSR asks for do not reach the certificate", async () => {
    const extensions = [
      dnsSan("u.example.com"),
      // codeSigning and anyExtendedKeyUsage.
      extension("2.5.29.37", seq(oid("1.3.6.1.5.5.7.3.3"), oid("2.5.29.37.0"))),
      // digitalSignature, keyCertSign, cRLSign (bits 0, 5, 6; one unused bit).
      extension("2.5.29.15", tlv(0x03, Buffer.from([0x01, 0x86])), true),
      // A pathLenConstraint without cA (RFC 5280 4.2.1.9: only meaningful with cA TRUE).
      extension("2.5.29.19", seq(tlv(0x02, Buffer.from([0x03]))), true),
      // Name constraints permitting evil.org (a CSR has no say in them).
      extension("2.5.29.30", seq(tlv(0xa0, seq(tlv(0x82, Buffer.from("evil.org"))))), true),
    ];
    const before = await certificateCount(live.db);
    const r = await issueCertificate(
      live,
      csrRequest("web", csr(name(atv(CN, utf8("u.example.com"))), extensions)),
    ).catch((e: unknown) => e);
    if (r instanceof Error) {
      // Refusing the CSR is as good, with INVALID_ARGUMENT and nothing stored.
      const e = await expectRpcError(Promise.reject(r));
      expect(e.code, e.message).toBe(3);
      expect(await certificateCount(live.db)).toBe(before);
      return;
    }
    const pem = (r as { certificate: { certificatePem: string } }).certificate.certificatePem;
    const cert = parseCert(pem);
    expect(cert.ext(X509.nameConstraints)).toBeUndefined();
    const bc = cert.ext(X509.basicConstraints);
    if (bc) expect(basicConstraints(bc.value)).toMatchObject({ ca: false, pathLen: undefined });
    expect(extKeyUsage(cert.ext(X509.extKeyUsage)!.value)).toEqual([X509.serverAuth]);
    const ku = keyUsage(cert.ext(X509.keyUsage)!.value).bits;
    expect(ku).not.toContain("keyCertSign");
    expect(ku).not.toContain("cRLSign");
    expect(strictVerify(tmp, pem, [rootPem], [], ["-purpose", "sslserver"])).toMatch(/OK/);
    // The certificate must not sign another one: a leaf it signed fails verification.
    expect(strictVerify(tmp, pem, [rootPem], [], ["-purpose", "codesign"])).not.toMatch(/: OK/);
  });
});
