/**
 * JSON Web Signatures of ACME requests (RFC 8555 6.2, RFC 7515), verified with Node's crypto:
 * account keys as JWKs (RFC 7517), their thumbprints (RFC 7638), and the HMAC of External
 * Account Binding (RFC 8555 7.3.4). Only the signer touches signatures (GUIDE section 2).
 */
import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { rsaExponentProblem, rsaWeakExponentProblem, unsignedBitLength } from "../model/keys";
import { rsaModulusProblem } from "./rsa-modulus";

/** The account-key algorithms certmint accepts (RFC 8555 6.2: ES256 and EdDSA at least, RS256). */
export const JWS_ALGORITHMS = ["ES256", "ES384", "RS256", "EdDSA"] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

/** Why a JWK cannot be an account key; the message names the rule, never the key. */
export class JwkError extends Error {}

/** A public JWK, checked: the key, the one algorithm it signs with, and its thumbprint. */
export interface AccountKey {
  readonly key: KeyObject;
  readonly algorithm: JwsAlgorithm;
  /** base64url SHA-256 of the canonical JWK (RFC 7638 3). */
  readonly thumbprint: string;
  /** The canonical public members only (what is stored and compared). */
  readonly jwk: Record<string, string>;
}

/** RSA account keys below this size are refused (NIST SP 800-57: 2048 bits until 2030). */
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 8192; // account keys, which certmint never certifies

/**
 * Reads a JWK from a JWS header: EC P-256 (ES256), EC P-384 (ES384), RSA (RS256, 2048-8192
 * bits) or OKP Ed25519 (EdDSA). Private members are refused: a client that sends its private
 * key has leaked it.
 */
export function accountKeyFromJwk(jwk: unknown): AccountKey {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) {
    throw new JwkError("jwk must be a JSON object");
  }
  const j = jwk as Record<string, unknown>;
  if ("d" in j || "p" in j || "q" in j) throw new JwkError("jwk must be a public key");
  const str = (name: string): string => {
    const v = j[name];
    if (typeof v !== "string" || v === "" || !/^[A-Za-z0-9_-]+$/.test(v)) {
      throw new JwkError(`jwk member "${name}" must be a base64url string`);
    }
    return v;
  };
  let canonical: Record<string, string>;
  let algorithm: JwsAlgorithm;
  if (j.kty === "EC") {
    const crv = j.crv;
    if (crv !== "P-256" && crv !== "P-384") throw new JwkError("EC keys must use P-256 or P-384");
    canonical = { crv, kty: "EC", x: str("x"), y: str("y") };
    algorithm = crv === "P-256" ? "ES256" : "ES384";
  } else if (j.kty === "RSA") {
    canonical = { e: str("e"), kty: "RSA", n: str("n") };
    algorithm = "RS256";
    // Before OpenSSL imports the key: every request's signature is checked with it, at a cost
    // that grows with its numbers (model/keys.ts RSA_MAX_EXPONENT_BITS). Unauthenticated.
    const modulusBits = unsignedBitLength(Buffer.from(canonical.n as string, "base64url"));
    if (modulusBits > RSA_MAX_BITS) {
      throw new JwkError(`RSA keys must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`);
    }
    const exponent = rsaExponentProblem(Buffer.from(canonical.e as string, "base64url"));
    if (exponent) throw new JwkError(exponent);
    const weakExponent = rsaWeakExponentProblem(Buffer.from(canonical.e as string, "base64url"));
    if (weakExponent) throw new JwkError(weakExponent);
    // An account key anyone can factor is anyone's account (rsa-modulus.ts).
    const weak = rsaModulusProblem(Buffer.from(canonical.n as string, "base64url"));
    if (weak) throw new JwkError(weak);
  } else if (j.kty === "OKP") {
    if (j.crv !== "Ed25519") throw new JwkError("OKP keys must use Ed25519");
    canonical = { crv: "Ed25519", kty: "OKP", x: str("x") };
    algorithm = "EdDSA";
  } else {
    throw new JwkError("jwk kty must be EC, RSA or OKP");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: canonical, format: "jwk" });
  } catch {
    throw new JwkError("jwk is not a valid public key");
  }
  if (algorithm === "RS256") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      throw new JwkError(`RSA keys must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`);
    }
  }
  return { key, algorithm, thumbprint: jwkThumbprint(canonical), jwk: canonical };
}

/** RFC 7638 3: SHA-256 over the required members in lexicographic order, no whitespace. */
export function jwkThumbprint(canonical: Record<string, string>): string {
  const ordered = Object.keys(canonical)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(canonical[k])}`)
    .join(",");
  return createHash("sha256").update(`{${ordered}}`).digest("base64url");
}

/**
 * Verifies a JWS signature over `protected.payload` (RFC 7515 5.2). ECDSA signatures are the
 * fixed-size R || S of RFC 7518 3.4, not DER. The algorithm must be the key's own.
 */
export function verifyJwsSignature(
  account: AccountKey,
  algorithm: string,
  signingInput: string,
  signature: Buffer,
): boolean {
  if (algorithm !== account.algorithm) return false;
  const data = Buffer.from(signingInput, "ascii");
  try {
    switch (account.algorithm) {
      case "ES256":
        return verify("sha256", data, { key: account.key, dsaEncoding: "ieee-p1363" }, signature);
      case "ES384":
        return verify("sha384", data, { key: account.key, dsaEncoding: "ieee-p1363" }, signature);
      case "RS256":
        return verify("sha256", data, account.key, signature);
      case "EdDSA":
        return verify(null, data, account.key, signature);
    }
  } catch {
    return false;
  }
}

/** HS256/384/512 of an External Account Binding JWS (RFC 8555 7.3.4, RFC 7518 3.2), in constant time. */
export function verifyHmac(
  algorithm: string,
  hmacKey: Buffer,
  signingInput: string,
  signature: Buffer,
): boolean {
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[algorithm];
  if (!hash) return false;
  const expected = createHmac(hash, hmacKey).update(signingInput, "ascii").digest();
  return expected.length === signature.length && timingSafeEqual(expected, signature);
}

/** The SHA-256 of a key authorization, base64url: the dns-01 TXT value (RFC 8555 8.4). */
export function keyAuthorizationDigest(keyAuthorization: string): Buffer {
  return createHash("sha256").update(keyAuthorization, "utf8").digest();
}

/** The thumbprint of a certificate's public key, to compare it with a JWS key (RFC 8555 7.6). */
export function spkiThumbprint(key: KeyObject): string | undefined {
  try {
    return accountKeyFromJwk(key.export({ format: "jwk" })).thumbprint;
  } catch {
    return undefined;
  }
}
