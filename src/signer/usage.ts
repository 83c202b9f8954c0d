/**
 * Consistency rules between key usages, the CA flag and the key type. The signer enforces them
 * as a last line of defence; the policy layer can call allowedKeyUsagesFor() to shape its
 * defaults per key type (e.g. a TLS server preset: digitalSignature + keyEncipherment for RSA,
 * digitalSignature alone for ECDSA and Ed25519, as Let's Encrypt issues).
 */
import { invalidArgument } from "../errors";
import type { KeyAlgorithm, KeyUsage } from "../model/pki";
import { keyFamilyOf } from "./algorithms";

const CA_BITS: KeyUsage[] = ["KEY_CERT_SIGN", "CRL_SIGN"];

/**
 * Usages a key type may carry:
 * - RSA (RFC 3279 2.3.1 / RFC 4055): signature and encipherment, no key agreement.
 * - EC (RFC 5480 3): signature and key agreement, never keyEncipherment / dataEncipherment.
 * - Ed25519 (RFC 8410 5): digitalSignature, nonRepudiation, keyCertSign, cRLSign only.
 */
export function allowedKeyUsagesFor(keyAlg: KeyAlgorithm): KeyUsage[] {
  switch (keyFamilyOf(keyAlg)) {
    case "rsa":
      return [
        "DIGITAL_SIGNATURE",
        "CONTENT_COMMITMENT",
        "KEY_ENCIPHERMENT",
        "DATA_ENCIPHERMENT",
        ...CA_BITS,
      ];
    case "ec":
      return [
        "DIGITAL_SIGNATURE",
        "CONTENT_COMMITMENT",
        "KEY_AGREEMENT",
        "ENCIPHER_ONLY",
        "DECIPHER_ONLY",
        ...CA_BITS,
      ];
    case "ed25519":
      return ["DIGITAL_SIGNATURE", "CONTENT_COMMITMENT", ...CA_BITS];
  }
}

const usageError = (message: string) =>
  invalidArgument("KEY_USAGE_INVALID", message, {
    violations: [{ field: "key_usages", description: message, reason: "KEY_USAGE_INVALID" }],
  });

/** Returns the usages de-duplicated in canonical order, or throws invalid_argument KEY_USAGE_INVALID. */
export function checkKeyUsages(
  usages: readonly KeyUsage[],
  isCa: boolean,
  keyAlg: KeyAlgorithm,
): KeyUsage[] {
  const set = new Set(usages);
  // RFC 5280 4.2.1.9: keyCertSign MUST NOT be asserted unless cA is; 4.2.1.3: and vice versa a
  // CA certificate used to verify certificate signatures MUST carry keyUsage with keyCertSign.
  if (isCa && !set.has("KEY_CERT_SIGN")) {
    throw usageError(
      "a CA certificate must include the KEY_CERT_SIGN key usage (RFC 5280 4.2.1.3)",
    );
  }
  if (!isCa && set.has("KEY_CERT_SIGN")) {
    throw usageError("KEY_CERT_SIGN is only allowed on CA certificates (RFC 5280 4.2.1.9)");
  }
  // 4.2.1.3: encipherOnly / decipherOnly are undefined without keyAgreement.
  if ((set.has("ENCIPHER_ONLY") || set.has("DECIPHER_ONLY")) && !set.has("KEY_AGREEMENT")) {
    throw usageError("ENCIPHER_ONLY and DECIPHER_ONLY require KEY_AGREEMENT (RFC 5280 4.2.1.3)");
  }
  const allowed = allowedKeyUsagesFor(keyAlg);
  const refused = [...set].filter((u) => !allowed.includes(u));
  if (refused.length > 0) {
    throw usageError(
      `key usage ${refused.join(", ")} is not valid for a ${keyAlg} key; allowed: ${allowed.join(", ")}`,
    );
  }
  return allowed.filter((u) => set.has(u));
}
