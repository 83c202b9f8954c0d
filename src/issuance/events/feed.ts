import type { EntityManager } from "@mikro-orm/postgresql";
import {
  CertificateEntity,
  CertificateRequestEntity,
  type CertificateRequestRow,
  type CertificateRow,
} from "../../store/entities";
import type { StoredError } from "../certificates/types";

/** What happened to a certificate (proto CertificateEventType). */
export type CertificateEventType = "ISSUED" | "RENEWED" | "REVOKED" | "RENEWAL_FAILED" | "EXPIRING";

/** One numbered row of certificate_event. */
export interface StoredEvent {
  position: number;
  type: CertificateEventType;
  certificateId: string;
  profileId: string | null;
  previousCertificateId: string | null;
  error: StoredError | null;
  createdAt: Date;
}

/** Which events a watcher receives (besides what its token may see). */
export interface EventFilter {
  /** Only these profiles (a profile watch, or a profile-scoped token). */
  profileIds?: readonly string[];
  /** Only these certificates, or renewals of them (a lineage watch). */
  certificateIds?: readonly string[];
}

/** A list of UUIDs bound as one JSON array (the driver would spread a bound array). */
const UUIDS = `select jsonb_array_elements_text(?::jsonb)::uuid`;

/** Events numbered after `after`, in order, at most `limit`, as the filter allows. */
export async function eventsAfter(
  em: EntityManager,
  after: number,
  filter: EventFilter,
  limit: number,
): Promise<StoredEvent[]> {
  const where: string[] = [`"position" > ?`];
  const params: unknown[] = [after];
  if (filter.profileIds) {
    where.push(`"profile_id" in (${UUIDS})`);
    params.push(JSON.stringify(filter.profileIds));
  }
  if (filter.certificateIds) {
    where.push(`("certificate_id" in (${UUIDS}) or "previous_certificate_id" in (${UUIDS}))`);
    params.push(JSON.stringify(filter.certificateIds), JSON.stringify(filter.certificateIds));
  }
  params.push(limit);
  const rows = await em.getConnection().execute<
    Array<{
      position: string;
      type: CertificateEventType;
      certificate_id: string;
      profile_id: string | null;
      previous_certificate_id: string | null;
      error: StoredError | null;
      created_at: Date;
    }>
  >(
    `select "position", "type", "certificate_id", "profile_id", "previous_certificate_id", "error", "created_at"
       from "certificate_event" where ${where.join(" and ")} order by "position" limit ?`,
    params,
  );
  return rows.map((r) => ({
    position: Number(r.position),
    type: r.type,
    certificateId: r.certificate_id,
    profileId: r.profile_id,
    previousCertificateId: r.previous_certificate_id,
    error: r.error,
    createdAt: new Date(r.created_at),
  }));
}

/** The highest position assigned so far (0: none): where a watch without a cursor starts. */
export async function headPosition(em: EntityManager): Promise<number> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ head: string | null }>>(
      `select max("position") as "head" from "certificate_event"`,
    );
  return Number(row?.head ?? 0);
}

/** The certificates events name, with the requests that made them, by id. */
export async function certificatesOf(
  em: EntityManager,
  ids: readonly string[],
): Promise<Map<string, { certificate: CertificateRow; request: CertificateRequestRow | null }>> {
  const out = new Map<
    string,
    { certificate: CertificateRow; request: CertificateRequestRow | null }
  >();
  if (ids.length === 0) return out;
  const certs = await em.find(CertificateEntity, { id: { $in: [...new Set(ids)] } });
  const requests = await em.find(CertificateRequestEntity, {
    id: { $in: certs.map((c) => c.certificateRequestId) },
  });
  const byRequest = new Map(requests.map((r) => [r.id, r]));
  for (const c of certs) {
    out.set(c.id, { certificate: c, request: byRequest.get(c.certificateRequestId) ?? null });
  }
  return out;
}

/** The highest position deleted for age: cursors at or below it cannot be resumed from. */
export async function horizonPosition(em: EntityManager): Promise<number> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ position: string }>>(
      `select "position" from "certificate_event_horizon" where "id" = 1`,
    );
  return Number(row?.position ?? 0);
}

/**
 * Deletes numbered events older than `before`, at most `limit`, oldest first, and moves the
 * horizon past them in the same statement. Returns how many were deleted.
 */
export async function pruneEvents(em: EntityManager, before: Date, limit: number): Promise<number> {
  const rows = await em.getConnection().execute<Array<{ n: string }>>(
    `with "old" as (
       select "id", "position" from "certificate_event"
        where "created_at" < ? and "position" is not null
        order by "position" limit ?
     ), "gone" as (
       delete from "certificate_event" "e" using "old" where "e"."id" = "old"."id" returning "e"."position"
     ), "moved" as (
       update "certificate_event_horizon" set "position" = greatest("position", (select max("position") from "gone"))
        where "id" = 1 and exists (select 1 from "gone") returning 1
     )
     select count(*) as "n" from "gone"`,
    [before, limit],
  );
  return Number(rows[0]?.n ?? 0);
}
