import { CertmintError, isCertmintError } from "../../errors";
import {
  CertificateEntity,
  CertificateRequestEntity,
  type CertificateRequestRow,
} from "../../store/entities";
import { withRequestLock } from "../../store/request-lock";
import { forgetChangeRecord } from "../audit/record";
import { currentCallScope } from "../call-scope";
import type { IssuanceDeps } from "../deps";
import { lockWaitMs, requestInProgress } from "./idempotency";
import { outcomeOf } from "./outcome";
import { markFailed } from "./request-rows";
import { type CertifiedKey, certifiedKeyOf, RequestSettled, signAndStore } from "./sign-and-store";
import type { IssuancePlan, IssueOutcome } from "./types";

/**
 * Signs a PENDING request (serial reserved, intent committed) and returns its outcome. The
 * request's lock (store/request-lock.ts) is held from before signing until the certificate is
 * committed, so one call at a time finishes it, on every replica: a call that finds it held
 * (a replay while the first call signs, on this replica or another) waits for it, bounded by
 * its deadline, and answers what the holder stored, never an error because another call won.
 * A refusal on the merits (CA disabled meanwhile, validity) marks the request FAILED with its
 * reason, in the same transaction. A renewal links old and new certificates in it too.
 */
export async function finish(
  deps: IssuanceDeps,
  plan: IssuancePlan,
  request: CertificateRequestRow | string,
  options: { holdKeyForFetch?: boolean; key?: CertifiedKey } = {},
): Promise<IssueOutcome> {
  const em = deps.orm.em.fork();
  // The row just inserted is passed as is: one round trip fewer on the hot path.
  const row =
    typeof request === "string"
      ? await em.findOneOrFail(CertificateRequestEntity, { id: request })
      : request;
  const renewalOf = row.renewalOfCertificateId
    ? await em.findOneOrFail(CertificateEntity, { id: row.renewalOfCertificateId })
    : undefined;
  // Before the lock: generating a key (RSA: up to seconds) needs no database. An approval or
  // a takeover generates in the requester's share of the RSA pool, never refused for a full
  // queue: nobody sent it in a burst.
  const key =
    options.key ?? (await certifiedKeyOf(deps, plan, { caller: row.caller, bounded: false }));
  let result: Awaited<ReturnType<typeof signAndStore>> | CertmintError | "busy";
  try {
    result = await withRequestLock(em, row.id, lockWaitMs(), async ({ connection, status }) => {
      if (status !== "PENDING") throw new RequestSettled();
      try {
        return await signAndStore(deps, plan, row, key, connection, {
          renewalOf,
          holdKeyForFetch: options.holdKeyForFetch,
        });
      } catch (err) {
        if (!isCertmintError(err) || err.kind === "internal") throw err;
        if (!(await markFailed(connection, row.id, err, deps.now()))) throw new RequestSettled();
        err.metadata.certificate_request_id = row.id;
        return err;
      }
    });
  } catch (err) {
    // Another call completed it first (the lock's transaction rolled back whatever this call
    // wrote, its audit record too): answer what that call stored, as a replay would.
    if (!(err instanceof RequestSettled)) throw err;
    const scope = currentCallScope();
    if (scope) forgetChangeRecord(scope);
    const settled = await em.findOneOrFail(
      CertificateRequestEntity,
      { id: row.id },
      { refresh: true },
    );
    return outcomeOf(deps, em, settled);
  }
  if (result === "busy") throw requestInProgress(row.id);
  if (result instanceof CertmintError) throw result;
  return {
    certificateRequestId: row.id,
    status: "ISSUED",
    certificate: result.view,
    privateKeyPem: result.privateKeyPem,
  };
}
