import type {
  AccountRow,
  AuthorizationRow,
  ChallengeResult,
  ChallengeRow,
} from "../../issuance/repositories";
import type { AcmeContext } from "../context";
import { AcmeProblem, problemOfDomainError } from "../problem";
import { identifierOf } from "../views";
import { validateDns01 } from "./dns01";
import { validateHttp01 } from "./http01";
import type { ValidationSlot } from "./slots";
import { validateTlsAlpn01 } from "./tls-alpn01";

/**
 * Waits before each new attempt to record a validation's outcome, ms (under 8 s in all, within
 * the shutdown grace, which waits for running validations).
 */
export const RECORD_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000];

/**
 * Validates one challenge (RFC 8555 7.5.1) and records the outcome on the challenge, its
 * authorization and its order. Runs after the response to the client (which polls); a crash
 * meanwhile leaves the challenge "processing" until a poll finds it stalled and runs it again
 * (handlers/authorizations.ts restartStalled).
 *
 * Validating and recording fail apart: a database error while recording a valid outcome is not
 * a failed validation (it used to be recorded as one, serverInternal), and a recording that
 * fails is tried again (RECORD_RETRY_DELAYS_MS; the record is the same each time, and the
 * statements only move what is still pending), so a passing database fault does not leave the
 * challenge "processing" until its order expires while the client polls.
 *
 * It connects out only once `slot` (reserved by the handler, slots.ts) has a place, and frees
 * the place before recording (the record holds no socket); a validation whose place did not
 * come within its wait is recorded invalid (serverInternal) without connecting, and one still
 * queued when the listener closes is not recorded at all (it runs again after a poll).
 */
export async function runValidation(
  ctx: AcmeContext,
  challenge: ChallengeRow,
  authorization: AuthorizationRow,
  account: AccountRow,
  slot: ValidationSlot,
  retryDelaysMs: readonly number[] = RECORD_RETRY_DELAYS_MS,
): Promise<void> {
  let result: ChallengeResult;
  try {
    const outcome = await slot.ready;
    // Closing: not recorded, so the challenge stays "processing" for a later poll to run again.
    if (outcome === "closing") return;
    result =
      outcome === "run"
        ? await validate(ctx, challenge, authorization, account)
        : noPlaceInTime(ctx, authorization);
  } finally {
    slot.release();
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.store.acme.finishChallenge(challenge, result, ctx.deps.now());
      return;
    } catch (err) {
      const delay = retryDelaysMs[attempt];
      if (delay === undefined) throw err;
      ctx.logger.warn(
        { err, challenge: challenge.id, attempt: attempt + 1 },
        "ACME: recording a validation's outcome failed; trying again",
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The outcome of a validation that waited past its bound for a place (slots.ts): invalid with
 * serverInternal, as Boulder records a validation its VA did not take in time; the client
 * orders again.
 */
function noPlaceInTime(ctx: AcmeContext, authorization: AuthorizationRow): ChallengeResult {
  const seconds = Math.round(ctx.validationSlots.maxWaitMs / 1000);
  const problem = new AcmeProblem(
    "serverInternal",
    `the server is validating as many challenges as it may at once, and this one found no place within ${seconds} s; create a new order to try again`,
    500,
  );
  return {
    valid: false,
    error: { ...problem.document(), identifier: identifierOf(authorization) },
  };
}

async function validate(
  ctx: AcmeContext,
  challenge: ChallengeRow,
  authorization: AuthorizationRow,
  account: AccountRow,
): Promise<ChallengeResult> {
  // RFC 8555 8.1: token "." base64url(JWK thumbprint of the account key).
  const keyAuthorization = `${challenge.token}.${account.key_thumbprint}`;
  const identifier = identifierOf(authorization);
  try {
    switch (challenge.type) {
      case "http-01":
        await validateHttp01(
          ctx.targets,
          identifier.value,
          challenge.token,
          keyAuthorization,
          ctx.http01,
        );
        break;
      case "tls-alpn-01":
        await validateTlsAlpn01(
          ctx.targets,
          identifier,
          keyAuthorization,
          ctx.tlsAlpn01Port,
          ctx.http01.timeoutMs,
        );
        break;
      case "dns-01":
        await validateDns01(ctx.targets, identifier.value, keyAuthorization);
        break;
    }
    return { valid: true };
  } catch (err) {
    const problem = err instanceof AcmeProblem ? err : problemOfDomainError(err);
    if (!(err instanceof AcmeProblem)) {
      ctx.logger.error({ err, challenge: challenge.id }, "ACME validation failed unexpectedly");
    }
    return { valid: false, error: { ...problem.document(), identifier } };
  }
}
