import { invalidField } from "../../errors";
import type { RevocationReason } from "../../model/pki";

/** removeFromCRL belongs to delta CRLs only (RFC 5280 5.3.1): never a revocation reason here. */
export function assertRevocationReason(reason: RevocationReason): void {
  if (reason !== "REMOVE_FROM_CRL") return;
  throw invalidField(
    "REVOCATION_REASON_INVALID",
    "removeFromCRL is only for delta CRLs (RFC 5280 5.3.1); choose another reason",
    "reason",
    "REMOVE_FROM_CRL is not accepted",
  );
}
