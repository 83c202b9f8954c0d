import { Migration } from "@mikro-orm/migrations";

/**
 * A server that missed a KEK rotation cannot store keys sealed under the old KEK (since stop 44
 * of 2026-12-06). The rotation (src/kek-rotation) re-seals every key in one transaction, but a
 * server it did not see (behind a pooler in transaction mode, an older build's name) keeps the
 * old KEK in memory and went on sealing new CA keys and generated keys with it: keys nobody can
 * open once the old KEK file is destroyed (a review of stop 43).
 *
 * - kek_check.kek_id: the id of the current KEK (src/signer/key-wrap.ts kekIdBytes, an HMAC
 *   under the key, never the key). Set by the rotation in its transaction, by the start-up that
 *   writes the check value, and filled by a start-up whose KEK opens the check value.
 * - certmint_refuse_stale_kek(): refuses (SQLSTATE CMR01) a sealed-format version 2 blob whose
 *   KEK id (octets 2-9) is not kek_check.kek_id. Its read of kek_check waits for a rotation in
 *   progress (it holds kek_check ACCESS EXCLUSIVE) and then sees the new id, so no stale blob
 *   commits around the rotation either. Version 1 blobs (written by builds before this one,
 *   which carry no id) pass: such servers stay unguarded. While the database names no id (no
 *   server of this build has started on it yet, or its check value is gone until the next
 *   start writes it) there is nothing to compare with, and a blob passes.
 * - A trigger per sealed column (rotate.ts SEALED_COLUMNS), BEFORE INSERT OR UPDATE OF the
 *   column, whose WHEN clause lets only rows with a version 2 blob call the function: a
 *   certificate issued from a CSR (no sealed key) pays no function call, only the WHEN test.
 */
export class Migration20261206140000KekIdGuard extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "kek_check" add column "kek_id" bytea null;`);
    this.addSql(`create function "certmint_refuse_stale_kek"() returns trigger language plpgsql as $$
declare
  "current" bytea := (select "kek_id" from "kek_check" where "id" = 1);
begin
  if "current" is not null and substring(new."sealed_private_key" from 2 for 8) <> "current" then
    raise exception 'the key was sealed under a key-encryption key that is no longer the current one (a KEK rotation committed while this server ran)'
      using errcode = 'CMR01';
  end if;
  return new;
end $$;`);
    for (const table of SEALED_TABLES) {
      this.addSql(
        `create trigger "${table}_current_kek" before insert or update of "sealed_private_key" on "${table}" for each row when (substring(new."sealed_private_key" from 1 for 1) = '\\x02'::bytea) execute function "certmint_refuse_stale_kek"();`,
      );
    }
  }

  override async down(): Promise<void> {
    for (const table of SEALED_TABLES) {
      this.addSql(`drop trigger "${table}_current_kek" on "${table}";`);
    }
    this.addSql(`drop function "certmint_refuse_stale_kek"();`);
    this.addSql(`alter table "kek_check" drop column "kek_id";`);
  }
}

/** The tables of src/kek-rotation/rotate.ts SEALED_COLUMNS (column sealed_private_key each). */
const SEALED_TABLES = ["certificate_authority", "certificate_request", "certificate"];
