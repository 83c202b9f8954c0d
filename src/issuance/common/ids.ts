import { randomFillSync } from "node:crypto";

/**
 * Ids of the rows every issuance writes (certificate, request, audit record) and of the other
 * rows certmint creates: UUIDv7 (RFC 9562 5.7), a 48-bit Unix time in milliseconds, then 74
 * random bits.
 *
 * Why not random (v4) UUIDs: a random key lands on a random leaf of its primary-key index, so
 * with 10^6 certificates nearly every insert touched a page not written since the last
 * checkpoint, and PostgreSQL logged a full-page image of it (8 KB) for each such index: WAL per
 * issuance grew from 7.6 KiB on an empty database to 42 KiB (issue 14, bench/scale). Time-ordered
 * keys land on the index's newest pages, which stay in memory and are logged once per checkpoint.
 * The ids are not secrets (every call is authorized on its own): the creation time they carry
 * is the row's created_at, which the API returns anyway. Where an id must not be guessable
 * (ACME's), it stays random.
 */
export function newRowId(now: number = Date.now()): string {
  const b = take16();
  // unix_ts_ms, big-endian, in octets 0-5.
  now = Math.max(0, Math.floor(now));
  b[0] = Math.floor(now / 2 ** 40) & 0xff;
  b[1] = Math.floor(now / 2 ** 32) & 0xff;
  b[2] = (now >>> 24) & 0xff;
  b[3] = (now >>> 16) & 0xff;
  b[4] = (now >>> 8) & 0xff;
  b[5] = now & 0xff;
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70; // version 7
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // variant 10 (RFC 9562 4.1)
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Random octets drawn 4 KB at a time (one call into OpenSSL's generator per 256 ids). */
const POOL = Buffer.alloc(4096);
let used = POOL.length;

function take16(): Buffer {
  if (used + 16 > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  // A copy: the pool is overwritten when it is drawn again.
  const b = Buffer.from(POOL.subarray(used, used + 16));
  used += 16;
  return b;
}
