import { Migration } from "@mikro-orm/migrations";

/**
 * Releasing a certificate on hold (ReleaseCertificateHold, issuance/certificates/release-hold.ts)
 * and making a hold final (revoke.ts), as watchers and CRLs see them. Triggers, as for every
 * other certificate event (Migration20261202100000RenewalAndEvents), so whoever writes the row
 * writes the event in the same statement:
 *
 * - certificate_event_released: revoked_at set back to null (a hold released) writes a
 *   HOLD_RELEASED event. Before, certificate_event_revoked fired only for null -> set, and a
 *   release would have reached no watcher.
 * - certificate_event_hold_final: a certificate on hold whose reason changes to another (RFC
 *   5280 5.3.1 lets certificateHold become a final reason) writes a REVOKED event: watchers that
 *   took the first REVOKED for a hold learn it is final.
 * - certificate_crl_entry_cleared: a released certificate's precomputed CRL entry
 *   (Migration20261202180000CrlEntries) is cleared. The CRL reads only rows with revoked_at set,
 *   so a stale entry would never be published; cleared, no row keeps the entry of a revocation
 *   that no longer holds, and a later hold computes it afresh (certificate_crl_entry).
 *
 * Adds no column and rewrites no row: each trigger fires only on the update that releases or
 * finishes a hold.
 */
export class Migration20261206100000HoldRelease extends Migration {
  override async up(): Promise<void> {
    this.addSql(eventFunction(true));
    this.addSql(
      `create trigger "certificate_event_released" after update of "revoked_at" on "certificate" for each row when (old."revoked_at" is not null and new."revoked_at" is null) execute function "certmint_certificate_event"();`,
    );
    this.addSql(
      `create trigger "certificate_event_hold_final" after update of "revocation_reason" on "certificate" for each row when (old."revoked_at" is not null and new."revoked_at" is not null and old."revocation_reason" = 'CERTIFICATE_HOLD' and new."revocation_reason" is distinct from 'CERTIFICATE_HOLD') execute function "certmint_certificate_event"();`,
    );
    this.addSql(`create function "certmint_certificate_crl_entry_cleared"() returns trigger language plpgsql as $$
begin
  new."crl_entry" := null;
  return new;
end $$;`);
    this.addSql(
      `create trigger "certificate_crl_entry_cleared" before update of "revoked_at" on "certificate" for each row when (old."revoked_at" is not null and new."revoked_at" is null) execute function "certmint_certificate_crl_entry_cleared"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "certificate_crl_entry_cleared" on "certificate";`);
    this.addSql(`drop function if exists "certmint_certificate_crl_entry_cleared"();`);
    this.addSql(`drop trigger if exists "certificate_event_hold_final" on "certificate";`);
    this.addSql(`drop trigger if exists "certificate_event_released" on "certificate";`);
    this.addSql(eventFunction(false));
  }
}

/** certmint_certificate_event as Migration20261204000000CertificateLineage wrote it, with or without releases. */
function eventFunction(releases: boolean): string {
  const released = releases
    ? `
  elsif new."revoked_at" is null then
    insert into "certificate_event" ("type", "certificate_id", "profile_id", "lineage_id", "lineage_depth")
      values ('HOLD_RELEASED', new."id", new."profile_id", new."lineage_id", new."lineage_depth");`
    : "";
  return `create or replace function "certmint_certificate_event"() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into "certificate_event" ("type", "certificate_id", "profile_id", "previous_certificate_id", "lineage_id", "lineage_depth")
      values (case when new."renewed_from_id" is null then 'ISSUED' else 'RENEWED' end,
              new."id", new."profile_id", new."renewed_from_id", new."lineage_id", new."lineage_depth");${released}
  else
    insert into "certificate_event" ("type", "certificate_id", "profile_id", "lineage_id", "lineage_depth")
      values ('REVOKED', new."id", new."profile_id", new."lineage_id", new."lineage_depth");
  end if;
  return null;
end $$;`;
}
