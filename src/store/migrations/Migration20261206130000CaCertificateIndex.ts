import { Migration } from "@mikro-orm/migrations";

/**
 * The CA certificates an issuer signed through profiles, by issuer: one name per CA under one
 * issuer (RFC 5280 4.1.2.6; src/issuance/ca/new-ca.ts assertCaNameFree) reads them at every
 * CreateIntermediate and every CA certificate issued through a profile. Without it the read
 * went through the issuer's (ca_id, created_at, id) index over every leaf it ever signed (10^6
 * rows at the scale bench/scale fills). Partial: leaves, nearly every row, are not in it.
 */
export class Migration20261206130000CaCertificateIndex extends Migration {
  override async up(): Promise<void> {
    await this.execute(
      `create index "certificate_ca_certificates_idx" on "certificate" ("ca_id") where "is_ca";`,
    );
  }

  override async down(): Promise<void> {
    await this.execute(`drop index "certificate_ca_certificates_idx";`);
  }
}
