import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { GetCertificateRevocationListResponse } from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { SignedCrl } from "../issuance/ca/crl";
import { crlPemBytes } from "../signer";
import { preEncodedResponse } from "./reusable-response";

/**
 * The answer for a CRL, made once per CRL: the cache returns the same SignedCrl while it holds
 * (crl-cache.ts), and the same message, already encoded, is sent to every caller.
 *
 * A CRL of 10^5 entries is 5 MB of DER and 6.7 MB of PEM: the generated encoder made the PEM
 * string, encoded it to UTF-8, gathered its chunks and copied the result, about 60 ms in one
 * piece during which every other call waited (bench/scale). Here the small fields are encoded
 * by the generated code and the two large ones appended as length-delimited fields from bytes
 * (protobuf fields may come in any order, and a message is the concatenation of its fields),
 * in one copy. The message's crl_pem is made only if something reads it.
 */
const responses = new WeakMap<SignedCrl, GetCertificateRevocationListResponse>();

export function crlResponse(crl: SignedCrl): GetCertificateRevocationListResponse {
  let response = responses.get(crl);
  if (!response) {
    const pem = crlPemBytes(crl.der);
    const small = {
      crlNumber: crl.crlNumber.toString(),
      thisUpdate: crl.thisUpdate,
      nextUpdate: crl.nextUpdate,
    };
    const bytes = Buffer.concat([
      GetCertificateRevocationListResponse.encode({
        ...small,
        crlPem: "",
        crlDer: Buffer.alloc(0),
      }).finish(),
      fieldHeader(1, pem.length), // crl_pem
      pem,
      fieldHeader(2, crl.der.length), // crl_der
      crl.der,
    ]);
    response = preEncodedResponse(
      {
        ...small,
        crlDer: crl.der,
        get crlPem() {
          return pem.toString("latin1");
        },
      },
      bytes,
    );
    responses.set(crl, response);
  }
  return response;
}

/** The tag (wire type 2, length-delimited) and length of a field whose bytes follow. */
function fieldHeader(field: number, length: number): Uint8Array {
  return new BinaryWriter()
    .uint32((field << 3) | 2)
    .uint32(length)
    .finish();
}
