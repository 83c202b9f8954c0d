/** --reason and --invalid-since of `cert revoke` and `ca revoke`: RFC 5280 5.3.1 CRLReason, 5.3.2 invalidityDate. */
import type { Args } from "../args";
import type { OptionSection } from "../command";
import { REVOCATION_REASON } from "../enums";
import { parseTime } from "../values";

export const REVOCATION_SECTION: OptionSection = {
  title: "Revocation",
  specs: {
    reason: {
      type: "string",
      value: "REASON",
      description: "the RFC 5280 reason (default: unspecified)",
      choices: REVOCATION_REASON.choices,
    },
    "invalid-since": {
      type: "string",
      value: "TIME",
      description:
        "when the key was compromised or it became invalid (RFC 5280 5.3.2 invalidity date, on its CRL entry and OCSP answers): an RFC 3339 time, or a duration ago (e.g. 2d); not with certificate-hold",
    },
  },
};

/** The time given with --invalid-since; undefined without one. */
export function invalidityTime(args: Args): Date | undefined {
  const since = args.string("invalid-since");
  if (since === undefined) return undefined;
  // Whole seconds, as certmint keeps it (RFC 5280 4.1.2.5.2): a fraction before 1970 became a
  // Timestamp with negative nanos in the generated client, which the server refused (an
  // outside probe, stop 58 of 2026-12-07).
  const time = parseTime(since, "invalid-since", -1);
  return new Date(Math.floor(time.getTime() / 1000) * 1000);
}

/** The reason given with --reason; 0 (unspecified) without one. */
export function revocationReason(args: Args): number {
  const reason = args.string("reason");
  return reason === undefined ? 0 : REVOCATION_REASON.parse(reason, "reason");
}
