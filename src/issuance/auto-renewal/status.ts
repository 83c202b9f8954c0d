import type { Certificate, RenewalRepository, StoredError, StoredRenewal } from "../repositories";

/** Where server-driven renewal stands for a certificate (proto CertificateRenewalState). */
export type RenewalState = "IDLE" | "RENEWING" | "RENEWED" | "FAILED" | "AWAITING_APPROVAL";

export interface RenewalStatus {
  state: RenewalState;
  /** Automatic attempts that failed in a row. */
  failures: number;
  /** The last failure, when state is FAILED. */
  error?: StoredError;
  /** When the next attempt runs, when state is FAILED. */
  retryAt?: Date;
}

/** What a certificate shows without its renewal columns: renewed or idle. */
export const plainRenewalStatus = (c: Pick<Certificate, "renewedById">): RenewalStatus => ({
  state: c.renewedById ? "RENEWED" : "IDLE",
  failures: 0,
});

/** The renewal status of each certificate (for GetCertificate and friends), read in one statement. */
export async function renewalStatuses(
  deps: { store: { renewals: Pick<RenewalRepository, "renewalsOf"> }; now: () => Date },
  certificates: ReadonlyArray<Pick<Certificate, "id" | "renewedById" | "revokedAt">>,
): Promise<Map<string, RenewalStatus>> {
  const out = new Map<string, RenewalStatus>();
  if (certificates.length === 0) return out;
  const stored = await deps.store.renewals.renewalsOf(certificates.map((c) => c.id));
  const now = deps.now();
  for (const c of certificates) {
    const r = stored.get(c.id);
    out.set(c.id, r ? statusOf(c, r, now) : plainRenewalStatus(c));
  }
  return out;
}

function statusOf(
  c: Pick<Certificate, "renewedById" | "revokedAt">,
  r: StoredRenewal,
  now: Date,
): RenewalStatus {
  const { failures } = r;
  if (c.renewedById) return { state: "RENEWED", failures };
  // Nothing renews a revoked certificate (the renewer claims none, renewals.ts DUE): a renewal
  // that waited for approval or failed before the revocation is over. Until stop 51 of
  // 2026-12-07 it showed AWAITING_APPROVAL (or FAILED, with a retry time) for good (an outside
  // probe, RENEWAL F7).
  if (c.revokedAt) return { state: "IDLE", failures };
  if (r.leaseUntil && r.leaseUntil > now) return { state: "RENEWING", failures };
  if (r.state === "AWAITING_APPROVAL") return { state: "AWAITING_APPROVAL", failures };
  if (r.state === "FAILED") {
    return {
      state: "FAILED",
      failures,
      error: r.error ?? undefined,
      retryAt: r.retryAt ?? undefined,
    };
  }
  return { state: "IDLE", failures };
}
