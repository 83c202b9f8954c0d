import type { Duration } from "../../../gen/ts/google/protobuf/duration";
import { invalidField } from "../../errors";

/** google.protobuf.Duration -> whole seconds; unset -> undefined. Fractions are refused. */
export function durationToSeconds(d: Duration | undefined, field: string): number | undefined {
  if (!d) return undefined;
  const seconds = Number(d.seconds);
  if (!Number.isSafeInteger(seconds) || d.nanos !== 0 || seconds <= 0) {
    throw invalidField(
      "DURATION_INVALID",
      `${field} must be a positive whole number of seconds, e.g. "86400s"`,
      field,
      "positive whole seconds",
    );
  }
  return seconds;
}

export const secondsToDuration = (seconds: number): Duration => ({
  seconds: String(seconds),
  nanos: 0,
});

/** Nullable DB timestamps -> optional proto Timestamps (ts-proto maps them to Date). */
export const optionalDate = (d: Date | null | undefined): Date | undefined => d ?? undefined;
