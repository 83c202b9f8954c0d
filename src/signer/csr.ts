/**
 * PKCS #10 certification requests (RFC 2986), parsed with forge.asn1 (forge's own CSR parser
 * only understands RSA) and verified with Node's crypto over the exact CertificationRequestInfo
 * bytes that were signed.
 *
 * Contract: parseCsr returns a ParsedCsr or throws a CertmintError, never anything else, and
 * its work is bounded by the input size limit (default 64 KiB) and a nesting depth limit.
 * Reasons: CSR_TOO_LARGE, CSR_MALFORMED, CSR_KEY_TOO_WEAK, CSR_KEY_UNSUPPORTED,
 * CSR_KEY_EXPLICIT_CURVE, CSR_KEY_ENCODING_INVALID, CSR_SIGNATURE_ALGORITHM_UNSUPPORTED,
 * CSR_SIGNATURE_INVALID, CSR_SUBJECT_UNSUPPORTED, CSR_SAN_UNSUPPORTED, and the bounds of
 * csr-bounds.ts (CSR_SUBJECT_TOO_MANY_VALUES, CSR_SUBJECT_VALUE_TOO_LONG, CSR_SAN_TOO_MANY,
 * CSR_SAN_TOO_LONG).
 */
import { type KeyObject, verify } from "node:crypto";
import { CertmintError } from "../errors";
import type { KeyAlgorithm, SignatureAlgorithm, SubjectAltNames, SubjectName } from "../model/pki";
import { checkPublicKey, SIGNATURE_ALGORITHM_INFO } from "./algorithms";
import { csrBoundsError } from "./csr-bounds";
import {
  csrError,
  csrMalformed,
  type RequestedExtensions,
  readCsrAttributes,
  readSignatureAlgorithm,
} from "./csr-fields";
import { type Asn1, Class, parseDer, toDer } from "./der";
import { children, DerShapeError, readBitString, readSmallInt } from "./der-read";
import { subjectFromAsn1, UnrepresentableNameError } from "./name";
import { decodePem, PemError } from "./pem";
import { importSpki, isCanonicalSpki, spkiFormProblem } from "./spki";

export type { RequestedExtensions } from "./csr-fields";

export const DEFAULT_CSR_MAX_BYTES = 64 * 1024;

export interface ParsedCsr {
  subject: SubjectName;
  sans: SubjectAltNames;
  publicKey: KeyObject;
  keyAlgorithm: KeyAlgorithm;
  /** What the requester signed the CSR with (says nothing about how we sign the certificate). */
  signatureAlgorithm: SignatureAlgorithm;
  requestedExtensions: RequestedExtensions;
  der: Buffer;
}

export interface ParseCsrOptions {
  maxBytes?: number;
}

const malformed = csrMalformed;

/** Parses and verifies a PEM CSR ("CERTIFICATE REQUEST", or the legacy "NEW CERTIFICATE REQUEST"). */
export function parseCsr(pem: string, opts: ParseCsrOptions = {}): ParsedCsr {
  const maxBytes = opts.maxBytes ?? DEFAULT_CSR_MAX_BYTES;
  if (typeof pem !== "string") throw malformed("expected PEM text");
  if (pem.length > maxBytes || Buffer.byteLength(pem) > maxBytes) {
    throw csrError("CSR_TOO_LARGE", `the CSR is larger than the ${maxBytes}-byte limit`);
  }
  let der: Buffer;
  try {
    der = decodePem(pem, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]).der;
  } catch (e) {
    throw malformed(e instanceof PemError ? e.message : "invalid PEM");
  }
  return parseCsrDer(der, opts);
}

/** Parses and verifies a DER CSR. */
export function parseCsrDer(der: Uint8Array, opts: ParseCsrOptions = {}): ParsedCsr {
  const maxBytes = opts.maxBytes ?? DEFAULT_CSR_MAX_BYTES;
  if (!(der instanceof Uint8Array)) throw malformed("expected DER bytes");
  if (der.length > maxBytes) {
    throw csrError("CSR_TOO_LARGE", `the CSR is larger than the ${maxBytes}-byte limit`);
  }
  try {
    return parseVerified(Buffer.from(der));
  } catch (e) {
    if (e instanceof CertmintError) throw e;
    if (e instanceof DerShapeError) throw malformed(e.message);
    if (e instanceof UnrepresentableNameError)
      throw csrError("CSR_SUBJECT_UNSUPPORTED", `the CSR subject cannot be issued: ${e.message}`);
    throw malformed("the structure could not be decoded");
  }
}

function parseVerified(der: Buffer): ParsedCsr {
  let node: Asn1;
  try {
    const parsed = parseDer(der);
    if (parsed.trailing > 0) throw malformed(`${parsed.trailing} bytes of trailing data`);
    node = parsed.node;
  } catch (e) {
    if (e instanceof CertmintError) throw e;
    throw malformed("not valid DER (truncated or corrupted data?)");
  }
  // DER is the only encoding whose bytes are unambiguous; refusing BER also guarantees that
  // re-encoding any parsed element reproduces exactly the bytes that were signed.
  if (!toDer(node).equals(der)) throw malformed("not DER-encoded (BER lengths or forms)");

  const top = children(node, "CertificationRequest");
  if (top.length !== 3) throw malformed("expected certificationRequestInfo, algorithm, signature");
  const [cri, algNode, sigNode] = top as [Asn1, Asn1, Asn1];
  const criItems = children(cri, "CertificationRequestInfo");
  const [versionNode, subjectNode, spkiNode, attributesNode] = criItems;
  if (readSmallInt(versionNode, "version") !== 0)
    throw malformed("unsupported version (expected v1)");
  if (
    criItems.length > 4 ||
    (attributesNode && attributesNode.tagClass !== Class.CONTEXT_SPECIFIC)
  ) {
    throw malformed("unexpected fields in certificationRequestInfo");
  }
  // Explicit curve parameters and other non-RFC key encodings are refused, not re-encoded.
  const form = spkiFormProblem(spkiNode);
  if (form) throw csrError(`CSR_KEY_${form.problem}`, `the CSR key is refused: ${form.message}`);

  let publicKey: KeyObject;
  try {
    publicKey = importSpki(spkiNode as Asn1);
  } catch {
    throw malformed("the public key could not be decoded");
  }
  const keyCheck = checkPublicKey(publicKey);
  if (!keyCheck.ok)
    throw csrError(`CSR_KEY_${keyCheck.problem}`, `the CSR key is refused: ${keyCheck.message}`);
  if (!isCanonicalSpki(spkiNode as Asn1, publicKey)) {
    throw csrError(
      "CSR_KEY_ENCODING_INVALID",
      "the CSR key is refused: its SubjectPublicKeyInfo is not the DER encoding of the key (RFC 5280 4.1.2.7), e.g. an RSA modulus with leading zero octets",
    );
  }

  const signatureAlgorithm = readSignatureAlgorithm(algNode, keyCheck.algorithm);
  const signature = readBitString(sigNode, "signature");
  if (signature.unusedBits !== 0) throw malformed("the signature BIT STRING has unused bits");
  if (!verifySignature(signatureAlgorithm, toDer(cri), publicKey, signature.bytes)) {
    throw csrError(
      "CSR_SIGNATURE_INVALID",
      "the CSR signature does not verify: the CSR was modified after signing, or not signed by the key it contains",
    );
  }

  const { sans, requestedExtensions } = readCsrAttributes(attributesNode);
  const subject = subjectFromAsn1(subjectNode as Asn1);
  const bounds = csrBoundsError(subject, sans);
  if (bounds) throw bounds;
  return {
    subject,
    sans,
    publicKey,
    keyAlgorithm: keyCheck.algorithm,
    signatureAlgorithm,
    requestedExtensions,
    der,
  };
}

function verifySignature(
  alg: SignatureAlgorithm,
  data: Buffer,
  key: KeyObject,
  signature: string,
): boolean {
  try {
    return verify(
      SIGNATURE_ALGORITHM_INFO[alg].hash,
      data,
      { key, dsaEncoding: "der" },
      Buffer.from(signature, "latin1"),
    );
  } catch {
    return false; // e.g. an ECDSA signature that is not a DER Ecdsa-Sig-Value
  }
}
