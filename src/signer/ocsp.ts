/**
 * OCSP (RFC 6960) requests and responses, encoded with forge.asn1 and signed through the
 * CaSigner port. The ASN.1 module of RFC 6960 (appendix B.1) uses EXPLICIT tags, except where
 * a field says IMPLICIT (the three certStatus alternatives).
 *
 * OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 * TBSRequest ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT
 *   GeneralName OPTIONAL, requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT
 *   Extensions OPTIONAL }
 * Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 * CertID ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *   issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 */
import { createHash } from "node:crypto";
import { invalidArgument, isCertmintError } from "../errors";
import { REVOCATION_REASONS, type RevocationReason, type SignatureAlgorithm } from "../model/pki";
import { algorithmIdentifier, algorithmIdentifierDer } from "./algorithms";
import type { CaSigner } from "./ca-signer";
import {
  type Asn1,
  bitString,
  Class,
  contextConstructed,
  contextPrimitive,
  octetString,
  oid,
  parseDer,
  seq,
  Type,
  toDer,
  wrapSigned,
} from "./der";
import {
  children,
  isTag,
  primitive,
  readBitString,
  readBoolean,
  readIntegerBytes,
  readOid,
} from "./der-read";
import { EXT } from "./extensions";
import forge from "./forge";
import { parseCertificate } from "./parse-certificate";
import { serialToHex } from "./serial";

const OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1";
const OCSP_NONCE = "1.3.6.1.5.5.7.48.1.2";
/**
 * Request extensions this responder understands (RFC 6960 4.4): the nonce; acceptable response
 * types (4.4.3: every client accepts the basic response, the only one certmint sends); preferred
 * signature algorithms (4.4.7: a preference, answered with the CA key's own algorithm); the
 * service locator (4.4.6: certmint answers for its own CAs only). A critical extension outside
 * these cannot be honoured, so the request is refused rather than answered as if it were absent.
 */
const OCSP_UNDERSTOOD_EXTENSIONS = new Set([
  OCSP_NONCE,
  "1.3.6.1.5.5.7.48.1.4",
  "1.3.6.1.5.5.7.48.1.8",
  "1.3.6.1.5.5.7.48.1.7",
]);

/** CertID hash algorithms certmint answers for: SHA-1 (what most clients send) and SHA-2. */
const HASHES: Record<string, "sha1" | "sha256" | "sha384" | "sha512"> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** Largest OCSP request certmint reads: a few CertIDs and a nonce fit in far less. */
export const OCSP_REQUEST_MAX_BYTES = 8 * 1024;
/** CertIDs answered in one response (RFC 5019 2.1.1 clients send one). */
export const OCSP_MAX_CERT_IDS = 8;
/**
 * Longest CertID serialNumber (INTEGER content octets) certmint reads: RFC 5280 4.1.2.2 lets
 * no conforming CA use a longer serial, and certmint's own are 17 octets (serial.ts).
 */
export const OCSP_MAX_SERIAL_OCTETS = 20;

/** One certificate asked about. */
export interface OcspCertId {
  hash: "sha1" | "sha256" | "sha384" | "sha512";
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** The serial in certmint's stored form (lower-case hex of the INTEGER content octets). */
  serialHex: string;
  /** The CertID as the client encoded it: echoed in the response (RFC 6960 4.2.1). */
  node: Asn1;
  /**
   * Its DER bytes (latin1): a cached response may answer only a request with the very same
   * CertID, since it echoes it. Until stop 52 of 2026-12-07 the cache was keyed by hash name
   * and serial, so one request with another encoding of the same CertID set the CertID every
   * client got back for a minute (an outside probe, REVOCATION F1).
   */
  encoded: string;
}

export interface OcspRequest {
  certIds: OcspCertId[];
  /** The nonce extension's extnValue, echoed unchanged (RFC 6960 4.4.1, RFC 8954). */
  nonce?: Buffer;
}

const malformed = (why: string) =>
  invalidArgument("OCSP_REQUEST_MALFORMED", `the OCSP request is malformed: ${why}`);

/**
 * Parses a DER OCSPRequest; throws invalid_argument OCSP_REQUEST_MALFORMED (answered with
 * malformedRequest). A request signature is not required and not checked (RFC 6960 4.1.2).
 */
export function parseOcspRequest(der: Uint8Array): OcspRequest {
  if (der.length > OCSP_REQUEST_MAX_BYTES) throw malformed("too large");
  try {
    const { node, trailing } = parseDer(der);
    if (trailing > 0) throw malformed("trailing data");
    // RFC 6960 A.1: a request is the DER encoding of the OCSPRequest, GET or POST. What is not
    // (an indefinite or longer-than-needed length, a serial INTEGER padded with an octet it does
    // not need, X.690 8.3.2: re-encoded, each comes out otherwise) is refused as malformed: its
    // CertIDs were echoed into a signed response that openssl and pyca refuse to parse, a
    // padded serial answered `unknown` for a certificate in good standing (until stop 58 of
    // 2026-12-07: an outside probe).
    if (!toDer(node).equals(Buffer.from(der.buffer, der.byteOffset, der.byteLength))) {
      throw malformed("not DER (RFC 6960 A.1: a length or INTEGER not in its minimal form)");
    }
    const [tbs] = children(node, "OCSPRequest");
    const fields = children(tbs, "TBSRequest");
    let i = 0;
    if (isTag(fields[i], Class.CONTEXT_SPECIFIC, 0)) {
      const [version] = children(fields[i], "version", Class.CONTEXT_SPECIFIC, 0);
      if (primitive(version, "version", Class.UNIVERSAL, Type.INTEGER) !== "\x00") {
        throw malformed("only version 1 requests exist");
      }
      i++;
    }
    if (isTag(fields[i], Class.CONTEXT_SPECIFIC, 1)) i++; // requestorName: not used
    const list = children(fields[i], "requestList");
    i++;
    if (list.length === 0) throw malformed("the request list is empty");
    if (list.length > OCSP_MAX_CERT_IDS) {
      throw malformed(`more than ${OCSP_MAX_CERT_IDS} certificates in one request`);
    }
    const certIds = list.map((request) => {
      const [certId, single] = children(request, "Request");
      if (single) {
        const [extensions] = children(single, "singleRequestExtensions", Class.CONTEXT_SPECIFIC, 0);
        checkCriticalExtensions(children(extensions, "Extensions"));
      }
      return readCertId(certId);
    });
    let nonce: Buffer | undefined;
    if (isTag(fields[i], Class.CONTEXT_SPECIFIC, 2)) {
      const [extensions] = children(fields[i], "requestExtensions", Class.CONTEXT_SPECIFIC, 2);
      const list = children(extensions, "Extensions");
      checkCriticalExtensions(list);
      nonce = readNonce(list);
      i++;
    }
    if (i !== fields.length) throw malformed("unexpected fields in TBSRequest");
    return { certIds, ...(nonce ? { nonce } : {}) };
  } catch (err) {
    if (isCertmintError(err)) throw err;
    throw malformed(err instanceof Error ? err.message : "not DER");
  }
}

function readCertId(node: Asn1 | undefined): OcspCertId {
  const [algorithm, nameHash, keyHash, serial] = children(node, "CertID");
  const [algorithmOid, ...parameters] = children(algorithm, "hashAlgorithm");
  const hash = HASHES[readOid(algorithmOid, "hashAlgorithm")];
  if (!hash) throw malformed("unsupported CertID hash algorithm");
  // The SHA family takes no parameters: absent, or NULL as older encoders write (RFC 5754 2).
  // Anything else would be echoed back to the client as it came.
  if (
    parameters.length > 1 ||
    (parameters.length === 1 && !isTag(parameters[0], Class.UNIVERSAL, Type.NULL))
  ) {
    throw malformed("the CertID hash algorithm takes no parameters (absent or NULL)");
  }
  const serialBytes = readIntegerBytes(serial, "serialNumber");
  // A longer serial cannot name a certificate any conforming CA issued. It is refused here, as
  // a malformed request (RFC 6960 2.3 malformedRequest), like every other CertID the parser
  // rejects: the whole request is answered unsigned, with no status query, no signature and
  // nothing cached (before, ~900-octet serials made each cached answer ~20 KB).
  if (serialBytes.length > OCSP_MAX_SERIAL_OCTETS) {
    throw malformed(`a serialNumber has at most ${OCSP_MAX_SERIAL_OCTETS} octets (RFC 5280)`);
  }
  return {
    hash,
    issuerNameHash: Buffer.from(
      primitive(nameHash, "issuerNameHash", Class.UNIVERSAL, Type.OCTETSTRING),
      "latin1",
    ),
    issuerKeyHash: Buffer.from(
      primitive(keyHash, "issuerKeyHash", Class.UNIVERSAL, Type.OCTETSTRING),
      "latin1",
    ),
    serialHex: serialToHex(serialBytes),
    node: node!,
    encoded: toDer(node!).toString("latin1"),
  };
}

/**
 * RFC 6960 4.4: an unrecognised extension is ignored unless it is critical; RFC 5280 4.2: an
 * extension appears at most once. Either fault is a malformed request.
 */
function checkCriticalExtensions(extensions: Asn1[]): void {
  const seen = new Set<string>();
  for (const ext of extensions) {
    const parts = children(ext, "Extension");
    const id = readOid(parts[0], "extnID");
    if (seen.has(id)) throw malformed(`the extension ${id} appears twice`);
    seen.add(id);
    const critical = parts.length === 3 && readBoolean(parts[1], "critical");
    if (critical && !OCSP_UNDERSTOOD_EXTENSIONS.has(id)) {
      throw malformed(`the critical extension ${id} is not supported (RFC 6960 4.4)`);
    }
  }
}

/**
 * RFC 8954 2.1: Nonce ::= OCTET STRING (SIZE(1..32)) inside the extnValue. A responder SHOULD
 * reject a longer one with malformedRequest; an empty one is malformed too.
 */
function readNonce(extensions: Asn1[]): Buffer | undefined {
  for (const ext of extensions) {
    const parts = children(ext, "Extension");
    if (readOid(parts[0], "extnID") !== OCSP_NONCE) continue;
    if (parts.length === 3) readBoolean(parts[1], "critical");
    const value = primitive(parts.at(-1), "extnValue", Class.UNIVERSAL, Type.OCTETSTRING);
    const inner = parseDer(Buffer.from(value, "latin1"));
    const nonce = primitive(inner.node, "Nonce", Class.UNIVERSAL, Type.OCTETSTRING);
    if (inner.trailing > 0 || nonce.length < 1 || nonce.length > 32) {
      throw malformed("the nonce must be an OCTET STRING of 1 to 32 octets (RFC 8954)");
    }
    return Buffer.from(value, "latin1");
  }
  return undefined;
}

/** issuerNameHash and issuerKeyHash of a CA certificate (RFC 6960 4.1.1) under `hash`. */
export function ocspIssuerHashes(
  caCertificate: string | Uint8Array,
  hash: OcspCertId["hash"],
): { nameHash: Buffer; keyHash: Buffer } {
  const cert = parseCertificate(caCertificate);
  return {
    nameHash: createHash(hash).update(cert.subjectDer).digest(),
    keyHash: createHash(hash).update(subjectPublicKeyBits(cert.der)).digest(),
  };
}

/** The subjectPublicKey BIT STRING's value (without tag, length and unused-bits octet). */
function subjectPublicKeyBits(certificateDer: Buffer): Buffer {
  const [tbs] = children(parseDer(certificateDer).node, "Certificate");
  const fields = children(tbs, "TBSCertificate");
  const spki = fields[isTag(fields[0], Class.CONTEXT_SPECIFIC, 0) ? 6 : 5];
  const [, bits] = children(spki, "SubjectPublicKeyInfo");
  return Buffer.from(readBitString(bits, "subjectPublicKey").bytes, "latin1");
}

export type OcspCertStatus =
  | { kind: "good" }
  | { kind: "revoked"; revokedAt: Date; reason: RevocationReason; invalidityDate?: Date }
  | { kind: "unknown" };

export interface OcspSingleResponse {
  certId: OcspCertId;
  status: OcspCertStatus;
}

export interface BuildOcspResponseInput {
  /** The issuing CA's key (or a delegated responder's). */
  signer: CaSigner;
  signatureAlgorithm: SignatureAlgorithm;
  /** The responder's certificate: its key hash is the ResponderID (byKey, RFC 6960 4.2.2.3). */
  responderCertificate: string | Uint8Array;
  /**
   * A delegated responder's certificate goes into the response (`certs`), so a client can
   * check that the issuing CA made it a responder (RFC 6960 4.2.2.2); the CA's own is not sent.
   */
  includeResponderCertificate?: boolean;
  responses: OcspSingleResponse[];
  producedAt: Date;
  thisUpdate: Date;
  nextUpdate: Date;
  nonce?: Buffer;
}

const generalizedTime = (date: Date): Asn1 =>
  forge.asn1.create(
    Class.UNIVERSAL,
    Type.GENERALIZEDTIME,
    false,
    forge.asn1.dateToGeneralizedTime(date),
  );

/** 4.2.1 CertStatus: good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL. */
function certStatus(status: OcspCertStatus): Asn1 {
  if (status.kind === "good") return contextPrimitive(0, "");
  if (status.kind === "unknown") return contextPrimitive(2, "");
  const info = [generalizedTime(status.revokedAt)];
  // As on the CRL (RFC 5280 5.3.1), an unspecified reason is left out.
  if (status.reason !== "UNSPECIFIED") {
    const code = forge.asn1.create(
      Class.UNIVERSAL,
      Type.ENUMERATED,
      false,
      String.fromCharCode(REVOCATION_REASONS[status.reason]),
    );
    info.push(contextConstructed(0, [code]));
  }
  return contextConstructed(1, info);
}

/**
 * singleExtensions [1] EXPLICIT Extensions: a revoked certificate's invalidity date, the CRL
 * entry extension RFC 6960 4.4 lets a response carry as it is (RFC 5280 5.3.2); none else.
 */
function singleExtensions(status: OcspCertStatus): Asn1[] {
  if (status.kind !== "revoked" || !status.invalidityDate) return [];
  const when = new Date(Math.floor(status.invalidityDate.getTime() / 1000) * 1000);
  return [
    contextConstructed(1, [
      seq([seq([oid(EXT.invalidityDate), octetString(toDer(generalizedTime(when)))])]),
    ]),
  ];
}

/** A successful OCSPResponse carrying a signed BasicOCSPResponse (RFC 6960 4.2.1). */
export async function buildOcspResponse(input: BuildOcspResponseInput): Promise<Buffer> {
  const responder = parseCertificate(input.responderCertificate);
  const responderKeyHash = createHash("sha1").update(subjectPublicKeyBits(responder.der)).digest();
  const single = input.responses.map((r) =>
    seq([
      r.certId.node,
      certStatus(r.status),
      generalizedTime(input.thisUpdate),
      contextConstructed(0, [generalizedTime(input.nextUpdate)]),
      ...singleExtensions(r.status),
    ]),
  );
  const data: Asn1[] = [
    contextConstructed(2, [octetString(responderKeyHash)]),
    generalizedTime(input.producedAt),
    seq(single),
  ];
  if (input.nonce) {
    data.push(contextConstructed(1, [seq([seq([oid(OCSP_NONCE), octetString(input.nonce)])])]));
  }
  const tbs = toDer(seq(data));
  const signature = await input.signer.sign(tbs, input.signatureAlgorithm);
  const basic = input.includeResponderCertificate
    ? toDer(
        seq([
          parseDer(tbs).node,
          algorithmIdentifier(input.signatureAlgorithm),
          bitString(signature),
          contextConstructed(0, [seq([parseDer(responder.der).node])]),
        ]),
      )
    : wrapSigned(tbs, algorithmIdentifierDer(input.signatureAlgorithm), signature);
  return toDer(
    seq([ocspStatus(0), contextConstructed(0, [seq([oid(OCSP_BASIC), octetString(basic)])])]),
  );
}

/** OCSPResponseStatus values other than successful (RFC 6960 4.2.1). */
export const OCSP_ERROR_STATUS = {
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  unauthorized: 6,
} as const;
export type OcspErrorStatus = keyof typeof OCSP_ERROR_STATUS;

/** An unsigned OCSPResponse with only its status (no responseBytes). */
export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  return toDer(seq([ocspStatus(OCSP_ERROR_STATUS[status])]));
}

const ocspStatus = (n: number): Asn1 =>
  forge.asn1.create(Class.UNIVERSAL, Type.ENUMERATED, false, String.fromCharCode(n));
