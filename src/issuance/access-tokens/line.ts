import { CaDirectory, NO_CLIENT_TRUST } from "../../auth/ca-directory";
import { resolveClientCertificate } from "../../auth/client-certificates";
import { storedCertificateIdentity } from "../../auth/peer-identity";
import { isCertmintError } from "../../errors";
import { recordAccountEnd } from "../acme-accounts/end";
import type { Call } from "../call";
import { type RowRevocationStore, revokeCertificateRow } from "../certificates/revoke";
import type {
  AccessToken,
  AccessTokenRepository,
  AcmeRepository,
  AuditRepository,
  CaRepository,
  Certificate,
  CertificateRepository,
  RequestRepository,
} from "../repositories";

/**
 * What a revoked token line leaves behind besides its tokens, taken with it by RevokeAccessToken
 * with revoke_created_tokens (revoke.ts), in the same transaction: the ACME accounts bound with
 * External Account Binding keys the line created, and the client certificates the line requested
 * that authenticate as an access token. Each is a credential the holder of a leaked token could
 * have made for itself before the cut and kept using after it: until stop 47 of 2026-12-06 both
 * survived the cut (an outside probe, S F1 and F2; test/auth/stop47-line-leftovers.test.ts).
 */

export type LineStore = RowRevocationStore & {
  acme: Pick<AcmeRepository, "accountsBoundByLine" | "updateAccount" | "revokeUnboundKeysOf">;
  requests: Pick<RequestRepository, "rejectWaitingOf">;
  audit: Pick<AuditRepository, "insert">;
  tokens: Pick<AccessTokenRepository, "clientCertificatesOfLine" | "findBindings" | "find">;
  certificates: Pick<CertificateRepository, "findIssued" | "findById">;
  cas: Pick<CaRepository, "withCertificates">;
};

/**
 * The External Account Binding keys the line created that no account was bound with yet,
 * revoked (their ids returned, for the cut's audit record; kept, as RevokeAcmeExternalAccountKey
 * keeps a key, so that ListAcmeExternalAccountKeys shows them revoked; until stop 48 of
 * 2026-12-06 they were deleted): a token of the line that merely
 * expired before the cut made them as much as a revoked one, and the leak's holder may have kept
 * them (acme/eab.ts refuses a key whose creator expired too, since stop 52 of 2026-12-07, but
 * only a revoked key is listed as one).
 * Until stop 47 of 2026-12-06 they stayed usable (test/auth/stop47-line-leftovers.test.ts).
 */
export function revokeLineKeys(
  tx: Pick<LineStore, "acme">,
  lineIds: readonly string[],
  now: Date,
): Promise<string[]> {
  return tx.acme.revokeUnboundKeysOf(lineIds, now);
}

/**
 * The ACME accounts still valid that were bound with an External Account Binding key created by
 * a token of the line (`lineIds`: the token named and every token of its line, in any state),
 * deactivated as the account's own deactivation does (RFC 8555 7.3.6: updateAccount, and its
 * requests waiting for approval rejected with it), each audited under the revoking call
 * (status, the key, revoked_with_access_token_id). The key is a credential the line delegated:
 * an account bound with it holds the line's authority over the profile. Its rows are locked
 * (FOR NO KEY UPDATE, in (created_at, id) order) by accountsBoundByLine, which re-reads `status`
 * under the lock: one deactivated meanwhile is skipped. A finalize in flight of one of them
 * stores nothing once this commits (its storing statement holds the account FOR SHARE while it
 * is valid: store/repositories/issuance.ts accountsInForce). Returns their ids.
 */
export async function deactivateLineAccounts(
  tx: Pick<LineStore, "acme" | "requests" | "audit">,
  call: Call,
  tokenId: string,
  lineIds: readonly string[],
  now: Date,
): Promise<string[]> {
  const accounts = await tx.acme.accountsBoundByLine(lineIds);
  const done: string[] = [];
  for (const account of accounts) {
    const row = await tx.acme.updateAccount(account.id, { status: "deactivated" }, now);
    done.push(row.id);
    await recordAccountEnd(
      tx,
      call,
      row.id,
      "deactivated",
      [
        { field: "external_account_key_id", after: account.eab_key_id },
        { field: "external_account_key_creator_id", after: account.creator_id },
        { field: "revoked_with_access_token_id", after: tokenId },
      ],
      now,
    );
  }
  return done;
}

/**
 * The certificates the line requested (`lineIds`, by Certificate.owner: the requester, who
 * holds the key) or vouched for (Certificate.vouchedBy: issued over a credential of the line, or
 * renewing a certificate it had issued, whoever holds the key now; since stop 56 of 2026-12-07,
 * before which a workload's renewal over mTLS with a new key, its own, outlived the cut of the
 * line that issued its first certificate) that authentication accepts as a client-certificate credential at `now`:
 * in force (not revoked, or on hold: a hold released later would make it one again; not
 * expired), usable for TLS client authentication, and matched by a binding of an access token
 * in force, through authentication's own matcher (auth/client-certificates.ts
 * resolveClientCertificate: the identity, the CA on its chain, no CA above it revoked, issued to
 * the bound token or to an admin after the binding); or matched by more than one binding
 * (CLIENT_CERTIFICATE_AMBIGUOUS: it is one binding's revocation away from authenticating). Read
 * through the transaction (the CAs as it sees them, not authentication's cache). Only
 * certificates created at or after `since` (the line's oldest token) are read.
 *
 * Judged before the line's tokens are revoked: a certificate that authenticated as a token of
 * the line itself goes too (that token is revoked with it, but the key is the leaked line's), and
 * one that two bindings matched (a line's binding among them) does not escape because the cut
 * left only one.
 */
export async function lineClientCertificates(
  tx: Pick<LineStore, "tokens" | "certificates" | "cas">,
  lineIds: readonly string[],
  since: Date,
  now: Date,
  skip: ReadonlySet<string> = new Set(),
): Promise<Certificate[]> {
  const candidates = (await tx.tokens.clientCertificatesOfLine(lineIds, since, now)).filter(
    (c) => !skip.has(c.id),
  );
  if (candidates.length === 0) return [];
  const cas = new CaDirectory(tx.cas, NO_CLIENT_TRUST, 0);
  const accepted: Certificate[] = [];
  for (const certificate of candidates) {
    if (await acceptedAsCredential(tx, cas, certificate, now)) accepted.push(certificate);
  }
  return accepted;
}

/** Whether a binding of a token in force accepts the certificate (or two do). */
async function acceptedAsCredential(
  tx: Pick<LineStore, "tokens" | "certificates">,
  cas: CaDirectory,
  certificate: Certificate,
  now: Date,
): Promise<boolean> {
  // The identity exactly as a TLS peer's is read, as the last-admin guard reads a certificate.
  const peer = storedCertificateIdentity(certificate);
  if (!peer) return false;
  try {
    const credential = await resolveClientCertificate(tx.tokens, tx.certificates, cas, peer, now);
    return credential.revokedAt === null && credential.expiresAt.getTime() > now.getTime();
  } catch (err) {
    if (!isCertmintError(err) || err.kind !== "unauthenticated") throw err;
    return err.reason === "CLIENT_CERTIFICATE_AMBIGUOUS";
  }
}

/**
 * Revokes `certificates` (lineClientCertificates) with reason privilegeWithdrawn (RFC 5280
 * 5.3.1: the privilege the certificate carried, its requester's authority, was withdrawn), each
 * as RevokeCertificate revokes one (certificates/revoke.ts revokeCertificateRow: its row locked,
 * a hold made final, counted against its CA's CRL, its own audit record, which names the token
 * whose revocation took it: revoked_with_access_token_id), in id order. The caller tells every
 * process after the commit (onCertificateRevoked). Returns those it revoked.
 */
export async function revokeLineCertificates(
  tx: RowRevocationStore,
  call: Call,
  tokenId: string,
  certificates: readonly Certificate[],
  now: Date,
): Promise<Certificate[]> {
  const revoked: Certificate[] = [];
  for (const c of [...certificates].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    const changed = await revokeCertificateRow(tx, call, c, {
      reason: "PRIVILEGE_WITHDRAWN",
      now,
      named: false,
      cause: { field: "revoked_with_access_token_id", after: tokenId },
    });
    if (changed) revoked.push(c);
  }
  return revoked;
}

/** The oldest creation time of the tokens (what they could have requested is newer). */
export const oldestOf = (tokens: readonly Pick<AccessToken, "createdAt">[]): Date =>
  new Date(Math.min(...tokens.map((t) => t.createdAt.getTime())));
