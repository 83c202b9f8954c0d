import { failedPrecondition } from "../../errors";
import { type FieldChange, updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { storedErrorOf } from "../certificates/outcome";
import { resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import type { IssuanceDeps } from "../deps";
import type {
  AccessToken,
  AccessTokenRepository,
  AccessTokenView,
  AuditRepository,
  Certificate,
  RequestRepository,
  StoredError,
  StoreWith,
} from "../repositories";
import { requireCallerInForce } from "./caller";
import { guardLastAdmin, type LastAdminStore, lastAdminCredential } from "./last-admin";
import {
  deactivateLineAccounts,
  type LineStore,
  lineClientCertificates,
  oldestOf,
  revokeLineCertificates,
  revokeLineKeys,
} from "./line";
import { tokenView } from "./request-id";

export interface RevokeAccessTokenDeps {
  store: StoreWith<
    LastAdminStore &
      LineStore & {
        tokens: Pick<
          AccessTokenRepository,
          | "find"
          | "markRevoked"
          | "markLineCut"
          | "lockCaller"
          | "lockVouchers"
          | "lockForRevocation"
          | "createdLine"
        >;
        audit: Pick<AuditRepository, "insert">;
        requests: Pick<RequestRepository, "rejectWaitingOf" | "rejectWaitingVouchedBy">;
      }
  >;
  now: () => Date;
  /** Evicts the token from the authentication cache of this process at once. */
  forgetCredential: (tokenId: string) => void;
  /**
   * Told after the commit of each client certificate a cascade revoked, as RevokeCertificate
   * tells it (CRL, OCSP, every process's credential cache: a "certificate-revoked" change).
   */
  onCertificateRevoked?: IssuanceDeps["onCertificateRevoked"];
}

/** What RevokeAccessToken asks besides the token. */
export interface RevokeAccessTokenOptions {
  /**
   * Also revoke, in the same transaction, every token in force whose creator chain leads to
   * this one (revoke_created_tokens).
   */
  readonly revokeCreatedTokens?: boolean;
}

/** The token revoked, and with revokeCreatedTokens the tokens of its line this call revoked. */
export interface RevokedAccessTokens {
  readonly token: AccessTokenView;
  /** Oldest first (created_at, id); empty without revokeCreatedTokens. */
  readonly revokedCreated: AccessTokenView[];
  /** With revokeCreatedTokens: the ACME accounts deactivated with the line (ids). */
  readonly deactivatedAccounts: string[];
  /** With revokeCreatedTokens: the line's client certificates revoked (ids, by id). */
  readonly revokedCertificates: string[];
}

/**
 * RevokeAccessToken; revoking a revoked token changes nothing (the first revocation time
 * stands). The last admin credential in force is not revoked (LAST_ADMIN_CREDENTIAL): that
 * would leave nobody able to create tokens, revoke a leaked one or manage CAs until a restart
 * writes a new admin token to the data directory, which a remote operator may not reach. To
 * replace a leaked last admin token, create another admin token first. Until stop 40 of
 * 2026-12-05 the last admin could revoke itself; until stop 44 of 2026-12-06 a binding nobody
 * could present counted as a credential (access-tokens/last-admin.ts says which count).
 *
 * Once it answers OK the token makes no change to credentials (caller.ts): the calls it has in
 * flight that create or revoke tokens committed before it (this revocation waited for them),
 * any later one is refused TOKEN_REVOKED, on every replica. Until stop 45 of 2026-12-06 a
 * revoked admin token's calls in flight, queued or on another replica minted admin tokens
 * afterwards (an outside probe, F8).
 *
 * Without revokeCreatedTokens the tokens it made earlier stay in force: revoking a token does
 * not revoke what it created (an admin's tokens are handed to others, most of them for good
 * reasons); to find them, list the tokens whose `creator` is its id, or the audit records
 * whose actor it is (each token's creation is audited under its creator, in the transaction
 * that stores it), and revoke those that are not trusted.
 *
 * With revokeCreatedTokens (a leaked token: its holder may have made more, and those more
 * again) the same transaction also revokes every token of its line still in force: those whose
 * creator chain leads to it, through tokens in any state (one revoked or expired earlier still
 * links the tokens it made to it), all with the same revoked_at; each as a revocation of it
 * alone would (its row locked, its waiting requests rejected, its own audit record, its
 * credential dropped by every process), and the last-admin rule judges the line as one change:
 * if it would leave no lasting admin credential the whole call is refused and nothing changes.
 * A token already revoked is cut again this way: its revocation stands as it was (its record
 * says nothing changed) and the tokens of its line still in force are revoked now, so a token
 * revoked earlier without the flag can have its line cut later. The caller's own token may be
 * in the line (an admin ending a line it belongs to): it is revoked with the others, and the
 * call answers OK, its change committed while the caller was still in force. Until stop 47 of
 * 2026-12-06 revoke_created_tokens was refused, and before it there was no such call: each
 * token of a leaked line had to be found and revoked one at a time, while those still in force
 * could make more (test/auth/stop47-revoke-created.test.ts).
 *
 * The cascade also takes what the line made besides tokens (line.ts), in the same transaction:
 * the ACME accounts bound with External Account Binding keys a token of the line created
 * (deactivated as RFC 8555 7.3.6 deactivates one; an unused key of a revoked creator binds no
 * account, acme/eab.ts), and every certificate the line requested (its owner) that a client
 * certificate binding accepts as a credential, revoked privilegeWithdrawn (RFC 5280 5.3.1) as
 * RevokeCertificate revokes one; each audited, and the last-admin rule judges the tokens and
 * certificates as one change. Until stop 47 of 2026-12-06 both outlived the cut: a leaked admin
 * token's holder kept an EAB key or a client certificate matching another admin's binding and
 * stayed in (an outside probe, S F1, F2; test/auth/stop47-line-leftovers.test.ts).
 *
 * Order of locks: the admin set's advisory lock, the caller's row (FOR SHARE), the token's and
 * then its line's rows (FOR NO KEY UPDATE; lockCreatedLine), the line's ACME accounts (FOR NO
 * KEY UPDATE, by (created_at, id)), then the line's certificates (FOR NO KEY UPDATE, by id).
 * Tokens first: a store of a line token's certificate (callersInForce) or a binding of a line
 * key (its creator FOR SHARE) committed before them, or stores/binds nothing. Nothing that
 * waits on an account (a finalize's store, a deactivation) or a key (a binding) holds a token's
 * row a cascade waits for, save a batched store that holds a line account FOR SHARE and then
 * waits for a line caller's token, or a renewal's store that holds the renewed certificate and
 * then waits for its caller's token, both in flight at the cut: PostgreSQL ends one of the two
 * as a deadlock, nothing of it committed, answered ABORTED with a retry delay
 * (database-outage.ts), and a retry of the cascade finds the store refused or committed.
 */
export async function revokeAccessToken(
  deps: RevokeAccessTokenDeps,
  call: Call,
  ref: string,
  options: RevokeAccessTokenOptions = {},
): Promise<RevokedAccessTokens> {
  const token = await resolveRef(ref, "access token", "access_token", (k) =>
    deps.store.tokens.find(k),
  );
  const cascade = options.revokeCreatedTokens === true;
  const result = await deps.store.transaction(async (tx) => {
    // The admin set's lock first (last-admin.ts takes it before any lock of the change), then
    // the caller as committed (caller.ts: a revoked token revokes nothing either), then the
    // token, after every change its own calls have in flight committed (they hold it FOR
    // SHARE): from here on none can be made, and `now`, read after the lock, is later than
    // the creation of every token it made (an investigator's "created before the revocation"
    // is then exact). A cascade takes the admin set's lock whatever the token's role: its line
    // may hold admins, which are known only once read under the locks, and the lock must come
    // before any row's. It also makes two cascades run one after the other, whatever lines
    // they share.
    if (cascade || token.role === "ADMIN") await tx.tokens.lockAdminCredentials();
    await requireCallerInForce(tx, call, deps.now());
    if (!(await tx.tokens.lockForRevocation(token.id))) {
      stillThere(null, { what: "access token", ref: token.slug });
    }
    const line = cascade ? await lockCreatedLine(tx, token.id) : [];
    const now = deps.now();
    // In force at `now`: one expired meanwhile can make nothing more and is left as it is
    // (revoked_created_tokens lists neither the revoked nor the expired).
    const inForce = line.filter((t) => t.revokedAt === null && t.expiresAt > now);
    // The whole line (the token named, and its tokens in any state: an expired one's
    // certificates and keys are as much the leak's), for what it left besides tokens (line.ts).
    const lineIds = [token.id, ...line.map((t) => t.id)];
    const since = oldestOf([token, ...line]);
    // Under every lock of the line: a certificate of its tokens in flight committed (a storing
    // statement holds its caller FOR SHARE), a later one stores nothing. Judged before the
    // tokens are revoked (lineClientCertificates).
    const certificates = cascade ? await lineClientCertificates(tx, lineIds, since, now) : [];
    const revokedCertificates: Certificate[] = [];
    const deactivatedAccounts: string[] = [];
    const revokedKeys: string[] = [];
    const revoke = async () => {
      await tx.tokens.markRevoked(token.id, now);
      for (const t of inForce) await tx.tokens.markRevoked(t.id, now);
      if (!cascade) return;
      // From its commit, nothing made over a credential the line vouched for is written (the
      // stores and changes that hold these rows waited for this transaction: lockCreatedLine).
      await tx.tokens.markLineCut(lineIds, now);
      // Keys, accounts, then certificates (the order of locks, see above).
      revokedKeys.push(...(await revokeLineKeys(tx, lineIds, now)));
      deactivatedAccounts.push(...(await deactivateLineAccounts(tx, call, token.id, lineIds, now)));
      revokedCertificates.push(
        ...(await revokeLineCertificates(tx, call, token.id, certificates, now)),
      );
      // A REUSE renewal of one of them by a token outside the line (an admin, a shared
      // renewal) that committed while this waited for its row is the line's key too: read
      // again until none is left. Bounded: such a store rests on the line (the renewed
      // certificate's vouchers) and so committed before lockCreatedLine's locks or waits for
      // this commit and stores nothing (store/repositories/issuance.ts vouchersHeld).
      for (;;) {
        const seen = new Set(certificates.map((c) => c.id));
        const more = await lineClientCertificates(tx, lineIds, since, now, seen);
        if (more.length === 0) break;
        certificates.push(...more);
        revokedCertificates.push(...(await revokeLineCertificates(tx, call, token.id, more, now)));
      }
    };
    const admins = [token, ...inForce].filter((t) => t.role === "ADMIN");
    // A cascade is judged whatever its tokens' roles: a certificate of the line may be the last
    // admin credential (a client certificate an admin binding accepts).
    if (admins.length > 0 || cascade) {
      await guardLastAdmin(tx, now, revoke, (before) =>
        lastAdminCredential(
          `access_tokens/${token.slug}`,
          inForce.length === 0 && certificates.length === 0
            ? `revoking access token "${token.slug}"`
            : revokingLine(token, inForce, admins, certificates.length),
          before,
        ),
      );
    } else {
      await revoke();
    }
    // The tokens of the line first, each with its own record (as the certificates revoked with
    // a compromised key's), then the token named, whose record is the call's.
    const revokedCreated: AccessToken[] = [];
    for (const t of inForce) {
      const after = await tx.tokens.find({ id: t.id });
      // markRevoked sets revoked_at only where it was null: to `now` by this call.
      if (after?.revokedAt?.getTime() !== now.getTime()) continue;
      revokedCreated.push(after);
      await rejectWaitingRequests(tx, call, after.slug, after.id, now);
      await tx.audit.insert(
        changeRecord(call, { type: "access_token", id: after.id }, now, undefined, [
          ...updatedFields({ revokedAt: null }, { revokedAt: now }),
          // The token whose revocation (with revoke_created_tokens) took it.
          { field: "revoked_with_access_token_id", after: token.id },
        ]),
      );
    }
    // Read in the transaction (the read that followed it before): the record says what the
    // revocation changed, revoke_time from none to now, or nothing when it was revoked already.
    const after = stillThere(await tx.tokens.find({ id: token.id }), {
      what: "access token",
      ref: token.slug,
    });
    const revokedByThis = after.revokedAt?.getTime() === now.getTime();
    if (revokedByThis) await rejectWaitingRequests(tx, call, token.slug, token.id, now);
    // Requests waiting for approval that rest on the line besides their requester (made over a
    // client certificate it vouched for, or renewing one it made): an approval would sign a
    // certificate for the line's key (until stop 59 of 2026-12-07 one was signed after the cut,
    // and authenticated: an outside probe, F2).
    if (cascade) await rejectWaitingOfLine(tx, call, token.slug, lineIds, now);
    const changes: FieldChange[] = updatedFields(
      { revokedAt: revokedByThis ? null : after.revokedAt },
      { revokedAt: after.revokedAt },
    );
    // Which tokens went with it: each has its own record too (revoked_with_access_token_id).
    if (cascade) {
      changes.push({ field: "revoked_created_tokens", after: revokedCreated.map((t) => t.id) });
    }
    if (cascade) {
      changes.push({ field: "revoked_external_account_keys", after: revokedKeys });
      changes.push({ field: "deactivated_acme_accounts", after: deactivatedAccounts });
      changes.push({
        field: "revoked_certificates",
        after: revokedCertificates.map((c) => c.id),
      });
    }
    await tx.audit.insert(
      changeRecord(call, { type: "access_token", id: token.id }, now, undefined, changes),
    );
    return { token: after, revokedCreated, deactivatedAccounts, revokedCertificates };
  });
  // Each revoked credential is dropped by this process at once and announced to the others
  // (forgetCredential: a "token-revoked" credential change each), after the commit; each
  // certificate revoked as RevokeCertificate announces it (a "certificate-revoked" change).
  deps.forgetCredential(token.id);
  for (const t of result.revokedCreated) deps.forgetCredential(t.id);
  for (const c of result.revokedCertificates) {
    deps.onCertificateRevoked?.({
      caId: c.caId,
      fingerprintSha256: c.fingerprintSha256,
      // A CA certificate issued through a profile may be in the client CA bundle (ca-directory.ts).
      certificateAuthority: c.isCa,
    });
  }
  return {
    token: tokenView(result.token),
    revokedCreated: result.revokedCreated.map(tokenView),
    deactivatedAccounts: result.deactivatedAccounts,
    revokedCertificates: result.revokedCertificates.map((c) => c.id),
  };
}

/**
 * Inside the revocation's transaction, after the token's own lock: locks (lockForRevocation)
 * every token of its line, in id order, and reads the line again until none is left unlocked;
 * the line as read last, under those locks. Tokens revoked or expired too (since stop 59 of
 * 2026-12-07): what a client certificate one of them vouched for makes holds it FOR SHARE
 * whatever its state, and must wait for the cut (requireVouchersUncut, vouchersHeld). A token of the line making
 * a token at this moment holds its own row FOR SHARE (caller.ts) until that commits: its lock
 * here waits for it, and the next read finds the new token (READ COMMITTED: each statement
 * sees what committed before it), which is locked in turn; once every one in force is locked,
 * none can make another (a create after this commits is refused TOKEN_REVOKED). Two cascades
 * never wait for each other's rows: the admin set's lock, taken first, runs them one after the
 * other (a cascade's roots are locked before their lines, out of id order, so without it two
 * cascades over one line could deadlock). The id order is the one lockListingProfile keeps (a
 * profile's deletion; its tokens are issuers and approvers, which create none, so a root is
 * never among them). Only a token created during the cascade is locked in a later round, out
 * of that order: were a profile's deletion to lock that same new token at that moment,
 * PostgreSQL would end one of the two as a deadlock, nothing of it committed, answered ABORTED
 * with a retry delay (database-outage.ts).
 */
async function lockCreatedLine(
  tx: { tokens: Pick<AccessTokenRepository, "createdLine" | "lockForRevocation"> },
  tokenId: string,
): Promise<AccessToken[]> {
  const locked = new Set<string>();
  for (;;) {
    const line = await tx.tokens.createdLine(tokenId);
    // Every token of the line, in force or not: a store or change made over a client
    // certificate one of them vouched for holds it FOR SHARE (vouchersHeld,
    // requireVouchersUncut), whatever its own state, and must wait for this cut.
    const fresh = line
      .filter((t) => !locked.has(t.id))
      .map((t) => t.id)
      .sort();
    if (fresh.length === 0) return line;
    // One gone since the read (tokens are deleted only by a create that failed) is skipped.
    for (const id of fresh) {
      await tx.tokens.lockForRevocation(id);
      locked.add(id);
    }
  }
}

/**
 * The cascade's subject for the last-admin refusal: how many tokens of the line it would have
 * revoked, and which of them (the token named included) are admins, at most two by slug (as
 * lastAdminCredential names short-lived ones), so the line's admins stay within the API's 512
 * characters (api/errors.ts clips a longer message).
 */
function revokingLine(
  token: Pick<AccessToken, "slug">,
  inForce: readonly AccessToken[],
  admins: readonly Pick<AccessToken, "slug">[],
  certificates = 0,
): string {
  const shown = admins.slice(0, 2).map((a) => `"${a.slug}"`);
  const more = admins.length > shown.length ? ` and ${admins.length - shown.length} more` : "";
  const n = inForce.length;
  const certs =
    certificates === 0
      ? ""
      : `, with the ${certificates} client certificate${certificates === 1 ? "" : "s"} the line requested that authenticate${certificates === 1 ? "s" : ""} as an access token`;
  const adminsOf = admins.length === 0 ? "" : ` (admins of the line: ${shown.join(", ")}${more})`;
  return `revoking access token "${token.slug}" and the ${n} token${n === 1 ? "" : "s"} in force it created, directly or not${adminsOf}${certs}`;
}

/**
 * The token's requests still waiting for approval are REJECTED with its revocation, each
 * audited under the revoking caller: a certificate approved for them would go to a holder who
 * may no longer have it (approval.ts refuses it REQUESTER_REVOKED), and left PENDING_APPROVAL
 * they stayed in every approver's queue until someone rejected them by hand (until stop 46 of
 * 2026-12-06; an outside probe). One an approval holds locked at this moment is skipped: that
 * approval re-checks the requester under its lock after this commits and refuses it, leaving it
 * waiting as before (test/access-tokens/revoke-rejects-waiting.test.ts).
 */
async function rejectWaitingRequests(
  tx: {
    requests: Pick<RequestRepository, "rejectWaitingOf">;
    audit: Pick<AuditRepository, "insert">;
  },
  call: Call,
  slug: string,
  tokenId: string,
  now: Date,
): Promise<void> {
  await rejectAudited(
    tx,
    call,
    now,
    `rejected with its requester: access token "${slug}" was revoked`,
    (error) => tx.requests.rejectWaitingOf(tokenId, error, now),
  );
}

/** rejectWaitingRequests for the requests that rest on a cut line besides their requester. */
async function rejectWaitingOfLine(
  tx: {
    requests: Pick<RequestRepository, "rejectWaitingVouchedBy">;
    audit: Pick<AuditRepository, "insert">;
  },
  call: Call,
  slug: string,
  lineIds: readonly string[],
  now: Date,
): Promise<void> {
  await rejectAudited(
    tx,
    call,
    now,
    `rejected with the line of access token "${slug}" (revoke_created_tokens), which the request rests on`,
    (error) => tx.requests.rejectWaitingVouchedBy(lineIds, error, now),
  );
}

/** Rejects (`reject`, FAILED_PRECONDITION REQUEST_REJECTED `message`), each audited under `call`. */
async function rejectAudited(
  tx: { audit: Pick<AuditRepository, "insert"> },
  call: Call,
  now: Date,
  message: string,
  reject: (error: StoredError) => Promise<string[]>,
): Promise<void> {
  const rejected = await reject(storedErrorOf(failedPrecondition("REQUEST_REJECTED", message)));
  for (const id of rejected) {
    await tx.audit.insert(changeRecord(call, { type: "certificate_request", id }, now));
  }
}
