import { invalidField } from "../../errors";
import type { RevocationReason } from "../../model/pki";

/**
 * Reasons certmint refuses (RFC 5280 5.3.1): removeFromCRL belongs to delta CRLs only, and
 * aACompromise to attribute certificates (RFC 5755), never to a public-key certificate, where
 * it means nothing to a relying party (openssl shows it as "(UNKNOWN)"). Until 2026-12-05
 * aACompromise was accepted and published (an outside lint probe).
 */
const REFUSED: Partial<Record<RevocationReason, string>> = {
  REMOVE_FROM_CRL: "removeFromCRL is only for delta CRLs (RFC 5280 5.3.1); choose another reason",
  AA_COMPROMISE:
    "aACompromise is for attribute certificates (RFC 5280 5.3.1, RFC 5755), not certificates of keys; choose keyCompromise or cACompromise",
};

export function assertRevocationReason(reason: RevocationReason): void {
  const why = REFUSED[reason];
  if (why === undefined) return;
  throw invalidField("REVOCATION_REASON_INVALID", why, "reason", `${reason} is not accepted`);
}
