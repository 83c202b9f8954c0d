import type { Duration } from "../../../gen/ts/google/protobuf/duration";
import { invalidField } from "../../errors";
import { MAX_DURATION_SECONDS } from "../../model/limits";

/**
 * google.protobuf.Duration -> whole seconds; unset -> undefined. Fractions are refused, and so
 * is anything past the Duration's own range (MAX_DURATION_SECONDS).
 */
export function durationToSeconds(d: Duration | undefined, field: string): number | undefined {
  if (!d) return undefined;
  const seconds = Number(d.seconds);
  if (
    !Number.isSafeInteger(seconds) ||
    d.nanos !== 0 ||
    seconds <= 0 ||
    seconds > MAX_DURATION_SECONDS
  ) {
    throw invalidField(
      "DURATION_INVALID",
      `${field} must be a positive whole number of seconds, at most ${MAX_DURATION_SECONDS} (google.protobuf.Duration's range), e.g. "86400s"`,
      field,
      `positive whole seconds, at most ${MAX_DURATION_SECONDS}`,
    );
  }
  return seconds;
}

/** google.protobuf.Timestamp's range (timestamp.proto): 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. */
const TIMESTAMP_MIN_MS = -62_135_596_800_000;
const TIMESTAMP_MAX_MS = 253_402_300_800_000;

/**
 * A request Timestamp (ts-proto decodes it to a Date) -> the Date; unset -> undefined. Seconds
 * outside the Timestamp range make an Invalid Date or a year PostgreSQL cannot read: refused.
 */
export function timestampFilter(d: Date | undefined, field: string): Date | undefined {
  if (!d) return undefined;
  const ms = d.getTime();
  if (!(ms >= TIMESTAMP_MIN_MS && ms < TIMESTAMP_MAX_MS)) {
    throw invalidField(
      "TIMESTAMP_INVALID",
      `${field} must be a time from 0001-01-01 to 9999-12-31 (google.protobuf.Timestamp)`,
      field,
      "a time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
    );
  }
  return d;
}

export const secondsToDuration = (seconds: number): Duration => ({
  seconds: String(seconds),
  nanos: 0,
});

/** Nullable DB timestamps -> optional proto Timestamps (ts-proto maps them to Date). */
export const optionalDate = (d: Date | null | undefined): Date | undefined => d ?? undefined;
