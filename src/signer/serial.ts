/**
 * Certificate serial numbers (RFC 5280 4.1.2.2): a positive INTEGER of at most 20 octets,
 * unique per CA. CA/B BR 7.1 additionally asks for at least 64 bits from a CSPRNG so that
 * serials cannot be predicted (the defence against chosen-prefix collision attacks).
 *
 * Layout: 1 fixed prefix octet + 16 CSPRNG octets = 17 octets, 128 random bits. The prefix is
 * non-zero with its high bit clear, so the value is always positive and already a minimal DER
 * INTEGER content (no 0x00 sign octet is needed, none may be stripped): every serial is exactly
 * 17 octets, which keeps storage and display uniform.
 */
import { randomBytes } from "node:crypto";
import { invalidArgument } from "../errors";

export const SERIAL_PREFIX = 0x01;
export const SERIAL_LENGTH = 17;

export function newSerialNumber(): Buffer {
  const serial = randomBytes(SERIAL_LENGTH);
  serial[0] = SERIAL_PREFIX;
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
