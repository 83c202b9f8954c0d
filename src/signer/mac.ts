/**
 * Message authentication for values certmint hands out and must recognise when they come back
 * (page tokens): HMAC-SHA256 (RFC 2104) under a key derived from the key-encryption key with
 * HKDF-SHA256 (RFC 5869), one key per purpose. Every certmint process that shares a database
 * holds the same KEK (each start proves it against the database's check value), so all of
 * them derive the same keys and accept each other's tokens, with nothing new to store or
 * distribute; a database dump alone cannot forge one.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

/** 128-bit tags: forging one takes about 2^128 guesses (NIST SP 800-107 5.3.4). */
const TAG_BYTES = 16;

export class MessageAuthenticator {
  private readonly key: Buffer;

  /** `purpose` separates keys: a tag made for one purpose never verifies for another. */
  constructor(kek: Buffer, purpose: string) {
    this.key = Buffer.from(hkdfSync("sha256", kek, "certmint", `certmint mac: ${purpose}`, 32));
  }

  /** The tag of `parts`, each length-prefixed so that no two lists of parts share an input. */
  tag(...parts: Array<string | Buffer>): Buffer {
    const hmac = createHmac("sha256", this.key);
    for (const part of parts) {
      const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : part;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      hmac.update(length).update(bytes);
    }
    return hmac.digest().subarray(0, TAG_BYTES);
  }

  /** Whether `tag` is the tag of `parts` (compared in constant time). */
  verify(tag: Buffer, ...parts: Array<string | Buffer>): boolean {
    return tag.length === TAG_BYTES && timingSafeEqual(tag, this.tag(...parts));
  }

  static readonly TAG_BYTES = TAG_BYTES;
}
