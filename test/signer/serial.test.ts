/**
 * Serials (src/signer/serial.ts): 17 octets, the fixed prefix, the issuing second, then 12
 * CSPRNG octets taken from a pool filled 4 KiB at a time. Across several refills of the pool
 * every serial is well formed and its random octets are its own.
 */
import { describe, expect, it } from "vitest";
import {
  assertValidSerial,
  newSerialNumber,
  SERIAL_LENGTH,
  SERIAL_PREFIX,
  SERIAL_RANDOM_OCTETS,
} from "../../src/signer/serial";

describe("newSerialNumber", () => {
  it("gives well-formed serials whose random octets are never handed out twice", () => {
    const at = new Date("2026-12-04T12:00:00Z");
    const seen = new Set<string>();
    const count = 2_000; // about six fills of the pool
    for (let i = 0; i < count; i++) {
      const serial = newSerialNumber(at);
      expect(serial.length).toBe(SERIAL_LENGTH);
      expect(serial[0]).toBe(SERIAL_PREFIX);
      expect(serial.readUInt32BE(1)).toBe(at.getTime() / 1000);
      assertValidSerial(serial);
      const random = serial.subarray(SERIAL_LENGTH - SERIAL_RANDOM_OCTETS).toString("hex");
      expect(random).not.toBe("00".repeat(SERIAL_RANDOM_OCTETS));
      seen.add(random);
    }
    expect(seen.size).toBe(count);
  });

  it("hands out a serial that a later serial does not change", () => {
    const first = newSerialNumber();
    const copy = Buffer.from(first);
    for (let i = 0; i < 1_000; i++) newSerialNumber();
    expect(first.equals(copy)).toBe(true);
  });
});
