import { isCertmintError } from "../../errors";
import type { IssuedNote } from "../../issuance/call";
import { issuedFields } from "../../issuance/call";
import { issue } from "../../issuance/certificates/issue";
import { requestStatus } from "../../issuance/certificates/status";
import { isUuid } from "../../issuance/common/refs";
import { loadProfileForIssuance } from "../../issuance/profiles/load";
import type { AccountRow, OrderRow, Repositories } from "../../issuance/repositories";
import { parseCsrDer } from "../../signer";
import { toPem } from "../../signer/der";
import { spkiThumbprint } from "../../signer/jws";
import { accountCall, accountStillValid, auditAs } from "../acting";
import {
  type AcmeExchange,
  type AcmeResponse,
  requireAccount,
  requireEmptyPayload,
  takeRate,
} from "../http/exchange";
import { decodeB64url } from "../http/jws-request";
import { challengeTypesFor, checkIdentifiers, sameIdentifiers } from "../identifiers";
import {
  ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT,
  ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS,
} from "../limits";
import { AcmeProblem, malformed, notFoundProblem, problemOfDomainError } from "../problem";
import { findReplaced } from "../renewal-info";
import { orderView } from "../views";

/** How often a client should poll an order being processed or awaiting approval (seconds). */
const POLL_SECONDS = 3;

/**
 * A finalize records its certificate request within milliseconds, or fails and puts the
 * order back to ready. An order still processing without a request this long after its
 * finalize started was interrupted in between (the process stopped, or the database went away
 * and the order could not be put back): followRequest reopens it. Far above any finalize's
 * time, so a finalize in flight is never reopened; and were one, the finalize's request_id
 * (finalizeRequestId) makes the next finalize replay its certificate, never sign another.
 */
const INTERRUPTED_FINALIZE_MS = 60_000;

/** The request_id of an order's finalize: a finalize retried replays, never issues twice. */
const finalizeRequestId = (orderId: string) => `acme-order-${orderId}`;

/**
 * newOrder (RFC 8555 7.4): identifiers checked against the profile's policy first
 * (rejectedIdentifier), then one authorization per identifier with its challenges. notBefore
 * and notAfter are refused: the profile decides the validity. `replaces` (RFC 9773 5) names a
 * certificate of this account that this order renews; a certificate is replaced once.
 */
export async function newOrder(x: AcmeExchange): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  await takeRate(x, `account:${account.id}`);
  const payload = (request.payload ?? {}) as Record<string, unknown>;
  if (payload.notBefore !== undefined || payload.notAfter !== undefined) {
    throw malformed("notBefore and notAfter are not supported: the profile sets the validity");
  }
  const { policy } = await loadProfileForIssuance(x.ctx.store, x.profile.id);
  const identifiers = checkIdentifiers(payload.identifiers, policy);
  let replaces: string | null = null;
  if (payload.replaces !== undefined) {
    if (typeof payload.replaces !== "string") throw malformed("replaces must be a string");
    replaces = await findReplaced(x, account, payload.replaces, identifiers);
  }
  const refund = await takeAuthorizations(x, account, identifiers.length);
  // The order, its authorizations and challenges, and its audit record commit together.
  let order: OrderRow;
  try {
    order = await x.ctx.store.transaction(async (tx) => {
      // Held FOR SHARE until the order commits: a revocation or deactivation of the account
      // (which locks its row) either commits first and is seen here, or waits for the order.
      accountStillValid(await tx.acme.shareAccount(account.id));
      if (replaces !== null) await stillReplaceable(tx, replaces, x.now);
      const row = await tx.acme.insertOrder(
        { account_id: account.id, profile_id: x.profile.id, identifiers, replaces },
        challengeTypesFor,
        x.now,
      );
      await auditAs(x, account, "newOrder", tx, { type: "acme_order", id: row.id });
      return row;
    });
  } catch (err) {
    refund();
    throw err;
  }
  const authorizations = await x.ctx.store.acme.authorizationsOf(order.id);
  return {
    status: 201,
    body: orderView(x.urls, order, authorizations),
    location: x.urls.order(order.id),
  };
}

/**
 * RFC 9773 5: 409 alreadyReplaced when an order that can still become valid replaces this
 * certificate. Under the certificate's lock in the order's transaction: two orders at once
 * cannot both pass (until stop 51 of 2026-12-07 the check ran before it: ACME F4).
 */
async function stillReplaceable(
  tx: Pick<Repositories, "acme">,
  replaces: string,
  now: Date,
): Promise<void> {
  await tx.acme.lockReplaced(replaces);
  if (await tx.acme.replacedBy(replaces, now)) {
    throw new AcmeProblem(
      "alreadyReplaced",
      "another order already replaces this certificate",
      409,
    );
  }
}

/**
 * RFC 8555 6.6: an order of `count` identifiers spends as many of its account's authorizations
 * (ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT), all or none; past them rateLimited with Retry-After.
 * Returns what gives them back (the order was not stored after all).
 */
async function takeAuthorizations(
  x: AcmeExchange,
  account: AccountRow,
  count: number,
): Promise<() => void> {
  const limiter = x.ctx.newAuthorizationLimiter;
  const identity = `account:${account.id}`;
  const refund = (n: number) => {
    for (let i = 0; i < n; i++) limiter.refund(identity);
  };
  for (let taken = 0; taken < count; taken++) {
    const wait = await limiter.take(identity);
    if (wait > 0) {
      refund(taken);
      // The first missing authorization comes back in `wait` s, the others one per interval.
      const interval = ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS / ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT;
      const retryAfter = Math.max(1, Math.ceil(wait + (count - taken - 1) * interval));
      throw new AcmeProblem(
        "rateLimited",
        `this account has created too many authorizations; retry after ${retryAfter} s`,
        429,
        { retryAfter },
      );
    }
  }
  return () => refund(count);
}

/** The order of this account, its state brought up to date. */
async function ownOrder(x: AcmeExchange, account: AccountRow, orderId: string): Promise<OrderRow> {
  // An id that is no UUID names no order: answered as an unknown one without a query (the
  // uuid column refused it, a 500 and an error-level log each time, until 2026-12-05).
  const order = isUuid(orderId) ? await x.ctx.store.acme.order(orderId) : undefined;
  // Another account's order is answered as a missing one (as Boulder does): its id is not
  // the caller's to learn anything about, not even that it exists.
  if (!order || order.profile_id !== x.profile.id || order.account_id !== account.id) {
    throw notFoundProblem("order");
  }
  return followRequest(x, account, order);
}

/**
 * An order in processing follows its certificate request: issued (after an approval) makes
 * it valid, rejected or failed makes it invalid. An expired pending or ready order is invalid.
 * An interrupted finalize is resumed (resumeFinalize).
 */
async function followRequest(
  x: AcmeExchange,
  account: AccountRow,
  stored: OrderRow,
): Promise<OrderRow> {
  const order = await resumeFinalize(x, account, stored);
  if (
    (order.status === "pending" || order.status === "ready") &&
    order.expires_at.getTime() <= x.now.getTime()
  ) {
    const error = { type: "urn:ietf:params:acme:error:malformed", detail: "the order expired" };
    await x.ctx.store.acme.finishOrder(order.id, { status: "invalid", error }, x.now);
    return { ...order, status: "invalid", error };
  }
  if (order.status !== "processing" || !order.certificate_request_id) return order;
  const { request: status } = await requestStatus(
    x.ctx.deps,
    accountCall(x, account, "order"),
    order.certificate_request_id,
  );
  if (status.status === "ISSUED" && status.certificateId) {
    await x.ctx.store.acme.finishOrder(
      order.id,
      { status: "valid", certificateId: status.certificateId },
      x.now,
    );
    return { ...order, status: "valid", certificate_id: status.certificateId };
  }
  if (status.status === "FAILED" || status.status === "REJECTED") {
    const error = {
      type: "urn:ietf:params:acme:error:unauthorized",
      detail:
        status.status === "REJECTED"
          ? "the request was rejected by an approver"
          : "issuance failed",
    };
    await x.ctx.store.acme.finishOrder(order.id, { status: "invalid", error }, x.now);
    return { ...order, status: "invalid", error };
  }
  return order;
}

/**
 * An order processing without a certificate request: its finalize is in flight, or was
 * interrupted before it could record the outcome. If the finalize's request exists, the order
 * follows it from now on; if none exists long after the finalize started, nothing was issued
 * and the order is ready again, for the client to finalize once more. Without this, an order
 * whose finalize met a database outage stayed processing until it expired, with its client
 * polling.
 */
async function resumeFinalize(
  x: AcmeExchange,
  account: AccountRow,
  order: OrderRow,
): Promise<OrderRow> {
  if (order.status !== "processing" || order.certificate_request_id) return order;
  const request = await x.ctx.deps.store.requests.findByIdempotencyKey(
    account.id,
    finalizeRequestId(order.id),
  );
  if (request) {
    await x.ctx.store.acme.finishOrder(
      order.id,
      { status: "processing", certificateRequestId: request.id },
      x.now,
    );
    return { ...order, certificate_request_id: request.id };
  }
  const startedBefore = new Date(x.now.getTime() - INTERRUPTED_FINALIZE_MS);
  if (await x.ctx.store.acme.reopenInterruptedFinalize(order.id, startedBefore, x.now)) {
    x.ctx.logger.warn({ order: order.id }, "ACME order reopened: its finalize was interrupted");
    return { ...order, status: "ready", updated_at: x.now };
  }
  return order;
}

export async function getOrder(x: AcmeExchange, orderId: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  requireEmptyPayload(request, "an order");
  await takeRate(x, `account:${account.id}`, x.ctx.readLimiter);
  const order = await ownOrder(x, account, orderId);
  return orderResponse(x, order);
}

async function orderResponse(x: AcmeExchange, order: OrderRow): Promise<AcmeResponse> {
  const authorizations = await x.ctx.store.acme.authorizationsOf(order.id);
  return {
    status: 200,
    body: orderView(x.urls, order, authorizations),
    location: x.urls.order(order.id),
    ...(order.status === "processing" ? { retryAfter: POLL_SECONDS } : {}),
  };
}

/**
 * The issuance use case's dry run (validate_only: nothing recorded) of a finalize's request,
 * on the order this finalize claimed. A CSR the policy refuses (a subject attribute it does
 * not allow) or a blocked key is badCSR or badPublicKey, and the order is ready again for a
 * corrected CSR, as after the CSR faults finalize finds itself (RFC 8555 7.4). Refused by the
 * issuance itself, the refusal was recorded FAILED under the order's request_id, which no
 * other CSR may reuse: the order became invalid and the client had to validate every name
 * again (until 2026-12-05). A name the policy refuses now (rejectedIdentifier) is one no CSR
 * can carry: the order is invalid.
 */
async function checkBeforeIssuing(
  x: AcmeExchange,
  order: OrderRow,
  call: ReturnType<typeof accountCall>,
  input: Parameters<typeof issue>[2],
): Promise<void> {
  try {
    await issue(x.ctx.deps, call, { ...input, validateOnly: true });
  } catch (err) {
    const problem = problemOfDomainError(err);
    await x.ctx.store.acme.finishOrder(
      order.id,
      problem.type === "rejectedIdentifier"
        ? { status: "invalid", error: problem.document() }
        : { status: "ready" },
      x.now,
    );
    throw problem;
  }
}

/**
 * The one line that names a certificate an ACME finalize issued, as the gRPC call line's
 * `issued` does (issuance/call.ts issuedFields: serial, certificate id, CA slug and id,
 * notAfter; never a key, the CSR or the PEM): after a restore from a backup the log is what
 * still knows the certificates issued since, to revoke them (README: Backups). The ACME
 * listener writes no line per request; until stop 47 of 2026-12-06 an ACME issuance was in no
 * log line at all. A replay of the order's request issues nothing and writes none.
 */
function logIssued(x: AcmeExchange, account: AccountRow, order: OrderRow, issued: IssuedNote) {
  x.ctx.logger.info(
    {
      method: "/acme/finalize",
      profile: x.profile.slug,
      account: account.id,
      order: order.id,
      issued: issuedFields(issued),
    },
    "ACME certificate issued",
  );
}

/**
 * The problem a finalize's failure answers. An account deactivated (or revoked by an admin,
 * RevokeAcmeAccount) while its finalize was in flight (the store refused it:
 * issuance/certificates/sign-then-store.ts, ACCOUNT_DEACTIVATED)
 * gets what RFC 8555 7.3.6 answers any request of a deactivated account: 401 `unauthorized`;
 * the order is made invalid with it (7.3.6: the server SHOULD cancel the account's pending
 * operations), and no certificate was stored.
 */
async function finalizeProblem(
  x: AcmeExchange,
  account: AccountRow,
  err: unknown,
): Promise<AcmeProblem> {
  if (!isCertmintError(err) || err.reason !== "ACCOUNT_DEACTIVATED") {
    return problemOfDomainError(err);
  }
  const now = await x.ctx.store.acme.account(account.id).catch(() => undefined);
  return new AcmeProblem(
    "unauthorized",
    `the account is ${now?.status ?? "no longer valid"}: its status changed while this order was being finalized, and nothing was issued (RFC 8555 7.3.6)`,
    401,
  );
}

/**
 * finalize (RFC 8555 7.4): the CSR must name exactly the order's identifiers (badCSR), then it
 * goes to the issuance use case, the same one IssueCertificate calls (policy engine, approval,
 * audit record, inventory), as this account: first as a dry run (checkBeforeIssuing), where a
 * CSR fault is badCSR and leaves the order ready; a name the policy refuses is
 * rejectedIdentifier and makes the order invalid. A profile that needs approval leaves it
 * processing until the request is decided (the order follows it, see followRequest).
 */
export async function finalize(x: AcmeExchange, orderId: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  await takeRate(x, `account:${account.id}`);
  const order = await ownOrder(x, account, orderId);
  if (order.status !== "ready") {
    throw new AcmeProblem(
      "orderNotReady",
      `the order is ${order.status}; it must be ready (every authorization valid) to finalize`,
      403,
    );
  }
  const payload = (request.payload ?? {}) as Record<string, unknown>;
  if (typeof payload.csr !== "string")
    throw malformed("finalize needs the CSR as csr (base64url DER)");
  const der = decodeB64url(payload.csr, "csr");
  let parsed: ReturnType<typeof parseCsrDer>;
  try {
    parsed = parseCsrDer(der);
  } catch (err) {
    throw problemOfDomainError(err);
  }
  const commonName = parsed.subject.attributes.find((a) => a.type === "COMMON_NAME")?.value;
  const mismatch = sameIdentifiers(order.identifiers, { sans: parsed.sans, commonName });
  if (mismatch) throw new AcmeProblem("badCSR", mismatch);
  // An emailAddress in the subject is a name no challenge proved; a policy that copies subject
  // names into the SANs (subject_names_in_sans COPY) would certify it as an email SAN.
  if (parsed.subject.attributes.some((a) => a.type === "EMAIL_ADDRESS")) {
    throw new AcmeProblem("badCSR", "the CSR's subject may not carry an emailAddress");
  }
  // RFC 8555 11.1: never certify an account key (this account's, or another of the profile's).
  const csrKey = spkiThumbprint(parsed.publicKey);
  if (
    csrKey !== undefined &&
    (csrKey === account.key_thumbprint || (await x.ctx.store.acme.anyAccountHasKey(csrKey)))
  ) {
    throw new AcmeProblem("badCSR", "the CSR's key is an ACME account key (RFC 8555 11.1)");
  }
  // Every authorization must still be valid and unexpired: one deactivated (RFC 8555 7.5.2)
  // after the order became ready no longer authorizes its name.
  const authorizations = await x.ctx.store.acme.authorizationsOf(order.id);
  const lapsed = authorizations.filter(
    (a) => a.status !== "valid" || a.expires_at.getTime() <= x.now.getTime(),
  );
  if (lapsed.length > 0 || authorizations.length === 0) {
    throw new AcmeProblem(
      "unauthorized",
      `the order's authorization for ${lapsed.map((a) => a.identifier_value).join(", ") || "its names"} is no longer valid`,
      403,
    );
  }
  if (!(await x.ctx.store.acme.startFinalize(order.id, x.now))) {
    throw new AcmeProblem("orderNotReady", "the order is being finalized already", 403);
  }
  const call = accountCall(x, account, "finalize");
  const input = {
    caller: account.id,
    profile: x.profile.id,
    // One request per order: a finalize retried after a transient failure replays it.
    idempotencyKey: finalizeRequestId(order.id),
    source: { kind: "CSR" as const, csrPem: toPem("CERTIFICATE REQUEST", der) },
    keyUsages: [],
    extendedKeyUsages: [],
    validateOnly: false,
  };
  await checkBeforeIssuing(x, order, call, input);
  try {
    let outcome: Awaited<ReturnType<typeof issue>>;
    try {
      outcome = await issue(x.ctx.deps, call, input);
    } finally {
      // Also when what follows the commit failed: the certificate exists either way.
      if (call.issued) logIssued(x, account, order, call.issued);
    }
    const issued = outcome.status === "ISSUED" ? outcome.certificate?.certificateId : undefined;
    await x.ctx.store.acme.finishOrder(
      order.id,
      issued
        ? {
            status: "valid",
            certificateRequestId: outcome.certificateRequestId,
            certificateId: issued,
          }
        : { status: "processing", certificateRequestId: outcome.certificateRequestId },
      x.now,
    );
  } catch (err) {
    const problem = await finalizeProblem(x, account, err);
    if (problem.status >= 500) {
      // A transient failure: the order may be finalized again.
      await x.ctx.store.acme.finishOrder(order.id, { status: "ready" }, x.now);
    } else {
      await x.ctx.store.acme.finishOrder(
        order.id,
        { status: "invalid", error: problem.document() },
        x.now,
      );
    }
    throw problem;
  }
  const updated = await x.ctx.store.acme.order(order.id);
  return orderResponse(x, updated!);
}
