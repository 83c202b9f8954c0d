import type { AuthorizationRow } from "../../issuance/repositories";
import { type AcmeExchange, type AcmeResponse, requireAccount, takeRate } from "../http/exchange";
import { AcmeProblem, malformed, notFoundProblem } from "../problem";
import { runValidation } from "../validation/run";
import { authorizationView, challengeView } from "../views";

/** How often a client should poll an authorization being validated (seconds). */
const POLL_SECONDS = 1;

async function ownAuthorization(
  x: AcmeExchange,
  accountId: string,
  id: string,
): Promise<AuthorizationRow> {
  const authz = await x.ctx.store.acme.authorization(id);
  if (!authz) throw notFoundProblem("authorization");
  if (authz.account_id !== accountId) {
    throw new AcmeProblem("unauthorized", "this authorization belongs to another account", 403);
  }
  if (authz.status === "pending" && authz.expires_at.getTime() <= x.now.getTime()) {
    return { ...authz, status: "expired" };
  }
  return authz;
}

/** POST to an authorization (RFC 8555 7.5, 7.5.2): read it, or deactivate it. */
export async function getAuthorization(x: AcmeExchange, id: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  let authz = await ownAuthorization(x, account.id, id);
  if (request.payload !== undefined) {
    const payload = request.payload as Record<string, unknown>;
    if (payload.status !== "deactivated")
      throw malformed('an authorization may only be "deactivated"');
    await x.ctx.store.acme.deactivateAuthorization(authz.id);
    authz = (await x.ctx.store.acme.authorization(authz.id))!;
  }
  const challenges = await x.ctx.store.acme.challengesOf(authz.id);
  const validating = challenges.some((c) => c.status === "processing");
  return {
    status: 200,
    body: authorizationView(x.urls, authz, challenges),
    ...(validating ? { retryAfter: POLL_SECONDS } : {}),
  };
}

/**
 * POST to a challenge (RFC 8555 7.5.1): an empty object starts its validation, once; the
 * answer is the challenge "processing" and the client polls the authorization. POST-as-GET
 * reads it.
 */
export async function postChallenge(x: AcmeExchange, id: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  const challenge = await x.ctx.store.acme.challenge(id);
  if (!challenge) throw notFoundProblem("challenge");
  const authz = await ownAuthorization(x, account.id, challenge.authorization_id);
  const up = [{ url: x.urls.authz(authz.id), rel: "up" }];
  if (request.payload === undefined) {
    return { status: 200, body: challengeView(x.urls, challenge), links: up };
  }
  takeRate(x, `account:${account.id}`);
  if (authz.status !== "pending") {
    throw malformed(`the authorization is ${authz.status}; only a pending one can be validated`);
  }
  if (challenge.status === "pending" && (await x.ctx.store.acme.startChallenge(challenge.id))) {
    // Its outcome is recorded by runValidation; a failure to record it (the database gone) is
    // logged here, never left as an unhandled rejection.
    const running = runValidation(x.ctx, challenge, authz, account)
      .catch((err: unknown) =>
        x.ctx.logger.error({ err, challenge: challenge.id }, "ACME: recording a validation failed"),
      )
      .finally(() => x.ctx.validations.delete(running));
    x.ctx.validations.add(running);
  }
  const current = (await x.ctx.store.acme.challenge(challenge.id))!;
  return {
    status: 200,
    body: challengeView(x.urls, current),
    links: up,
    ...(current.status === "processing" ? { retryAfter: POLL_SECONDS } : {}),
  };
}
