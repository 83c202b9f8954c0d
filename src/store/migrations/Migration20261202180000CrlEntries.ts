import { Migration } from "@mikro-orm/migrations";

/**
 * Each revoked certificate keeps its CRL entry (RFC 5280 5.1.2.6) as DER, written by
 * PostgreSQL when it is revoked, so signing a CRL reads finished entries from the CRL index
 * instead of encoding 10^5 of them on every signing (issue 14: 180 ms of PostgreSQL's CPU for a
 * 10^5-entry CRL, 85 ms of it formatting times, on the core it shares with the server).
 *
 * - certmint_crl_entry(serial, revoked_at, reason): the entry, byte for byte what the signer
 *   writes (signer/crl.ts revokedEntries; test/store/crl-entries-sql.test.ts compares them):
 *   SEQUENCE { INTEGER serial, UTCTime before 2050 else GeneralizedTime (4.1.2.5), the reason
 *   code extension unless UNSPECIFIED (5.3.1) }, every length below 128. NULL for what the
 *   signer refuses or normalises (a serial that is not lower-case hex of a valid INTEGER's
 *   content, REMOVE_FROM_CRL, an unknown reason, a time outside 1950-9999): the server then
 *   reads those rows and the signer says what is wrong. The reasons' extensions are written
 *   out here (signer/crl.ts crlEntryExtensionsHex; the test checks they agree).
 * - crl_entry: set by a trigger on every insert or update of the serial, revocation time or
 *   reason of a revoked certificate, whoever writes it (RevokeCertificate, ACME, plain SQL), so
 *   it cannot disagree with them. Not revoked: the trigger does not run (issuance pays
 *   nothing).
 * - the CRL index includes it, so a CRL is read from the index alone.
 *
 * On an existing inventory the backfill rewrites every revoked row: 12.9 s for 10^5 revoked
 * among 10^6 certificates, and 1.0 s for the index, on the 2-core bench machine (bench/scale's
 * filler), with the certificate table held by the migration's transaction meanwhile.
 */
export class Migration20261202180000CrlEntries extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function "certmint_crl_entry"("serial" text, "revoked" timestamptz, "reason" text)
  returns bytea language plpgsql stable as $$
declare
  s bytea;
  t bytea;
  x bytea;
begin
  if "serial" is null or "revoked" is null or "serial" !~ '^([0-9a-f]{2}){1,20}$' then
    return null;
  end if;
  s := decode("serial", 'hex');
  -- A positive INTEGER's content with no superfluous leading zero octet (X.690 8.3.2).
  if get_byte(s, 0) = 0 then
    if length(s) = 1 or get_byte(s, 1) < 128 then return null; end if;
  elsif get_byte(s, 0) >= 128 then
    return null;
  end if;
  if "revoked" < '1950-01-01T00:00:00Z' or "revoked" >= '10000-01-01T00:00:00Z' then
    return null;
  end if;
  if "revoked" < '2050-01-01T00:00:00Z' then
    t := decode('170d', 'hex') || convert_to(to_char("revoked" at time zone 'UTC', 'YYMMDDHH24MISS"Z"'), 'SQL_ASCII');
  else
    t := decode('180f', 'hex') || convert_to(to_char("revoked" at time zone 'UTC', 'YYYYMMDDHH24MISS"Z"'), 'SQL_ASCII');
  end if;
  x := case coalesce("reason", 'UNSPECIFIED')
    when 'UNSPECIFIED' then ''::bytea
    when 'KEY_COMPROMISE' then decode('300c300a0603551d1504030a0101', 'hex')
    when 'CA_COMPROMISE' then decode('300c300a0603551d1504030a0102', 'hex')
    when 'AFFILIATION_CHANGED' then decode('300c300a0603551d1504030a0103', 'hex')
    when 'SUPERSEDED' then decode('300c300a0603551d1504030a0104', 'hex')
    when 'CESSATION_OF_OPERATION' then decode('300c300a0603551d1504030a0105', 'hex')
    when 'CERTIFICATE_HOLD' then decode('300c300a0603551d1504030a0106', 'hex')
    when 'PRIVILEGE_WITHDRAWN' then decode('300c300a0603551d1504030a0109', 'hex')
    when 'AA_COMPROMISE' then decode('300c300a0603551d1504030a010a', 'hex')
  end;
  if x is null then return null; end if;
  return decode('30', 'hex') || set_byte(decode('00', 'hex'), 0, 2 + length(s) + length(t) + length(x))
    || decode('02', 'hex') || set_byte(decode('00', 'hex'), 0, length(s)) || s || t || x;
end $$;`);
    this.addSql(`alter table "certificate" add column "crl_entry" bytea null;`);
    this.addSql(`create function "certmint_certificate_crl_entry"() returns trigger language plpgsql as $$
begin
  new."crl_entry" := "certmint_crl_entry"(new."serial_number", new."revoked_at", new."revocation_reason");
  return new;
end $$;`);
    this.addSql(
      `create trigger "certificate_crl_entry" before insert or update of "serial_number", "revoked_at", "revocation_reason" on "certificate" for each row when (new."revoked_at" is not null) execute function "certmint_certificate_crl_entry"();`,
    );
    this.addSql(
      `update "certificate" set "crl_entry" = "certmint_crl_entry"("serial_number", "revoked_at", "revocation_reason") where "revoked_at" is not null;`,
    );
    this.addSql(`drop index "certificate_crl_entries_index";`);
    this.addSql(
      `create index "certificate_crl_entries_index" on "certificate" ("ca_id", "not_after") include ("serial_number", "revoked_at", "revocation_reason", "crl_entry") where "revoked_at" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "certificate_crl_entries_index";`);
    this.addSql(
      `create index "certificate_crl_entries_index" on "certificate" ("ca_id", "not_after") include ("serial_number", "revoked_at", "revocation_reason") where "revoked_at" is not null;`,
    );
    this.addSql(`drop trigger "certificate_crl_entry" on "certificate";`);
    this.addSql(`drop function "certmint_certificate_crl_entry"();`);
    this.addSql(`alter table "certificate" drop column "crl_entry";`);
    this.addSql(`drop function "certmint_crl_entry"(text, timestamptz, text);`);
  }
}
