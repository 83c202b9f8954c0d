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
 * Only credentials that stay usable for LAST_ADMIN_MARGIN_SECONDS (a day) count: a short-lived
 * admin token (or a certificate about to expire) would otherwise let the last long-lived one
 * be revoked, and lock every admin out when it expired a minute later (an outside probe of
 * stop 45, 2026-12-06, F2, did it with a token of ttl 61 s). A day leaves an operator the time
 * to notice and create a lasting one; the refusal names the short-lived ones and why they do
 * not count.
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
  const lastingUntil = new Date(now.getTime() + LAST_ADMIN_MARGIN_SECONDS * 1000);
  const before = await usableAdminCredentials(tx, now, false, lastingUntil);
  return {
    async check(refusal) {
      if (!before.some((b) => b.lasting)) return;
      const after = await usableAdminCredentials(tx, now, true, lastingUntil);
      if (!after.some((a) => a.lasting)) throw refusal(before);
    },
  };
}

/** How long an admin credential must stay usable to count for the guard: a day. */
export const LAST_ADMIN_MARGIN_SECONDS = 86_400;

/** What to do first, said the same way by every refusal. */
const CREATE_FIRST =
  "create another admin token first (with a ttl of more than a day, or a client certificate valid that long for an admin binding), then retry";

/**
 * FAILED_PRECONDITION LAST_ADMIN_CREDENTIAL. `before`: the credentials usable before the
 * change, as openLastAdminGuard read them: the lasting ones, and those that expire within a
 * day, named with the time they end (at most two, the message stays whole within the API's
 * 512 characters).
 */
export function lastAdminCredential(subject: string, what: string, before: readonly UsableAdmin[]) {
  const lasting = [...new Set(before.filter((b) => b.lasting).map((b) => `"${b.slug}"`))];
  const short = before
    .filter((b) => !b.lasting)
    .filter((b, i, all) => all.findIndex((o) => o.id === b.id) === i);
  const named = short.slice(0, 2).map((b) => `"${b.slug}" (until ${b.until.toISOString()})`);
  if (short.length > 2) named.push(`${short.length - 2} more`);
  const shortNote =
    named.length > 0
      ? `; ${named.join(", ")} expire${short.length === 1 ? "s" : ""} within a day and do${short.length === 1 ? "es" : ""} not count: every admin would be locked out then`
      : "";
  return failedPrecondition(
    "LAST_ADMIN_CREDENTIAL",
    `${what} would leave no admin credential usable for another day (usable that long now: ${lasting.join(", ")}${shortNote}): ${CREATE_FIRST}; nothing was changed`,
    {
      preconditions: [
        {
          type: "LAST_ADMIN_CREDENTIAL",
          subject,
          description:
            "no other admin bearer token, and no admin client certificate binding with a valid certificate that authenticates as it, would remain usable for at least a day",
        },
      ],
    },
  );
}
