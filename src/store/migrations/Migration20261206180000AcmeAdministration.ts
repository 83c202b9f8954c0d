import { Migration } from "@mikro-orm/migrations";

/**
 * An admin's control over ACME credentials (RevokeAcmeExternalAccountKey, ListAcme*):
 * acme_eab_key.revoked_at: when the key was revoked. A revoked key is kept, and refused by this
 * column (verifyExternalAccountBinding), rather than deleted: its row is what
 * ListAcmeExternalAccountKeys shows of it (who made it, which account it bound, when it was
 * revoked), and the account it bound still names it. (Its HMAC key is derived from the key id,
 * acme/eab.ts, and was never stored.) A nullable column without default: no row is rewritten.
 * The per-profile lists, oldest first (created_at, id), each page an index range scan: neither
 * table had an index that leads with its profile in that order (acme_account's unique index is
 * (profile_id, key_thumbprint); acme_eab_key had none on profile_id).
 */
export class Migration20261206180000AcmeAdministration extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "acme_eab_key" add column "revoked_at" timestamptz null;`);
    this.addSql(
      `create index "acme_eab_key_profile_created_index" on "acme_eab_key" ("profile_id", "created_at", "id");`,
    );
    this.addSql(
      `create index "acme_account_profile_created_index" on "acme_account" ("profile_id", "created_at", "id");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "acme_account_profile_created_index";`);
    this.addSql(`drop index "acme_eab_key_profile_created_index";`);
    this.addSql(`alter table "acme_eab_key" drop column "revoked_at";`);
  }
}
