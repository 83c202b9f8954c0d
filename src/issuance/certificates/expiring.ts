import type { CertificateRepository } from "../repositories";

/** Certificates of one profile that expire soon. */
export interface ExpiringCount {
  /** Profile slug; "" for certificates whose profile was deleted. */
  profile: string;
  /** Valid, not revoked, not renewed, and expiring within 7 days; within 30 days. */
  within7Days: number;
  within30Days: number;
}

export interface ExpiringDeps {
  store: { certificates: Pick<CertificateRepository, "countExpiring"> };
  now: () => Date;
}

/**
 * Certificates in use that expire within 7 and 30 days, per profile: not revoked, not
 * already renewed (a renewed certificate's successor carries on), not expired yet. One
 * range scan of the not_after index over the next 30 days, for operators' alerts.
 */
export async function expiringCertificates(deps: ExpiringDeps): Promise<ExpiringCount[]> {
  const now = deps.now();
  const in7 = new Date(now.getTime() + 7 * 86_400_000);
  const in30 = new Date(now.getTime() + 30 * 86_400_000);
  const counts = await deps.store.certificates.countExpiring(now, in7, in30);
  return counts.map((c) => ({
    profile: c.profileSlug ?? "",
    within7Days: c.bySoon,
    within30Days: c.byLater,
  }));
}
