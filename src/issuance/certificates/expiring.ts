import type { IssuanceDeps } from "../deps";

/** Certificates of one profile that expire soon. */
export interface ExpiringCount {
  /** Profile slug; "" for certificates whose profile was deleted. */
  profile: string;
  /** Valid, not revoked, not renewed, and expiring within 7 days; within 30 days. */
  within7Days: number;
  within30Days: number;
}

/**
 * Certificates in use that expire within 7 and 30 days, per profile: not revoked, not
 * already renewed (a renewed certificate's successor carries on), not expired yet. One
 * range scan of the not_after index over the next 30 days, for operators' alerts.
 */
export async function expiringCertificates(deps: IssuanceDeps): Promise<ExpiringCount[]> {
  const now = deps.now();
  const in7 = new Date(now.getTime() + 7 * 86_400_000);
  const in30 = new Date(now.getTime() + 30 * 86_400_000);
  const rows = await deps.orm.em
    .getConnection()
    .execute<Array<{ profile: string | null; within7: string; within30: string }>>(
      `select p."slug" as profile,
            count(*) filter (where c."not_after" <= ?) as within7,
            count(*) as within30
       from "certificate" c left join "certificate_profile" p on p."id" = c."profile_id"
      where c."not_after" > ? and c."not_after" <= ?
        and c."revoked_at" is null and c."renewed_by_id" is null
      group by p."slug"`,
      [in7, now, in30],
    );
  return rows.map((r) => ({
    profile: r.profile ?? "",
    within7Days: Number(r.within7),
    within30Days: Number(r.within30),
  }));
}
