/**
 * One-shot digests. crypto.hash (Node >= 20.12) computes a digest without a Hash object and
 * its update/digest calls; package.json admits every Node 20, so older ones take createHash,
 * with the same bytes. Used on the issuance path (the request fingerprint, the certificate's
 * fingerprint, key identifiers), where each is one digest per call.
 */
import * as crypto from "node:crypto";

type OneShot = (algorithm: string, data: crypto.BinaryLike, outputEncoding: string) => unknown;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** The digest of `data` (a string as UTF-8) in lower-case hex. */
export function digestHex(algorithm: string, data: crypto.BinaryLike): string {
  return oneShot
    ? (oneShot(algorithm, data, "hex") as string)
    : crypto.createHash(algorithm).update(data).digest("hex");
}

/** The digest of `data` (a string as UTF-8) as bytes. */
export function digestBytes(algorithm: string, data: crypto.BinaryLike): Buffer {
  return oneShot
    ? (oneShot(algorithm, data, "buffer") as Buffer)
    : crypto.createHash(algorithm).update(data).digest();
}
