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
import type { KeyObject } from "node:crypto";
import { CertmintError } from "../errors";
import type { KeyAlgorithm, SignatureAlgorithm, SubjectAltNames, SubjectName } from "../model/pki";
import { checkPublicKey, SIGNATURE_ALGORITHM_INFO, signatureAlgorithmFromOid } from "./algorithms";
import { csrBoundsError } from "./csr-bounds";
import {
  csrError,
  csrMalformed,
  type RequestedExtensions,
  readCsrAttributes,
  readSignatureAlgorithm,
} from "./csr-fields";
import { importAndVerify, type SignatureOutcome, type SignatureTask } from "./csr-signature";
import { type Asn1, Class, firstInnerElement, isForgeDer, parseDer } from "./der";
import { children, DerShapeError, readBitString, readOid, readSmallInt } from "./der-read";
import { subjectFromAsn1, UnrepresentableNameError } from "./name";
import { decodePem, PemError } from "./pem";
import {
  adoptImportedKey,
  isCanonicalSpki,
  rsaSizeProblem,
  rsaWeakModulusProblem,
  type SpkiImport,
  spkiFormProblem,
  spkiImportOf,
} from "./spki";

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
  const read = readCsrPem(pem, opts);
  return guarded(() => finishCsr(read, importAndVerify(read.signature)));
}

/** Parses and verifies a DER CSR. */
export function parseCsrDer(der: Uint8Array, opts: ParseCsrOptions = {}): ParsedCsr {
  const read = readCsrDer(der, opts);
  return guarded(() => finishCsr(read, importAndVerify(read.signature)));
}

/**
 * parseCsr with the key's import and the signature check (csr-signature.ts) done by `check`,
 * e.g. on a worker thread (csr-workers.ts): the same result, or the same error.
 */
export async function parseCsrWith(
  pem: string,
  check: (task: SignatureTask) => Promise<SignatureOutcome>,
  opts: ParseCsrOptions = {},
): Promise<ParsedCsr> {
  const read = readCsrPem(pem, opts);
  const outcome = await check(read.signature);
  return guarded(() => finishCsr(read, outcome));
}

function readCsrPem(pem: string, opts: ParseCsrOptions): CsrRead {
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
  return readCsrDer(der, opts);
}

function readCsrDer(der: Uint8Array, opts: ParseCsrOptions): CsrRead {
  const maxBytes = opts.maxBytes ?? DEFAULT_CSR_MAX_BYTES;
  if (!(der instanceof Uint8Array)) throw malformed("expected DER bytes");
  if (der.length > maxBytes) {
    throw csrError("CSR_TOO_LARGE", `the CSR is larger than the ${maxBytes}-byte limit`);
  }
  return guarded(() => readCsr(Buffer.from(der)));
}

/** Runs a step of parsing, its failures as CertmintErrors (the contract above). */
function guarded<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof CertmintError) throw e;
    if (e instanceof DerShapeError) throw malformed(e.message);
    if (e instanceof UnrepresentableNameError)
      throw csrError("CSR_SUBJECT_UNSUPPORTED", `the CSR subject cannot be issued: ${e.message}`);
    throw malformed("the structure could not be decoded");
  }
}

/** A CSR read up to its key: what finishCsr checks once the key is imported and verified. */
interface CsrRead {
  der: Buffer;
  algNode: Asn1;
  sigNode: Asn1;
  spkiNode: Asn1;
  subjectNode: Asn1;
  attributesNode: Asn1 | undefined;
  keyImport: SpkiImport;
  signature: SignatureTask;
}

/**
 * Why `der` cannot be a CertificationRequest before it is parsed: one is a DER SEQUENCE (RFC
 * 2986 section 4.2), so its first byte is 0x30. Anything else would be read as some other
 * element, and the reader's words about that element ("1 bytes of trailing data" for the PEM
 * body "AAAA", three zero bytes read as an empty element of tag 0) told a user nothing he could
 * act on (until stop 47 of 2026-12-06: an outside probe, R, LOW-5).
 */
function notASequence(der: Buffer): string | undefined {
  if (der.length === 0) return "it is empty (no DER bytes)";
  const first = der[0]!;
  if (first === 0x30) return undefined;
  const tag = `0x${first.toString(16).padStart(2, "0")}`;
  const what = `the bytes are not a DER CertificationRequest (RFC 2986 section 4.2): one starts with the SEQUENCE tag 0x30, these with ${tag}`;
  // Printable text where DER should be: the usual mistake is base64 applied twice (a PEM file
  // encoded again) or text pasted between the PEM lines.
  const head = der.subarray(0, 64);
  const text = head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  return text ? `${what} (the PEM body decodes to text, not DER: base64 encoded twice?)` : what;
}

function readCsr(der: Buffer): CsrRead {
  const shape = notASequence(der);
  if (shape) throw malformed(shape);
  let node: Asn1;
  try {
    const parsed = parseDer(der);
    if (parsed.trailing > 0) {
      throw malformed(
        `${parsed.trailing} ${parsed.trailing === 1 ? "byte follows" : "bytes follow"} the CertificationRequest SEQUENCE; send exactly one CSR`,
      );
    }
    node = parsed.node;
  } catch (e) {
    if (e instanceof CertmintError) throw e;
    if (e instanceof DerShapeError) throw malformed(e.message);
    throw malformed("not valid DER (truncated or corrupted data?)");
  }
  // DER is the only encoding whose bytes are unambiguous; refusing BER also guarantees that
  // re-encoding any parsed element reproduces exactly the bytes that were signed.
  if (!isForgeDer(der)) throw malformed("not DER-encoded (BER lengths or forms)");

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
  // Before OpenSSL imports the key or verifies the signature with it (their cost grows with
  // the key's numbers): the sizes certmint would refuse after the check anyway.
  const size = rsaSizeProblem(spkiNode as Asn1);
  if (size) throw csrError("CSR_KEY_UNSUPPORTED", `the CSR key is refused: ${size}`);
  const weak = rsaWeakModulusProblem(spkiNode as Asn1);
  if (weak) throw csrError("CSR_KEY_TOO_WEAK", `the CSR key is refused: ${weak}`);
  let keyImport: SpkiImport;
  try {
    keyImport = spkiImportOf(spkiNode as Asn1);
  } catch {
    throw malformed("the public key could not be decoded");
  }
  return {
    der,
    algNode,
    sigNode,
    spkiNode: spkiNode as Asn1,
    subjectNode: subjectNode as Asn1,
    attributesNode,
    keyImport,
    // The signed bytes as they came: the same as toDer(cri), the whole being DER.
    signature: {
      key: keyImport.key,
      data: firstInnerElement(der),
      ...claimedSignature(algNode, sigNode),
    },
  };
}

/**
 * The digest and signature octets the CSR claims, to verify before they are judged: a CSR
 * whose algorithm or signature is not acceptable gets nothing verified, and finishCsr reports
 * why in its order (key first, then algorithm, then signature).
 */
function claimedSignature(algNode: Asn1, sigNode: Asn1): Pick<SignatureTask, "hash" | "signature"> {
  try {
    const alg = signatureAlgorithmFromOid(
      readOid(children(algNode, "signatureAlgorithm")[0], "signatureAlgorithm.algorithm"),
    );
    const bits = readBitString(sigNode, "signature");
    if (alg === undefined || bits.unusedBits !== 0) return {};
    return {
      hash: SIGNATURE_ALGORITHM_INFO[alg].hash,
      signature: Buffer.from(bits.bytes, "latin1"),
    };
  } catch {
    return {};
  }
}

function finishCsr(read: CsrRead, outcome: SignatureOutcome): ParsedCsr {
  const { der, algNode, sigNode, spkiNode, subjectNode, attributesNode } = read;
  if (!outcome.publicKey) throw malformed("the public key could not be decoded");
  const publicKey = adoptImportedKey(outcome.publicKey, read.keyImport);
  const keyCheck = checkPublicKey(publicKey);
  if (!keyCheck.ok)
    throw csrError(`CSR_KEY_${keyCheck.problem}`, `the CSR key is refused: ${keyCheck.message}`);
  if (!isCanonicalSpki(spkiNode, publicKey)) {
    throw csrError(
      "CSR_KEY_ENCODING_INVALID",
      "the CSR key is refused: its SubjectPublicKeyInfo is not the DER encoding of the key (RFC 5280 4.1.2.7), e.g. an RSA modulus with leading zero octets",
    );
  }

  const signatureAlgorithm = readSignatureAlgorithm(algNode, keyCheck.algorithm);
  const signature = readBitString(sigNode, "signature");
  if (signature.unusedBits !== 0) throw malformed("the signature BIT STRING has unused bits");
  if (!outcome.verified) {
    throw csrError(
      "CSR_SIGNATURE_INVALID",
      "the CSR signature does not verify: the CSR was modified after signing, or not signed by the key it contains",
    );
  }

  const { sans, requestedExtensions } = readCsrAttributes(attributesNode);
  const subject = subjectFromAsn1(subjectNode);
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
