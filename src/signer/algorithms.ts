/**
 * Signature and key algorithms: OIDs, AlgorithmIdentifier encodings, and the mapping from a
 * public key to certmint's KeyAlgorithm vocabulary.
 *
 * AlgorithmIdentifier parameters (RFC 5280 4.1.1.2 defers to the algorithm RFCs):
 * - sha*WithRSAEncryption: parameters MUST be NULL (RFC 4055 section 5).
 * - ecdsa-with-SHA*: parameters MUST be absent (RFC 5758 section 3.2).
 * - Ed25519: parameters MUST be absent (RFC 8410 section 3).
 */
import type { KeyObject } from "node:crypto";
import { type CertmintErrorOptions, invalidArgument, invalidField, withArticle } from "../errors";
import {
  type KeyFamily,
  keyFamilyOf,
  RSA_MAX_EXPONENT_BITS,
  RSA_MIN_BITS,
  rsaAlgorithmOfBits,
} from "../model/keys";
import type { KeyAlgorithm, SignatureAlgorithm } from "../model/pki";
import { type Asn1, nullValue, oid, seq, toDer } from "./der";

export const OIDS = {
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecPublicKey: "1.2.840.10045.2.1",
  ed25519: "1.3.101.112",
} as const;

export { type KeyFamily, keyFamilyOf };

export interface SignatureAlgorithmInfo {
  oid: string;
  /** Digest for crypto.sign/verify; null for Ed25519, which hashes internally (RFC 8032). */
  hash: "sha256" | "sha384" | "sha512" | null;
  family: KeyFamily;
  /** true: parameters are an explicit NULL; false: parameters are absent. */
  nullParams: boolean;
}

export const SIGNATURE_ALGORITHM_INFO: Record<SignatureAlgorithm, SignatureAlgorithmInfo> = {
  SHA256_WITH_RSA: {
    oid: "1.2.840.113549.1.1.11",
    hash: "sha256",
    family: "rsa",
    nullParams: true,
  },
  SHA384_WITH_RSA: {
    oid: "1.2.840.113549.1.1.12",
    hash: "sha384",
    family: "rsa",
    nullParams: true,
  },
  SHA512_WITH_RSA: {
    oid: "1.2.840.113549.1.1.13",
    hash: "sha512",
    family: "rsa",
    nullParams: true,
  },
  ECDSA_WITH_SHA256: {
    oid: "1.2.840.10045.4.3.2",
    hash: "sha256",
    family: "ec",
    nullParams: false,
  },
  ECDSA_WITH_SHA384: {
    oid: "1.2.840.10045.4.3.3",
    hash: "sha384",
    family: "ec",
    nullParams: false,
  },
  ECDSA_WITH_SHA512: {
    oid: "1.2.840.10045.4.3.4",
    hash: "sha512",
    family: "ec",
    nullParams: false,
  },
  ED25519: { oid: OIDS.ed25519, hash: null, family: "ed25519", nullParams: false },
};

const BY_OID = new Map<string, SignatureAlgorithm>(
  Object.entries(SIGNATURE_ALGORITHM_INFO).map(([name, info]) => [
    info.oid,
    name as SignatureAlgorithm,
  ]),
);

/** The SignatureAlgorithm for an AlgorithmIdentifier OID, or undefined when we do not support it. */
export const signatureAlgorithmFromOid = (o: string): SignatureAlgorithm | undefined =>
  BY_OID.get(o);

/** A fresh AlgorithmIdentifier node (forge nodes are cheap; callers may embed it anywhere). */
export function algorithmIdentifier(alg: SignatureAlgorithm): Asn1 {
  const info = SIGNATURE_ALGORITHM_INFO[alg];
  return seq(info.nullParams ? [oid(info.oid), nullValue()] : [oid(info.oid)]);
}

const algorithmIdentifierDerCache = new Map<SignatureAlgorithm, Buffer>();
export function algorithmIdentifierDer(alg: SignatureAlgorithm): Buffer {
  let der = algorithmIdentifierDerCache.get(alg);
  if (der === undefined) {
    der = toDer(algorithmIdentifier(alg));
    algorithmIdentifierDerCache.set(alg, der);
  }
  return der;
}

/**
 * Default signature algorithm per CA key: SHA-256 for every RSA size (widest client support),
 * the hash matching the curve for ECDSA (CA/B BR 7.1.3.2.2: P-256 with SHA-256, P-384 with
 * SHA-384), and pure Ed25519.
 */
export function defaultSignatureAlgorithm(keyAlg: KeyAlgorithm): SignatureAlgorithm {
  switch (keyAlg) {
    case "RSA_2048":
    case "RSA_3072":
    case "RSA_4096":
      return "SHA256_WITH_RSA";
    case "EC_P256":
      return "ECDSA_WITH_SHA256";
    case "EC_P384":
      return "ECDSA_WITH_SHA384";
    case "ED25519":
      return "ED25519";
  }
}

/** Refuses a signature algorithm the key cannot produce (e.g. ECDSA with an RSA key). */
export function assertSignatureFits(keyAlg: KeyAlgorithm, sigAlg: SignatureAlgorithm): void {
  const info = SIGNATURE_ALGORITHM_INFO[sigAlg];
  if (info === undefined) {
    throw invalidArgument(
      "SIGNATURE_ALGORITHM_UNSUPPORTED",
      `unknown signature algorithm ${sigAlg}`,
    );
  }
  if (info.family !== keyFamilyOf(keyAlg)) {
    throw invalidField(
      "SIGNATURE_ALGORITHM_MISMATCH",
      `signature algorithm ${sigAlg} cannot be used with ${withArticle(keyAlg)} key; use ${defaultSignatureAlgorithm(keyAlg)}`,
      "signature_algorithm",
      `${sigAlg} does not fit a ${keyAlg} key`,
    );
  }
}

export type KeyCheck =
  | { ok: true; algorithm: KeyAlgorithm }
  | { ok: false; problem: "TOO_WEAK" | "UNSUPPORTED"; message: string };

const CURVES: Record<string, KeyAlgorithm> = { prime256v1: "EC_P256", secp384r1: "EC_P384" };

/**
 * Keys whose algorithm is known from how they were imported (importSpki: a P-256 or P-384 point
 * OpenSSL accepted under that curve), so checkPublicKey need not ask OpenSSL: the first read of
 * `asymmetricKeyDetails` of a key costs about 40-80 us, once per CSR on the issuance path.
 */
const importedKeyAlgorithms = new WeakMap<KeyObject, KeyAlgorithm>();

/** Records the algorithm of a key built from a checked encoding (see importSpki). */
export function rememberKeyAlgorithm(key: KeyObject, algorithm: KeyAlgorithm): void {
  importedKeyAlgorithms.set(key, algorithm);
}

/**
 * Classifies a public key without throwing.
 *
 * RSA sizes other than 2048/3072/4096 are refused as UNSUPPORTED even when larger: the
 * vocabulary (and so every policy's allow-list) names exact sizes, and silently mapping e.g. a
 * 2304-bit key to RSA_2048 would make policy decisions about a key it does not describe.
 * Below 2048 bits is TOO_WEAK (CA/B BR 6.1.5; NIST SP 800-131A). The public exponent must be
 * odd and at least 65537 (CA/B BR 6.1.6). RSA-PSS-only keys, DSA, X25519, Ed448 and curves
 * other than P-256/P-384 (e.g. secp256k1, P-521) are UNSUPPORTED.
 */
export function checkPublicKey(key: KeyObject): KeyCheck {
  const known = importedKeyAlgorithms.get(key);
  if (known !== undefined) return { ok: true, algorithm: known };
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "rsa": {
      const bits = details.modulusLength ?? 0;
      const e = details.publicExponent ?? 0n;
      if (bits < RSA_MIN_BITS) {
        return {
          ok: false,
          problem: "TOO_WEAK",
          message: `RSA key of ${bits} bits is below ${RSA_MIN_BITS}`,
        };
      }
      if (e >= 2n ** BigInt(RSA_MAX_EXPONENT_BITS)) {
        return {
          ok: false,
          problem: "UNSUPPORTED",
          message: `an RSA public exponent of ${e.toString(2).length} bits is not supported (at most ${RSA_MAX_EXPONENT_BITS}); use 65537`,
        };
      }
      if (e < 65537n || e % 2n === 0n) {
        return {
          ok: false,
          problem: "TOO_WEAK",
          message: `RSA public exponent ${e} is not allowed; use 65537`,
        };
      }
      const alg = rsaAlgorithmOfBits(bits);
      if (alg === undefined) {
        return {
          ok: false,
          problem: "UNSUPPORTED",
          message: `RSA key of ${bits} bits is not supported; use 2048, 3072 or 4096 bits`,
        };
      }
      return { ok: true, algorithm: alg };
    }
    case "ec": {
      const alg = CURVES[details.namedCurve ?? ""];
      if (alg === undefined) {
        return {
          ok: false,
          problem: "UNSUPPORTED",
          message: `elliptic curve ${details.namedCurve ?? "(explicit parameters)"} is not supported; use P-256 or P-384`,
        };
      }
      return { ok: true, algorithm: alg };
    }
    case "ed25519":
      return { ok: true, algorithm: "ED25519" };
    default:
      return {
        ok: false,
        problem: "UNSUPPORTED",
        message: `key type ${key.asymmetricKeyType ?? "unknown"} is not supported; use RSA, EC P-256/P-384 or Ed25519`,
      };
  }
}

/**
 * The KeyAlgorithm of a public (or private) key. Throws invalid_argument KEY_TOO_WEAK or
 * KEY_UNSUPPORTED; `reasonPrefix` lets callers scope the reason (e.g. "CSR_").
 */
export function keyAlgorithmOf(
  key: KeyObject,
  reasonPrefix = "",
  opts?: CertmintErrorOptions,
): KeyAlgorithm {
  const check = checkPublicKey(key);
  if (check.ok) return check.algorithm;
  throw invalidArgument(`${reasonPrefix}KEY_${check.problem}`, check.message, opts);
}
