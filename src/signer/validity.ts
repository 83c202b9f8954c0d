/**
 * Validity periods (RFC 5280 4.1.2.5). X.509 times have whole-second precision and both ends
 * are inclusive.
 *
 * notBefore is backdated a little (default 60 s) so relying parties whose clocks run slightly
 * behind accept a fresh certificate; notAfter is `now + ttl`, so "valid for 24 h" means it
 * expires 24 h after the request, as the caller expects. The encoded period is therefore
 * ttl + backdate + 1 s (both ends inclusive); where that would pass a policy's maximum
 * (`maxPeriodSeconds`), notAfter comes earlier so that the period is exactly the maximum: a
 * limit set for compliance counts the backdated part too (RFC 5280 4.1.2.5; the CA/Browser
 * Forum's validity period is counted the same way).
 */
import { failedPrecondition, invalidArgument, invalidField } from "../errors";

export interface ValidityInput {
  now: Date;
  ttlSeconds: number;
  backdateSeconds?: number;
  /** The issuing CA's notAfter: a certificate must not outlive its issuer. */
  issuerNotAfter?: Date;
  /** The latest notBefore on the issuer's path: the backdate never reaches before it. */
  issuerNotBefore?: Date;
  /** What to do when now + ttl passes issuerNotAfter: refuse (default) or shorten. */
  onExceed?: "fail" | "truncate";
  /** The longest period notBefore..notAfter (inclusive) may span: the policy's max_ttl. */
  maxPeriodSeconds?: number;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
  /** true when notAfter was shortened to the issuer's notAfter. */
  truncated: boolean;
}

const floorSeconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

/**
 * The last time X.509 can express: GeneralizedTime has four year digits, and RFC 5280 4.1.2.5
 * gives 99991231235959Z to a certificate with no well-defined expiration date.
 */
export const LAST_X509_TIME = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

export function computeValidity(input: ValidityInput): Validity {
  const { now, ttlSeconds, backdateSeconds = 60, issuerNotAfter, onExceed = "fail" } = input;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw invalidField(
      "TTL_INVALID",
      "the TTL must be a positive whole number of seconds",
      "ttl",
      "must be a positive whole number of seconds",
    );
  }
  if (!Number.isInteger(backdateSeconds) || backdateSeconds < 0) {
    throw invalidArgument(
      "BACKDATE_INVALID",
      "the backdate must be a non-negative whole number of seconds",
    );
  }
  const nowMs = now.getTime();
  const maxPeriod = input.maxPeriodSeconds;
  // A maximum shorter than twice the backdate (a policy of a minute or two) takes half of it
  // for the backdate, so the certificate is still valid for the other half after it is signed.
  const backdate =
    maxPeriod === undefined
      ? backdateSeconds
      : Math.min(backdateSeconds, Math.floor((maxPeriod - 1) / 2));
  // Never before the issuer (or a CA above it) is valid: an outside CA signed "now" starts
  // after certmint's backdate would (RFC 5280 6.1.3 (a)(2); an outside lint probe, 2026-12-05).
  const earliest = input.issuerNotBefore
    ? Math.min(input.issuerNotBefore.getTime(), nowMs)
    : -Infinity;
  const notBefore = floorSeconds(Math.max(nowMs - backdate * 1000, earliest));
  let notAfter = floorSeconds(nowMs + ttlSeconds * 1000);
  if (maxPeriod !== undefined) {
    const last = notBefore.getTime() + (maxPeriod - 1) * 1000;
    if (notAfter.getTime() > last) notAfter = new Date(last);
  }
  let truncated = false;
  if (issuerNotAfter !== undefined && notAfter > issuerNotAfter) {
    const limit = floorSeconds(issuerNotAfter.getTime());
    if (onExceed === "fail" || limit.getTime() <= nowMs) {
      const expired = limit.getTime() <= nowMs;
      throw failedPrecondition(
        expired ? "ISSUER_EXPIRED" : "VALIDITY_EXCEEDS_ISSUER",
        expired
          ? `the issuing CA expired at ${issuerNotAfter.toISOString()}; roll the profile over to a new CA (README: Rolling a CA over)`
          : `the requested TTL would end after the issuing CA expires (${issuerNotAfter.toISOString()}); request at most ${Math.floor((limit.getTime() - nowMs) / 1000)} seconds, or roll the profile over to a CA that lasts longer (README: Rolling a CA over)`,
        {
          preconditions: [
            {
              type: "CA_VALIDITY",
              subject: "issuer",
              description: `issuer notAfter ${issuerNotAfter.toISOString()}`,
            },
          ],
        },
      );
    }
    notAfter = limit;
    truncated = true;
  }
  // Past the last time a certificate can carry (a self-signed profile has no issuer to shorten
  // it to): refused, naming the TTL, rather than failing to encode the certificate.
  if (!(notAfter.getTime() <= LAST_X509_TIME.getTime())) {
    throw invalidField(
      "TTL_TOO_LONG",
      `a lifetime of ${ttlSeconds}s would end after ${LAST_X509_TIME.toISOString()}, the last time a certificate can carry (RFC 5280 4.1.2.5); ask for a shorter TTL`,
      "ttl",
      "must end by 9999-12-31T23:59:59Z",
    );
  }
  return { notBefore, notAfter, truncated };
}
