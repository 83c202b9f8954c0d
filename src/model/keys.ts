/**
 * What certmint knows about each key algorithm, in one place: its family, the modulus size of
 * the RSA ones, and the key usages a key of its family may carry. The signer (which refuses a
 * certificate that breaks these) and the policy engine (which reports every violation of a
 * request) read the same tables, so they can never disagree.
 */
import { internalError } from "../errors";
import { KEY_ALGORITHMS, type KeyAlgorithm, type KeyUsage } from "./pki";

export type KeyFamily = "rsa" | "ec" | "ed25519";

const FAMILY: Record<KeyAlgorithm, KeyFamily> = {
  RSA_2048: "rsa",
  RSA_3072: "rsa",
  RSA_4096: "rsa",
  EC_P256: "ec",
  EC_P384: "ec",
  ED25519: "ed25519",
};

/** Whether `alg` is one of certmint's key algorithms (input from outside may be anything). */
export const isKeyAlgorithm = (alg: string): alg is KeyAlgorithm =>
  (KEY_ALGORITHMS as readonly string[]).includes(alg);

/**
 * The family of a key algorithm. An algorithm certmint does not know is an error (INTERNAL:
 * every key algorithm reaching here was parsed or validated first), never a default family.
 */
export function keyFamilyOf(alg: KeyAlgorithm): KeyFamily {
  if (!isKeyAlgorithm(alg)) {
    throw internalError("KEY_ALGORITHM_UNKNOWN", `unknown key algorithm ${JSON.stringify(alg)}`);
  }
  return FAMILY[alg];
}

/** The modulus sizes of the RSA key algorithms (the only RSA sizes certmint accepts). */
export const RSA_KEY_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
export type RsaKeyAlgorithm = keyof typeof RSA_KEY_BITS;

/** The modulus size of an RSA key algorithm; undefined for the others. */
export const rsaBitsOf = (alg: KeyAlgorithm): number | undefined =>
  (RSA_KEY_BITS as Partial<Record<KeyAlgorithm, number>>)[alg];

/** The RSA key algorithm of a modulus size; undefined for any other size. */
export const rsaAlgorithmOfBits = (bits: number): RsaKeyAlgorithm | undefined =>
  (Object.keys(RSA_KEY_BITS) as RsaKeyAlgorithm[]).find((a) => RSA_KEY_BITS[a] === bits);

/** The smallest RSA modulus certmint ever accepts (CA/B BR 6.1.5; NIST SP 800-131A). */
export const RSA_MIN_BITS = 2048;

/** The largest RSA modulus certmint certifies (RSA_4096). */
export const RSA_MAX_BITS = Math.max(...Object.values(RSA_KEY_BITS));

/**
 * The most bits of an RSA public exponent accepted from outside (a CSR, an ACME account key).
 * Verifying costs one modular squaring per exponent bit: 65537 has 17, and a 3071-bit exponent
 * made one CSR's check take ~25 ms of the event loop instead of ~0.25 (review, 2026-12-03).
 * CA/B BR 6.1.6 only says SHOULD be below 2^256; Go's crypto/rsa refuses exponents above
 * 2^31-1, so a key past 32 bits would not work with Go relying parties anyway.
 */
export const RSA_MAX_EXPONENT_BITS = 32;

/** The bit length of an unsigned big-endian integer (leading zero octets ignored). */
export function unsignedBitLength(octets: Uint8Array): number {
  let i = 0;
  while (i < octets.length && octets[i] === 0) i++;
  if (i === octets.length) return 0;
  return (octets.length - i - 1) * 8 + (32 - Math.clz32(octets[i] as number));
}

/**
 * Why an RSA public exponent someone else sent (a CSR's, an ACME account key's) is refused
 * before any verification with it; undefined when its size is acceptable.
 */
export function rsaExponentProblem(exponent: Uint8Array): string | undefined {
  const bits = unsignedBitLength(exponent);
  return bits > RSA_MAX_EXPONENT_BITS
    ? `an RSA public exponent of ${bits} bits is not supported (at most ${RSA_MAX_EXPONENT_BITS}); use 65537`
    : undefined;
}

/**
 * Why an RSA public exponent is too weak to trust a signature made with it; undefined when it is
 * odd and at least 65537 (the rule certificate keys follow, algorithms.ts, CA/B BR 6.1.6). With
 * e = 1 a "signature" is the padded digest itself: anyone who knows the modulus makes one, so
 * an ACME account key with it is anyone's account (until stop 51 of 2026-12-07 such a key was
 * accepted there: an outside probe, ACME F1). Call after rsaExponentProblem (its size).
 */
export function rsaWeakExponentProblem(exponent: Uint8Array): string | undefined {
  let value = 0;
  for (const octet of exponent) value = value * 256 + octet; // at most 32 bits: exact
  return value < 65537 || value % 2 === 0
    ? `RSA public exponent ${value} is not allowed; use 65537`
    : undefined;
}

/**
 * The key usages of every CA certificate: it verifies certificate and CRL signatures (RFC 5280
 * 4.2.1.3, 4.2.1.9). Added to a request for a CA certificate, and to certmint's own CAs.
 */
export const CA_KEY_USAGES: readonly KeyUsage[] = ["KEY_CERT_SIGN", "CRL_SIGN"];
const CA_BITS = CA_KEY_USAGES;

/**
 * The key usages a key of each family may carry, in canonical order:
 * - RSA (RFC 3279 2.3.1 / RFC 4055): signature and encipherment, no key agreement;
 * - EC (RFC 5480 3): signature and key agreement, never keyEncipherment or dataEncipherment;
 * - Ed25519 (RFC 8410 5): digitalSignature, nonRepudiation, keyCertSign, cRLSign only.
 */
const USAGES_OF_FAMILY: Record<KeyFamily, readonly KeyUsage[]> = {
  rsa: [
    "DIGITAL_SIGNATURE",
    "CONTENT_COMMITMENT",
    "KEY_ENCIPHERMENT",
    "DATA_ENCIPHERMENT",
    ...CA_BITS,
  ],
  ec: [
    "DIGITAL_SIGNATURE",
    "CONTENT_COMMITMENT",
    "KEY_AGREEMENT",
    "ENCIPHER_ONLY",
    "DECIPHER_ONLY",
    ...CA_BITS,
  ],
  ed25519: ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT", ...CA_BITS],
};

/** The key usages a key of this algorithm may carry (canonical order). */
export const keyUsagesAllowedFor = (alg: KeyAlgorithm): readonly KeyUsage[] =>
  USAGES_OF_FAMILY[keyFamilyOf(alg)];
