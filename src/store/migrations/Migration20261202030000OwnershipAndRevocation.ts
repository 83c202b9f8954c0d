import { Migration } from "@mikro-orm/migrations";

/**
 * certificate_authority.revoked_at / revocation_reason: an intermediate revoked by its parent
 * (listed in the parent's CRL); revocation_count: revocations of what the CA issued, bumped in
 * the revoking transaction so every replica's published CRL notices (issue 11).
 */
export class Migration20261202030000OwnershipAndRevocation extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificate_authority" add column "revoked_at" timestamptz null, add column "revocation_reason" text null, add column "revocation_count" bigint not null default 0;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "certificate_authority" drop column "revoked_at", drop column "revocation_reason", drop column "revocation_count";`,
    );
  }
}
