import { invalidArgument } from "../../errors";
import type { IssuancePlan } from "./types";

/**
 * Keys revoked for key compromise are blocked: no certificate of one is stored again, whatever
 * the route (a CSR, a REUSE renewal, an approval, ACME). The store refuses the insert (the
 * trigger of Migration20261205000000BlockedKeys, race-free against the revocation that blocks
 * the key); this is the refusal a caller sees. After Boulder's blockedKeys: a compromised key
 * stays compromised, and a certificate of it would be one its holder cannot trust.
 */
export function keyBlocked(plan: Pick<IssuancePlan, "key">): ReturnType<typeof invalidArgument> {
  const field = plan.key.kind === "CSR" ? "csr_pem" : "key_source";
  const description =
    "this public key was revoked for key compromise (RFC 5280 keyCompromise) and is blocked: generate a new key pair and request a certificate for it";
  return invalidArgument("KEY_BLOCKED", description, {
    violations: [{ field, description, reason: "KEY_BLOCKED" }],
  });
}
