import { Migration } from "@mikro-orm/migrations";

/**
 * Keeps a certificate's row in one piece up to 4 KB. A leaf's row is about 2.9 KB, most of it
 * the PEM of the leaf (0.8 KB) and of its chain (1.4 KB); above PostgreSQL's default threshold
 * (toast_tuple_target, about 2 KB) each insert first tried to compress the chain (base64 barely
 * compresses, so it was kept as it was), then moved it to the TOAST table: a second heap insert
 * and an insert into the TOAST table's index, 1.3 KiB of WAL in two more records per issuance
 * (bench/scale, WAL by relation; issue 14), and every read of the chain (GetCertificate, a FULL
 * list page, ACME download) a lookup in that index and a read of another page. Rows larger than
 * 4 KB (long chains, large RSA certificates) are TOASTed as before.
 */
export class Migration20261203110000CertificateInline extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "certificate" set (toast_tuple_target = 4096);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "certificate" reset (toast_tuple_target);`);
  }
}
