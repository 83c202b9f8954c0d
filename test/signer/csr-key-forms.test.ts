/**
 * The public key of a CSR must arrive in the one form its RFC allows, because certmint
 * certifies keys in that form and would otherwise silently re-encode what the requester signed
 * (issue 10 item 15): explicit EC curve parameters (RFC 5480 2.1.1), a compressed point
 * (certmint writes the uncompressed form, RFC 5480 2.2), rsaEncryption without its NULL
 * (RFC 3279 2.3.1), Ed25519 with parameters (RFC 8410 3), non-minimal DER inside the key, and
 * RSASSA-PSS keys (RFC 4055) are refused. Each CSR is built byte by byte and signed by the
 * key it carries, so the signature is valid and only the key's form is wrong; openssl makes
 * the same explicit-curve and RSA-PSS CSRs independently.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { parseCsr } from "../../src/signer";
import {
  bitString,
  name,
  nul,
  OID,
  p256Spki,
  rawCsr,
  seq,
  tlv,
  uint,
  utf8,
} from "../support/raw-der";
import { openssl, TempDir } from "./helpers";

const subject = name([OID.commonName, utf8("svc.example.com")]);
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const jwk = (k: KeyObject) => k.export({ format: "jwk" });
const b64u = (s: string | undefined) => Buffer.from(s ?? "", "base64url");

const rsaPublicKey = rsa.publicKey.export({ type: "pkcs1", format: "der" });
const edPoint = b64u(jwk(ed.publicKey).x);

/** The uncompressed point of `key` with y + 1 (mod 2^256): not a point of the curve. */
function offCurve(key: KeyObject): Buffer {
  const y = BigInt(`0x${b64u(jwk(key).y).toString("hex")}`) + 1n;
  const yBytes = Buffer.from((y % 2n ** 256n).toString(16).padStart(64, "0"), "hex");
  return Buffer.concat([Buffer.from([4]), b64u(jwk(key).x), yBytes]);
}

function outcome(pem: string): string {
  try {
    parseCsr(pem);
    return "ACCEPTED";
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    return (e as CertmintError).reason;
  }
}

/** [what, the key that signs, its SubjectPublicKeyInfo as sent, what parseCsr says] */
const FORMS: Array<[string, KeyObject, Buffer, string]> = [
  ["P-256, named curve", ec.privateKey, p256Spki.named(ec.publicKey), "ACCEPTED"],
  [
    "P-256 with explicit parameters (specifiedCurve)",
    ec.privateKey,
    p256Spki.explicit(ec.publicKey),
    "CSR_KEY_EXPLICIT_CURVE",
  ],
  [
    "P-256 with implicitCurve (NULL parameters)",
    ec.privateKey,
    p256Spki.implicit(ec.publicKey),
    "CSR_KEY_EXPLICIT_CURVE",
  ],
  [
    "P-256 with a compressed point",
    ec.privateKey,
    p256Spki.compressed(ec.publicKey),
    "CSR_KEY_ENCODING_INVALID",
  ],
  // The key is imported from its coordinates (src/signer/spki.ts importSpki): OpenSSL must still
  // check that the point is on the curve, and a short point is not padded into a valid one.
  [
    "P-256 with a point off the curve (y + 1)",
    ec.privateKey,
    seq(seq(OID.ecPublicKey, OID.prime256v1), bitString(offCurve(ec.publicKey))),
    "CSR_MALFORMED",
  ],
  [
    "P-256 with a point one octet short",
    ec.privateKey,
    seq(
      seq(OID.ecPublicKey, OID.prime256v1),
      bitString(
        Buffer.concat([
          Buffer.from([4]),
          b64u(jwk(ec.publicKey).x),
          b64u(jwk(ec.publicKey).y).subarray(1),
        ]),
      ),
    ),
    "CSR_MALFORMED",
  ],
  [
    "RSA, rsaEncryption with NULL",
    rsa.privateKey,
    seq(seq(OID.rsaEncryption, nul()), bitString(rsaPublicKey)),
    "ACCEPTED",
  ],
  [
    "RSA without the NULL parameters",
    rsa.privateKey,
    seq(seq(OID.rsaEncryption), bitString(rsaPublicKey)),
    "CSR_KEY_ENCODING_INVALID",
  ],
  [
    "RSA whose modulus has two superfluous leading zero octets",
    rsa.privateKey,
    seq(
      seq(OID.rsaEncryption, nul()),
      bitString(
        seq(
          tlv(0x02, Buffer.from([0, 0]), b64u(jwk(rsa.publicKey).n)),
          uint(b64u(jwk(rsa.publicKey).e)),
        ),
      ),
    ),
    "CSR_KEY_ENCODING_INVALID",
  ],
  ["Ed25519", ed.privateKey, seq(seq(OID.ed25519), bitString(edPoint)), "ACCEPTED"],
  [
    "Ed25519 with NULL parameters",
    ed.privateKey,
    seq(seq(OID.ed25519, nul()), bitString(edPoint)),
    "CSR_KEY_ENCODING_INVALID",
  ],
];

describe("the form of a CSR's public key", () => {
  it.each(FORMS.map(([what, key, spki, expected]) => [what, expected, key, spki] as const))(
    "%s: %s",
    (_what, expected, privateKey, spki) => {
      expect(outcome(rawCsr({ privateKey, subject, spki }))).toBe(expected);
    },
  );

  it("says why, citing the RFC, for explicit parameters", () => {
    try {
      parseCsr(
        rawCsr({ privateKey: ec.privateKey, subject, spki: p256Spki.explicit(ec.publicKey) }),
      );
      expect.unreachable();
    } catch (e) {
      expect((e as CertmintError).message).toContain("RFC 5480 2.1.1");
      expect((e as CertmintError).violations[0]).toMatchObject({
        reason: "CSR_KEY_EXPLICIT_CURVE",
      });
    }
  });

  it("refuses an RSASSA-PSS key (RFC 4055), whatever it is signed with", () => {
    const pss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 });
    const spki = pss.publicKey.export({ type: "spki", format: "der" });
    expect(outcome(rawCsr({ privateKey: pss.privateKey, subject, spki }))).toBe(
      "CSR_KEY_UNSUPPORTED",
    );
  });
});

describe("the same forms made by openssl", () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await TempDir.create();
  });
  afterAll(() => dir?.remove());

  async function opensslCsr(keyArgs: string[]): Promise<string> {
    const r = await openssl([
      "req",
      "-new",
      ...keyArgs,
      "-nodes",
      "-keyout",
      `${dir.path}/k.pem`,
      "-subj",
      "/CN=svc.example.com",
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  }

  it("-pkeyopt ec_param_enc:explicit: CSR_KEY_EXPLICIT_CURVE; the named curve: accepted", async () => {
    const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    const explicit = await opensslCsr([...curve, "-pkeyopt", "ec_param_enc:explicit"]);
    const text = await openssl(["req", "-noout", "-text"], explicit);
    expect(text.stdout).toContain("Field Type: prime-field"); // explicit, as openssl shows it
    expect(outcome(explicit)).toBe("CSR_KEY_EXPLICIT_CURVE");
    expect(outcome(await opensslCsr(curve))).toBe("ACCEPTED");
  });

  it("an RSA-PSS key: CSR_KEY_UNSUPPORTED", async () => {
    const csr = await opensslCsr(["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"]);
    expect(outcome(csr)).toBe("CSR_KEY_UNSUPPORTED");
  });
});
