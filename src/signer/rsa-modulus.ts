/**
 * RSA moduli anyone can factor, refused before they are certified (after Boulder's goodkey):
 *  - a modulus with a prime factor below 752 (NIST SP 800-89 5.3.3, "the modulus has no
 *    factors smaller than 752");
 *  - a modulus whose two primes are so close that Fermat's method finds them within 100 rounds
 *    (CA/Browser Forum Baseline Requirements 6.1.1.3, the "Close Primes" weakness, after
 *    https://fermatattack.secvuln.info/): keys some hardware and libraries generated.
 * Either way the private key is public knowledge, and a certificate of it certifies nothing.
 * The cost is bounded and small: about 20 BigInt remainders, one integer square root, then 100
 * rounds of plain-number arithmetic (a BigInt square root only for the few candidates whose
 * residues a square could have).
 */

/** The rounds of Fermat's method the Baseline Requirements name (6.1.1.3). */
export const FERMAT_ROUNDS = 100;

/** Why `modulus` (big-endian octets) is refused; undefined when it is not known weak. */
export function rsaModulusProblem(modulus: Uint8Array): string | undefined {
  if (modulus.length === 0) return "the RSA modulus is empty";
  const n = BigInt(`0x${Buffer.from(modulus).toString("hex")}`);
  if (hasSmallFactor(n)) {
    return "the RSA modulus has a prime factor below 752, so the private key can be computed from it (NIST SP 800-89 5.3.3); generate a new key pair";
  }
  if (fermatFactorable(n, FERMAT_ROUNDS)) {
    return `the RSA modulus's two primes are so close that Fermat's method factors it within ${FERMAT_ROUNDS} rounds (CA/B Baseline Requirements 6.1.1.3); generate a new key pair`;
  }
  return undefined;
}

/**
 * Whether n = a^2 - b^2 for some a in [ceil(sqrt n), ceil(sqrt n) + rounds): then n = (a-b)(a+b).
 */
export function fermatFactorable(n: bigint, rounds: number): boolean {
  let a = isqrt(n);
  if (a * a < n) a += 1n;
  // b^2 = a^2 - n, followed modulo RESIDUE_MODULUS as plain numbers ((a+1)^2 - n = a^2 - n +
  // 2a + 1): a BigInt square and root only for a candidate whose residues a square could have.
  const m = RESIDUE_MODULUS_NUMBER;
  let am = Number(a % RESIDUE_MODULUS);
  let bm = Number((a * a - n) % RESIDUE_MODULUS);
  for (let i = 0; i < rounds; i++) {
    if (mayBeSquare(bm)) {
      const ai = a + BigInt(i);
      const b2 = ai * ai - n;
      const root = isqrt(b2);
      if (root * root === b2) return true;
    }
    bm = (bm + 2 * am + 1) % m;
    am = (am + 1) % m;
  }
  return false;
}

/**
 * The primes below 752 (2, 3, 5, ..., 751), in groups whose product stays below 2^53: a
 * modulus is reduced by each group's product (one BigInt remainder per group, about 20), and
 * the primes of the group divide that as plain numbers. A gcd with the product of all 132
 * primes took 170 us of BigInt remainders per 2048-bit modulus; this takes a few.
 */
let groups: Array<{ product: bigint; primes: number[] }> | undefined;

function smallPrimeGroups(): Array<{ product: bigint; primes: number[] }> {
  if (groups !== undefined) return groups;
  const out: Array<{ product: bigint; primes: number[] }> = [];
  let primes: number[] = [];
  let product = 1;
  for (let k = 2; k < 752; k++) {
    let prime = true;
    for (let d = 2; d * d <= k; d++) {
      if (k % d === 0) {
        prime = false;
        break;
      }
    }
    if (!prime) continue;
    if (product * k > Number.MAX_SAFE_INTEGER) {
      out.push({ product: BigInt(product), primes });
      primes = [];
      product = 1;
    }
    primes.push(k);
    product *= k;
  }
  out.push({ product: BigInt(product), primes });
  groups = out;
  return out;
}

function hasSmallFactor(n: bigint): boolean {
  for (const { product, primes } of smallPrimeGroups()) {
    const r = Number(n % product);
    for (const p of primes) if (r % p === 0) return true;
  }
  return false;
}

/** floor(sqrt(n)) for n >= 0, by Newton's method from a power of two above the root. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Quadratic residues mod 64, 63 and 65: most non-squares fail one of them, with no root taken. */
const RESIDUES = [64, 63, 65].map((m) => {
  const squares = new Set<number>();
  for (let i = 0; i < m; i++) squares.add((i * i) % m);
  return { m, squares };
});
/** 64 * 63 * 65: a number's residues modulo the three, from its residue modulo this. */
const RESIDUE_MODULUS_NUMBER = 262_080;
const RESIDUE_MODULUS = BigInt(RESIDUE_MODULUS_NUMBER);

/** Whether a number with residue `r` modulo RESIDUE_MODULUS may be a perfect square. */
function mayBeSquare(r: number): boolean {
  for (const { m, squares } of RESIDUES) if (!squares.has(r % m)) return false;
  return true;
}
