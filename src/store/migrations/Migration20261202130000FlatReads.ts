import { Migration } from "@mikro-orm/migrations";

/**
 * Indexes that keep certificate reads flat from an empty table to millions of rows (issue 14);
 * each read names the index it is served by (src/store/certificate-list.ts, issuance/ca/crl.ts):
 *
 * - GetCertificate and RevokeCertificate by serial: the unique (CA, serial) index had the
 *   serial second, so a lookup by serial alone read the whole index. The same uniqueness, serial
 *   first (replaced, not added: one index per insert, as before).
 * - ListCertificates with expires_before (or EXPIRED): (not_after, created_at, id), revoked_at
 *   included, replaces (not_after): the certificates before the bound are found in the index and
 *   ordered newest first there (index-only), instead of walking every newer certificate.
 * - ListCertificates with status REVOKED: the revoked ones newest first (partial: written only
 *   when a certificate is revoked, never by issuance).
 * - The CRL: the revoked, unexpired certificates of a CA with what an entry holds (serial, date,
 *   reason), read from the index alone (replaces the partial (ca_id, not_after) index).
 *
 * Plain CREATE INDEX (the migration runs in a transaction): it blocks writes to certificate
 * while it builds, a few seconds per million rows.
 */
export class Migration20261202130000FlatReads extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index "certificate_ca_serial_key";`);
    this.addSql(
      `create unique index "certificate_ca_serial_key" on "certificate" ("serial_number", coalesce("ca_id", '00000000-0000-0000-0000-000000000000'::uuid));`,
    );
    this.addSql(
      `create index "certificate_not_after_created_at_index" on "certificate" ("not_after", "created_at" desc, "id" desc) include ("revoked_at");`,
    );
    this.addSql(`drop index if exists "certificate_not_after_index";`);
    this.addSql(
      `create index "certificate_revoked_created_at_index" on "certificate" ("created_at" desc, "id" desc) where "revoked_at" is not null;`,
    );
    this.addSql(
      `create index "certificate_crl_entries_index" on "certificate" ("ca_id", "not_after") include ("serial_number", "revoked_at", "revocation_reason") where "revoked_at" is not null;`,
    );
    this.addSql(`drop index if exists "certificate_revoked_index";`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `create index "certificate_revoked_index" on "certificate" ("ca_id", "not_after") where "revoked_at" is not null;`,
    );
    this.addSql(`drop index if exists "certificate_crl_entries_index";`);
    this.addSql(`drop index if exists "certificate_revoked_created_at_index";`);
    this.addSql(`create index "certificate_not_after_index" on "certificate" ("not_after");`);
    this.addSql(`drop index if exists "certificate_not_after_created_at_index";`);
    this.addSql(`drop index "certificate_ca_serial_key";`);
    this.addSql(
      `create unique index "certificate_ca_serial_key" on "certificate" (coalesce("ca_id", '00000000-0000-0000-0000-000000000000'::uuid), "serial_number");`,
    );
  }
}
