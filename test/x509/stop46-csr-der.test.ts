/**
 * A CSR is DER throughout, and each requested extension value too (stop 46 of 2026-12-06, an
 * outside probe found these issued): a SAN extnValue in BER (indefinite length), an empty SAN
 * (RFC 5280 4.2.1.6: SIZE (1..MAX)), an empty extKeyUsage (4.2.1.12) or keyUsage with no bit
 * (4.2.1.3), a CSR without attributes [0] (RFC 2986 4.1: not OPTIONAL), an OID with a padded
 * sub-identifier (`2a 80 03`, X.690 8.19.2) or a cut-off one; and a negative RSA exponent was
 * refused under the name of a positive number ("65281"). Each CSR is built byte by byte and
 * signed by the key it carries, so only the named defect is wrong; each is refused with
 * CSR_MALFORMED (or CSR_KEY_ENCODING_INVALID) and a reason naming the defect, by the parser and
 * through IssueCertificate (INVALID_ARGUMENT, field csr_pem, no row written in PostgreSQL).
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { parseCsr } from "../../src/signer";
import {
  Code,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import {
  bitString,
  hex,
  name,
  nul,
  OID,
  octets,
  p256Spki,
  seq,
  set,
  tlv,
  uint,
  utf8,
} from "../support/raw-der";

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const subject = name([OID.commonName, utf8("x.example.com")]);
const dnsName = tlv(0x82, Buffer.from("x.example.com"));

/** A CSR from its parts; `attributes: null` leaves the [0] field out altogether. */
function csr(o: {
  extensions?: Buffer[];
  attributes?: Buffer | null;
  spki?: Buffer;
  key?: KeyObject;
}): string {
  const attributes =
    o.attributes === null
      ? Buffer.alloc(0)
      : (o.attributes ?? tlv(0xa0, seq(OID.extensionRequest, set(seq(...(o.extensions ?? []))))));
  const key = o.key ?? ec.privateKey;
  const cri = seq(
    uint(Buffer.from([0])),
    subject,
    o.spki ?? p256Spki.named(ec.publicKey),
    attributes,
  );
  const [alg, sig] =
    key.asymmetricKeyType === "rsa"
      ? [seq(OID.sha256WithRsa, nul()), sign("sha256", cri, key)]
      : [seq(OID.ecdsaWithSha256), sign("sha256", cri, key)];
  const der = seq(cri, alg, bitString(sig));
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

const ext = (oidTlv: Buffer, value: Buffer, critical = false) =>
  seq(oidTlv, ...(critical ? [hex("01 01 ff")] : []), octets(value));
const SAN = OID.subjectAltName;
const EKU = hex("06 03 55 1d 25");
const KU = hex("06 03 55 1d 0f");
const serverAuth = hex("06 08 2b 06 01 05 05 07 03 01");

/** An RSA SubjectPublicKeyInfo with the given exponent content octets (modulus: rsa's). */
function rsaSpki(exponent: Buffer): Buffer {
  const jwk = rsa.publicKey.export({ format: "jwk" });
  const n = uint(Buffer.from(jwk.n!, "base64url"));
  return seq(seq(OID.rsaEncryption, nul()), bitString(seq(n, tlv(0x02, exponent))));
}

/** [what, CSR, reason, words the message must hold] */
const REFUSED: Array<[string, string, string, string]> = [
  [
    "SAN extnValue in BER, indefinite length (30 80 ... 00 00)",
    csr({ extensions: [ext(SAN, Buffer.concat([hex("30 80"), dnsName, hex("00 00")]))] }),
    "CSR_MALFORMED",
    "the value of requested extension 2.5.29.17 is not DER",
  ],
  [
    "SAN extnValue with a non-minimal length (30 81 0f)",
    csr({ extensions: [ext(SAN, Buffer.concat([hex("30 81 0f"), dnsName]))] }),
    "CSR_MALFORMED",
    "the value of requested extension 2.5.29.17 is not DER",
  ],
  [
    "empty SAN (SEQUENCE SIZE (1..MAX))",
    csr({ extensions: [ext(SAN, seq())] }),
    "CSR_MALFORMED",
    "the requested subjectAltName extension is empty; RFC 5280 4.2.1.6",
  ],
  [
    "empty extKeyUsage",
    csr({ extensions: [ext(SAN, seq(dnsName)), ext(EKU, seq())] }),
    "CSR_MALFORMED",
    "the requested extKeyUsage extension is empty; RFC 5280 4.2.1.12",
  ],
  [
    "keyUsage with no bit set",
    csr({ extensions: [ext(SAN, seq(dnsName)), ext(KU, hex("03 01 00"), true)] }),
    "CSR_MALFORMED",
    "keyUsage extension sets no bit; RFC 5280 4.2.1.3",
  ],
  [
    "no attributes [0] field (RFC 2986 4.1)",
    csr({ attributes: null }),
    "CSR_MALFORMED",
    "has no attributes field; RFC 2986 4.1 requires it",
  ],
  [
    "extension OID with a padded sub-identifier (2a 80 03 for 1.2.3)",
    csr({ extensions: [ext(SAN, seq(dnsName)), ext(hex("06 03 2a 80 03"), nul())] }),
    "CSR_MALFORMED",
    "extnID: expected an OBJECT IDENTIFIER in DER: octet 2 (0x80) pads a sub-identifier",
  ],
  [
    "extension OID cut off (2a 86)",
    csr({ extensions: [ext(SAN, seq(dnsName)), ext(hex("06 02 2a 86"), nul())] }),
    "CSR_MALFORMED",
    "extnID: expected an OBJECT IDENTIFIER in DER: its last sub-identifier is cut off",
  ],
  [
    "negative RSA exponent (02 02 ff 01 = -255)",
    csr({ spki: rsaSpki(hex("ff 01")), key: rsa.privateKey, extensions: [ext(SAN, seq(dnsName))] }),
    "CSR_KEY_ENCODING_INVALID",
    "the RSA public exponent is negative",
  ],
];

function outcome(pem: string): { reason: string; message: string } {
  try {
    parseCsr(pem);
    return { reason: "ACCEPTED", message: "" };
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    return { reason: (e as CertmintError).reason, message: (e as CertmintError).message };
  }
}

describe("CSR DER rules (parser)", () => {
  it.each(REFUSED)("refuses %s", (_what, pem, reason, words) => {
    const got = outcome(pem);
    expect(got.reason).toBe(reason);
    expect(got.message).toContain(words);
    expect(got.message).not.toContain("65281");
  });

  it("still accepts the same CSRs made right: DER SAN, EKU, keyUsage, empty [0], RSA 65537", () => {
    const good = [
      csr({ extensions: [ext(SAN, seq(dnsName))] }),
      csr({
        extensions: [
          ext(SAN, seq(dnsName)),
          ext(EKU, seq(serverAuth)),
          ext(KU, hex("03 02 07 80"), true),
        ],
      }),
      csr({ attributes: tlv(0xa0) }),
      csr({
        spki: rsaSpki(hex("01 00 01")),
        key: rsa.privateKey,
        extensions: [ext(SAN, seq(dnsName))],
      }),
    ];
    for (const pem of good) expect(outcome(pem).reason).toBe("ACCEPTED");
  });

  it("an unknown critical extension is still a request, not an order: read, not copied", () => {
    const pem = csr({
      extensions: [ext(SAN, seq(dnsName)), ext(hex("06 03 2a 03 04"), nul(), true)],
    });
    const parsed = parseCsr(pem);
    expect(parsed.requestedExtensions.otherExtensionOids).toEqual(["1.2.3.4"]);
  });
});

describe("CSR DER rules (IssueCertificate)", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("refuses each INVALID_ARGUMENT on csr_pem with its reason, and writes nothing", async () => {
    const before = await rowCounts(h);
    for (const [what, pem, reason, words] of REFUSED) {
      const err = await rpcError(issue(h, csrRequest("web", pem)));
      expect(err.code, what).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason, what).toBe(reason);
      expect(
        err.violations.map((v) => v.field),
        what,
      ).toEqual(["csr_pem"]);
      expect(err.message, what).toContain(words);
    }
    expect(await rowCounts(h)).toEqual(before);
    // The well-formed CSR beside them issues.
    const ok = await issue(h, csrRequest("web", csr({ extensions: [ext(SAN, seq(dnsName))] })));
    expect(ok.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
  });
});
