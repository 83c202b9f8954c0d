/** Command-line values: durations, times and integers, parsed strictly with the flag's name in errors. */
import type { Duration } from "../../gen/ts/google/protobuf/duration";
import { UsageError } from "./command";

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 7 * 86_400,
  y: 365 * 86_400,
};
const DURATION = /^(?:\d+[smhdwy])+$/;

/**
 * "90d", "12h", "1h30m", "3600s"; y is 365 days. Every flag that takes a duration (--ttl,
 * --max-ttl, --renew-before, --timeout, and --since, --until, --expires-before counted from now)
 * reads it here. A number without a unit is refused (exit 2), 0 aside (the same in every unit):
 * until stop 42 of 2026-12-06 it was seconds, and `audit list --since 24` meant 24 seconds to a
 * user who meant hours.
 */
export function parseDurationSeconds(text: string, flag: string): number {
  const t = text.trim().toLowerCase();
  let seconds = 0;
  if (/^\d+$/.test(t)) {
    if (Number(t) !== 0) {
      throw new UsageError(
        `--${flag}: "${text}" has no unit: add one, e.g. ${t}s, ${t}m, ${t}h or ${t}d (seconds, minutes, hours, days)`,
      );
    }
  } else if (DURATION.test(t)) {
    for (const [, n, unit] of t.matchAll(/(\d+)([smhdwy])/g))
      seconds += Number(n) * UNIT_SECONDS[unit!]!;
  } else {
    throw new UsageError(`--${flag}: "${text}" is not a duration (e.g. 90d, 12h, 1h30m, 3600s)`);
  }
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new UsageError(`--${flag}: "${text}" must be a positive duration`);
  }
  return seconds;
}

export function parseDuration(text: string, flag: string): Duration {
  return { seconds: String(parseDurationSeconds(text, flag)), nanos: 0 };
}

/** A Duration as the largest units that divide it: 7776000s is "90d", 5400s is "1h30m". */
export function formatDuration(d: Duration | undefined): string {
  if (!d) return "";
  let rest = Number(d.seconds);
  if (rest === 0) return "0s";
  const parts: string[] = [];
  for (const unit of ["d", "h", "m", "s"]) {
    const size = UNIT_SECONDS[unit]!;
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

/**
 * A point in time: an RFC 3339 timestamp ("2026-01-31T00:00:00Z", or a date), or a duration
 * counted from now in `direction` ("30d" with +1 is thirty days ahead; with -1, ago).
 */
export function parseTime(text: string, flag: string, direction: 1 | -1, now = Date.now()): Date {
  const t = text.trim();
  const date = /^\d{4}-\d{2}-\d{2}/.test(t)
    ? new Date(t)
    : new Date(now + direction * parseDurationSeconds(t, flag) * 1000);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(`--${flag}: "${text}" is not a valid time`);
  }
  // A google.protobuf.Timestamp holds years 1 to 9999; a duration that reaches past them (say
  // 99999999d) is a mistake to say so here, not an error about the field from the server.
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) {
    throw new UsageError(`--${flag}: "${text}" is out of range: a time from year 1 to 9999`);
  }
  return date;
}

export function parseInteger(text: string, flag: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag}: "${text}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A time as UTC without milliseconds, e.g. 2026-01-31T12:00:00Z; empty when unset. */
export function formatTime(date: Date | undefined): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, "Z") : "";
}
