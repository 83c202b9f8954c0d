/**
 * A CRL's revokedCertificates entries (RFC 5280 5.1.2.6), encoded by PostgreSQL: the bytes
 * signer/crl.ts `revokedEntries` writes for the same rows, byte for byte
 * (test/store/crl-entries-sql.test.ts compares them), for the revoked, unexpired certificates
 * of one CA.
 *
 * Why in SQL: for 10^5 entries, reading them as rows and encoding them in the server took
 * 10^5 row objects, dates and entries on its event loop and heap, and calls beside a CRL
 * signing waited behind it (issue 14: up to 166 ms). Here the server receives a few rows of
 * CRL_ENTRIES_PER_CHUNK entries each, already DER, and copies them into the CRL.
 *
 * Each entry: SEQUENCE { INTEGER serial, Time revocationDate, crlEntryExtensions? }. A valid
 * serial (lower-case hex of a positive INTEGER's content, no superfluous leading octet, 1 to 20
 * octets: signer/serial.ts assertValidSerial) is the INTEGER's content as it is; the time is
 * UTCTime before 2050 and GeneralizedTime from then on (5.1.2.4, 4.1.2.5), to the second;
 * the extensions are the caller's per reason (none for UNSPECIFIED, 5.3.1). Every length is
 * below 128, so one octet each (X.690 8.1.3.4). A chunk with a row that does not fit these
 * (`ok` false) is not encoded here: the caller falls back to the rows, and the signer says
 * what is wrong with them.
 */

/** Entries per result row: about 50 octets each, so rows of ~250 KB. */
export const CRL_ENTRIES_PER_CHUNK = 5_000;

/**
 * Bindings: CA id, now (unexpired at), and a JSON object of each reason's crlEntryExtensions
 * DER in hex ("" for none): a reason it does not name is not encoded (ok false).
 * Result: one row per chunk, { der bytea, n int, ok boolean }, chunks in no particular order
 * (RFC 5280 sets none for the entries).
 *
 * A serial that is not hex makes decode() fail the statement (the caller falls back); one that
 * decodes to anything but a valid INTEGER's content, as assertValidSerial (signer/serial.ts)
 * has it, makes `ok` false: 1 to 20 octets, positive, no superfluous leading zero octet, and
 * no characters skipped (decode() skips whitespace). Checked on the decoded octets, not with a
 * regular expression: one took 450 ms for 10^5 serials.
 */
export function crlEntriesDerSql(perChunk = CRL_ENTRIES_PER_CHUNK): string {
  return `with decoded as (
  select decode("serial_number", 'hex') as s, length("serial_number") as hex_length,
    "revoked_at", "revocation_reason",
    (row_number() over () - 1) / ${perChunk} as chunk
  from "certificate" where "ca_id" = ? and "revoked_at" is not null and "not_after" > ?
), entries as (
  select s, chunk,
    case when length(s) = 0 or length(s) > 20 or length(s) * 2 <> hex_length then false
      when get_byte(s, 0) = 0 then case when length(s) > 1 then get_byte(s, 1) >= 128 else false end
      else get_byte(s, 0) < 128 end
    and "revoked_at" >= '1950-01-01T00:00:00Z' and "revoked_at" < '10000-01-01T00:00:00Z' as valid,
    case when "revoked_at" < '2050-01-01T00:00:00Z'
      then decode('170d', 'hex') || convert_to(to_char("revoked_at" at time zone 'UTC', 'YYMMDDHH24MISS"Z"'), 'SQL_ASCII')
      else decode('180f', 'hex') || convert_to(to_char("revoked_at" at time zone 'UTC', 'YYYYMMDDHH24MISS"Z"'), 'SQL_ASCII')
    end as t,
    decode(?::jsonb ->> coalesce("revocation_reason", 'UNSPECIFIED'), 'hex') as x
  from decoded
)
select
  string_agg(
    decode('30', 'hex') || set_byte(decode('00', 'hex'), 0, 2 + length(s) + length(t) + length(x))
      || decode('02', 'hex') || set_byte(decode('00', 'hex'), 0, length(s)) || s || t || x,
    ''::bytea) as der,
  count(*)::int as n,
  bool_and(valid and x is not null) as ok
from entries group by chunk`;
}
