/** --reason of `cert revoke` and `ca revoke`: the RFC 5280 5.3.1 CRLReason. */
import type { Args } from "../args";
import type { OptionSection } from "../command";
import { REVOCATION_REASON } from "../enums";

export const REVOCATION_SECTION: OptionSection = {
  title: "Revocation",
  specs: {
    reason: {
      type: "string",
      value: "REASON",
      description: "the RFC 5280 reason (default: unspecified)",
      choices: REVOCATION_REASON.choices,
    },
  },
};

/** The reason given with --reason; 0 (unspecified) without one. */
export function revocationReason(args: Args): number {
  const reason = args.string("reason");
  return reason === undefined ? 0 : REVOCATION_REASON.parse(reason, "reason");
}
