/**
 * Known-weak RSA moduli (src/signer/rsa-modulus.ts): a prime factor below 752 (NIST SP 800-89
 * 5.3.3) or primes close enough for Fermat's method within 100 rounds (CA/B BR 6.1.1.3). The
 * keys are real: built from chosen primes, a CSR of each made and self-verified by openssl, then
 * parsed as certmint parses a request's CSR.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isCertmintError } from "../../src/errors";
import { parseCsr } from "../../src/signer";
import { accountKeyFromJwk } from "../../src/signer/jws";
import { fermatFactorable, isqrt, rsaModulusProblem } from "../../src/signer/rsa-modulus";
import { opensslOk } from "../support/openssl";
import { closePrimesKey, smallFactorKey } from "../support/weak-rsa";

const modulusOf = (key: KeyObject) =>
  Buffer.from(key.export({ format: "jwk" }).n as string, "base64url");

describe("known-weak RSA moduli", () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-weak-rsa-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A CSR of `key` made by openssl, which checks its own signature. */
  const csrOf = (key: KeyObject, name: string) => {
    const file = join(dir, `${name}.pem`);
    writeFileSync(file, key.export({ type: "pkcs8", format: "pem" }));
    const csr = opensslOk(["req", "-new", "-key", file, "-subj", `/CN=${name}.example.com`]);
    opensslOk(["req", "-noout", "-verify"], csr);
    return csr;
  };
  const refusal = (csr: string) => {
    try {
      parseCsr(csr);
    } catch (err) {
      if (isCertmintError(err)) return err;
      throw err;
    }
    throw new Error("the CSR was accepted");
  };

  it("refuses a CSR whose primes are neighbours (Fermat), with the rule it breaks", () => {
    const err = refusal(csrOf(closePrimesKey(), "close"));
    expect(err.reason).toBe("CSR_KEY_TOO_WEAK");
    expect(err.message).toContain("Fermat's method factors it within 100 rounds");
    expect(err.message).toContain("6.1.1.3");
  });

  it("refuses a CSR whose modulus has the factor 3", () => {
    const err = refusal(csrOf(smallFactorKey(), "small"));
    expect(err.reason).toBe("CSR_KEY_TOO_WEAK");
    expect(err.message).toContain("a prime factor below 752");
  });

  it("accepts ordinary keys of every size certmint certifies", () => {
    for (const modulusLength of [2048, 3072, 4096]) {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength });
      expect(rsaModulusProblem(modulusOf(privateKey))).toBeUndefined();
      expect(parseCsr(csrOf(privateKey, `ok-${modulusLength}`)).keyAlgorithm).toBe(
        `RSA_${modulusLength}`,
      );
    }
  });

  it("refuses such a key as an ACME account key too", () => {
    const { kty, n, e } = closePrimesKey().export({ format: "jwk" });
    expect(() => accountKeyFromJwk({ kty, n, e })).toThrow(/Fermat's method/);
    const sound = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
    expect(accountKeyFromJwk(sound.export({ format: "jwk" })).algorithm).toBe("RS256");
  });

  it("finds Fermat's factors only within its rounds", () => {
    // 1009 * 1013: ceil(sqrt) = 1011 = (1009 + 1013) / 2, found in the first round.
    expect(fermatFactorable(1009n * 1013n, 1)).toBe(true);
    // Primes 10^6+3 and 10^6+33 apart by 30: a = 10^6+18, the first candidate.
    expect(fermatFactorable(1_000_003n * 1_000_033n, 1)).toBe(true);
    // 101 * 10007: (a - ceil(sqrt)) is in the thousands of rounds.
    expect(fermatFactorable(101n * 10_007n, 100)).toBe(false);
    expect(fermatFactorable(101n * 10_007n, 5_000)).toBe(true);
  });

  it("takes integer square roots exactly", () => {
    for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 2n ** 127n - 1n, 10n ** 300n + 7n]) {
      const r = isqrt(n);
      expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
    }
  });
});
