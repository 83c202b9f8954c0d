import { failedPrecondition } from "../../errors";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import type {
  AccessTokenRepository,
  AccessTokenView,
  AuditRepository,
  StoreWith,
} from "../repositories";
import { tokenView } from "./request-id";

export interface RevokeAccessTokenDeps {
  store: StoreWith<{
    tokens: Pick<
      AccessTokenRepository,
      "find" | "markRevoked" | "countActiveAdmins" | "lockAdminCredentials"
    >;
    audit: Pick<AuditRepository, "insert">;
  }>;
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
 * 2026-12-05 the last admin could revoke itself.
 */
export async function revokeAccessToken(
  deps: RevokeAccessTokenDeps,
  call: Call,
  ref: string,
): Promise<AccessTokenView> {
  const token = await resolveRef(ref, "access token", "access_token", (k) =>
    deps.store.tokens.find(k),
  );
  const now = deps.now();
  const revoked = await deps.store.transaction(async (tx) => {
    const admin = token.role === "ADMIN";
    if (admin) await tx.tokens.lockAdminCredentials();
    const before = admin ? await tx.tokens.countActiveAdmins(now) : 0;
    await tx.tokens.markRevoked(token.id, now);
    if (before > 0 && (await tx.tokens.countActiveAdmins(now)) === 0) throw lastAdmin(token.slug);
    // Read in the transaction (the read that followed it before): the record says what the
    // revocation changed, revoke_time from none to now, or nothing when it was revoked already.
    const after = stillThere(await tx.tokens.find({ id: token.id }), {
      what: "access token",
      ref: token.slug,
    });
    // markRevoked sets revoked_at only where it was null: to `now` by this call.
    const revokedByThis = after.revokedAt?.getTime() === now.getTime();
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

function lastAdmin(slug: string) {
  return failedPrecondition(
    "LAST_ADMIN_CREDENTIAL",
    `access token "${slug}" is the last admin credential in force: create another admin token (CreateAccessToken with role ROLE_ADMIN) first, then revoke this one`,
    {
      preconditions: [
        {
          type: "LAST_ADMIN_CREDENTIAL",
          subject: `access_tokens/${slug}`,
          description: "no other admin token or admin client certificate binding is in force",
        },
      ],
    },
  );
}
