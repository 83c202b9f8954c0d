/**
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7) of a KeyObject.
 *
 * Why not keyObject.export({type: "spki"})? On OpenSSL 3 that goes through the encoder
 * framework and costs about 90 us per call, which measured as two thirds of the time to issue
 * a P-256 leaf. The JWK export is 30-90x cheaper, and for the key types certmint signs the
 * SPKI is fully determined by the JWK fields, so we assemble it here:
 * - EC (RFC 5480 2): AlgorithmIdentifier { id-ecPublicKey, namedCurve }, BIT STRING 04||x||y;
 * - Ed25519 (RFC 8410 4): AlgorithmIdentifier { id-Ed25519 } (no parameters), BIT STRING x;
 * - RSA (RFC 3279 2.3.1): AlgorithmIdentifier { rsaEncryption, NULL }, BIT STRING of
 *   RSAPublicKey { n, e }.
 * Any other key falls back to OpenSSL's encoding. A test checks byte equality with OpenSSL.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { RSA_MAX_BITS, rsaExponentProblem, unsignedBitLength } from "../model/keys";
import type { KeyAlgorithm } from "../model/pki";
import { OIDS, rememberKeyAlgorithm } from "./algorithms";
import { createPublicKeyFrom, type SignatureTask } from "./csr-signature";
import {
  type Asn1,
  bitString,
  Class,
  nullValue,
  oid,
  parseDer,
  seq,
  Type,
  toDer,
  unsignedInteger,
} from "./der";
import { children, isTag, readBitString, readOid } from "./der-read";
import { keyIdentifierOf } from "./extensions";
import { rsaModulusProblem } from "./rsa-modulus";

export interface Spki {
  /** forge node for embedding in a TBSCertificate / CertificationRequestInfo. */
  node: Asn1;
  /** RFC 5280 4.2.1.2 method (1) key identifier: SHA-1 of the subjectPublicKey bits. */
  keyIdentifier: Buffer;
}

/** DER of the Spkis encoded once (spkiDer): never written to, so shared. */
const spkiDers = new WeakMap<Spki, Buffer>();

/**
 * The DER of `spki.node`, encoded once per Spki: a CSR's key is encoded for the canonical
 * check (isCanonicalSpki) and its certificate's TBS takes the same bytes (spkiOf keeps the
 * Spki with the key).
 */
export function spkiDer(spki: Spki): Buffer {
  let der = spkiDers.get(spki);
  if (der === undefined) {
    der = toDer(spki.node);
    spkiDers.set(spki, der);
  }
  return der;
}

const CURVE_OIDS: Record<string, string> = {
  "P-256": "1.2.840.10045.3.1.7",
  "P-384": "1.3.132.0.34",
};

const b64url = (s: string | undefined): Buffer => Buffer.from(s ?? "", "base64url");

/** [algorithm identifier, subjectPublicKey bits] from a JWK, or undefined to fall back. */
function fromJwk(jwk: JsonWebKey): [Asn1, Buffer] | undefined {
  if (jwk.kty === "EC" && jwk.crv !== undefined && CURVE_OIDS[jwk.crv] !== undefined) {
    const point = Buffer.concat([Buffer.from([0x04]), b64url(jwk.x), b64url(jwk.y)]);
    return [seq([oid(OIDS.ecPublicKey), oid(CURVE_OIDS[jwk.crv] as string)]), point];
  }
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
    return [seq([oid(OIDS.ed25519)]), b64url(jwk.x)];
  }
  if (jwk.kty === "RSA") {
    const rsaPublicKey = toDer(
      seq([unsignedInteger(b64url(jwk.n)), unsignedInteger(b64url(jwk.e))]),
    );
    return [seq([oid(OIDS.rsaEncryption), nullValue()]), rsaPublicKey];
  }
  return undefined;
}

/**
 * The Spki of public keys already encoded once: a CSR's key is encoded for the canonical check
 * when the CSR is parsed, and again for the certificate's SubjectPublicKeyInfo and key
 * identifier. Keyed by the KeyObject, so an entry lives as long as the key.
 */
const encoded = new WeakMap<KeyObject, Spki>();

export function spkiOf(key: KeyObject): Spki {
  const known = key.type === "public" ? encoded.get(key) : undefined;
  if (known !== undefined) return known;
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const parts =
    pub.asymmetricKeyType === "rsa-pss" ? undefined : fromJwk(pub.export({ format: "jwk" }));
  if (parts !== undefined) {
    const spki = spkiFromParts(parts);
    if (key.type === "public") encoded.set(key, spki);
    return spki;
  }
  const der = pub.export({ type: "spki", format: "der" });
  const { node } = parseDer(der);
  const [, subjectPublicKey] = children(node, "SubjectPublicKeyInfo");
  const { bytes } = readBitString(subjectPublicKey, "subjectPublicKey");
  return { node, keyIdentifier: keyIdentifierOf(Buffer.from(bytes, "latin1")) };
}

/**
 * The SHA-256 (hex) that names a key in certificate.spki_sha256 and blocked_key
 * (Migration20261205000000BlockedKeys): of its SubjectPublicKeyInfo as certmint encodes it
 * (spkiOf), so one key has one hash whatever form a CSR sent it in. For RSA, of the modulus
 * alone ("rsa-modulus:" and its octets): whoever holds a compromised RSA key knows its primes,
 * and can pair the modulus with any other public exponent; hashed with its exponent, a blocked
 * modulus came back as a new key with e = 65539 (found by an outside probe, 2026-12-05).
 */
export function spkiSha256(spki: Spki): string {
  const modulus = rsaModulusOf(spki.node);
  const hash = createHash("sha256");
  if (modulus) hash.update("rsa-modulus:").update(modulus);
  else hash.update(spkiDer(spki));
  return hash.digest("hex");
}

/** An rsaEncryption key's modulus octets (no leading zero), or undefined for other keys. */
function rsaModulusOf(spki: Asn1): Buffer | undefined {
  const [algorithm, subjectPublicKey] = children(spki, "SubjectPublicKeyInfo");
  const [algOid] = children(algorithm, "SubjectPublicKeyInfo.algorithm");
  if (readOid(algOid, "SubjectPublicKeyInfo.algorithm.algorithm") !== OIDS.rsaEncryption) return;
  const bits = Buffer.from(readBitString(subjectPublicKey, "subjectPublicKey").bytes, "latin1");
  const [n] = rsaPublicKeyItems(bits);
  if (!isTag(n, Class.UNIVERSAL, Type.INTEGER) || typeof n?.value !== "string") return undefined;
  const octets = Buffer.from(n.value, "latin1");
  let start = 0;
  while (start < octets.length - 1 && octets[start] === 0) start++;
  return octets.subarray(start);
}

/** spkiSha256 of a key (a certificate's, a CSR's). */
export function spkiSha256Of(key: KeyObject): string {
  return spkiSha256(spkiOf(key));
}

function spkiFromParts([algorithm, bits]: [Asn1, Buffer]): Spki {
  return { node: seq([algorithm, bitString(bits)]), keyIdentifier: keyIdentifierOf(bits) };
}

const JWK_CURVES: Record<string, { crv: string; size: number; algorithm: KeyAlgorithm }> = {
  [CURVE_OIDS["P-256"] as string]: { crv: "P-256", size: 32, algorithm: "EC_P256" },
  [CURVE_OIDS["P-384"] as string]: { crv: "P-384", size: 48, algorithm: "EC_P384" },
};

/** A positive INTEGER's content octets in minimal form (X.690 8.3.2), without the sign octet. */
function minimalPositive(node: Asn1 | undefined): Buffer | undefined {
  if (!isTag(node, Class.UNIVERSAL, Type.INTEGER) || typeof node?.value !== "string") return;
  const v = Buffer.from(node.value, "latin1");
  if (v.length === 0 || (v[0] as number) >= 0x80) return undefined;
  if (v[0] === 0) return v.length > 1 && (v[1] as number) >= 0x80 ? v.subarray(1) : undefined;
  return v;
}

/** The JWK of an SPKI whose form spkiFormProblem accepted, for the key types certmint certifies. */
function jwkOfSpki(spki: Asn1): { jwk: JsonWebKey; algorithm?: KeyAlgorithm } | undefined {
  const [algorithm, subjectPublicKey] = children(spki, "SubjectPublicKeyInfo");
  const [algOid, params] = children(algorithm, "SubjectPublicKeyInfo.algorithm");
  const o = readOid(algOid, "SubjectPublicKeyInfo.algorithm.algorithm");
  const bits = Buffer.from(readBitString(subjectPublicKey, "subjectPublicKey").bytes, "latin1");
  const b64 = (b: Buffer) => b.toString("base64url");
  if (o === OIDS.ecPublicKey && isTag(params, Class.UNIVERSAL, Type.OID)) {
    const curve = JWK_CURVES[readOid(params, "namedCurve")];
    // An uncompressed point 04 || x || y, each coordinate exactly the field size (RFC 5480 2.2).
    if (curve === undefined || bits.length !== 1 + 2 * curve.size || bits[0] !== 0x04) return;
    const x = bits.subarray(1, 1 + curve.size);
    const y = bits.subarray(1 + curve.size);
    return { jwk: { kty: "EC", crv: curve.crv, x: b64(x), y: b64(y) }, algorithm: curve.algorithm };
  }
  if (o === OIDS.ed25519 && bits.length === 32) {
    return { jwk: { kty: "OKP", crv: "Ed25519", x: b64(bits) }, algorithm: "ED25519" };
  }
  if (o === OIDS.rsaEncryption) {
    const items = rsaPublicKeyItems(bits);
    const [n, e] = [minimalPositive(items[0]), minimalPositive(items[1])];
    if (items.length !== 2 || n === undefined || e === undefined) return undefined;
    return { jwk: { kty: "RSA", n: b64(n), e: b64(e) } };
  }
  return undefined;
}

/** The INTEGERs of an RSAPublicKey { n, e } (RFC 3279 2.3.1); none when it does not parse. */
function rsaPublicKeyItems(bits: Buffer): Asn1[] {
  try {
    const parsed = parseDer(bits);
    if (parsed.trailing > 0 || !isTag(parsed.node, Class.UNIVERSAL, Type.SEQUENCE)) return [];
    return children(parsed.node, "RSAPublicKey");
  } catch {
    return [];
  }
}

/**
 * Why an rsaEncryption key is refused from the sizes of its numbers alone, before OpenSSL
 * imports it or verifies anything with it: a modulus above the largest certmint certifies
 * (RSA_MAX_BITS), or an exponent above RSA_MAX_EXPONENT_BITS, costs a verification many times
 * a usual key's (model/keys.ts); checkPublicKey refuses both later anyway, with the same words.
 * Undefined for other keys and for numbers this does not read (left to the import).
 */
export function rsaSizeProblem(spki: Asn1): string | undefined {
  const [algorithm, subjectPublicKey] = children(spki, "SubjectPublicKeyInfo");
  const [algOid] = children(algorithm, "SubjectPublicKeyInfo.algorithm");
  if (readOid(algOid, "SubjectPublicKeyInfo.algorithm.algorithm") !== OIDS.rsaEncryption) return;
  const bits = Buffer.from(readBitString(subjectPublicKey, "subjectPublicKey").bytes, "latin1");
  const [n, e] = rsaPublicKeyItems(bits);
  const octets = (node: Asn1 | undefined) =>
    isTag(node, Class.UNIVERSAL, Type.INTEGER) && typeof node?.value === "string"
      ? Buffer.from(node.value, "latin1")
      : undefined;
  const [modulus, exponent] = [octets(n), octets(e)];
  if (modulus === undefined || exponent === undefined) return undefined;
  const modulusBits = unsignedBitLength(modulus);
  if (modulusBits > RSA_MAX_BITS) {
    return `RSA key of ${modulusBits} bits is not supported; use 2048, 3072 or 4096 bits`;
  }
  return rsaExponentProblem(exponent);
}

/**
 * Why an RSA SubjectPublicKeyInfo's modulus is known weak (rsa-modulus.ts: a small factor, or
 * primes close enough for Fermat's method); undefined for other keys, a sound modulus, and
 * numbers this does not read (left to the import).
 */
export function rsaWeakModulusProblem(spki: Asn1): string | undefined {
  const [algorithm, subjectPublicKey] = children(spki, "SubjectPublicKeyInfo");
  const [algOid] = children(algorithm, "SubjectPublicKeyInfo.algorithm");
  if (readOid(algOid, "SubjectPublicKeyInfo.algorithm.algorithm") !== OIDS.rsaEncryption) return;
  const bits = Buffer.from(readBitString(subjectPublicKey, "subjectPublicKey").bytes, "latin1");
  const [n] = rsaPublicKeyItems(bits);
  if (!isTag(n, Class.UNIVERSAL, Type.INTEGER) || typeof n?.value !== "string") return undefined;
  return rsaModulusProblem(Buffer.from(n.value, "latin1"));
}

/**
 * The public key of a SubjectPublicKeyInfo someone else encoded (a CSR's), once
 * spkiFormProblem accepted its form. Throws when OpenSSL refuses the key (e.g. a point not on
 * its curve).
 *
 * Why not createPublicKey({format: "der", type: "spki"})? On OpenSSL 3 the DER import goes
 * through the decoder framework, which tries decoder after decoder: about 250 us per key,
 * measured as the largest single cost of parsing a CSR. Importing the same key as a JWK builds
 * it directly from its numbers (EC: EC_KEY_set_public_key_affine_coordinates, which checks
 * that the point is on the curve and in range; RSA and Ed25519 about 25x cheaper, EC about 2x).
 * The JWK holds exactly the numbers the SPKI carries, and isCanonicalSpki still compares the
 * SPKI with certmint's own encoding of the imported key. Anything else (unsupported curves,
 * an RSA key with non-minimal integers) is imported from the DER, as before, so it is refused
 * by the same checks with the same reasons.
 */
export function importSpki(spki: Asn1): KeyObject {
  const plan = spkiImportOf(spki);
  return adoptImportedKey(createPublicKeyFrom(plan.key), plan);
}

/**
 * How importSpki imports a key, in three steps so that the middle one (OpenSSL's, the costly
 * one) may run on another thread (csr-workers.ts): what to import (the JWK, or the DER),
 * then createPublicKeyFrom, then adoptImportedKey on the thread that uses the key.
 */
export interface SpkiImport {
  /** A JWK (the fast path), or the SPKI's DER. */
  key: SignatureTask["key"];
  algorithm?: KeyAlgorithm;
  jwk?: JsonWebKey;
}

export function spkiImportOf(spki: Asn1): SpkiImport {
  const parsed = jwkOfSpki(spki);
  if (parsed === undefined) return { key: toDer(spki) };
  return { key: parsed.jwk, algorithm: parsed.algorithm, jwk: parsed.jwk };
}

/** Records what the SPKI told about an imported key (its algorithm, its encoding). */
export function adoptImportedKey(key: KeyObject, plan: SpkiImport): KeyObject {
  if (plan.algorithm !== undefined) rememberKeyAlgorithm(key, plan.algorithm);
  const parts = plan.jwk && fromJwk(plan.jwk);
  if (parts !== undefined) encoded.set(key, spkiFromParts(parts));
  return key;
}

/** Why a SubjectPublicKeyInfo someone else encoded is refused. */
export interface SpkiProblem {
  /** EXPLICIT_CURVE, ENCODING_INVALID or UNSUPPORTED; callers prefix it (CSR_KEY_, ...). */
  problem: "EXPLICIT_CURVE" | "ENCODING_INVALID" | "UNSUPPORTED";
  message: string;
}

const RSASSA_PSS = "1.2.840.113549.1.1.10";

/**
 * Checks the form of a SubjectPublicKeyInfo from a CSR or a certificate made elsewhere, before
 * the key is used. certmint re-encodes every key it certifies in the one form each RFC
 * prescribes (spkiOf); a key that arrives in another form is refused rather than silently
 * re-encoded, because relying parties that follow the RFCs (Go's crypto/x509, for one) reject
 * the other forms, and because a certificate must certify the key as its holder presented it:
 * - id-ecPublicKey (RFC 5480 2.1.1): the parameters MUST be a namedCurve; specifiedCurve
 *   (explicit ECParameters) and implicitCurve (NULL) MUST NOT be used. The point must be
 *   uncompressed (RFC 5480 2.2: the form every implementation MUST support, and the one
 *   certmint writes);
 * - rsaEncryption (RFC 3279 2.3.1): the parameters MUST be NULL. RSASSA-PSS keys
 *   (id-RSASSA-PSS, RFC 4055 1.2) are refused: certmint signs and certifies rsaEncryption keys;
 * - id-Ed25519 (RFC 8410 3): the parameters MUST be absent;
 * - the subjectPublicKey BIT STRING has no unused bits.
 * Other algorithms are left to the key checks (checkPublicKey), which refuse them.
 * Returns undefined when the form is right.
 */
export function spkiFormProblem(spki: Asn1 | undefined): SpkiProblem | undefined {
  const [algorithm, subjectPublicKey] = children(spki, "SubjectPublicKeyInfo");
  const [algOid, params, ...extra] = children(algorithm, "SubjectPublicKeyInfo.algorithm");
  const o = readOid(algOid, "SubjectPublicKeyInfo.algorithm.algorithm");
  const invalid = (message: string): SpkiProblem => ({ problem: "ENCODING_INVALID", message });
  if (extra.length > 0) return invalid("the key's AlgorithmIdentifier has extra fields");
  const { unusedBits, bytes } = readBitString(subjectPublicKey, "subjectPublicKey");
  if (unusedBits !== 0) return invalid("the subjectPublicKey BIT STRING has unused bits");
  switch (o) {
    case OIDS.ecPublicKey:
      if (isTag(params, Class.UNIVERSAL, Type.SEQUENCE)) {
        return {
          problem: "EXPLICIT_CURVE",
          message:
            "the EC key carries explicit curve parameters (specifiedCurve); RFC 5480 2.1.1 allows only a named curve: encode the key with its curve's OID (openssl: -pkeyopt ec_param_enc:named_curve)",
        };
      }
      if (isTag(params, Class.UNIVERSAL, Type.NULL)) {
        return {
          problem: "EXPLICIT_CURVE",
          message:
            "the EC key names no curve (implicitCurve); RFC 5480 2.1.1 allows only a named curve",
        };
      }
      if (!isTag(params, Class.UNIVERSAL, Type.OID)) {
        return invalid("the EC key's parameters must be a named curve OID (RFC 5480 2.1.1)");
      }
      if (bytes.charCodeAt(0) !== 0x04) {
        return invalid(
          "the EC point is not in uncompressed form (RFC 5480 2.2); send the uncompressed point (04 || x || y)",
        );
      }
      return undefined;
    case OIDS.rsaEncryption: {
      if (!isTag(params, Class.UNIVERSAL, Type.NULL) || params?.value !== "") {
        return invalid("the rsaEncryption key's parameters must be NULL (RFC 3279 2.3.1)");
      }
      return rsaSignProblem(Buffer.from(bytes, "latin1"));
    }
    case RSASSA_PSS:
      return {
        problem: "UNSUPPORTED",
        message:
          "RSASSA-PSS keys (id-RSASSA-PSS, RFC 4055) are not supported; use an rsaEncryption RSA key (it may still sign with PKCS #1 v1.5)",
      };
    case OIDS.ed25519:
      return params === undefined
        ? undefined
        : invalid("the Ed25519 key's AlgorithmIdentifier must have no parameters (RFC 8410 3)");
    default:
      return undefined;
  }
}

/**
 * RFC 8017 A.1.1 / RFC 3279 2.3.1: RSAPublicKey's modulus and publicExponent are positive
 * INTEGERs, which DER writes in two's complement (X.690 8.3.3): a first octet with its high
 * bit set is a negative number. Read as unsigned by the key import, `02 02 ff 01` (-255) was
 * refused as "RSA public exponent 65281 is not allowed" until stop 46 of 2026-12-06 (an outside
 * probe): the number named was not the one encoded. Numbers that do not parse are left to the
 * import, which refuses them.
 */
function rsaSignProblem(bits: Buffer): SpkiProblem | undefined {
  const items = rsaPublicKeyItems(bits);
  for (const [i, name] of ["modulus", "public exponent"].entries()) {
    const node = items[i];
    if (!isTag(node, Class.UNIVERSAL, Type.INTEGER) || typeof node?.value !== "string") continue;
    const first = node.value.charCodeAt(0);
    if (node.value.length === 0 || first >= 0x80) {
      return {
        problem: "ENCODING_INVALID",
        message: `the RSA ${name} is ${node.value.length === 0 ? "an INTEGER with no content octets" : "negative (its INTEGER's first octet has the sign bit set, X.690 8.3.3)"}; RFC 8017 A.1.1 requires a positive number${i === 1 ? ": use 65537" : " (encode it with a leading 00 octet)"}`,
      };
    }
  }
  return undefined;
}

/**
 * Whether `spki` is exactly the encoding certmint will write for `key` (spkiOf): what a
 * certificate carries is then byte for byte what its requester signed. Catches the encodings
 * spkiFormProblem does not name, such as an RSA modulus with superfluous leading zeros.
 */
export const isCanonicalSpki = (spki: Asn1, key: KeyObject): boolean =>
  toDer(spki).equals(spkiDer(spkiOf(key)));
