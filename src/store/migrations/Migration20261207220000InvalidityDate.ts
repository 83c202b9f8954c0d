import { Migration } from "@mikro-orm/migrations";

/**
 * A revoked certificate's or CA's invalidity date (RFC 5280 5.3.2): when its key is known or
 * suspected to have been compromised, or it otherwise became invalid, as RevokeCertificate or
 * RevokeCertificateAuthority was told (`invalidity_date`, null when it was not). A CA's goes
 * on its parent's CRL as the server encodes subordinate entries (signer/crl.ts). Its CRL entry carries it as the invalidityDate
 * entry extension, after the reason code: certmint_crl_entry gains a fourth argument, byte for
 * byte what signer/crl.ts writes (test/store/crl-entries-sql.test.ts compares them), and the
 * trigger recomputes the entry when the date changes. The CRL index includes it, so the rows a
 * CRL is read from when an entry is missing still come from the index alone.
 *
 * The extension (RFC 5280 5.3.2: GeneralizedTime, in UTC, with no fractional seconds):
 * SEQUENCE { OID 2.5.29.24, OCTET STRING { GeneralizedTime } }, 26 octets, so an entry stays
 * under 128 octets and every length one octet. No row has a date yet: nothing is rewritten but
 * the CRL index (1.0 s for 10^5 revoked among 10^6 certificates when it was last built,
 * Migration20261202180000CrlEntries).
 */
export class Migration20261207220000InvalidityDate extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "certificate" add column "invalidity_date" timestamptz null;`);
    this.addSql(
      `alter table "certificate_authority" add column "invalidity_date" timestamptz null;`,
    );
    this.addSql(`create function "certmint_crl_entry"("serial" text, "revoked" timestamptz, "reason" text, "invalid" timestamptz)
  returns bytea language plpgsql stable as $$
declare
  e bytea;
  x bytea;
  i bytea;
  inner_length int;
begin
  e := "certmint_crl_entry"("serial", "revoked", "reason");
  if e is null or "invalid" is null then return e; end if;
  if "invalid" < '1950-01-01T00:00:00Z' or "invalid" >= '10000-01-01T00:00:00Z' then
    return null;
  end if;
  -- The reason code's Extension, when a reason is given (none for UNSPECIFIED): the last 12
  -- octets of the entry, inside the 2 octets of its Extensions SEQUENCE.
  x := case when coalesce("reason", 'UNSPECIFIED') = 'UNSPECIFIED' then ''::bytea
            else substring(e from length(e) - 11) end;
  i := decode('30180603551d180411180f', 'hex')
    || convert_to(to_char(date_trunc('second', "invalid") at time zone 'UTC', 'YYYYMMDDHH24MISS"Z"'), 'SQL_ASCII');
  inner_length := length(x) + length(i);
  e := substring(e from 3 for length(e) - 2 - (case when length(x) > 0 then 14 else 0 end));
  e := e || decode('30', 'hex') || set_byte(decode('00', 'hex'), 0, inner_length) || x || i;
  return decode('30', 'hex') || set_byte(decode('00', 'hex'), 0, length(e)) || e;
end $$;`);
    this.addSql(`create or replace function "certmint_certificate_crl_entry"() returns trigger language plpgsql as $$
begin
  new."crl_entry" := "certmint_crl_entry"(new."serial_number", new."revoked_at", new."revocation_reason", new."invalidity_date");
  return new;
end $$;`);
    this.addSql(`drop trigger "certificate_crl_entry" on "certificate";`);
    this.addSql(
      `create trigger "certificate_crl_entry" before insert or update of "serial_number", "revoked_at", "revocation_reason", "invalidity_date" on "certificate" for each row when (new."revoked_at" is not null) execute function "certmint_certificate_crl_entry"();`,
    );
    this.addSql(`drop index "certificate_crl_entries_index";`);
    this.addSql(
      `create index "certificate_crl_entries_index" on "certificate" ("ca_id", "not_after") include ("serial_number", "revoked_at", "revocation_reason", "invalidity_date", "crl_entry") where "revoked_at" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "certificate_crl_entries_index";`);
    this.addSql(
      `create index "certificate_crl_entries_index" on "certificate" ("ca_id", "not_after") include ("serial_number", "revoked_at", "revocation_reason", "crl_entry") where "revoked_at" is not null;`,
    );
    this.addSql(`drop trigger "certificate_crl_entry" on "certificate";`);
    this.addSql(
      `create trigger "certificate_crl_entry" before insert or update of "serial_number", "revoked_at", "revocation_reason" on "certificate" for each row when (new."revoked_at" is not null) execute function "certmint_certificate_crl_entry"();`,
    );
    this.addSql(`create or replace function "certmint_certificate_crl_entry"() returns trigger language plpgsql as $$
begin
  new."crl_entry" := "certmint_crl_entry"(new."serial_number", new."revoked_at", new."revocation_reason");
  return new;
end $$;`);
    this.addSql(`drop function "certmint_crl_entry"(text, timestamptz, text, timestamptz);`);
    this.addSql(`alter table "certificate" drop column "invalidity_date";`);
    this.addSql(`alter table "certificate_authority" drop column "invalidity_date";`);
  }
}
