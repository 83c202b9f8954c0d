import type { EntityManager } from "@mikro-orm/postgresql";
import type { CertificateRow } from "../../store/entities";
import type { StoredError } from "../certificates/types";
import type { IssuanceDeps } from "../deps";

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

/** The renewer's columns of certificate (not in the entity: only the renewer writes them). */
interface RenewalColumns {
  id: string;
  renewal_state: string | null;
  renewal_failures: number;
  renewal_error: StoredError | null;
  renewal_retry_at: Date | null;
  renewal_lease_until: Date | null;
}

/** What a certificate shows without its renewal columns: renewed or idle. */
export const plainRenewalStatus = (c: Pick<CertificateRow, "renewedById">): RenewalStatus => ({
  state: c.renewedById ? "RENEWED" : "IDLE",
  failures: 0,
});

/** The renewal status of each certificate (for GetCertificate and friends), read in one statement. */
export function renewalStatuses(
  deps: IssuanceDeps,
  certificates: ReadonlyArray<Pick<CertificateRow, "id" | "renewedById">>,
): Promise<Map<string, RenewalStatus>> {
  return renewalStatusOf(deps.orm.em.fork(), certificates, deps.now());
}

/** The renewal status of each certificate, read in one statement. */
export async function renewalStatusOf(
  em: EntityManager,
  certificates: ReadonlyArray<Pick<CertificateRow, "id" | "renewedById">>,
  now: Date,
): Promise<Map<string, RenewalStatus>> {
  const out = new Map<string, RenewalStatus>();
  if (certificates.length === 0) return out;
  const rows = await em.getConnection().execute<RenewalColumns[]>(
    `select "id", "renewal_state", "renewal_failures", "renewal_error", "renewal_retry_at", "renewal_lease_until"
         from "certificate" where "id" in (select jsonb_array_elements_text(?::jsonb)::uuid)`,
    [JSON.stringify(certificates.map((c) => c.id))],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const c of certificates) {
    const r = byId.get(c.id);
    out.set(c.id, r ? statusOf(c, r, now) : plainRenewalStatus(c));
  }
  return out;
}

function statusOf(
  c: Pick<CertificateRow, "renewedById">,
  r: RenewalColumns,
  now: Date,
): RenewalStatus {
  const failures = Number(r.renewal_failures);
  if (c.renewedById) return { state: "RENEWED", failures };
  if (r.renewal_lease_until && new Date(r.renewal_lease_until) > now) {
    return { state: "RENEWING", failures };
  }
  if (r.renewal_state === "AWAITING_APPROVAL") return { state: "AWAITING_APPROVAL", failures };
  if (r.renewal_state === "FAILED") {
    return {
      state: "FAILED",
      failures,
      error: r.renewal_error ?? undefined,
      retryAt: r.renewal_retry_at ? new Date(r.renewal_retry_at) : undefined,
    };
  }
  return { state: "IDLE", failures };
}
