import { Migration } from "@mikro-orm/migrations";

/**
 * The tokens whose secret can still be recomputed for a retried CreateAccessToken (a salt,
 * Migration20261206110000AuditChangesTokenRequests), by creation time: the sweep that drops the
 * salts past the replay window (src/issuance/certificates/held-keys.ts) runs on every replica
 * every tick, and without it scanned the whole table (a review of stop 42). Partial: a token
 * without a salt, most of them, is not in it.
 */
export class Migration20261206120000TokenSaltIndex extends Migration {
  override async up(): Promise<void> {
    await this.execute(
      `create index "access_token_salted_created_at_idx" on "access_token" ("created_at") where "secret_salt" is not null;`,
    );
  }

  override async down(): Promise<void> {
    await this.execute(`drop index "access_token_salted_created_at_idx";`);
  }
}
