import { codeOf } from "../api/errors";
import { type AuditResource, changeRecord } from "../issuance/audit/record";
import type { Call } from "../issuance/call";
import type { AccountRow, AcmeAccount, AuditRepository } from "../issuance/repositories";
import type { AcmeExchange } from "./http/exchange";
import { AcmeProblem } from "./problem";

/**
 * The Call of a use case (issue, revoke, requestStatus) run for an ACME account: the account
 * is the actor of the audit record and the caller that owns the certificate, an issuer of
 * its profile only (src/issuance/call.ts requireProfileAccess), so the use case's own access
 * check, audit record and ownership rules apply to ACME exactly as to the gRPC API.
 */
export function accountCall(x: AcmeExchange, account: AccountRow, method: string): Call {
  return actorCall(x, { id: account.id, slug: `acme-account-${account.id}` }, method);
}

/**
 * The same for a request signed by a certificate's own key (revocation, RFC 8555 7.6): the
 * actor is named after the certificate.
 */
export function actorCall(
  x: AcmeExchange,
  actor: { id: string; slug: string },
  method: string,
): Call {
  return {
    actor: { ...actor, role: "ISSUER", profileIds: [x.profile.id] },
    // In the RPC-name form ListAuditRecords filters by ("/acme/finalize"); the profile is
    // the request's own.
    method: `/acme/${method}`,
    traceId: "",
    peer: x.peer,
    // The audit trail records every outcome as a google.rpc code, whichever transport served it.
    statusCodeOf: codeOf,
  };
}

/** Writes the audit record of an ACME change, by `account`, in the change's transaction. */
export function auditAs(
  x: AcmeExchange,
  account: AccountRow,
  method: string,
  tx: { audit: Pick<AuditRepository, "insert"> },
  resource: AuditResource,
): Promise<void> {
  return tx.audit.insert(changeRecord(accountCall(x, account, method), resource, x.now));
}

/**
 * The account as the transaction read it (locked, or held FOR SHARE), if it is still valid.
 * A request is verified against the account before its transaction starts; one an admin
 * revoked (RevokeAcmeAccount), its holder deactivated or a cut token line ended since then
 * is refused here, after that change committed (RFC 8555 7.1.2, 7.3.6: unauthorized).
 */
export function accountStillValid(current: AcmeAccount | undefined): AcmeAccount {
  if (current?.status !== "valid") {
    throw new AcmeProblem("unauthorized", `the account is ${current?.status ?? "gone"}`, 401);
  }
  return current;
}
