import { isUuid } from "../../issuance/common/refs";
import type { AccountRow, AuthorizationRow, ChallengeRow } from "../../issuance/repositories";
import { throttledWarnings } from "../../server/throttled-warnings";
import { type AcmeExchange, type AcmeResponse, requireAccount, takeRate } from "../http/exchange";
import { malformed, notFoundProblem } from "../problem";
import { runValidation } from "../validation/run";
import type { ValidationSlot } from "../validation/slots";
import { authorizationView, challengeView } from "../views";

/** How often a client should poll an authorization being validated (seconds). */
const POLL_SECONDS = 1;

/**
 * A validation ends within its network timeouts (CERTMINT_ACME_VALIDATION_TIMEOUT_MS per
 * connection) and the record's retries (under 8 s, validation/run.ts); one still "processing"
 * this long after it started ran in a process that stopped, or could not record its outcome.
 * A poll then runs it again (restartStalled): without that, the challenge stayed processing
 * until its order expired, while the client polled.
 */
const stalledAfterMs = (x: AcmeExchange) => Math.max(120_000, 10 * x.ctx.http01.timeoutMs);

/**
 * Runs a challenge's validation after the answer, in the place `slot` reserved for it
 * (validation/slots.ts); its outcome is recorded by runValidation.
 */
function launchValidation(
  x: AcmeExchange,
  challenge: ChallengeRow,
  authz: AuthorizationRow,
  account: AccountRow,
  slot: ValidationSlot,
): void {
  // A failure to record the outcome (the database gone) is logged here, never left as an
  // unhandled rejection.
  const running = runValidation(x.ctx, challenge, authz, account, slot)
    .catch((err: unknown) =>
      x.ctx.logger.error({ err, challenge: challenge.id }, "ACME: recording a validation failed"),
    )
    .finally(() => x.ctx.validations.delete(running));
  x.ctx.validations.add(running);
}

/**
 * Runs again each validation of a pending authorization that stalled (stalledAfterMs); the
 * claim is a compare-and-set on its start time, so one poll among replicas runs it. Running a
 * validation twice is safe: it only reads the client's answer, and the record moves only
 * what is still pending. Without a validation place free or queueable it is left as it is, for
 * a later poll.
 */
async function restartStalled(
  x: AcmeExchange,
  authz: AuthorizationRow,
  account: AccountRow,
  challenges: readonly ChallengeRow[],
): Promise<void> {
  if (authz.status !== "pending") return;
  const startedBefore = new Date(x.now.getTime() - stalledAfterMs(x));
  for (const c of challenges) {
    if (c.status !== "processing" || (c.started_at !== null && c.started_at >= startedBefore)) {
      continue;
    }
    const slot = x.ctx.validationSlots.reserve(account.id);
    if (!slot) return;
    if (await x.ctx.store.acme.restartStalledChallenge(c.id, startedBefore, x.now)) {
      // One accepted while every place was taken (no start time) is no stalled validation.
      if (c.started_at === null) {
        x.ctx.logger.debug({ challenge: c.id }, "ACME: a challenge that waited for a place starts");
      } else {
        x.ctx.logger.warn({ challenge: c.id }, "ACME: a stalled validation runs again");
      }
      launchValidation(x, c, authz, account, slot);
    } else {
      slot.release();
    }
  }
}

/** Frees `slot` and rethrows: its challenge did not start. */
const releasing =
  (slot: ValidationSlot) =>
  (err: unknown): never => {
    slot.release();
    throw err;
  };

/**
 * Every validation place and queue place is taken (CERTMINT_ACME_MAX_VALIDATIONS): the
 * challenge was accepted to be started by a later poll (postChallenge). Logged, not answered.
 */
function noValidationPlace(x: AcmeExchange): void {
  const { max, maxQueued } = x.ctx.validationSlots;
  // One warning per 10 s (the rest at debug): a flood of them must not flood the log.
  throttledWarnings(x.ctx.logger).warn(
    x.ctx.logger,
    "acme-validation-places",
    { maxValidations: max, queued: maxQueued },
    "ACME: every validation place and queue place is taken (CERTMINT_ACME_MAX_VALIDATIONS): a challenge was accepted and starts at a later poll",
  );
}

/**
 * The authorization of this account. Another account's is answered as a missing one (as
 * Boulder does), named as the caller named it: `named` "challenge" when it was reached through
 * one of its challenges, so a foreign challenge reads exactly as a missing challenge.
 */
async function ownAuthorization(
  x: AcmeExchange,
  accountId: string,
  id: string,
  named: "authorization" | "challenge" = "authorization",
): Promise<AuthorizationRow> {
  // A non-UUID id names nothing: no query (see orders.ts ownOrder).
  const authz = isUuid(id) ? await x.ctx.store.acme.authorization(id) : undefined;
  if (!authz || authz.account_id !== accountId) throw notFoundProblem(named);
  // RFC 8555 7.1.6: pending or valid, past its expiry, is expired (a valid one read valid
  // until stop 51 of 2026-12-07, though nothing would use it: an outside probe, ACME F11).
  if (
    (authz.status === "pending" || authz.status === "valid") &&
    authz.expires_at.getTime() <= x.now.getTime()
  ) {
    return { ...authz, status: "expired" };
  }
  return authz;
}

/** POST to an authorization (RFC 8555 7.5, 7.5.2): read it, or deactivate it. */
export async function getAuthorization(x: AcmeExchange, id: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  // A read (POST-as-GET) from the reads' budget; a deactivation changes it: the account rate.
  const limiter = request.payload === undefined ? x.ctx.readLimiter : x.ctx.rateLimiter;
  await takeRate(x, `account:${account.id}`, limiter);
  let authz = await ownAuthorization(x, account.id, id);
  if (request.payload !== undefined) {
    const payload = request.payload as Record<string, unknown>;
    if (payload.status !== "deactivated")
      throw malformed('an authorization may only be "deactivated"');
    // RFC 8555 7.1.6: only a pending or valid authorization becomes deactivated; the others
    // are final (until stop 60 of 2026-12-08 an invalid one answered 200, unchanged, which a
    // client read as done: an outside probe).
    if (authz.status !== "pending" && authz.status !== "valid") {
      throw malformed(
        `only a pending or valid authorization can be deactivated (RFC 8555 7.1.6); this one is ${authz.status}`,
      );
    }
    await x.ctx.store.acme.deactivateAuthorization(authz.id, x.now);
    authz = (await x.ctx.store.acme.authorization(authz.id))!;
  }
  const challenges = await x.ctx.store.acme.challengesOf(authz.id);
  await restartStalled(x, authz, account, challenges);
  const validating = challenges.some((c) => c.status === "processing");
  return {
    status: 200,
    body: authorizationView(x.urls, authz, challenges),
    ...(validating ? { retryAfter: POLL_SECONDS } : {}),
  };
}

/**
 * A challenge that did not start: if it is still pending, another challenge of its
 * authorization is being validated (or the authorization is no longer pending). RFC 8555 7.1.6:
 * once one challenge is valid the authorization is valid; so one validation runs at a time per
 * authorization (as Boulder), and the client polls the authorization for its outcome. A
 * concurrent POST of this same challenge started it: then it answers as usual.
 */
async function refuseBesideAnother(x: AcmeExchange, challenge: ChallengeRow): Promise<void> {
  const current = await x.ctx.store.acme.challenge(challenge.id);
  if (current?.status !== "pending") return;
  const authz = await x.ctx.store.acme.authorization(challenge.authorization_id);
  if (authz && authz.status !== "pending") {
    throw malformed(`the authorization is ${authz.status}; only a pending one can be validated`);
  }
  throw malformed(
    "another challenge of this authorization is being validated: poll the authorization for its outcome (one validation at a time per authorization, RFC 8555 7.1.6)",
  );
}

/**
 * POST to a challenge (RFC 8555 7.5.1): an empty object starts its validation, once; the
 * answer is the challenge "processing" and the client polls the authorization. POST-as-GET
 * reads it.
 */
export async function postChallenge(x: AcmeExchange, id: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  // A read (POST-as-GET) from the reads' budget, as an authorization's (until stop 51 of
  // 2026-12-07 a challenge's read spent none: an outside probe, ACME F7); a start, the account's.
  const limiter = request.payload === undefined ? x.ctx.readLimiter : x.ctx.rateLimiter;
  await takeRate(x, `account:${account.id}`, limiter);
  const challenge = isUuid(id) ? await x.ctx.store.acme.challenge(id) : undefined;
  if (!challenge) throw notFoundProblem("challenge");
  const authz = await ownAuthorization(x, account.id, challenge.authorization_id, "challenge");
  const up = [{ url: x.urls.authz(authz.id), rel: "up" }];
  if (request.payload === undefined) {
    return { status: 200, body: challengeView(x.urls, challenge), links: up };
  }
  if (authz.status !== "pending") {
    throw malformed(`the authorization is ${authz.status}; only a pending one can be validated`);
  }
  if (challenge.status === "pending") {
    const slot = x.ctx.validationSlots.reserve(account.id);
    if (!slot) {
      // Every validation place and queue place taken: accepted all the same (RFC 8555 7.5.1:
      // processing), with no start time, and started by a later poll of its authorization or
      // itself once a place is free (restartStalled), as a validation stalled on another
      // replica is. Until stop 53 of 2026-12-07 it was refused 503 rateLimited for the client
      // to post again, which lego and certbot do not: their runs failed (an outside probe,
      // LOADACME F2). What waits is rows, not memory: only placed validations are held here.
      if (await x.ctx.store.acme.startChallenge(challenge.id, null)) noValidationPlace(x);
      else await refuseBesideAnother(x, challenge);
    } else if (await x.ctx.store.acme.startChallenge(challenge.id, x.now).catch(releasing(slot))) {
      launchValidation(x, challenge, authz, account, slot);
    } else {
      slot.release();
      await refuseBesideAnother(x, challenge);
    }
  } else {
    await restartStalled(x, authz, account, [challenge]);
  }
  const current = (await x.ctx.store.acme.challenge(challenge.id))!;
  return {
    status: 200,
    body: challengeView(x.urls, current),
    links: up,
    ...(current.status === "processing" ? { retryAfter: POLL_SECONDS } : {}),
  };
}
