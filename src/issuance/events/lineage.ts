import type { EntityManager } from "@mikro-orm/postgresql";
import { CertificateEntity, type CertificateRow } from "../../store/entities";
import { findCertificate } from "../certificates/revoke";
import type { IssuanceDeps } from "../deps";
import { requireProfileAccessById } from "../profiles/access";

/** Successor links followed at most, so a corrupted cycle cannot loop forever. */
const MAX_LINEAGE = 100_000;

/**
 * GetCurrentCertificate: the newest certificate of a lineage, following renewed_by_id from
 * the certificate named (by id or serial) in one recursive statement. A profile-scoped token
 * sees only the lineages of its profiles.
 */
export async function currentCertificate(deps: IssuanceDeps, ref: string): Promise<CertificateRow> {
  const em = deps.orm.em.fork();
  const start = await findCertificate(em, ref, "certificate");
  await requireProfileAccessById(em, start.profileId ?? null);
  return em.findOneOrFail(CertificateEntity, { id: await newestOf(em, start.id) });
}

/** The id of the newest successor of `id` (itself when never renewed). */
export async function newestOf(em: EntityManager, id: string): Promise<string> {
  const [row] = await em.getConnection().execute<Array<{ id: string }>>(
    `with recursive "line" ("id", "next", "depth") as (
       select "id", "renewed_by_id", 0 from "certificate" where "id" = ?
       union all
       select "c"."id", "c"."renewed_by_id", "line"."depth" + 1
         from "certificate" "c" join "line" on "c"."id" = "line"."next"
        where "line"."depth" < ?
     )
     select "id" from "line" order by "depth" desc limit 1`,
    [id, MAX_LINEAGE],
  );
  return row?.id ?? id;
}

/** Every certificate of the lineage from `id` on (it and its successors). */
export async function lineageFrom(em: EntityManager, id: string): Promise<string[]> {
  const rows = await em.getConnection().execute<Array<{ id: string }>>(
    `with recursive "line" ("id", "next", "depth") as (
       select "id", "renewed_by_id", 0 from "certificate" where "id" = ?
       union all
       select "c"."id", "c"."renewed_by_id", "line"."depth" + 1
         from "certificate" "c" join "line" on "c"."id" = "line"."next"
        where "line"."depth" < ?
     )
     select "id" from "line"`,
    [id, MAX_LINEAGE],
  );
  return rows.map((r) => r.id);
}
