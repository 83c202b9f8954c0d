/**
 * The part of parsing a CSR that is OpenSSL's: importing its public key and verifying its
 * signature over the CertificationRequestInfo (csr.ts). ~0.2 ms of CPU for a P-256 CSR, most of
 * a CSR's cost, and plain data in and out, so it runs on the caller's thread or on a worker
 * thread (csr-workers.ts) the same way. This module loads node:crypto only, so a worker that
 * requires it stays small.
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from "node:crypto";

/** What checking a CSR's signature needs (csr.ts readCsr). */
export interface SignatureTask {
  /** The CSR's key: a JWK (the fast import, spki.ts), or its SubjectPublicKeyInfo DER. */
  key: JsonWebKey | Uint8Array;
  /**
   * The digest of the signature algorithm the CSR names (null: Ed25519, which hashes
   * internally); undefined when certmint knows no such algorithm, and nothing is verified.
   */
  hash?: string | null;
  /** The CertificationRequestInfo's DER: the signed bytes. */
  data: Uint8Array;
  /** The signature BIT STRING's octets; undefined when it is malformed (nothing verified). */
  signature?: Uint8Array;
}

export interface SignatureOutcome {
  /** Undefined when OpenSSL refused the key (e.g. a point not on its curve). */
  publicKey?: KeyObject;
  verified: boolean;
}

/** OpenSSL's import of a CSR's key; throws when it is refused. */
export function createPublicKeyFrom(key: SignatureTask["key"]): KeyObject {
  return key instanceof Uint8Array
    ? createPublicKey({ key: Buffer.from(key), format: "der", type: "spki" })
    : createPublicKey({ key, format: "jwk" });
}

export function importAndVerify(task: SignatureTask): SignatureOutcome {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKeyFrom(task.key);
  } catch {
    return { verified: false };
  }
  if (task.hash === undefined || task.signature === undefined)
    return { publicKey, verified: false };
  try {
    const verified = verify(
      task.hash,
      task.data,
      { key: publicKey, dsaEncoding: "der" },
      task.signature,
    );
    return { publicKey, verified };
  } catch {
    // e.g. an ECDSA signature that is not a DER Ecdsa-Sig-Value, or a key of another family
    // than the algorithm (csr.ts reports that first).
    return { publicKey, verified: false };
  }
}
