/** Key algorithms, signature algorithm fit, key generation/import, the signer port, serials. */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { KEY_ALGORITHMS, SIGNATURE_ALGORITHMS } from "../../src/model/pki";
import {
  algorithmIdentifierDer,
  assertSignatureFits,
  defaultSignatureAlgorithm,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  importPublicKeyPem,
  keyAlgorithmOf,
  newSerialNumber,
  SoftwareSigner,
  serialFromHex,
  serialToHex,
} from "../../src/signer";
import { KeyPool } from "./helpers";

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    return (e as CertmintError).reason;
  }
  return "NO_ERROR";
};

describe("algorithms", () => {
  it("encodes AlgorithmIdentifiers with NULL for RSA and absent parameters otherwise", () => {
    expect(algorithmIdentifierDer("SHA256_WITH_RSA").toString("hex")).toBe(
      "300d06092a864886f70d01010b0500",
    );
    expect(algorithmIdentifierDer("SHA512_WITH_RSA").toString("hex")).toBe(
      "300d06092a864886f70d01010d0500",
    );
    expect(algorithmIdentifierDer("ECDSA_WITH_SHA256").toString("hex")).toBe(
      "300a06082a8648ce3d040302",
    );
    expect(algorithmIdentifierDer("ECDSA_WITH_SHA384").toString("hex")).toBe(
      "300a06082a8648ce3d040303",
    );
    expect(algorithmIdentifierDer("ED25519").toString("hex")).toBe("300506032b6570");
  });

  it("defaults and fits", () => {
    for (const k of KEY_ALGORITHMS) {
      expect(() => assertSignatureFits(k, defaultSignatureAlgorithm(k))).not.toThrow();
    }
    expect(defaultSignatureAlgorithm("EC_P384")).toBe("ECDSA_WITH_SHA384");
    expect(reason(() => assertSignatureFits("RSA_2048", "ECDSA_WITH_SHA256"))).toBe(
      "SIGNATURE_ALGORITHM_MISMATCH",
    );
    expect(reason(() => assertSignatureFits("EC_P256", "ED25519"))).toBe(
      "SIGNATURE_ALGORITHM_MISMATCH",
    );
    expect(reason(() => assertSignatureFits("ED25519", "SHA256_WITH_RSA"))).toBe(
      "SIGNATURE_ALGORITHM_MISMATCH",
    );
  });

  it("classifies keys, refusing weak and unsupported ones", () => {
    const ec = (namedCurve: string) => generateKeyPairSync("ec", { namedCurve }).publicKey;
    expect(keyAlgorithmOf(ec("P-256"))).toBe("EC_P256");
    expect(keyAlgorithmOf(ec("P-384"))).toBe("EC_P384");
    expect(reason(() => keyAlgorithmOf(ec("P-521")))).toBe("KEY_UNSUPPORTED");
    expect(reason(() => keyAlgorithmOf(ec("secp256k1")))).toBe("KEY_UNSUPPORTED");
    expect(reason(() => keyAlgorithmOf(generateKeyPairSync("ed448").publicKey))).toBe(
      "KEY_UNSUPPORTED",
    );
    expect(reason(() => keyAlgorithmOf(generateKeyPairSync("x25519").publicKey))).toBe(
      "KEY_UNSUPPORTED",
    );
    const rsa = (modulusLength: number, publicExponent = 65537) =>
      generateKeyPairSync("rsa", { modulusLength, publicExponent }).publicKey;
    expect(reason(() => keyAlgorithmOf(rsa(1024)))).toBe("KEY_TOO_WEAK");
    expect(reason(() => keyAlgorithmOf(rsa(2048, 3)))).toBe("KEY_TOO_WEAK");
    expect(reason(() => keyAlgorithmOf(rsa(2056)))).toBe("KEY_UNSUPPORTED");
    expect(
      reason(() =>
        keyAlgorithmOf(generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).publicKey),
      ),
    ).toBe("KEY_UNSUPPORTED");
    expect(reason(() => keyAlgorithmOf(ec("P-521"), "CSR_"))).toBe("CSR_KEY_UNSUPPORTED");
  });
});

describe("keys", () => {
  it.each(KEY_ALGORITHMS.filter((a) => a !== "RSA_4096"))(
    "generates, exports and imports %s",
    async (alg) => {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      expect(keyAlgorithmOf(publicKey)).toBe(alg);
      const pem = exportPrivateKeyPem(privateKey);
      expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(importPrivateKeyPem(pem).equals(privateKey)).toBe(true);
      expect(importPublicKeyPem(exportPublicKeyPem(privateKey)).equals(publicKey)).toBe(true);
    },
  );

  it("does not block the event loop while generating RSA keys", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const { publicKey } = await generateKeyPair("RSA_3072");
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
    expect(keyAlgorithmOf(publicKey)).toBe("RSA_3072");
  });

  it("refuses malformed key PEM without echoing it", () => {
    const bogus = "-----BEGIN PRIVATE KEY-----\nTUlJQ2VFQ1JFVA==\n-----END PRIVATE KEY-----\n";
    try {
      importPrivateKeyPem(bogus);
      expect.unreachable();
    } catch (e) {
      expect((e as CertmintError).reason).toBe("KEY_MALFORMED");
      expect((e as Error).message).not.toContain("TUlJ");
    }
    expect(reason(() => importPublicKeyPem(bogus))).toBe("KEY_MALFORMED");
  });
});

describe("SoftwareSigner", () => {
  const pool = new KeyPool();
  it.each(SIGNATURE_ALGORITHMS)(
    "signs verifiably with %s, or refuses a mismatched key",
    async (sigAlg) => {
      const alg = sigAlg.endsWith("RSA")
        ? "RSA_2048"
        : sigAlg === "ED25519"
          ? "ED25519"
          : "EC_P256";
      const signer = new SoftwareSigner((await pool.get(alg)).privateKey);
      const data = Buffer.from("tbs");
      const sig = await signer.sign(data, sigAlg);
      const { verify } = await import("node:crypto");
      const hash = sigAlg === "ED25519" ? null : `sha${sigAlg.match(/\d{3}/)?.[0]}`;
      expect(verify(hash, data, signer.publicKey, sig)).toBe(true);
      const other = new SoftwareSigner(
        (await pool.get(alg === "EC_P256" ? "ED25519" : "EC_P256")).privateKey,
      );
      await expect(other.sign(data, sigAlg)).rejects.toMatchObject({
        reason: "SIGNATURE_ALGORITHM_MISMATCH",
      });
    },
  );

  it("keeps the private key out of logs", async () => {
    const signer = new SoftwareSigner((await generateKeyPair("EC_P256")).privateKey);
    const { inspect } = await import("node:util");
    expect(inspect(signer)).toBe("SoftwareSigner(EC_P256)");
    expect(JSON.stringify(signer)).toBe('{"keyAlgorithm":"EC_P256"}');
  });
});

describe("serial numbers", () => {
  it("are 17 octets, positive: a fixed prefix, the issuing second, then 96 random bits", () => {
    const at = new Date("2026-12-03T05:00:00.750Z");
    const serials = Array.from({ length: 200 }, () => newSerialNumber(at));
    for (const s of serials) {
      expect(s.length).toBe(17);
      expect(s[0]).toBe(0x01);
      expect(s.readUInt32BE(1)).toBe(Math.floor(at.getTime() / 1000));
      expect(serialFromHex(serialToHex(s))).toEqual(s);
    }
    // The 12 random octets differ between serials of the same second, and every bit of them
    // takes both values among 200 draws (a fixed or counter-like octet would not).
    const tails = serials.map((s) => s.subarray(5).toString("hex"));
    expect(new Set(tails).size).toBe(200);
    for (let bit = 0; bit < 96; bit++) {
      const ones = serials.filter((s) => (s[5 + (bit >> 3)]! >> (7 - (bit & 7))) & 1).length;
      expect(ones, `random bit ${bit}`).toBeGreaterThan(0);
      expect(ones, `random bit ${bit}`).toBeLessThan(200);
    }
    // Later seconds sort after earlier ones, as hex (how they are stored and indexed).
    const later = serialToHex(newSerialNumber(new Date(at.getTime() + 1000)));
    expect(serials.every((s) => serialToHex(s) < later)).toBe(true);
  });

  it("parses OpenSSL-style hex and refuses values that cannot be serials", () => {
    expect(serialFromHex("01:AB:cd").toString("hex")).toBe("01abcd");
    expect(serialFromHex("0080").toString("hex")).toBe("0080");
    for (const bad of ["", "abc", "zz", "80", "0001", "00", "01".repeat(21)]) {
      expect(
        reason(() => serialFromHex(bad)),
        bad,
      ).toBe("SERIAL_MALFORMED");
    }
  });
});

describe("SubjectPublicKeyInfo from JWK", () => {
  it("is byte-identical to OpenSSL's SPKI encoding for every supported key type", async () => {
    const { spkiOf } = await import("../../src/signer/spki");
    const { toDer } = await import("../../src/signer/der");
    const samples = [
      // Many EC keys: a coordinate with leading zero octets must keep its full width.
      ...Array.from(
        { length: 300 },
        () => generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey,
      ),
      ...Array.from(
        { length: 100 },
        () => generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey,
      ),
      ...Array.from({ length: 50 }, () => generateKeyPairSync("ed25519").publicKey),
      (await generateKeyPair("RSA_2048")).publicKey,
      (await generateKeyPair("RSA_2048")).privateKey, // a private key gives its public SPKI
      // Fallback path (OpenSSL encoding) for curves we do not assemble ourselves.
      generateKeyPairSync("ec", { namedCurve: "P-521" }).publicKey,
    ];
    for (const key of samples) {
      const expected = (key.type === "private" ? createPublicKey(key) : key).export({
        type: "spki",
        format: "der",
      });
      expect(toDer(spkiOf(key).node).toString("hex")).toBe(expected.toString("hex"));
    }
  });
});
