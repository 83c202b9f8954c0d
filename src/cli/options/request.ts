/** Options every issuance request has: lifetime, idempotency key, dry run. */
import { randomUUID } from "node:crypto";
import type { Duration } from "../../../gen/ts/google/protobuf/duration";
import type { Args } from "../args";
import type { OptionSection } from "../command";
import { parseDuration } from "../values";

export const REQUEST_SECTION: OptionSection = {
  title: "Request",
  specs: {
    ttl: {
      type: "string",
      value: "DURATION",
      description: "lifetime, e.g. 7d (default: the profile's; never more than the policy's max)",
    },
    "request-id": {
      type: "string",
      value: "ID",
      description:
        "idempotency key: repeating the command with it returns the same certificate (and key), never a second one",
    },
    "validate-only": { type: "boolean", description: "run every check; sign and store nothing" },
  },
};

/** --ttl as a Duration; undefined when not given. */
export const ttlOf = (a: Args): Duration | undefined => {
  const v = a.string("ttl");
  return v === undefined ? undefined : parseDuration(v, "ttl");
};

/**
 * The idempotency key of the request: --request-id, else a new one. Every issuance carries one,
 * so that a certificate whose files could not be written (or whose answer was lost) can be
 * fetched again, with a key certmint generated, within CERTMINT_GENERATED_KEY_REPLAY_SECONDS.
 */
export function requestIdOf(a: Args): string {
  return a.string("request-id") ?? randomUUID();
}

/** What to do when the files of an issued certificate could not be written. */
export const retryHint = (requestId: string) =>
  `repeat the command with --request-id ${requestId} (and --force, or other file names) within 60 minutes for the same certificate and key`;
