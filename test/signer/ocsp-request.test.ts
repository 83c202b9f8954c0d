/**
 * parseOcspRequest and request extensions (RFC 6960 4.4): a nonce is read, an unrecognised
 * extension is ignored unless it is critical, a critical one certmint does not understand (in
 * requestExtensions or a Request's singleRequestExtensions) or a repeated one is a malformed
 * request. Requests are built with node-forge (test/support/ocsp-request.ts).
 */
import forge from "node-forge";
import { describe, expect, it } from "vitest";
import { parseOcspRequest } from "../../src/signer";
import { nonceValue, withOcspExtension } from "../support/ocsp-request";

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;

/** An OCSPRequest for one CertID (SHA-1, made-up hashes, serial 0x0a0b), no extensions. */
function baseRequest(): Buffer {
  const certId = asn1.create(U, asn1.Type.SEQUENCE, true, [
    asn1.create(U, asn1.Type.SEQUENCE, true, [
      asn1.create(U, asn1.Type.OID, false, asn1.oidToDer("1.3.14.3.2.26").getBytes()),
      asn1.create(U, asn1.Type.NULL, false, ""),
    ]),
    asn1.create(U, asn1.Type.OCTETSTRING, false, "\x01".repeat(20)),
    asn1.create(U, asn1.Type.OCTETSTRING, false, "\x02".repeat(20)),
    asn1.create(U, asn1.Type.INTEGER, false, "\x0a\x0b"),
  ]);
  const request = asn1.create(U, asn1.Type.SEQUENCE, true, [
    asn1.create(U, asn1.Type.SEQUENCE, true, [
      asn1.create(U, asn1.Type.SEQUENCE, true, [
        asn1.create(U, asn1.Type.SEQUENCE, true, [certId]),
      ]),
    ]),
  ]);
  return Buffer.from(asn1.toDer(request).getBytes(), "latin1");
}

const UNKNOWN = "1.3.6.1.4.1.55555.1";
const NONCE = "1.3.6.1.5.5.7.48.1.2";
const ACCEPTABLE_RESPONSES = "1.3.6.1.5.5.7.48.1.4";

const malformed = (der: Buffer) => {
  try {
    parseOcspRequest(der);
  } catch (err) {
    return `${(err as { reason?: string }).reason}: ${(err as Error).message}`;
  }
  return "parsed";
};

describe("OCSP request extensions (RFC 6960 4.4)", () => {
  it("reads a request without extensions and one with a critical nonce", () => {
    expect(parseOcspRequest(baseRequest()).certIds[0]!.serialHex).toBe("0a0b");
    const nonce = Buffer.from("0123456789abcdef");
    const parsed = parseOcspRequest(
      withOcspExtension(baseRequest(), { oid: NONCE, critical: true, value: nonceValue(nonce) }),
    );
    expect(parsed.nonce).toEqual(nonceValue(nonce));
  });

  it("ignores an unrecognised extension that is not critical, in either place", () => {
    const ext = { oid: UNKNOWN, critical: false, value: Buffer.from([0x05, 0x00]) };
    expect(malformed(withOcspExtension(baseRequest(), ext))).toBe("parsed");
    expect(malformed(withOcspExtension(baseRequest(), ext, "single"))).toBe("parsed");
  });

  it("accepts a critical extension it understands (acceptable responses)", () => {
    const basic = Buffer.from(
      asn1
        .toDer(
          asn1.create(U, asn1.Type.SEQUENCE, true, [
            asn1.create(U, asn1.Type.OID, false, asn1.oidToDer("1.3.6.1.5.5.7.48.1.1").getBytes()),
          ]),
        )
        .getBytes(),
      "latin1",
    );
    const der = withOcspExtension(baseRequest(), {
      oid: ACCEPTABLE_RESPONSES,
      critical: true,
      value: basic,
    });
    expect(malformed(der)).toBe("parsed");
  });

  it("refuses a critical extension it does not understand, in requestExtensions or a Request", () => {
    const ext = { oid: UNKNOWN, critical: true, value: Buffer.from([0x05, 0x00]) };
    expect(malformed(withOcspExtension(baseRequest(), ext))).toMatch(
      /^OCSP_REQUEST_MALFORMED: .*critical extension 1\.3\.6\.1\.4\.1\.55555\.1 is not supported/,
    );
    expect(malformed(withOcspExtension(baseRequest(), ext, "single"))).toMatch(
      /^OCSP_REQUEST_MALFORMED: .*critical extension/,
    );
  });

  it("refuses an extension that appears twice (RFC 5280 4.2)", () => {
    const nonce = { oid: NONCE, critical: false, value: nonceValue(Buffer.from("abcdefgh")) };
    const twice = withOcspExtension(withOcspExtension(baseRequest(), nonce), nonce);
    expect(malformed(twice)).toMatch(/^OCSP_REQUEST_MALFORMED: .*appears twice/);
  });
});
