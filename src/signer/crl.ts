/**
 * X.509 v2 CRLs (RFC 5280 5.1), signed through the CaSigner port.
 *
 * TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
 *   revokedCertificates SEQUENCE OF SEQUENCE { userCertificate, revocationDate,
 *   crlEntryExtensions } OPTIONAL, crlExtensions [0] EXPLICIT Extensions }
 */

import { failedPrecondition, invalidArgument } from "../errors";
import { REVOCATION_REASONS, type RevocationReason, type SignatureAlgorithm } from "../model/pki";
import { algorithmIdentifier, algorithmIdentifierDer, assertSignatureFits } from "./algorithms";
import {
  type Asn1,
  bigintInteger,
  Class,
  contextConstructed,
  pemBytesLength,
  seq,
  smallInteger,
  TAG,
  Type,
  timeDer,
  timeText,
  tlv,
  toDer,
  toPem,
  wrapSigned,
  writePemBytes,
} from "./der";
import { EXT, extension } from "./extensions";
import forge from "./forge";
import { Issuer, type IssuerInit } from "./issuer";
import { assertValidSerial, serialFromHex, serialToHex } from "./serial";

export interface RevokedEntry {
  /** DER INTEGER content octets, or their hex. */
  serial: Buffer | string;
  revokedAt: Date;
  reason: RevocationReason;
  /** RFC 5280 5.3.2: the invalidityDate entry extension, after the reason code. */
  invalidityDate?: Date;
}

/**
 * revokedCertificates entries already encoded elsewhere, each exactly as revokedEntries writes
 * it (the store keeps them for a long CRL: src/store/crl-entries-sql.ts), listed before
 * `revoked`. Whoever encodes them has checked what revokedEntries checks: valid serials listed
 * once, known reasons other than REMOVE_FROM_CRL, times within 1950-9999.
 */
export interface EncodedRevokedEntries {
  /** The entries' DER, one after another (the content of the SEQUENCE OF). */
  der: Buffer;
  count: number;
}

export interface BuildCrlInput {
  issuer: Issuer | IssuerInit;
  signatureAlgorithm: SignatureAlgorithm;
  /** Monotonically increasing per CA (RFC 5280 5.2.3). */
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: RevokedEntry[];
  encoded?: EncodedRevokedEntries;
}

const bad = (reason: string, message: string) => invalidArgument(reason, message);

/** 5.3.1: reasonCode ::= ENUMERATED. */
function reasonCodeExtension(reason: RevocationReason): Asn1 {
  const value = forge.asn1.create(
    Class.UNIVERSAL,
    Type.ENUMERATED,
    false,
    String.fromCharCode(REVOCATION_REASONS[reason]),
  );
  return extension(EXT.crlReason, false, value);
}

/**
 * 5.3.2: invalidityDate ::= GeneralizedTime, in UTC and with no fractional seconds (4.1.2.5.2):
 * a time given with milliseconds is cut to its second, as the revocation keeps it.
 */
function invalidityDateExtension(date: Date): Asn1 {
  const text = `${date.toISOString().slice(0, 19).replace(/[-T:]/g, "")}Z`;
  return extension(
    EXT.invalidityDate,
    false,
    forge.asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, text),
  );
}

/**
 * An entry's crlEntryExtensions DER: the reason code unless UNSPECIFIED (5.3.1: "SHOULD be
 * absent instead of using the unspecified (0) reasonCode value"), then the invalidity date if
 * any; undefined when there is neither.
 */
function entryExtensions(entry: RevokedEntry): Buffer | undefined {
  if (entry.invalidityDate === undefined) {
    return entry.reason === "UNSPECIFIED" ? undefined : reasonExtensions(entry.reason);
  }
  const date = entry.invalidityDate;
  if (
    Number.isNaN(date.getTime()) ||
    date.getUTCFullYear() < 1950 ||
    date.getUTCFullYear() > 9999
  ) {
    throw bad("INVALIDITY_TIME_INVALID", `invalidity date ${String(date)} is outside 1950-9999`);
  }
  return toDer(
    seq([
      ...(entry.reason === "UNSPECIFIED" ? [] : [reasonCodeExtension(entry.reason)]),
      invalidityDateExtension(date),
    ]),
  );
}

/** DER of each reason's crlEntryExtensions (5.3.1), encoded once. */
const reasonExtensionsDer = new Map<RevocationReason, Buffer>();
function reasonExtensions(reason: RevocationReason): Buffer {
  let der = reasonExtensionsDer.get(reason);
  if (!der) {
    der = toDer(seq([reasonCodeExtension(reason)]));
    reasonExtensionsDer.set(reason, der);
  }
  return der;
}

/**
 * The revokedCertificates entries, DER, appended to one buffer (not built as forge objects): a
 * CRL of 10^5 entries is written in a fraction of a second, and the event loop is given back
 * every ENTRIES_PER_TURN entries so a long CRL never holds other calls for long (issue 14).
 */
const ENTRIES_PER_TURN = 2_000;

/**
 * The serial's octets and its lower-case hex (the key duplicates are found by). Serials come
 * from the database as lower-case hex: those are decoded without the general parser's
 * normalisation (a third of the time of a long CRL went there); anything else takes it.
 */
function entrySerial(given: Uint8Array | string): { serial: Uint8Array; hex: string } {
  if (typeof given !== "string") {
    assertValidSerial(given);
    return { serial: given, hex: serialToHex(given) };
  }
  const bytes = Buffer.from(given, "hex");
  if (bytes.length * 2 === given.length && given === given.toLowerCase()) {
    assertValidSerial(bytes);
    return { serial: bytes, hex: given };
  }
  const serial = serialFromHex(given);
  return { serial, hex: serialToHex(serial) };
}

async function revokedEntries(revoked: RevokedEntry[], encoded?: Buffer): Promise<Buffer> {
  if (revoked.length === 0 && encoded) return encoded;
  const seen = new Set<string>();
  // An entry takes at most 2 + 22 (INTEGER) + 17 (time) + the extensions' octets (14 for a
  // reason, 40 with an invalidity date); the buffer grows when entries carry dates.
  let out = Buffer.allocUnsafe(Math.max(64, (encoded?.length ?? 0) + revoked.length * 56));
  let at = encoded ? encoded.copy(out, 0) : 0;
  for (let i = 0; i < revoked.length; i++) {
    if (i > 0 && i % ENTRIES_PER_TURN === 0) await new Promise((r) => setImmediate(r));
    const entry = revoked[i]!;
    const { serial, hex } = entrySerial(entry.serial);
    if (seen.has(hex)) throw bad("CRL_DUPLICATE_SERIAL", `serial ${hex} is listed twice`);
    seen.add(hex);
    if (!(entry.reason in REVOCATION_REASONS)) {
      throw bad("REVOCATION_REASON_INVALID", `unknown revocation reason ${String(entry.reason)}`);
    }
    // 5.3.1: removeFromCRL is only meaningful in delta CRLs, which certmint does not produce.
    if (entry.reason === "REMOVE_FROM_CRL") {
      throw bad("REVOCATION_REASON_INVALID", "REMOVE_FROM_CRL may only appear in delta CRLs");
    }
    const ext = entryExtensions(entry);
    const t = timeText(entry.revokedAt);
    // SEQUENCE { INTEGER serial, Time, crlEntryExtensions? }: a valid serial (positive, no
    // superfluous leading octet) is the INTEGER's content as it is; the whole is shorter than
    // 128 octets, so every length is one octet (X.690 8.1.3.4).
    const length = 2 + serial.length + 2 + t.text.length + (ext?.length ?? 0);
    if (at + 2 + length > out.length) {
      const grown = Buffer.allocUnsafe(out.length * 2 + 2 + length);
      out.copy(grown, 0, 0, at);
      out = grown;
    }
    out[at++] = TAG.SEQUENCE;
    out[at++] = length;
    out[at++] = TAG.INTEGER;
    out[at++] = serial.length;
    at += Buffer.from(serial.buffer, serial.byteOffset, serial.length).copy(out, at);
    out[at++] = t.tag;
    out[at++] = t.text.length;
    at += out.write(t.text, at, "latin1");
    if (ext) at += ext.copy(out, at);
  }
  return out.subarray(0, at);
}

/** A CRL's PEM (RFC 7468 "X509 CRL"). */
export function crlPem(der: Buffer): string {
  return toPem("X509 CRL", der);
}

/** The length of a CRL's PEM for `derLength` octets of DER. */
export function crlPemLength(derLength: number): number {
  return pemBytesLength("X509 CRL", derLength);
}

/**
 * crlPem as ASCII bytes written into `out` at `at`, a slice at a time with the event loop given
 * back between them (a long CRL's PEM is megabytes); resolves to the offset after it.
 */
export function writeCrlPem(der: Buffer, out: Buffer, at: number): Promise<number> {
  return writePemBytes("X509 CRL", der, out, at);
}

export async function buildCrl(input: BuildCrlInput): Promise<{ der: Buffer; pem: string }> {
  const issuer = Issuer.from(input.issuer);
  assertSignatureFits(issuer.signer.keyAlgorithm, input.signatureAlgorithm);
  const cert = issuer.certificate;
  if (cert?.keyUsages !== undefined && !cert.keyUsages.includes("CRL_SIGN")) {
    throw failedPrecondition(
      "ISSUER_CANNOT_SIGN_CRL",
      "the CA certificate lacks the cRLSign key usage (RFC 5280 4.2.1.3)",
    );
  }
  // 5.2.3: a non-negative integer of at most 20 octets.
  if (input.crlNumber < 0n || input.crlNumber >= 1n << 159n) {
    throw bad("CRL_NUMBER_INVALID", "the CRL number must be between 0 and 2^159-1");
  }
  if (!(input.nextUpdate > input.thisUpdate)) {
    throw bad("CRL_VALIDITY_INVALID", "nextUpdate must be later than thisUpdate");
  }
  const entries = await revokedEntries(input.revoked, input.encoded?.der);
  const items: Buffer[] = [
    toDer(smallInteger(1)), // v2: required because we use extensions (5.1.2.1)
    toDer(algorithmIdentifier(input.signatureAlgorithm)),
    toDer(issuer.name),
    timeDer(input.thisUpdate),
    timeDer(input.nextUpdate), // 5.1.2.5: conforming CRL issuers MUST include nextUpdate
  ];
  // 5.1.2.6: with no revoked certificates the list MUST be absent, not empty.
  if (input.revoked.length + (input.encoded?.count ?? 0) > 0) {
    items.push(tlv(TAG.SEQUENCE, [entries]));
  }
  items.push(
    toDer(
      contextConstructed(0, [
        seq([
          issuer.authorityKeyIdentifierExtension, // 5.2.1: MUST include
          extension(EXT.crlNumber, false, bigintInteger(input.crlNumber)), // 5.2.3: MUST include
        ]),
      ]),
    ),
  );
  const tbs = tlv(TAG.SEQUENCE, items);
  const signature = await issuer.signer.sign(tbs, input.signatureAlgorithm);
  const der = wrapSigned(tbs, algorithmIdentifierDer(input.signatureAlgorithm), signature);
  return {
    der,
    // On demand: a long CRL's PEM is a third larger than its DER and often never asked for.
    get pem() {
      return crlPem(der);
    },
  };
}
