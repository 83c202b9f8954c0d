import type { EntityManager } from "@mikro-orm/postgresql";
import { codeOf } from "../api/errors";
import { type AuditResource, recordAudit } from "../issuance/audit/record";
import { runInCallScope } from "../issuance/call-scope";
import type { AcmeExchange } from "./http/exchange";
import type { AccountRow } from "./store";

/**
 * Runs a use case (issue, revoke) as an ACME account: the account is the actor of the audit
 * record and the caller that owns the certificate, an issuer of its profile only
 * (src/issuance/call-scope.ts), so the use case's own access check, audit record and
 * ownership rules apply to ACME exactly as to the gRPC API.
 */
export function asAccount<T>(
  x: AcmeExchange,
  account: AccountRow,
  method: string,
  fn: () => Promise<T>,
): Promise<T> {
  return asActor(x, { id: account.id, slug: `acme-account-${account.id}` }, method, fn);
}

/** Writes the audit record of an ACME change, by `account`, in the change's transaction. */
export function auditAs(
  x: AcmeExchange,
  account: AccountRow,
  method: string,
  tx: EntityManager,
  resource: AuditResource,
): Promise<void> {
  return asAccount(x, account, method, () => recordAudit(tx, resource, x.now));
}

/**
 * The same for a request signed by a certificate's own key (revocation, RFC 8555 7.6): the
 * actor is named after the certificate.
 */
export function asActor<T>(
  x: AcmeExchange,
  actor: { id: string; slug: string },
  method: string,
  fn: () => Promise<T>,
): Promise<T> {
  return runInCallScope(
    {
      actor: { ...actor, role: "ISSUER", profileIds: [x.profile.id] },
      // In the RPC-name form ListAuditRecords filters by ("/acme/finalize"); the profile is
      // the request's own.
      method: `/acme/${method}`,
      requestId: "",
      peer: x.peer,
      audited: false,
      // The audit trail records every outcome as a google.rpc code, whichever transport served it.
      statusCodeOf: codeOf,
    },
    fn,
  );
}
