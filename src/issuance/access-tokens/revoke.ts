import { failedPrecondition } from "../../errors";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { storedErrorOf } from "../certificates/outcome";
import { resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import type {
  AccessTokenRepository,
  AccessTokenView,
  AuditRepository,
  RequestRepository,
  StoreWith,
} from "../repositories";
import { requireCallerInForce } from "./caller";
import { guardLastAdmin, type LastAdminStore, lastAdminCredential } from "./last-admin";
import { tokenView } from "./request-id";

export interface RevokeAccessTokenDeps {
  store: StoreWith<
    LastAdminStore & {
      tokens: Pick<
        AccessTokenRepository,
        "find" | "markRevoked" | "lockCaller" | "lockForRevocation"
      >;
      audit: Pick<AuditRepository, "insert">;
      requests: Pick<RequestRepository, "rejectWaitingOf">;
    }
  >;
  now: () => Date;
  /** Evicts the token from the authentication cache of this process at once. */
  forgetCredential: (tokenId: string) => void;
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
 * afterwards (an outside probe, F8). Tokens it made earlier stay in force: revoking a token
 * does not revoke what it created (an admin's tokens are handed to others, most of them for
 * good reasons); to find them, list the tokens whose `creator` is its id, or the audit records
 * whose actor it is (each token's creation is audited under its creator, in the transaction
 * that stores it), and revoke those that are not trusted.
 */
export async function revokeAccessToken(
  deps: RevokeAccessTokenDeps,
  call: Call,
  ref: string,
): Promise<AccessTokenView> {
  const token = await resolveRef(ref, "access token", "access_token", (k) =>
    deps.store.tokens.find(k),
  );
  const revoked = await deps.store.transaction(async (tx) => {
    // The admin set's lock first (last-admin.ts takes it before any lock of the change), then
    // the caller as committed (caller.ts: a revoked token revokes nothing either), then the
    // token, after every change its own calls have in flight committed (they hold it FOR
    // SHARE): from here on none can be made, and `now`, read after the lock, is later than
    // the creation of every token it made (an investigator's "created before the revocation"
    // is then exact).
    if (token.role === "ADMIN") await tx.tokens.lockAdminCredentials();
    await requireCallerInForce(tx, call, deps.now());
    if (!(await tx.tokens.lockForRevocation(token.id))) {
      stillThere(null, { what: "access token", ref: token.slug });
    }
    const now = deps.now();
    const revoke = () => tx.tokens.markRevoked(token.id, now);
    if (token.role === "ADMIN") {
      await guardLastAdmin(tx, now, revoke, (before) =>
        lastAdminCredential(
          `access_tokens/${token.slug}`,
          `revoking access token "${token.slug}"`,
          before,
        ),
      );
    } else {
      await revoke();
    }
    // Read in the transaction (the read that followed it before): the record says what the
    // revocation changed, revoke_time from none to now, or nothing when it was revoked already.
    const after = stillThere(await tx.tokens.find({ id: token.id }), {
      what: "access token",
      ref: token.slug,
    });
    // markRevoked sets revoked_at only where it was null: to `now` by this call.
    const revokedByThis = after.revokedAt?.getTime() === now.getTime();
    if (revokedByThis) await rejectWaitingRequests(tx, call, token.slug, token.id, now);
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "access_token", id: token.id },
        now,
        undefined,
        updatedFields(
          { revokedAt: revokedByThis ? null : after.revokedAt },
          { revokedAt: after.revokedAt },
        ),
      ),
    );
    return after;
  });
  deps.forgetCredential(token.id);
  return tokenView(revoked);
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
  const error = storedErrorOf(
    failedPrecondition(
      "REQUEST_REJECTED",
      `rejected with its requester: access token "${slug}" was revoked`,
    ),
  );
  const rejected = await tx.requests.rejectWaitingOf(tokenId, error, now);
  for (const id of rejected) {
    await tx.audit.insert(changeRecord(call, { type: "certificate_request", id }, now));
  }
}
