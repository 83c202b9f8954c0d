import { Migration } from "@mikro-orm/migrations";

/**
 * Drops the unique index on certificate.fingerprint_sha256. A SHA-256 is a random key: each
 * issuance inserted into a random leaf page of an index as large as the inventory, and the first
 * change of a page after a checkpoint writes the whole page to the WAL, so at 10^5 certificates
 * this index alone wrote 3 KiB of page images per issuance, growing toward a page (8 KiB) each
 * with the table (bench/scale, WAL by relation; issue 14).
 *
 * Nothing needs it: a certificate's fingerprint is unique because its (issuer, serial) is (the
 * unique certificate_ca_serial_key), and the two lookups by fingerprint (a revoked mTLS client
 * certificate, ACME revokeCert) read the serial from the same certificate and go through the
 * serial's index, the fingerprint telling apart same-serial certificates of other CAs.
 */
export class Migration20261203100000FingerprintIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificate" drop constraint if exists "certificate_fingerprint_sha256_key";`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "certificate" add constraint "certificate_fingerprint_sha256_key" unique ("fingerprint_sha256");`,
    );
  }
}
