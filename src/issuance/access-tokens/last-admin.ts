import {
  type AdminCredentialStore,
  type UsableAdmin,
  usableAdminCredentials,
} from "../../auth/admin-credentials";
import { type CertmintError, failedPrecondition } from "../../errors";
import type { AccessTokenRepository } from "../repositories";

/** A transaction's repositories, as the last-admin guard reads them. */
export type LastAdminStore = AdminCredentialStore & {
  tokens: Pick<AccessTokenRepository, "lockAdminCredentials">;
};

/**
 * Runs `change` (inside the caller's transaction) unless it takes away the last usable admin
 * credential (auth/admin-credentials.ts: the definition start-up shares), refusing it then
 * with FAILED_PRECONDITION LAST_ADMIN_CREDENTIAL; the transaction rolls back, so a refusal
 * changes nothing. Nobody could otherwise create tokens, revoke a leaked certificate or manage
 * CAs until a restart, which a remote operator may not be able to make. Whatever removes a
 * credential is held to it: revoking an admin token, the last client certificate that
 * authenticates as an admin binding, or a CA above all of them (an outside probe of stop 44,
 * 2026-12-06, revoked each into a lockout). A database already without one (all expired, say)
 * is not made worse by a revocation, which then goes through.
 *
 * Takes the admin set's lock first (before any lock of the change), so two revocations at
 * once, on two replicas too, are judged one after the other and cannot both pass.
 */
export async function guardLastAdmin(
  tx: LastAdminStore,
  now: Date,
  change: () => Promise<void>,
  refusal: (before: readonly UsableAdmin[]) => CertmintError,
): Promise<void> {
  const guard = await openLastAdminGuard(tx, now);
  await change();
  await guard.check(refusal);
}

/**
 * guardLastAdmin in two steps, for a change written inline: open it first in the transaction
 * (the lock, and the usable credentials before), make the change, then `check`.
 */
export async function openLastAdminGuard(
  tx: LastAdminStore,
  now: Date,
): Promise<{ check(refusal: (before: readonly UsableAdmin[]) => CertmintError): Promise<void> }> {
  await tx.tokens.lockAdminCredentials();
  const before = await usableAdminCredentials(tx, now);
  return {
    async check(refusal) {
      if (before.length === 0) return;
      if ((await usableAdminCredentials(tx, now, true)).length === 0) throw refusal(before);
    },
  };
}

/** What to do first, said the same way by every refusal. */
const CREATE_FIRST =
  "create another admin token first (CreateAccessToken with role ROLE_ADMIN, or issue a new client certificate for an admin binding), then retry";

export function lastAdminCredential(subject: string, what: string, before: readonly UsableAdmin[]) {
  const slugs = [...new Set(before.map((b) => `"${b.slug}"`))].join(", ");
  return failedPrecondition(
    "LAST_ADMIN_CREDENTIAL",
    `${what} would leave no usable admin credential (the admin tokens usable now: ${slugs}): ${CREATE_FIRST}; nothing was changed`,
    {
      preconditions: [
        {
          type: "LAST_ADMIN_CREDENTIAL",
          subject,
          description:
            "no other admin bearer token, and no admin client certificate binding with a valid certificate that authenticates as it, would remain",
        },
      ],
    },
  );
}
