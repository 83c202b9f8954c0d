import type { AccountRow, AuthorizationRow, ChallengeRow } from "../../issuance/repositories";
import type { AcmeContext } from "../context";
import { AcmeProblem, problemOfDomainError } from "../problem";
import { identifierOf } from "../views";
import { validateDns01 } from "./dns01";
import { validateHttp01 } from "./http01";
import { validateTlsAlpn01 } from "./tls-alpn01";

/**
 * Validates one challenge (RFC 8555 7.5.1) and records the outcome on the challenge, its
 * authorization and its order. Runs after the response to the client (which polls); a crash
 * meanwhile leaves the challenge "processing", and the authorization expires with its order.
 */
export async function runValidation(
  ctx: AcmeContext,
  challenge: ChallengeRow,
  authorization: AuthorizationRow,
  account: AccountRow,
): Promise<void> {
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
    await ctx.store.acme.finishChallenge(challenge, { valid: true }, ctx.deps.now());
  } catch (err) {
    const problem = err instanceof AcmeProblem ? err : problemOfDomainError(err);
    if (!(err instanceof AcmeProblem)) {
      ctx.logger.error({ err, challenge: challenge.id }, "ACME validation failed unexpectedly");
    }
    await ctx.store.acme.finishChallenge(
      challenge,
      { valid: false, error: { ...problem.document(), identifier } },
      ctx.deps.now(),
    );
  }
}
