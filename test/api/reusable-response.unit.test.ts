/**
 * Responses marked reusable (a cached CRL's answer) are encoded once and their bytes sent
 * again; every other response is encoded per call (src/api/reusable-response.ts).
 */
import { describe, expect, it } from "vitest";
import { GetCertificateRevocationListResponse } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { encodingReusableOnce, reusableResponse } from "../../src/api/reusable-response";

const message = (n: string): GetCertificateRevocationListResponse => ({
  crlPem: `-----BEGIN X509 CRL-----\n${n}\n-----END X509 CRL-----\n`,
  crlDer: Buffer.from(n),
  crlNumber: n,
  thisUpdate: new Date("2026-12-02T00:00:00Z"),
  nextUpdate: new Date("2026-12-03T00:00:00Z"),
  unchanged: false,
});

describe("reusable responses", () => {
  const counting = () => {
    let encoded = 0;
    const serialize = encodingReusableOnce((m: GetCertificateRevocationListResponse) => {
      encoded++;
      return Buffer.from(GetCertificateRevocationListResponse.encode(m).finish());
    });
    return { serialize, encoded: () => encoded };
  };

  it("a reusable message is encoded once, and its bytes decode to it", () => {
    const { serialize, encoded } = counting();
    const reused = reusableResponse(message("7"));
    const first = serialize(reused);
    const again = serialize(reused);
    expect(encoded()).toBe(1);
    expect(again).toBe(first);
    expect(GetCertificateRevocationListResponse.decode(first)).toEqual(reused);
  });

  it("other messages are encoded on every call, each with its own content", () => {
    const { serialize, encoded } = counting();
    const plain = message("8");
    serialize(plain);
    plain.crlNumber = "9"; // a plain message may change between sends
    expect(GetCertificateRevocationListResponse.decode(serialize(plain)).crlNumber).toBe("9");
    const other = reusableResponse(message("10"));
    expect(GetCertificateRevocationListResponse.decode(serialize(other)).crlNumber).toBe("10");
    expect(encoded()).toBe(3);
  });
});
