import { Migration } from "@mikro-orm/migrations";

/**
 * A CA revoked or disabled while a certificate (or a CA below it) is being signed has nothing
 * stored that it signed after. Found by the third outside probe of 2026-12-05: a child CA whose
 * RSA-4096 key was being generated when its parent was revoked was stored ACTIVE 1.35 s after
 * the revocation, and issued; a leaf the same way.
 *
 * - certmint_ca_signs(ca): takes the CA's shared advisory lock (class 1128354631, "CASG"; the key
 *   is hashtext of its id) and then looks, with a fresh snapshot (VOLATILE), whether the CA is
 *   ACTIVE and not revoked.
 * - Triggers refuse (SQLSTATE CMC01) the insert of a certificate whose CA does not sign, and of
 *   a CA whose parent does not: whichever route or replica inserts it.
 * - RevokeCertificateAuthority (and disabling a CA) takes the same locks exclusively, on the CA
 *   and every CA below it, before it changes their status (repositories/certificate-authorities.ts
 *   lockSigning). So an insert is either committed before the revocation (and the revocation's
 *   recursive update sees the CA it made), or waits for it and is refused.
 */
export class Migration20261205300000CaSigningGuard extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function "certmint_ca_signs"("ca" uuid) returns boolean language plpgsql volatile as $$
begin
  perform pg_advisory_xact_lock_shared(1128354631, hashtext("ca"::text));
  return exists (
    select 1 from "certificate_authority" "a"
     where "a"."id" = "ca" and "a"."status" = 'ACTIVE' and "a"."revoked_at" is null);
end $$;`);
    this.addSql(`create function "certmint_refuse_inactive_issuer"() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'certificate' then
    if not "certmint_ca_signs"(new."ca_id") then
      raise exception 'the issuing certificate authority was revoked or disabled' using errcode = 'CMC01';
    end if;
  elsif not "certmint_ca_signs"(new."parent_id") then
    raise exception 'the parent certificate authority was revoked or disabled' using errcode = 'CMC01';
  end if;
  return new;
end $$;`);
    this.addSql(
      `create trigger "certificate_active_issuer" before insert on "certificate" for each row when (new."ca_id" is not null) execute function "certmint_refuse_inactive_issuer"();`,
    );
    this.addSql(
      `create trigger "certificate_authority_active_parent" before insert on "certificate_authority" for each row when (new."parent_id" is not null) execute function "certmint_refuse_inactive_issuer"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger "certificate_authority_active_parent" on "certificate_authority";`);
    this.addSql(`drop trigger "certificate_active_issuer" on "certificate";`);
    this.addSql(`drop function "certmint_refuse_inactive_issuer"();`);
    this.addSql(`drop function "certmint_ca_signs"(uuid);`);
  }
}
