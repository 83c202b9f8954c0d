import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { GetCertificateRevocationListResponse } from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { SignedCrl } from "../issuance/ca/crl";
import { crlPemLength, writeCrlPem } from "../signer";
import { MESSAGE_PREFIX_BYTES, preEncodedResponse } from "./reusable-response";

/**
 * The answer for a CRL, made once per CRL: the cache returns the same SignedCrl while it holds
 * (crl-cache.ts), and the same message, already encoded, is sent to every caller.
 *
 * A CRL of 10^5 entries is 5 MB of DER and 6.7 MB of PEM: the generated encoder made the PEM
 * string, encoded it to UTF-8, gathered its chunks and copied the result, about 60 ms in one
 * piece during which every other call waited (bench/scale). Here the small fields are encoded
 * by the generated code and the two large ones appended as length-delimited fields from bytes
 * (protobuf fields may come in any order, and a message is the concatenation of its fields),
 * all written into one buffer of the message's length: the PEM a slice at a time, with other
 * calls served between slices (issue 14: made in one piece, with a copy to join the parts, it
 * held the event loop for 15-40 ms right after each CRL signing). The message's crl_pem string
 * is made only if something reads it.
 */
const responses = new WeakMap<
  SignedCrl,
  Map<CrlForms, Promise<GetCertificateRevocationListResponse>>
>();

/** The forms an answer carries (the request's encoding): both, as before it existed, or one. */
export type CrlForms = "BOTH" | "DER" | "PEM";

export function crlResponse(
  crl: SignedCrl,
  forms: CrlForms = "BOTH",
): Promise<GetCertificateRevocationListResponse> {
  let byForms = responses.get(crl);
  if (!byForms) {
    byForms = new Map();
    responses.set(crl, byForms);
  }
  let response = byForms.get(forms);
  if (!response) {
    response = forms === "DER" ? encodeDerOnly(crl) : encode(crl, forms === "BOTH");
    byForms.set(forms, response);
  }
  return response;
}

/**
 * The answer to a caller that already holds this CRL (its known_crl_number is this one's): the
 * number and times, no CRL. A cRLNumber is never reused for different contents (RFC 5280 5.2.3:
 * monotonically increasing, and every signing takes the next), so an equal number is the same CRL.
 */
export function unchangedCrlResponse(crl: SignedCrl): GetCertificateRevocationListResponse {
  return {
    crlNumber: crl.crlNumber.toString(),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    crlPem: "",
    crlDer: Buffer.alloc(0),
    unchanged: true,
  };
}

/** The message's small fields: the CRL's number and times, as the generated encoder writes them. */
function smallFields(crl: SignedCrl) {
  const small = {
    crlNumber: crl.crlNumber.toString(),
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    unchanged: false,
  };
  const head = GetCertificateRevocationListResponse.encode({
    ...small,
    crlPem: "",
    crlDer: Buffer.alloc(0),
  }).finish();
  return { small, head };
}

/** crl_der alone: the DER copied once behind the small fields (no PEM is made). */
async function encodeDerOnly(crl: SignedCrl): Promise<GetCertificateRevocationListResponse> {
  const { small, head } = smallFields(crl);
  const derField = fieldHeader(2, crl.der.length); // crl_der
  const lead = MESSAGE_PREFIX_BYTES; // the gRPC message prefix, written by preEncodedResponse
  const bytes = Buffer.allocUnsafe(lead + head.length + derField.length + crl.der.length);
  bytes.set(head, lead);
  bytes.set(derField, lead + head.length);
  crl.der.copy(bytes, lead + head.length + derField.length);
  return preEncodedResponse({ ...small, crlDer: crl.der, crlPem: "" }, bytes);
}

/** crl_pem, and crl_der after it when `withDer`. */
async function encode(
  crl: SignedCrl,
  withDer: boolean,
): Promise<GetCertificateRevocationListResponse> {
  const { small, head } = smallFields(crl);
  const pemLength = crlPemLength(crl.der.length);
  const pemField = fieldHeader(1, pemLength); // crl_pem
  const derField = withDer ? fieldHeader(2, crl.der.length) : new Uint8Array(0); // crl_der
  const derLength = withDer ? crl.der.length : 0;
  const bytes = Buffer.allocUnsafe(
    MESSAGE_PREFIX_BYTES + head.length + pemField.length + pemLength + derField.length + derLength,
  );
  bytes.set(head, MESSAGE_PREFIX_BYTES);
  let at = MESSAGE_PREFIX_BYTES + head.length;
  bytes.set(pemField, at);
  at += pemField.length;
  const pemStart = at;
  at = await writeCrlPem(crl.der, bytes, at);
  const pem = bytes.subarray(pemStart, at);
  if (withDer) {
    bytes.set(derField, at);
    crl.der.copy(bytes, at + derField.length);
  }
  return preEncodedResponse(
    {
      ...small,
      crlDer: withDer ? crl.der : Buffer.alloc(0),
      get crlPem() {
        return pem.toString("latin1");
      },
    },
    bytes,
  );
}

/** The tag (wire type 2, length-delimited) and length of a field whose bytes follow. */
function fieldHeader(field: number, length: number): Uint8Array {
  return new BinaryWriter()
    .uint32((field << 3) | 2)
    .uint32(length)
    .finish();
}
