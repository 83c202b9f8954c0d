import { Migration } from "@mikro-orm/migrations";

/** certmint_certificate_renew_at's reading of the profile's renewal settings, unchanged. */
const RENEW_AT_ASSIGNMENTS = `new."renew_at" := case when "r" is null then null else "certmint_renew_at"("r", new."not_before", new."not_after") end;
  new."auto_renew_at" := case when "r" @> '{"autoRenew": true}'::jsonb then new."renew_at" end;`;

/**
 * A certificate is stored only under a profile that exists, and a profile is deleted only
 * after every certificate stored under it is counted (since stop 45 of 2026-12-06).
 *
 * DeleteCertificateProfile locks the profile's row FOR UPDATE, counts its valid certificates
 * (refusing PROFILE_HAS_CERTIFICATES without force) and deletes it. An issuance reads the
 * profile, signs, and stores in one autocommitted statement that took no lock on the profile,
 * so the two did not exclude each other: an issuance whose read came before the delete and
 * whose store came after (or whose store was uncommitted while the delete counted) left valid
 * certificates of a deleted profile, answered OK after the delete had been answered OK (an
 * outside probe of stop 45: 12 such certificates in one round of 16).
 *
 * The certificate_renew_at trigger (BEFORE INSERT on certificate) already read the profile's
 * row by its primary key, for every certificate, whichever route or replica inserts it; it now
 * reads it FOR KEY SHARE, held to the commit:
 * - a delete that locked the row first makes the insert wait; once the delete commits the row
 *   is gone and the insert is refused (SQLSTATE CMP01), so the statement writes nothing and the
 *   call answers NOT_FOUND CERTIFICATE_PROFILE_NOT_FOUND, as one that came after the deletion;
 * - an insert that locked it first makes the delete's FOR UPDATE wait for its commit, and the
 *   delete's count (a later statement, a fresh snapshot) sees the certificate.
 * KEY SHARE conflicts only with FOR UPDATE and with deletes or key updates: profile edits (FOR
 * NO KEY UPDATE) and other issuances are not held up. A certificate without a profile (a CA's
 * own, rows of tests) is not looked at, as before.
 *
 * Cost: no statement, round trip or index lookup is added (the row was read already); the lock
 * marks the row's xmax, once per transaction and profile (a batch of 64 certificates of one
 * profile locks it once). Measured in the report of stop 45 (fix45/P3).
 */
export class Migration20261206153000CertificateProfileGuard extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function "certmint_certificate_renew_at"() returns trigger language plpgsql as $$
declare
  "r" jsonb;
begin
  if new."profile_id" is not null then
    select "p"."renewal" into "r" from "certificate_profile" "p" where "p"."id" = new."profile_id" for key share;
    if not found then
      raise exception 'certificate profile % was deleted', new."profile_id" using errcode = 'CMP01';
    end if;
  end if;
  ${RENEW_AT_ASSIGNMENTS}
  return new;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function "certmint_certificate_renew_at"() returns trigger language plpgsql as $$
declare
  "r" jsonb := (select "renewal" from "certificate_profile" where "id" = new."profile_id");
begin
  ${RENEW_AT_ASSIGNMENTS}
  return new;
end $$;`);
  }
}
