import { Migration } from "@mikro-orm/migrations";

/**
 * certificate_authority.crl_this_update: the thisUpdate of the CA's last CRL, taken with its
 * cRLNumber in one statement (store/repositories/certificate-authorities.ts nextCrl), so a CA's
 * CRLs are dated in the order they are numbered (issuance/ca/crl.ts). Until now thisUpdate was
 * the signing server's clock alone: after a step back (NTP, a VM resumed behind) a CRL with a
 * higher number had an earlier thisUpdate than the one before it, and relying parties that
 * pick the newest CRL by thisUpdate (RFC 5280 5.1.2.4) kept the older one. NULL until the CA's
 * first CRL after this migration; read and written only by that statement (not an entity
 * property, as certificate.crl_entry).
 */
export class Migration20261204300000CrlThisUpdate extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificate_authority" add column "crl_this_update" timestamptz null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "certificate_authority" drop column "crl_this_update";`);
  }
}
