import { Migration } from "@mikro-orm/migrations";

/**
 * ACME account keys by key alone, whatever their profile: a finalize refuses a CSR whose key is
 * any ACME account's key (RFC 8555 11.1), in this profile or another (store/repositories/acme.ts
 * anyAccountHasKey; until stop 51 of 2026-12-07 only this profile's were looked at, an outside
 * probe: ACME F10). The unique (profile_id, key_thumbprint) index leads with the profile.
 */
export class Migration20261207020000AcmeAccountKeyIndex extends Migration {
  override async up(): Promise<void> {
    await this.execute(
      `create index "acme_account_key_thumbprint_idx" on "acme_account" ("key_thumbprint");`,
    );
  }

  override async down(): Promise<void> {
    await this.execute(`drop index "acme_account_key_thumbprint_idx";`);
  }
}
