/**
 * The GetCertificateRevocationList answer assembled from bytes (src/api/crl-response.ts)
 * decodes, with the generated decoder, to exactly what the generated encoder would have sent:
 * the CRL's PEM (RFC 7468, 64-character lines) and DER, its number and times.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GetCertificateRevocationListResponse } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { crlResponse } from "../../src/api/crl-response";
import { encodingReusableOnce } from "../../src/api/reusable-response";
import type { SignedCrl } from "../../src/issuance/ca/crl";
import { crlPem } from "../../src/signer";

const signed = (size: number): SignedCrl => ({
  der: randomBytes(size),
  crlNumber: 12345678901234567890n,
  thisUpdate: new Date("2026-12-02T10:00:00Z"),
  nextUpdate: new Date("2026-12-03T10:00:00Z"),
  revocationCount: "7",
});
const serialize = encodingReusableOnce((m: GetCertificateRevocationListResponse) =>
  Buffer.from(GetCertificateRevocationListResponse.encode(m).finish()),
);

describe("the CRL answer", () => {
  // Sizes around the PEM line (48 DER bytes) and the varint length boundaries (128, 16384).
  it.each([1, 47, 48, 49, 95, 96, 127, 128, 16_383, 16_384, 1_000_003])(
    "of %i DER bytes decodes to what the generated encoder sends",
    (size) => {
      const crl = signed(size);
      const expected = {
        crlPem: crlPem(crl.der),
        crlDer: crl.der,
        crlNumber: crl.crlNumber.toString(),
        thisUpdate: crl.thisUpdate,
        nextUpdate: crl.nextUpdate,
      };
      const response = crlResponse(crl);
      const sent = serialize(response);
      expect(GetCertificateRevocationListResponse.decode(sent)).toEqual(expected);
      expect(response.crlPem).toBe(expected.crlPem);
      expect(sent.length).toBe(
        GetCertificateRevocationListResponse.encode(expected).finish().length,
      );
    },
  );

  it("is made once per CRL and sent as the same bytes", () => {
    const crl = signed(500);
    const first = crlResponse(crl);
    expect(crlResponse(crl)).toBe(first);
    expect(serialize(first)).toBe(serialize(crlResponse(crl)));
    expect(crlResponse(signed(500))).not.toBe(first);
  });
});
