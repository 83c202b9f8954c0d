/**
 * Envelope encryption of CA private keys at rest: AES-256-GCM under a key-encryption key (KEK).
 *
 * Sealed format, version 1:  0x01 | nonce (12 random octets) | ciphertext | tag (16 octets)
 * - plaintext: the PKCS #8 DER of the private key;
 * - additional authenticated data: the version octet followed by the UTF-8 `aad` (the CA id),
 *   so a sealed key copied onto another CA's row, or relabelled as another version, fails.
 * A 96-bit random nonce is safe for far more than the number of CA keys one KEK will ever seal
 * (NIST SP 800-38D 8.3 bounds random nonces at 2^32 invocations per key).
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { failedPrecondition, internalError } from "../errors";

const VERSION = 0x01;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
export const KEK_LENGTH = 32;

function checkKek(kek: Buffer): void {
  if (!Buffer.isBuffer(kek) || kek.length !== KEK_LENGTH) {
    throw internalError("KEK_INVALID", `the key-encryption key must be ${KEK_LENGTH} bytes`);
  }
}

const associatedData = (aad: string): Buffer =>
  Buffer.concat([Buffer.from([VERSION]), Buffer.from(aad, "utf8")]);

export function sealPrivateKey(kek: Buffer, privateKey: KeyObject, aad: string): Buffer {
  checkKek(kek);
  if (privateKey.type !== "private")
    throw internalError("KEY_NOT_PRIVATE", "only private keys are sealed");
  const plaintext = privateKey.export({ type: "pkcs8", format: "der" });
  try {
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv("aes-256-gcm", kek, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(associatedData(aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, ciphertext, cipher.getAuthTag()]);
  } finally {
    plaintext.fill(0); // best effort: do not leave key bytes in a buffer we own
  }
}

const unwrapFailed = (why: string) =>
  failedPrecondition("KEY_UNWRAP_FAILED", `the CA private key could not be unsealed: ${why}`);

export function openPrivateKey(kek: Buffer, sealed: Buffer, aad: string): KeyObject {
  checkKek(kek);
  if (!Buffer.isBuffer(sealed) || sealed.length < 1 + NONCE_LENGTH + TAG_LENGTH + 1) {
    throw unwrapFailed("the sealed key is truncated");
  }
  if (sealed[0] !== VERSION) throw unwrapFailed(`unknown sealed-key format version ${sealed[0]}`);
  const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
  const ciphertext = sealed.subarray(1 + NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", kek, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(associatedData(aad));
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
