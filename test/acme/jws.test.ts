import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  accountKeyFromJwk,
  JwkError,
  jwkThumbprint,
  verifyHmac,
  verifyJwsSignature,
} from "../../src/signer/jws";

/** The signer's JWS primitives (src/signer/jws.ts) against the RFCs' own vectors. */
describe("ACME JWS primitives", () => {
  it("computes the RFC 7638 3.1 thumbprint of its example key", () => {
    const jwk = {
      kty: "RSA",
      n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      e: "AQAB",
      alg: "RS256",
      kid: "2011-04-29",
    };
    const key = accountKeyFromJwk(jwk);
    expect(key.thumbprint).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    expect(key.algorithm).toBe("RS256");
    // Only the required members count (RFC 7638 3.2): alg and kid are not in the canonical form.
    expect(key.jwk).toEqual({ e: jwk.e, kty: "RSA", n: jwk.n });
    expect(jwkThumbprint(key.jwk)).toBe(key.thumbprint);
  });

  it("refuses private keys, weak RSA, unknown curves and key types", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const privateJwk = ec.privateKey.export({ format: "jwk" });
    expect(() => accountKeyFromJwk(privateJwk)).toThrow("jwk must be a public key");
    const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(() => accountKeyFromJwk(rsa1024.publicKey.export({ format: "jwk" }))).toThrow(
      "RSA keys must have 2048 to 8192 bits",
    );
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
    expect(() => accountKeyFromJwk(k1.publicKey.export({ format: "jwk" }))).toThrow(JwkError);
    expect(() => accountKeyFromJwk({ kty: "oct", k: "AAAA" })).toThrow(JwkError);
    expect(() => accountKeyFromJwk("not an object")).toThrow(JwkError);
  });

  it("verifies only with the key's own algorithm, ECDSA as R || S", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const key = accountKeyFromJwk(ec.publicKey.export({ format: "jwk" }));
    const input = "eyJhbGciOiJFUzI1NiJ9.e30";
    const raw = sign("sha256", Buffer.from(input), {
      key: ec.privateKey,
      dsaEncoding: "ieee-p1363",
    });
    const der = sign("sha256", Buffer.from(input), ec.privateKey);
    expect(verifyJwsSignature(key, "ES256", input, raw)).toBe(true);
    expect(verifyJwsSignature(key, "ES256", input, der)).toBe(false);
    expect(verifyJwsSignature(key, "ES384", input, raw)).toBe(false);
    expect(verifyJwsSignature(key, "none", input, Buffer.alloc(0))).toBe(false);
    expect(verifyJwsSignature(key, "ES256", `${input}x`, raw)).toBe(false);
  });

  it("checks External Account Binding MACs in constant time, HS256/384/512 only", () => {
    const secret = Buffer.alloc(32, 7);
    const mac = createHmac("sha256", secret).update("a.b").digest();
    expect(verifyHmac("HS256", secret, "a.b", mac)).toBe(true);
    expect(verifyHmac("HS256", secret, "a.c", mac)).toBe(false);
    expect(verifyHmac("HS384", secret, "a.b", mac)).toBe(false);
    expect(verifyHmac("none", secret, "a.b", mac)).toBe(false);
  });
});
