import { createHash } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { alreadyExists, CertmintError } from "../../errors";
import { CertificateRequestEntity, type CertificateRequestRow } from "../../store/entities";

/** How long an idempotency key is kept at least (Google CA Service: 60 minutes; we keep rows). */
export const REQUEST_ID_MAX_LENGTH = 128;

/** When this process started: PENDING rows last touched before it were left by a crash. */
const PROCESS_STARTED = new Date();
/** A PENDING request untouched this long is taken over by a replay (its worker died). */
export const PENDING_LEASE_MS = 30_000;

/** SHA-256 of the canonical request, so a reused request_id with another request is refused. */
export function requestFingerprint(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

export async function findPrior(
  em: EntityManager,
  caller: string,
  requestId: string,
): Promise<CertificateRequestRow | null> {
  return em.findOne(CertificateRequestEntity, { caller, requestId }, { refresh: true });
}

/** The same request_id with a different request: ALREADY_EXISTS, never a second certificate. */
export function assertSameRequest(
  prior: CertificateRequestRow,
  fingerprint: string,
  requestId: string,
): void {
  if (prior.requestFingerprint !== fingerprint) {
    throw alreadyExists(
      "REQUEST_ID_REUSED",
      `request_id "${requestId}" was already used for a different request (certificate request ${prior.id}); use a new request_id`,
      { metadata: { certificate_request_id: prior.id } },
    );
  }
}

/**
 * Waits for a PENDING request another call is completing. Returns the row once it is no longer
 * PENDING, or "orphaned" when its worker is gone (it was last touched before this process
 * started, or its lease ran out), so the caller takes it over.
 */
export async function awaitPending(
  em: EntityManager,
  id: string,
  timeoutMs = 10_000,
): Promise<CertificateRequestRow | "orphaned"> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await em.findOneOrFail(CertificateRequestEntity, { id }, { refresh: true });
    if (row.status !== "PENDING") return row;
    if (row.updatedAt < PROCESS_STARTED || Date.now() - row.updatedAt.getTime() > PENDING_LEASE_MS)
      return "orphaned";
    if (Date.now() > deadline) {
      throw new CertmintError(
        "aborted",
        "REQUEST_IN_PROGRESS",
        `certificate request ${id} is still being issued; retry with the same request_id`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Claims an orphaned PENDING request (one winner when several replays race). */
export async function claimOrphan(
  em: EntityManager,
  row: CertificateRequestRow,
  now: Date,
): Promise<boolean> {
  const n = await em.nativeUpdate(
    CertificateRequestEntity,
    { id: row.id, status: "PENDING", updatedAt: row.updatedAt },
    { updatedAt: now },
  );
  return n === 1;
}
