import { Migration } from "@mikro-orm/migrations";
import { parseCertificate, spkiSha256Of } from "../../signer";

/**
 * Keys revoked for key compromise stay revoked (RFC 5280 5.3.1 keyCompromise: the key is
 * compromised, not one certificate), after Boulder's blockedKeys table.
 *
 * certificate.spki_sha256: the SHA-256 of the certificate's SubjectPublicKeyInfo in the form
 * certmint encodes it (signer/spki.ts: an uncompressed EC point, RSA with NULL parameters),
 * so one key has one hash whatever form its CSR sent it in. Set on every insert by the
 * issuing code; existing rows are backfilled here from their certificate. Indexed (its first
 * 64 bits) while the certificate is unrevoked: what a key-compromise revocation looks up
 * (every certificate of the key), and what it takes out of the index as it revokes them.
 *
 * blocked_key: the keys revoked for key compromise. A certificate of a blocked key is never
 * stored again: the trigger certificate_blocked_key refuses the insert (SQLSTATE CMK01), for
 * every statement that inserts one (a CSR issuance, a REUSE renewal, an approval, ACME),
 * whichever replica runs it.
 *
 * Races: the trigger takes a shared transaction advisory lock on the key (class "keys", the
 * first 32 bits of its hash) before it looks, and the blocking transaction takes it exclusively
 * before it inserts the key and revokes its certificates. A trigger function is VOLATILE, so
 * its look takes a snapshot of its own after the lock is held: an insert that looked before
 * the block holds the lock until it commits, and the blocking transaction revokes its
 * certificate once it gets the lock; one that looks after sees the block. No certificate of
 * the key stays valid either way (test/certificates/blocked-keys.test.ts races the two).
 *
 * A replica still on the code before this migration (a rolling start) inserts no hash, and the
 * trigger does not check its certificates.
 */
export class Migration20261205000000BlockedKeys extends Migration {
  override async up(): Promise<void> {
    // Run now, not queued: the backfill below reads and writes the column.
    await this.execute(`alter table "certificate" add column "spki_sha256" text null;`);
    await backfillSpkiHashes((sql, params) => this.execute(sql, params));
    // On the hash's first 64 bits, not the 64-character text: the index takes a random page
    // per issuance (a hash has no order), so its size is what the WAL pays in page images
    // after a checkpoint; 16-byte entries make it a fifth of the text's.
    await this.execute(`create function "certmint_key_prefix"("h" text) returns int8 language sql immutable as
      $$ select ('x' || substr("h", 1, 16))::bit(64)::int8 $$;`);
    await this.execute(
      `create index "certificate_spki_prefix_index" on "certificate" ("certmint_key_prefix"("spki_sha256")) where "revoked_at" is null;`,
    );
    await this.execute(`create table "blocked_key" (
      "spki_sha256" text not null primary key,
      "blocked_at" timestamptz not null,
      "certificate_id" uuid null);`);
    // The lock's key within class "keys" (1801812339): the hash's first 32 bits.
    await this.execute(`create function "certmint_key_lock"("h" text) returns int4 language sql immutable as
      $$ select ('x' || substr("h", 1, 8))::bit(32)::int4 $$;`);
    // VOLATILE: its look takes a fresh snapshot, after the lock is held.
    await this.execute(`create function "certmint_key_blocked"("h" text) returns boolean language plpgsql volatile as $$
begin
  perform pg_advisory_xact_lock_shared(1801812339, "certmint_key_lock"("h"));
  return exists (select 1 from "blocked_key" "b" where "b"."spki_sha256" = "h");
end $$;`);
    await this.execute(`create function "certmint_refuse_blocked_key"() returns trigger language plpgsql as $$
begin
  if "certmint_key_blocked"(new."spki_sha256") then
    raise exception 'the certificate''s public key was revoked for key compromise' using errcode = 'CMK01';
  end if;
  return new;
end $$;`);
    await this.execute(
      `create trigger "certificate_blocked_key" before insert on "certificate" for each row when (new."spki_sha256" is not null) execute function "certmint_refuse_blocked_key"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger "certificate_blocked_key" on "certificate";`);
    this.addSql(`drop function "certmint_refuse_blocked_key"();`);
    this.addSql(`drop function "certmint_key_blocked"(text);`);
    this.addSql(`drop function "certmint_key_lock"(text);`);
    this.addSql(`drop index "certificate_spki_prefix_index";`);
    this.addSql(`drop function "certmint_key_prefix"(text);`);
    this.addSql(`drop table "blocked_key";`);
    this.addSql(`alter table "certificate" drop column "spki_sha256";`);
  }
}

/**
 * Every stored certificate's spki_sha256, 2,000 rows per round trip in the order of the primary
 * key (`execute` takes `?` placeholders, as a migration's). A certificate that does not parse
 * (none should) keeps a null hash. Returns how many rows it set.
 */
export async function backfillSpkiHashes(
  execute: (sql: string, params: unknown[]) => Promise<unknown[]>,
): Promise<number> {
  let after = "00000000-0000-0000-0000-000000000000";
  let set = 0;
  for (;;) {
    const rows = (await execute(
      `select "id", "certificate_pem" from "certificate" where "id" > ? order by "id" limit 2000`,
      [after],
    )) as Array<{ id: string; certificate_pem: string }>;
    if (rows.length === 0) return set;
    after = rows[rows.length - 1]!.id;
    const hashes: Array<{ id: string; h: string }> = [];
    for (const row of rows) {
      const h = hashOf(row.certificate_pem);
      if (h !== undefined) hashes.push({ id: row.id, h });
    }
    if (hashes.length > 0) {
      // One JSON parameter, not arrays: the migration's executor (knex) expands an array bound
      // to `?` into a list of parameters.
      await execute(
        `update "certificate" "c" set "spki_sha256" = "v"."h"
           from jsonb_to_recordset(?::jsonb) as "v"("id" uuid, "h" text) where "c"."id" = "v"."id"`,
        [JSON.stringify(hashes)],
      );
      set += hashes.length;
    }
  }
}

export function hashOf(pem: string): string | undefined {
  try {
    return spkiSha256Of(parseCertificate(pem).publicKey);
  } catch {
    return undefined;
  }
}
