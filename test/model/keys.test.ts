import { describe, expect, it } from "vitest";
import {
  keyFamilyOf,
  keyUsagesAllowedFor,
  RSA_KEY_BITS,
  rsaAlgorithmOfBits,
  rsaBitsOf,
} from "../../src/model/keys";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "../../src/model/pki";
import { allowedKeyUsagesFor } from "../../src/signer";

/** The key facts (src/model/keys.ts) that the signer and the policy engine share. */
describe("key facts", () => {
  it("gives every key algorithm a family, and refuses one it does not know", () => {
    expect(KEY_ALGORITHMS.map(keyFamilyOf)).toEqual(["rsa", "rsa", "rsa", "ec", "ec", "ed25519"]);
    // Never a default family: an unknown algorithm is an error (before, it read as Ed25519).
    expect(() => keyFamilyOf("DSA_1024" as KeyAlgorithm)).toThrow(
      expect.objectContaining({ kind: "internal", reason: "KEY_ALGORITHM_UNKNOWN" }),
    );
    expect(() => keyUsagesAllowedFor("EC_P521" as KeyAlgorithm)).toThrow(/unknown key algorithm/);
  });

  it("knows the RSA sizes both ways, and no others", () => {
    for (const [alg, bits] of Object.entries(RSA_KEY_BITS)) {
      expect(rsaBitsOf(alg as KeyAlgorithm)).toBe(bits);
      expect(rsaAlgorithmOfBits(bits)).toBe(alg);
    }
    expect(rsaBitsOf("EC_P256")).toBeUndefined();
    expect(rsaAlgorithmOfBits(2304)).toBeUndefined();
  });

  it("gives the signer the usages of each family (RFC 3279, 5480, 8410)", () => {
    expect(allowedKeyUsagesFor("RSA_2048")).toContain("KEY_ENCIPHERMENT");
    expect(allowedKeyUsagesFor("EC_P384")).toContain("KEY_AGREEMENT");
    expect(allowedKeyUsagesFor("EC_P384")).not.toContain("KEY_ENCIPHERMENT");
    expect(allowedKeyUsagesFor("ED25519")).toEqual([
      "DIGITAL_SIGNATURE",
      "CONTENT_COMMITMENT",
      "KEY_CERT_SIGN",
      "CRL_SIGN",
    ]);
  });
});
