import type { RenewalSettings } from "../profiles/types";

const DAY = 86_400;

/**
 * When a certificate is due for renewal: `renewBeforeSeconds` (proto renewal.renew_before)
 * before notAfter, else `renewBeforeDays`, else once two thirds of its lifetime have passed
 * (cert-manager's default renewBefore is a third of the duration), which also suits
 * certificates of minutes or hours.
 */
export function renewalTime(
  renewal: Pick<RenewalSettings, "renewBeforeDays" | "renewBeforeSeconds">,
  notBefore: Date,
  notAfter: Date,
): Date {
  const before =
    (renewal.renewBeforeSeconds ?? 0) > 0
      ? renewal.renewBeforeSeconds!
      : renewal.renewBeforeDays > 0
        ? renewal.renewBeforeDays * DAY
        : (notAfter.getTime() - notBefore.getTime()) / 3000;
  return new Date(notAfter.getTime() - before * 1000);
}

/**
 * renewalTime in SQL, over certificate `c` joined with its profile `p` (the renewal jsonb), so
 * the renewer selects due certificates in the database, following profile changes at once.
 */
export const RENEWAL_TIME_SQL = `(case
    when coalesce(("p"."renewal"->>'renewBeforeSeconds')::bigint, 0) > 0
      then "c"."not_after" - ("p"."renewal"->>'renewBeforeSeconds')::bigint * interval '1 second'
    when coalesce(("p"."renewal"->>'renewBeforeDays')::bigint, 0) > 0
      then "c"."not_after" - ("p"."renewal"->>'renewBeforeDays')::bigint * interval '1 day'
    else "c"."not_after" - ("c"."not_after" - "c"."not_before") / 3
  end)`;
