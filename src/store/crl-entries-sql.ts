/**
 * A CRL's revokedCertificates entries (RFC 5280 5.1.2.6) as PostgreSQL keeps them: each revoked
 * certificate's entry is written, as DER, when it is revoked (the `crl_entry` column, set by a
 * trigger: migrations/Migration20261202180000CrlEntries.ts), byte for byte what signer/crl.ts
 * `revokedEntries` writes for the same row (test/store/crl-entries-sql.test.ts compares them).
 *
 * Why: for 10^5 entries, reading them as rows and encoding them in the server took 10^5 row
 * objects, dates and entries on its event loop and heap, and calls beside a CRL signing waited
 * behind it (issue 14: up to 166 ms); encoding them in the statement instead cost PostgreSQL
 * 180 ms of CPU per signing. Here the server receives a few rows of CRL_ENTRIES_PER_CHUNK
 * finished entries each, read from the CRL index alone, and copies them into the CRL.
 */

/** Entries per result row: about 50 octets each, so rows of ~250 KB. */
export const CRL_ENTRIES_PER_CHUNK = 5_000;

/**
 * Bindings: CA id, now (unexpired at). Result: one row per chunk, { der bytea, n int, ok
 * boolean }, chunks in no particular order (RFC 5280 sets none for the entries). `ok` is false
 * when a row of the chunk has no entry: what the signer refuses or normalises (an invalid or
 * upper-case serial, REMOVE_FROM_CRL, an unknown reason, a time outside 1950-9999); the caller
 * then reads the rows, and the signer says what is wrong.
 */
export function crlEntriesDerSql(perChunk = CRL_ENTRIES_PER_CHUNK): string {
  return `select string_agg("crl_entry", ''::bytea) as der, count(*)::int as n,
  bool_and("crl_entry" is not null) as ok
from (
  select "crl_entry", (row_number() over () - 1) / ${perChunk} as chunk
  from "certificate" where "ca_id" = ? and "revoked_at" is not null and "not_after" > ?
) entries group by chunk`;
}
