/**
 * Envelope encryption of CA private keys at rest: AES-256-GCM under a key-encryption key (KEK).
 *
 * Sealed format, version 2 (written since stop 44 of 2026-12-06):
 *   0x02 | KEK id (8 octets, kekId below) | nonce (12 random octets) | ciphertext | tag (16 octets)
 * Sealed format, version 1 (still read):  0x01 | nonce | ciphertext | tag
 * - plaintext: the PKCS #8 DER of the private key;
 * - additional authenticated data: the version octet (and, in version 2, the KEK id) followed
 *   by the UTF-8 `aad` (the CA id), so a sealed key copied onto another CA's row, relabelled as
 *   another version or as sealed under another KEK, fails.
 * The KEK id in clear lets the database refuse a key sealed under a KEK that is no longer the
 * current one (Migration20261206140000KekIdGuard): a server that missed a KEK rotation would
 * otherwise store keys nobody can open once the old KEK is destroyed.
 * A 96-bit random nonce is safe for far more than the number of CA keys one KEK will ever seal
 * (NIST SP 800-38D 8.3 bounds random nonces at 2^32 invocations per key).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { failedPrecondition, internalError } from "../errors";

const VERSION_1 = 0x01;
const VERSION_2 = 0x02;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
export const KEK_LENGTH = 32;
/** Octets of the KEK id in a version 2 blob (and in kek_check.kek_id). */
export const KEK_ID_LENGTH = 8;

const kekIds = new WeakMap<Buffer, Buffer>();

/**
 * An identifier of a KEK that says nothing of it: the first 8 octets of HMAC-SHA256 under the
 * key (RFC 2104; never the key, nor a plain hash of it). It names the KEK in every version 2
 * blob, in kek_check.kek_id and in the rotation's audit record. Cached per key buffer: sealing
 * is on the issuance path of generated keys.
 */
export function kekIdBytes(kek: Buffer): Buffer {
  let id = kekIds.get(kek);
  if (!id) {
    id = createHmac("sha256", kek).update("certmint kek id").digest().subarray(0, KEK_ID_LENGTH);
    kekIds.set(kek, id);
  }
  return id;
}

/** The KEK id in hexadecimal (16 characters), as the audit trail and messages show it. */
export const kekId = (kek: Buffer): string => kekIdBytes(kek).toString("hex");

function checkKek(kek: Buffer): void {
  if (!Buffer.isBuffer(kek) || kek.length !== KEK_LENGTH) {
    throw internalError("KEK_INVALID", `the key-encryption key must be ${KEK_LENGTH} bytes`);
  }
}

/** Version 1: the version octet and `aad`; version 2: the version octet, the KEK id and `aad`. */
const associatedData = (header: Buffer, aad: string): Buffer =>
  Buffer.concat([header, Buffer.from(aad, "utf8")]);

export function sealPrivateKey(kek: Buffer, privateKey: KeyObject, aad: string): Buffer {
  checkKek(kek);
  if (privateKey.type !== "private")
    throw internalError("KEY_NOT_PRIVATE", "only private keys are sealed");
  const plaintext = privateKey.export({ type: "pkcs8", format: "der" });
  try {
    const header = Buffer.concat([Buffer.from([VERSION_2]), kekIdBytes(kek)]);
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv("aes-256-gcm", kek, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(associatedData(header, aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, ciphertext, cipher.getAuthTag()]);
  } finally {
    plaintext.fill(0); // best effort: do not leave key bytes in a buffer we own
  }
}

const unwrapFailed = (why: string) =>
  failedPrecondition("KEY_UNWRAP_FAILED", `the CA private key could not be unsealed: ${why}`);

export function openPrivateKey(kek: Buffer, sealed: Buffer, aad: string): KeyObject {
  checkKek(kek);
  if (!Buffer.isBuffer(sealed) || sealed.length < 1) {
    throw unwrapFailed("the sealed key is truncated");
  }
  const version = sealed[0];
  if (version !== VERSION_1 && version !== VERSION_2) {
    throw unwrapFailed(`unknown sealed-key format version ${version}`);
  }
  const headerLength = version === VERSION_2 ? 1 + KEK_ID_LENGTH : 1;
  if (sealed.length < headerLength + NONCE_LENGTH + TAG_LENGTH + 1) {
    throw unwrapFailed("the sealed key is truncated");
  }
  const header = sealed.subarray(0, headerLength);
  if (version === VERSION_2 && !header.subarray(1).equals(kekIdBytes(kek))) {
    // Said before trying: the id is authenticated (associated data), so a blob whose id was
    // changed fails below all the same; this names the usual cause, another KEK.
    throw unwrapFailed(
      `it was sealed under another key-encryption key (id ${header.subarray(1).toString("hex")}, this key's is ${kekId(kek)})`,
    );
  }
  const nonce = sealed.subarray(headerLength, headerLength + NONCE_LENGTH);
  const ciphertext = sealed.subarray(headerLength + NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", kek, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(associatedData(header, aad));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw unwrapFailed(
      "wrong key-encryption key, a different CA id, or the sealed key was modified",
    );
  }
  try {
    return createPrivateKey({ key: plaintext, format: "der", type: "pkcs8" });
  } catch {
    throw unwrapFailed("the unsealed data is not a PKCS #8 private key");
  } finally {
    plaintext.fill(0);
  }
}
