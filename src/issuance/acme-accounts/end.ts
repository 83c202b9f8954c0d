import { failedPrecondition } from "../../errors";
import type { FieldChange } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { storedErrorOf } from "../certificates/outcome";
import type { AuditRepository, RequestRepository } from "../repositories";

/** What a request of an account deactivated while it waited for approval records. */
export const ACCOUNT_DEACTIVATED_ERROR = storedErrorOf(
  failedPrecondition(
    "REQUEST_REJECTED",
    "rejected with its requester: the ACME account that made it was deactivated",
  ),
);

/** What a request of an account an admin revoked while it waited for approval records. */
export const ACCOUNT_REVOKED_ERROR = storedErrorOf(
  failedPrecondition(
    "REQUEST_REJECTED",
    "rejected with its requester: the ACME account that made it was revoked by an admin",
  ),
);

export type AccountEndStore = {
  requests: Pick<RequestRepository, "rejectWaitingOf">;
  audit: Pick<AuditRepository, "insert">;
};

/**
 * What follows, in its transaction, the end of an ACME account that was valid (its row locked
 * and its status written by the caller): the account's audit record under `call` (status valid
 * -> `status`, and `changes`: why), and its requests waiting for approval rejected with it,
 * each audited, as a revoked token's are (access-tokens/revoke.ts): an approval would refuse
 * them REQUESTER_DEACTIVATED. "deactivated": RFC 8555 7.3.6, with a revoked token line
 * (access-tokens/line.ts); "revoked": an admin's (RFC 8555 7.1.2, the server's own
 * deactivation: RevokeAcmeAccount, RevokeAcmeExternalAccountKey, src/acme/admin).
 */
export async function recordAccountEnd(
  tx: AccountEndStore,
  call: Call,
  accountId: string,
  status: "deactivated" | "revoked",
  changes: readonly FieldChange[],
  now: Date,
): Promise<void> {
  await tx.audit.insert(
    changeRecord(call, { type: "acme_account", id: accountId }, now, undefined, [
      { field: "status", before: "valid", after: status },
      ...changes,
    ]),
  );
  const error = status === "revoked" ? ACCOUNT_REVOKED_ERROR : ACCOUNT_DEACTIVATED_ERROR;
  const rejected = await tx.requests.rejectWaitingOf(accountId, error, now);
  for (const id of rejected) {
    await tx.audit.insert(changeRecord(call, { type: "certificate_request", id }, now));
  }
}
