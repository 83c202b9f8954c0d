/**
 * Certificate serial numbers (RFC 5280 4.1.2.2): a positive INTEGER of at most 20 octets,
 * unique per CA. CA/B BR 7.1 additionally asks for non-sequential serials with at least 64 bits
 * from a CSPRNG, so that serials cannot be predicted (the defence against chosen-prefix
 * collision attacks).
 *
 * Layout, 17 octets: 1 fixed prefix octet, 4 octets of the issuing second (Unix time, big
 * endian: until 2106), 12 CSPRNG octets (96 random bits). The prefix is non-zero with its high
 * bit clear, so the value is always positive and already a minimal DER INTEGER content (no 0x00
 * sign octet is needed, none may be stripped): every serial is exactly 17 octets, which keeps
 * storage and display uniform.
 *
 * Why the second first: the serial is a unique index key (issuer, serial), and a key drawn at
 * random lands each insert on a random leaf page of an index that grows with the inventory.
 * After every checkpoint the first change of a page writes the whole page to the WAL, so with 10^6
 * certificates nearly every issuance wrote an 8 KB page image for this index alone (issue 14,
 * bench/scale prints WAL by index). Serials of the same second share the index's newest pages
 * instead, as UUIDv7 row ids do. The time says nothing the certificate's notBefore does not.
 */
import { randomFillSync } from "node:crypto";
import { invalidArgument } from "../errors";

export const SERIAL_PREFIX = 0x01;
export const SERIAL_LENGTH = 17;
/** Octets of CSPRNG output in a serial: 96 bits, above the Baseline Requirements' 64. */
export const SERIAL_RANDOM_OCTETS = 12;

/**
 * CSPRNG octets drawn 4 KiB at a time (341 serials) and each handed out once, as Node's
 * randomUUID does with its own pool: one call into OpenSSL per serial (randomBytes) was ~20 us
 * of a lone issuance's main-thread CPU (bench/profile, 1 client), a fill ~1 us per serial.
 */
const RANDOM_POOL_OCTETS = 4096 - (4096 % SERIAL_RANDOM_OCTETS);
const randomPool = Buffer.alloc(RANDOM_POOL_OCTETS);
let randomPoolOffset = RANDOM_POOL_OCTETS;

function takeRandomOctets(into: Buffer, at: number): void {
  if (randomPoolOffset === RANDOM_POOL_OCTETS) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  randomPool.copy(into, at, randomPoolOffset, randomPoolOffset + SERIAL_RANDOM_OCTETS);
  // Handed out once: zeroed, so what the pool holds is only what no serial carries yet.
  randomPool.fill(0, randomPoolOffset, randomPoolOffset + SERIAL_RANDOM_OCTETS);
  randomPoolOffset += SERIAL_RANDOM_OCTETS;
}

export function newSerialNumber(at: Date = new Date()): Buffer {
  const serial = Buffer.allocUnsafe(SERIAL_LENGTH);
  serial[0] = SERIAL_PREFIX;
  serial.writeUInt32BE(Math.floor(at.getTime() / 1000) >>> 0, 1);
  takeRandomOctets(serial, 1 + 4);
  return serial;
}

/** Lower-case hex without separators: the form certmint stores and shows. */
export const serialToHex = (serial: Uint8Array): string => Buffer.from(serial).toString("hex");

/**
 * Parses a serial from hex (case-insensitive; ':' separators as printed by OpenSSL are
 * accepted). The value must be a positive, minimally encoded INTEGER of 1-20 octets, i.e. what
 * can appear in a certificate. Throws invalid_argument SERIAL_MALFORMED.
 */
export function serialFromHex(hex: string): Buffer {
  const clean = hex.replace(/:/g, "").toLowerCase();
  if (!/^[0-9a-f]+$/.test(clean) || clean.length % 2 !== 0) {
    throw invalidArgument(
      "SERIAL_MALFORMED",
      "a serial number must be an even number of hex digits, e.g. 01a3...",
    );
  }
  const bytes = Buffer.from(clean, "hex");
  assertValidSerial(bytes);
  return bytes;
}

/** RFC 5280 4.1.2.2: positive, at most 20 octets; DER: minimal encoding. */
export function assertValidSerial(serial: Uint8Array): void {
  if (serial.length === 0 || serial.length > 20) {
    throw invalidArgument(
      "SERIAL_MALFORMED",
      `a serial number has 1 to 20 octets, got ${serial.length}`,
    );
  }
  if ((serial[0] ?? 0) & 0x80) {
    throw invalidArgument("SERIAL_MALFORMED", "a serial number must be positive (high bit clear)");
  }
  if (serial.length > 1 && serial[0] === 0 && !((serial[1] ?? 0) & 0x80)) {
    throw invalidArgument("SERIAL_MALFORMED", "a serial number must not have leading zero octets");
  }
  if (serial.length === 1 && serial[0] === 0) {
    throw invalidArgument("SERIAL_MALFORMED", "a serial number must be positive, not zero");
  }
}
