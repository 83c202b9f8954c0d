import { Migration } from "@mikro-orm/migrations";

/**
 * ocsp_responder_certificate: the delegated OCSP responder certificates a CA signed (RFC 6960
 * 4.2.2.2). The row, with its serial, is written before the certificate is signed, so the
 * database knows every certificate a CA key signs; its key lives only in the process that
 * made it.
 */
export class Migration20261202110000OcspResponder extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "ocsp_responder_certificate" ("id" uuid not null, "ca_id" uuid not null, "serial_number" text not null, "certificate_pem" text null, "not_after" timestamptz not null, "created_at" timestamptz not null, constraint "ocsp_responder_certificate_pkey" primary key ("id"), constraint "ocsp_responder_certificate_ca_id_foreign" foreign key ("ca_id") references "certificate_authority" ("id") on delete cascade);`,
    );
    this.addSql(
      `create unique index "ocsp_responder_certificate_ca_serial_key" on "ocsp_responder_certificate" ("ca_id", "serial_number");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "ocsp_responder_certificate";`);
  }
}
