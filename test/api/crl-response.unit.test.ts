/**
 * The GetCertificateRevocationList answer assembled from bytes (src/api/crl-response.ts)
 * decodes, with the generated decoder, to exactly what the generated encoder would have sent:
 * the CRL's PEM (RFC 7468, 64-character lines) and DER, its number and times. The PEM is
 * written a slice of lines at a time (signer/der.ts writePemBytes): the slices make toPem's text.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GetCertificateRevocationListResponse } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { crlResponse } from "../../src/api/crl-response";
import { encodingReusableOnce } from "../../src/api/reusable-response";
import type { SignedCrl } from "../../src/issuance/ca/crl";
import { crlPem } from "../../src/signer";
import { pemBytesLength, toPem, writePemBytes } from "../../src/signer/der";

const signed = (size: number): SignedCrl => ({
  der: randomBytes(size),
  crlNumber: 12345678901234567890n,
  thisUpdate: new Date("2026-12-02T10:00:00Z"),
  nextUpdate: new Date("2026-12-03T10:00:00Z"),
  revocationCount: "7",
  sharesThisUpdate: false,
});
const serialize = encodingReusableOnce((m: GetCertificateRevocationListResponse) =>
  Buffer.from(GetCertificateRevocationListResponse.encode(m).finish()),
);

describe("the CRL answer", () => {
  // Sizes around the PEM line (48 DER bytes), the varint length boundaries (128, 16384) and
  // the PEM's slices (2,048 lines: 98,304 DER bytes).
  it.each([1, 47, 48, 49, 95, 96, 127, 128, 16_383, 16_384, 98_303, 98_304, 98_305, 1_000_003])(
    "of %i DER bytes decodes to what the generated encoder sends",
    async (size) => {
      const crl = signed(size);
      const expected = {
        crlPem: crlPem(crl.der),
        crlDer: crl.der,
        crlNumber: crl.crlNumber.toString(),
        thisUpdate: crl.thisUpdate,
        nextUpdate: crl.nextUpdate,
        unchanged: false,
      };
      const response = await crlResponse(crl);
      const sent = serialize(response);
      expect(GetCertificateRevocationListResponse.decode(sent)).toEqual(expected);
      expect(response.crlPem).toBe(expected.crlPem);
      expect(sent.length).toBe(
        GetCertificateRevocationListResponse.encode(expected).finish().length,
      );
    },
  );

  it.each([1, 48, 16_384, 98_305, 1_000_003])(
    "of %i DER bytes, one form alone (DER or PEM) decodes to what the generated encoder sends",
    async (size) => {
      const crl = signed(size);
      const small = {
        crlNumber: crl.crlNumber.toString(),
        thisUpdate: crl.thisUpdate,
        nextUpdate: crl.nextUpdate,
        unchanged: false,
      };
      for (const [forms, expected] of [
        ["DER", { ...small, crlPem: "", crlDer: crl.der }],
        ["PEM", { ...small, crlPem: crlPem(crl.der), crlDer: Buffer.alloc(0) }],
      ] as const) {
        const response = await crlResponse(crl, forms);
        const sent = serialize(response);
        expect(GetCertificateRevocationListResponse.decode(sent), forms).toEqual(expected);
        expect(response.crlPem).toBe(expected.crlPem);
        expect(Buffer.from(response.crlDer).equals(expected.crlDer)).toBe(true);
        expect(sent.length).toBe(
          GetCertificateRevocationListResponse.encode(expected).finish().length,
        );
      }
    },
  );

  it("is made once per CRL and sent as the same bytes", async () => {
    const crl = signed(500);
    const first = await crlResponse(crl);
    expect(await crlResponse(crl)).toBe(first);
    expect(serialize(first)).toBe(serialize(await crlResponse(crl)));
    expect(await crlResponse(signed(500))).not.toBe(first);
    // Each form once, apart from the others.
    const der = await crlResponse(crl, "DER");
    expect(await crlResponse(crl, "DER")).toBe(der);
    expect(der).not.toBe(first);
    expect(await crlResponse(crl, "BOTH")).toBe(first);
  });
});

describe("PEM written in slices", () => {
  it.each([
    [0, 1],
    [1, 1],
    [48, 1],
    [49, 1],
    [96, 1],
    [97, 2],
    [1_000, 3],
    [4_801, 100],
  ])("of %i DER bytes, %i lines per slice, is toPem's text", async (size, linesPerTurn) => {
    const der = randomBytes(size);
    const out = Buffer.alloc(pemBytesLength("X509 CRL", size) + 4, 0xff);
    const end = await writePemBytes("X509 CRL", der, out, 2, linesPerTurn);
    expect(end).toBe(out.length - 2);
    expect(out.subarray(2, end).toString("latin1")).toBe(toPem("X509 CRL", der));
    // Nothing written outside its place.
    expect([out[0], out[1], out[end], out[end + 1]]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});
