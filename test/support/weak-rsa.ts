import { checkPrimeSync, createPrivateKey, generatePrimeSync, type KeyObject } from "node:crypto";

/**
 * RSA private keys built from chosen primes, for tests of keys certmint must refuse: primes
 * close together (Fermat's method factors the modulus at once), or a small prime factor. Node's
 * OpenSSL signs with them like any key (a JWK with every CRT member), so a CSR of one is valid.
 */
export function rsaKeyOfPrimes(p: bigint, q: bigint, e = 65537n): KeyObject {
  const n = p * q;
  const d = modInverse(e, (p - 1n) * (q - 1n));
  return createPrivateKey({
    format: "jwk",
    key: {
      kty: "RSA",
      n: b64u(n),
      e: b64u(e),
      d: b64u(d),
      p: b64u(p),
      q: b64u(q),
      dp: b64u(d % (p - 1n)),
      dq: b64u(d % (q - 1n)),
      qi: b64u(modInverse(q, p)),
    },
  });
}

/** A 2048-bit key whose primes are neighbours: the next prime after a random 1024-bit one. */
export function closePrimesKey(): KeyObject {
  const p = generatePrimeSync(1024, { bigint: true });
  let q = p + 2n;
  while (!checkPrimeSync(q)) q += 2n;
  return rsaKeyOfPrimes(p, q);
}

/** A 2048-bit key with the prime factor 3. */
export function smallFactorKey(): KeyObject {
  return rsaKeyOfPrimes(3n, generatePrimeSync(2046, { bigint: true }));
}

function b64u(x: bigint): string {
  let hex = x.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex").toString("base64url");
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error("not invertible");
  return ((s0 % m) + m) % m;
}
