import { Migration } from "@mikro-orm/migrations";
import { hashOf } from "./Migration20261205000000BlockedKeys";

/**
 * Keys revoked for key compromise before certmint blocked keys (Migration20261205000000BlockedKeys)
 * are blocked too. That migration hashed every certificate's key but blocked none: a key whose
 * certificate had been revoked for keyCompromise before the upgrade could be certified again
 * after it, and its other certificates (the same CSR sent twice, a REUSE renewal) stayed valid
 * (an outside probe, stop 40 of 2026-12-05, on PostgreSQL and on the embedded database).
 *
 * - certificate.spki_sha256 is filled where it is still null: certificates a build from before
 *   that migration stored after it ran (a rolling start, or an older binary started on the
 *   upgraded database), which neither the block trigger nor a later revocation could see.
 * - key_block_backfill lists the certificates revoked for KEY_COMPROMISE before key blocking
 *   existed (before that migration ran, by mikro_orm_migrations.executed_at) whose key is not
 *   blocked. The server blocks them at start-up (issuance/certificates/key-block-backfill.ts)
 *   with the same use case as a key-compromise revocation: each key blocked, its other
 *   unrevoked certificates revoked with their own audit records, on their CAs' next CRLs, and
 *   their held keys forgotten. After the cutoff a KEY_COMPROMISE revocation without a block is
 *   one an ACME account made without holding the key (it blocks nothing, by design), or one an
 *   older replica made during a rolling upgrade (which cannot be told apart from it, and is
 *   left). Before the cutoff both kinds are blocked, since a key reported compromised is safer
 *   replaced.
 * - It also lists every unrevoked certificate of a key already blocked: one an older replica
 *   stored during a rolling upgrade without a key hash (filled in above), which the block
 *   trigger could not see; the start-up step revokes it with its key.
 */
export class Migration20261205500000KeyCompromiseBackfill extends Migration {
  override async up(): Promise<void> {
    await fillMissingSpkiHashes((sql, params) => this.execute(sql, params));
    await this.execute(
      `create table "key_block_backfill" ("certificate_id" uuid not null primary key);`,
    );
    await this.execute(`insert into "key_block_backfill" ("certificate_id")
      select "c"."id" from "certificate" "c"
       where "c"."revocation_reason" = 'KEY_COMPROMISE' and "c"."spki_sha256" is not null
         and "c"."revoked_at" < coalesce(
           (select min("executed_at") from "mikro_orm_migrations"
             where "name" = 'Migration20261205000000BlockedKeys'), now())
         and not exists (select 1 from "blocked_key" "b" where "b"."spki_sha256" = "c"."spki_sha256")
      union
      select "c"."id" from "certificate" "c" join "blocked_key" "b" on "b"."spki_sha256" = "c"."spki_sha256"
       where "c"."revoked_at" is null`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table "key_block_backfill";`);
  }
}

async function fillMissingSpkiHashes(
  execute: (sql: string, params: unknown[]) => Promise<unknown[]>,
): Promise<void> {
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const rows = (await execute(
      `select "id", "certificate_pem" from "certificate"
        where "spki_sha256" is null and "id" > ? order by "id" limit 2000`,
      [after],
    )) as Array<{ id: string; certificate_pem: string }>;
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.id;
    const hashes = rows.flatMap((r) => {
      const h = hashOf(r.certificate_pem);
      return h === undefined ? [] : [{ id: r.id, h }];
    });
    if (hashes.length > 0) {
      await execute(
        `update "certificate" "c" set "spki_sha256" = "v"."h"
           from jsonb_to_recordset(?::jsonb) as "v"("id" uuid, "h" text) where "c"."id" = "v"."id"`,
        [JSON.stringify(hashes)],
      );
    }
  }
}
