/**
 * Key pair generation and PEM import/export. Generation always uses the callback form of
 * crypto.generateKeyPair, which runs on the libuv thread pool: RSA generation takes 100 ms to
 * several seconds and must never block the event loop (GUIDE section 3). The server generates
 * keys through KeyGenerator (key-generator.ts), which runs RSA on its own low-priority threads,
 * fairly between callers; generateKeyPair is for the rest (tests, tools, throwaway keys).
 *
 * Import parses PEM once into KeyObjects (OpenSSL 3 key import is slow); keep the result.
 * Error messages never include key material, nor OpenSSL's message (which can quote input).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCallback,
  type KeyObject,
} from "node:crypto";
import { promisify } from "node:util";
import { invalidArgument } from "../errors";
import { RSA_KEY_BITS } from "../model/keys";
import type { KeyAlgorithm } from "../model/pki";
import { keyAlgorithmOf } from "./algorithms";

const generate = promisify(generateKeyPairCallback);

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Generates a key pair off the event loop. RSA uses the public exponent 65537. */
export async function generateKeyPair(alg: KeyAlgorithm): Promise<KeyPair> {
  switch (alg) {
    case "RSA_2048":
    case "RSA_3072":
    case "RSA_4096":
      return generate("rsa", { modulusLength: RSA_KEY_BITS[alg], publicExponent: 0x10001 });
    case "EC_P256":
      return generate("ec", { namedCurve: "P-256" });
    case "EC_P384":
      return generate("ec", { namedCurve: "P-384" });
    case "ED25519":
      return generate("ed25519", {});
    default:
      throw invalidArgument("KEY_UNSUPPORTED", `unknown key algorithm ${String(alg)}`);
  }
}

/** PKCS#8 PEM ("PRIVATE KEY"), unencrypted: callers seal it (key-wrap.ts) or hand it out once. */
export function exportPrivateKeyPem(key: KeyObject): string {
  if (key.type !== "private") throw invalidArgument("KEY_NOT_PRIVATE", "expected a private key");
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

/** SubjectPublicKeyInfo PEM ("PUBLIC KEY"); accepts a private key and exports its public half. */
export function exportPublicKeyPem(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return pub.export({ type: "spki", format: "pem" }) as string;
}

/**
 * Imports an unencrypted private key PEM (PKCS#8, or the traditional PKCS#1 / SEC 1 forms)
 * and checks that certmint supports its algorithm (invalid_argument KEY_UNSUPPORTED /
 * KEY_TOO_WEAK otherwise).
 */
export function importPrivateKeyPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    // No cause attached: OpenSSL's error could echo parts of the input.
    throw invalidArgument(
      "KEY_MALFORMED",
      "the private key could not be read; provide an unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY)",
    );
  }
  keyAlgorithmOf(key);
  return key;
}

/** Imports a SubjectPublicKeyInfo PEM ("PUBLIC KEY") and checks its algorithm. */
export function importPublicKeyPem(pem: string): KeyObject {
  if (pem.includes("PRIVATE KEY")) {
    throw invalidArgument("KEY_MALFORMED", "expected a PUBLIC KEY PEM, got a private key");
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw invalidArgument(
      "KEY_MALFORMED",
      "the public key could not be read; provide a PUBLIC KEY PEM",
    );
  }
  if (key.type !== "public") throw invalidArgument("KEY_MALFORMED", "expected a public key");
  keyAlgorithmOf(key);
  return key;
}
