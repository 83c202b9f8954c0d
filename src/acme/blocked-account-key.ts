import type { CertificateRepository } from "../issuance/repositories";
import { spkiSha256Of } from "../signer";
import type { AccountKey } from "../signer/jws";
import { AcmeProblem } from "./problem";

type BlockedKeys = Pick<CertificateRepository, "isKeyBlocked">;

/** Whether this account key was revoked for key compromise (the blocked_key table). */
export function isAccountKeyBlocked(certificates: BlockedKeys, key: AccountKey): Promise<boolean> {
  return certificates.isKeyBlocked(spkiSha256Of(key.key));
}

/**
 * An existing account whose key was blocked after it was opened (a certificate of the same key
 * revoked for keyCompromise, RFC 5280 5.3.1) no longer acts: whoever learned the key could sign
 * as the account, order in its name and revoke its certificates. Every request signed with a
 * kid is refused as unauthorized (RFC 8555 6.2 and 7.3.5: the key cannot roll over either, as
 * that request is signed with the blocked key too); the holder opens a new account with a new
 * key. Until stop 40 of 2026-12-05 only new accounts and key rollovers checked the key.
 */
export async function refuseBlockedAccount(
  certificates: BlockedKeys,
  key: AccountKey,
): Promise<void> {
  if (await isAccountKeyBlocked(certificates, key)) {
    throw new AcmeProblem(
      "unauthorized",
      "this account's key was revoked for key compromise (RFC 5280 keyCompromise) and is blocked: the account can no longer act; open a new account with a new key pair",
      401,
    );
  }
}
