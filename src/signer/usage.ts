/**
 * Consistency rules between key usages, the CA flag and the key type. The signer enforces them
 * as a last line of defence; the policy engine reports the same rules (both read
 * src/model/keys.ts).
 */
import { invalidField } from "../errors";
import { keyUsagesAllowedFor } from "../model/keys";
import type { KeyAlgorithm, KeyUsage } from "../model/pki";

/** Usages a key type may carry (src/model/keys.ts, shared with the policy engine). */
export function allowedKeyUsagesFor(keyAlg: KeyAlgorithm): KeyUsage[] {
  return [...keyUsagesAllowedFor(keyAlg)];
}

const usageError = (message: string) =>
  invalidField("KEY_USAGE_INVALID", message, "key_usages", message);

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
