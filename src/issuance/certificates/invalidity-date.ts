import { failedPrecondition, invalidField } from "../../errors";
import type { RevocationReason } from "../../model/pki";

/**
 * A revocation's invalidity date (RFC 5280 5.3.2): "the date on which it is known or suspected
 * that the private key was compromised or that the certificate otherwise became invalid", which
 * "may be earlier than the revocation date". Published in the CRL entry and the OCSP response
 * as GeneralizedTime with no fractional seconds (4.1.2.5.2), so kept to the whole second, as the
 * relying party will read it. Refused (INVALID_ARGUMENT INVALIDITY_TIME_INVALID, on
 * `invalidity_time`):
 *  - after now: a certificate does not become invalid in the future; a revocation that should
 *    take effect later is made then;
 *  - before 1950, the earliest time a CRL entry can carry (4.1.2.5);
 *  - with certificateHold: a hold suspends a certificate while its status is unknown, it does
 *    not say it became invalid (5.3.1), and a hold may be released.
 * Undefined when none was given.
 */
export function invalidityDateOf(
  given: Date | undefined,
  reason: RevocationReason,
  now: Date,
): Date | undefined {
  if (given === undefined) return undefined;
  const refuse = (message: string, violation: string) =>
    invalidField(
      "INVALIDITY_TIME_INVALID",
      `${message}; nothing was changed`,
      "invalidity_time",
      violation,
    );
  if (reason === "CERTIFICATE_HOLD") {
    throw refuse(
      "an invalidity time says when a certificate became invalid, and a hold (CERTIFICATE_HOLD) only suspends it: leave invalidity_time unset for a hold, or revoke for a final reason",
      "not with CERTIFICATE_HOLD",
    );
  }
  const date = new Date(Math.floor(given.getTime() / 1000) * 1000);
  if (date.getTime() > now.getTime()) {
    throw refuse(
      `invalidity_time ${given.toISOString()} is after now (${now.toISOString()}): it is when the key was compromised or the certificate became invalid, at or before the revocation`,
      "at or before now",
    );
  }
  if (date.getUTCFullYear() < 1950) {
    // GeneralizedTime (5.3.2) could carry it, but no certificate's validity starts before 1950
    // (4.1.2.5: UTCTime's first year), so such a date can only be a mistake in the input.
    throw refuse(
      `invalidity_time ${given.toISOString()} is before 1950, before any certificate's validity can begin (RFC 5280 4.1.2.5)`,
      "1950 or later",
    );
  }
  return date;
}

/** The earlier of two dates, either of which may be absent. */
export function earliestDate(a: Date | null | undefined, b: Date | null | undefined): Date | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return a.getTime() <= b.getTime() ? a : b;
}

/**
 * Refuses (INVALID_ARGUMENT INVALIDITY_TIME_INVALID) an invalidity time after the revocation
 * time the call keeps (`revokedAt`: a hold made final keeps the hold's time, a reason raised to
 * keyCompromise keeps the first revocation's). RFC 5280 5.3.2: the invalidity date "may be
 * earlier than the revocation date"; a later one tells a relying party nothing the revocation
 * date does not, and published beside it reads as a contradiction. Until stop 58 of 2026-12-07
 * one was recorded and published after it (an outside probe).
 */
export function refuseInvalidityAfterRevocation(what: string, revokedAt: Date, given: Date): never {
  throw invalidField(
    "INVALIDITY_TIME_INVALID",
    `invalidity_time ${given.toISOString()} is after ${what} was revoked (or put on hold) at ${revokedAt.toISOString()}, the revocation date its CRL entry and OCSP answers keep, which already covers it: give one at or before ${revokedAt.toISOString()}, or leave invalidity_time unset; nothing was changed`,
    "invalidity_time",
    `at or before ${revokedAt.toISOString()}`,
  );
}

/**
 * Refuses (FAILED_PRECONDITION INVALIDITY_TIME_RECORDED) an invalidity time for a certificate or
 * CA (`of`: its precondition type and subject, and what the message calls it) whose revocation
 * the call leaves
 * as it is (revoked already, for good) unless it is the one recorded: a retry of the revocation
 * that made it answers as that did, but a revocation's date is published with it in every CRL
 * since, and is not rewritten by a later call that says nothing else, as its time and reason
 * stand.
 */
export function refuseOtherInvalidityDate(
  of: { type: "CERTIFICATE_STATE" | "CA_STATUS"; subject: string; what: string },
  recorded: {
    revokedAt: Date | null;
    revocationReason: RevocationReason | null;
    invalidityDate?: Date | null;
  },
  given: Date,
): void {
  if (recorded.invalidityDate?.getTime() === given.getTime()) return;
  const dated = recorded.invalidityDate
    ? `invalidity time ${recorded.invalidityDate.toISOString()}`
    : "no invalidity time";
  throw failedPrecondition(
    "INVALIDITY_TIME_RECORDED",
    `${of.what} was revoked at ${recorded.revokedAt?.toISOString()} (${recorded.revocationReason}) with ${dated}, which its CRL entries publish; a revocation that changes nothing else cannot give it another (${given.toISOString()}); nothing was changed`,
    {
      preconditions: [
        {
          type: of.type,
          subject: of.subject,
          description: `revoked (${recorded.revocationReason}) with ${dated}`,
        },
      ],
    },
  );
}
