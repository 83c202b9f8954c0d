/**
 * An RSA key's numbers are sized before OpenSSL imports the key or verifies anything with it:
 * a verification costs one modular squaring per exponent bit and grows with the modulus, so a
 * CSR with a 3071-bit exponent took ~25 ms of the event loop (against ~0.25 ms), and an ACME
 * account key with one ~21 ms per request, unauthenticated (review, 2026-12-03). certmint
 * refuses what it would refuse after the check anyway: a modulus above 4096 bits in a CSR,
 * above 8192 in an account key, and an exponent above 32 bits (model/keys.ts).
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { CertmintError } from "../../src/errors";
import { checkPublicKey, parseCsr } from "../../src/signer";
import { parseCsrWith } from "../../src/signer/csr";
import { importAndVerify } from "../../src/signer/csr-signature";
import { accountKeyFromJwk, JwkError } from "../../src/signer/jws";
import { bitString, name, nul, OID, rawCsr, seq, uint, utf8 } from "../support/raw-der";

const subject = name([OID.commonName, utf8("svc.example.com")]);
/** Signs the CSRs: the signature cannot match the key they carry, and never needs to. */
const signer = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;

/** An odd number of exactly `bits` bits (top bit set). */
function oddOfBits(bits: number): Buffer {
  const b = randomBytes(Math.ceil(bits / 8));
  const top = bits % 8 === 0 ? 8 : bits % 8;
  b[0] = ((b[0] as number) & ((1 << top) - 1)) | (1 << (top - 1));
  b[b.length - 1] = (b[b.length - 1] as number) | 1;
  return b;
}

const rsaSpki = (n: Buffer, e: Buffer) =>
  seq(seq(OID.rsaEncryption, nul()), bitString(seq(uint(n), uint(e))));
const csrWith = (n: Buffer, e: Buffer) =>
  rawCsr({ privateKey: signer, subject, spki: rsaSpki(n, e) });

function refusal(f: () => unknown): CertmintError {
  try {
    f();
  } catch (err) {
    if (err instanceof CertmintError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("RSA keys sized before their signature is checked", () => {
  it.each([
    ["a 3071-bit exponent", 3072, 3071, "an RSA public exponent of 3071 bits is not supported"],
    ["a 33-bit exponent", 2048, 33, "an RSA public exponent of 33 bits is not supported"],
    ["a 16384-bit modulus", 16384, 17, "RSA key of 16384 bits is not supported"],
    ["a 4097-bit modulus", 4097, 17, "RSA key of 4097 bits is not supported"],
  ])("a CSR with %s is refused without OpenSSL seeing it", async (_, nBits, eBits, message) => {
    const pem = csrWith(oddOfBits(nBits), oddOfBits(eBits));
    const err = refusal(() => parseCsr(pem));
    expect(err.reason).toBe("CSR_KEY_UNSUPPORTED");
    expect(err.message).toContain(message);
    expect(err.violations.map((v) => v.field)).toEqual(["csr"]);
    // The step that imports and verifies (on the event loop or a CSR thread) is never asked.
    const check = vi.fn(async (task: Parameters<typeof importAndVerify>[0]) =>
      importAndVerify(task),
    );
    await expect(parseCsrWith(pem, check)).rejects.toMatchObject({
      reason: "CSR_KEY_UNSUPPORTED",
    });
    expect(check).not.toHaveBeenCalled();
  });

  it("a 32-bit exponent and a 4096-bit modulus still reach the check (and fail only its signature)", async () => {
    // A real modulus: a random odd number most often has a factor below 752, which is refused
    // on its own before the check (rsa-modulus.ts).
    const n = Buffer.from(
      generateKeyPairSync("rsa", { modulusLength: 4096 }).publicKey.export({ format: "jwk" })
        .n as string,
      "base64url",
    );
    const pem = csrWith(n, oddOfBits(32));
    const check = vi.fn(async (task: Parameters<typeof importAndVerify>[0]) =>
      importAndVerify(task),
    );
    await expect(parseCsrWith(pem, check)).rejects.toMatchObject({
      reason: "CSR_SIGNATURE_INVALID",
    });
    expect(check).toHaveBeenCalledTimes(1);
  });

  it("an ordinary RSA CSR (65537) is unaffected", () => {
    const keys = generateKeyPairSync("rsa", { modulusLength: 3072 });
    const spki = keys.publicKey.export({ type: "spki", format: "der" });
    const parsed = parseCsr(rawCsr({ privateKey: keys.privateKey, subject, spki }));
    expect(parsed.keyAlgorithm).toBe("RSA_3072");
  });

  it("checkPublicKey refuses an exponent above 32 bits too, whatever imported the key", () => {
    const key = createPublicKey({
      key: {
        kty: "RSA",
        n: oddOfBits(2048).toString("base64url"),
        e: oddOfBits(41).toString("base64url"),
      },
      format: "jwk",
    });
    const check = checkPublicKey(key);
    expect(check).toMatchObject({ ok: false, problem: "UNSUPPORTED" });
    expect(check.ok ? "" : check.message).toContain("41 bits is not supported");
  });

  it("an ACME account key with a huge exponent or modulus is refused before its import", () => {
    const b64 = (b: Buffer) => b.toString("base64url");
    expect(() =>
      accountKeyFromJwk({ kty: "RSA", n: b64(oddOfBits(3072)), e: b64(oddOfBits(3071)) }),
    ).toThrow(
      new JwkError("an RSA public exponent of 3071 bits is not supported (at most 32); use 65537"),
    );
    expect(() =>
      accountKeyFromJwk({ kty: "RSA", n: b64(oddOfBits(16384)), e: b64(Buffer.from([1, 0, 1])) }),
    ).toThrow("RSA keys must have 2048 to 8192 bits");
    // A usual account key still works.
    const ok = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({
      format: "jwk",
    });
    expect(accountKeyFromJwk(ok).algorithm).toBe("RS256");
  });
});
