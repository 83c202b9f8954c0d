/**
 * Well-formed DER nested deeper than certmint reads (MAX_DER_DEPTH) is refused as too deep, not
 * as corrupted data: until stop 51 of 2026-12-07 a CSR extension value nested 33 levels deep
 * was "could not be decoded" (an outside probe, LATENCY).
 */
import { describe, expect, it } from "vitest";
import { DerShapeError, MAX_DER_DEPTH, parseDer } from "../../src/signer/der";

/** A NULL inside `levels` SEQUENCEs. */
function nested(levels: number): Buffer {
  let der = Buffer.from([0x05, 0x00]);
  for (let i = 0; i < levels; i++) {
    const length = der.length < 0x80 ? Buffer.from([der.length]) : Buffer.from([0x81, der.length]);
    der = Buffer.concat([Buffer.from([0x30]), length, der]);
  }
  return der;
}

describe("parseDer nesting", () => {
  it("reads elements nested up to the limit", () => {
    expect(parseDer(nested(MAX_DER_DEPTH - 1)).trailing).toBe(0);
  });

  it("refuses deeper nesting as too deep, naming the limit", () => {
    const err = (() => {
      try {
        parseDer(nested(MAX_DER_DEPTH + 8));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DerShapeError);
    expect((err as Error).message).toContain(`more than ${MAX_DER_DEPTH} levels deep`);
  });
});
