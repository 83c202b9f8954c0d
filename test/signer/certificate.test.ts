/** Contents of issued certificates: serials, extensions and criticality, key identifiers, refusals. */
import { createHash, X509Certificate } from "node:crypto";
import forge from "node-forge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import {
  Issuer,
  issueCertificate,
  newSerialNumber,
  parseCertificate,
  SoftwareSigner,
} from "../../src/signer";
import {
  cn,
  extensionsOf,
  KeyPool,
  leafInput,
  makeIntermediate,
  makeRoot,
  NOW,
  openssl,
  TempDir,
} from "./helpers";

const keys = new KeyPool();
let dir: TempDir;
let root: Awaited<ReturnType<typeof makeRoot>>;
let inter: Awaited<ReturnType<typeof makeIntermediate>>;

beforeAll(async () => {
  dir = await TempDir.create();
  root = await makeRoot(await keys.get("EC_P384", 0), "Root", 1);
  inter = await makeIntermediate(root, await keys.get("EC_P256", 1), "Intermediate", 0);
});
afterAll(() => dir?.remove());

const EXT = {
  bc: "2.5.29.19",
  ku: "2.5.29.15",
  eku: "2.5.29.37",
  san: "2.5.29.17",
  ski: "2.5.29.14",
  aki: "2.5.29.35",
  cdp: "2.5.29.31",
  aia: "1.3.6.1.5.5.7.1.1",
};

async function expectRefusal(p: Promise<unknown>, kind: string, reason: string) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CertmintError);
  expect((err as CertmintError).kind).toBe(kind);
  expect((err as CertmintError).reason).toBe(reason);
  return err as CertmintError;
}

describe("leaf contents", () => {
  it("has a positive 17-octet serial with at least 64 random bits", async () => {
    const from = Math.floor(Date.now() / 1000);
    const serials = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const leafKey = await keys.get("EC_P256", 2);
        const leaf = await issueCertificate(leafInput(inter, leafKey.publicKey, "EC_P256"));
        return parseCertificate(leaf.der).serial;
      }),
    );
    for (const s of serials) {
      expect(s.length).toBe(17);
      expect(s[0]).toBe(0x01);
    }
    // Octets 1-4 are the issuing second (serial.ts: index locality), then 12 random octets.
    const to = Math.floor(Date.now() / 1000);
    for (const s of serials) {
      expect(s.readUInt32BE(1)).toBeGreaterThanOrEqual(from);
      expect(s.readUInt32BE(1)).toBeLessThanOrEqual(to);
    }
    // Entropy sanity: every serial differs and each random octet position varies.
    expect(new Set(serials.map((s) => s.toString("hex"))).size).toBe(20);
    for (let i = 5; i < 17; i++) expect(new Set(serials.map((s) => s[i])).size).toBeGreaterThan(1);
    const x = new X509Certificate(
      (
        await issueCertificate(
          leafInput(inter, (await keys.get("EC_P256", 2)).publicKey, "EC_P256"),
        )
      ).pem,
    );
    expect(BigInt(`0x${x.serialNumber}`) >= 1n << 128n).toBe(true);
  });

  it("carries the expected extensions with RFC 5280 criticality", async () => {
    const leafKey = await keys.get("EC_P256", 2);
    const leaf = await issueCertificate(
      leafInput(inter, leafKey.publicKey, "EC_P256", {
        sans: {
          dns: ["a.example"],
          ip: ["192.0.2.1", "2001:db8::1"],
          email: ["ops@example.com"],
          uri: ["spiffe://example/ns/a"],
        },
        crlDistributionUrl: "http://crl.example/inter.crl",
        caIssuersUrl: "http://ca.example/inter.crt",
      }),
    );
    const exts = extensionsOf(leaf.der);
    expect([...exts.keys()].sort()).toEqual(Object.values(EXT).sort());
    expect(exts.get(EXT.bc)?.critical).toBe(true);
    expect(exts.get(EXT.bc)?.value.value).toEqual([]); // cA FALSE (DEFAULT, so encoded empty)
    expect(exts.get(EXT.ku)?.critical).toBe(true);
    expect(exts.get(EXT.ku)?.value.value).toBe("\x07\x80"); // digitalSignature only
    expect(exts.get(EXT.eku)?.critical).toBe(false);
    expect(exts.get(EXT.san)?.critical).toBe(false); // subject is not empty
    expect(exts.get(EXT.ski)?.critical).toBe(false);
    expect(exts.get(EXT.aki)?.critical).toBe(false);

    const text = (await openssl(["x509", "-noout", "-text"], leaf.pem)).stdout;
    expect(text).toContain(
      "DNS:a.example, IP Address:192.0.2.1, IP Address:2001:DB8:0:0:0:0:0:1, email:ops@example.com, URI:spiffe://example/ns/a",
    );
    expect(text).toContain("URI:http://crl.example/inter.crl");
    expect(text).toContain("CA Issuers - URI:http://ca.example/inter.crt");
    expect(text).toContain("TLS Web Server Authentication, TLS Web Client Authentication");
  });

  it("links SKI and AKI: SKI = SHA-1 of the key bits, AKI = issuer SKI", async () => {
    const leafKey = await keys.get("EC_P256", 2);
    const leaf = await issueCertificate(leafInput(inter, leafKey.publicKey, "EC_P256"));
    const parsed = parseCertificate(leaf.pem);
    const spki = forge.asn1.fromDer(
      leafKey.publicKey.export({ type: "spki", format: "der" }).toString("latin1"),
      { decodeBitStrings: false } as unknown as boolean,
    );
    const bits = Buffer.from(
      ((spki.value as forge.asn1.Asn1[])[1]!.value as string).slice(1),
      "latin1",
    );
    const expected = createHash("sha1").update(bits).digest();
    expect(parsed.subjectKeyIdentifier).toEqual(expected);
    expect(leaf.subjectKeyIdentifier).toEqual(expected);
    expect(parsed.authorityKeyIdentifier).toEqual(inter.issuer.keyIdentifier);
    expect(parseCertificate(inter.cert.pem).authorityKeyIdentifier).toEqual(
      root.issuer.keyIdentifier,
    );
    // X509Certificate prints the key ids as colon hex lines; cross-check with OpenSSL.
    const text = (
      await openssl(
        ["x509", "-noout", "-ext", "subjectKeyIdentifier,authorityKeyIdentifier"],
        leaf.pem,
      )
    ).stdout;
    expect(text.replace(/[:\s]/g, "").toLowerCase()).toContain(expected.toString("hex"));
    expect(text.replace(/[:\s]/g, "").toLowerCase()).toContain(
      inter.issuer.keyIdentifier.toString("hex"),
    );
  });

  it("marks the SAN critical and passes x509_strict when the subject is empty", async () => {
    const leafKey = await keys.get("EC_P256", 2);
    const leaf = await issueCertificate(
      leafInput(inter, leafKey.publicKey, "EC_P256", { subject: { attributes: [] } }),
    );
    expect(extensionsOf(leaf.der).get(EXT.san)?.critical).toBe(true);
    const r = await openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      await dir.file("root.pem", root.cert.pem),
      "-untrusted",
      await dir.file("inter.pem", inter.cert.pem),
      await dir.file("empty-subject.pem", leaf.pem),
    ]);
    expect(r.stdout).toContain(": OK");
  });

  it("round-trips through parseCertificate", async () => {
    const leafKey = await keys.get("ED25519", 2);
    const leaf = await issueCertificate(leafInput(inter, leafKey.publicKey, "ED25519"));
    const p = parseCertificate(leaf.pem);
    expect(p.serialHex).toBe(leaf.serialHex);
    expect(p.subject).toEqual(cn("svc.example.internal"));
    expect(p.subjectString).toBe("CN=svc.example.internal,O=certmint tests");
    expect(p.issuerDer).toEqual(parseCertificate(inter.cert.der).subjectDer);
    expect(p.notBefore).toEqual(leaf.notBefore);
    expect(p.notAfter).toEqual(leaf.notAfter);
    expect(p.isCa).toBe(false);
    expect(p.keyAlgorithm).toBe("ED25519");
    expect(p.publicKey.equals(leafKey.publicKey)).toBe(true);
    expect(p.sans.ip).toEqual(["10.1.2.3", "2001:db8::7"]);
    expect(p.fingerprintSha256).toBe(leaf.fingerprintSha256);
    const ca = parseCertificate(inter.cert.pem);
    expect(ca.isCa).toBe(true);
    expect(ca.pathLength).toBe(0);
    expect(ca.keyUsages).toEqual(["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"]);
  });
});

describe("signature algorithms", () => {
  it("signs with every algorithm that fits the CA key, and OpenSSL verifies each", async () => {
    const rsaRoot = await makeRoot(await keys.get("RSA_2048", 5), "RSA Root");
    const leafKey = await keys.get("EC_P256", 2);
    const cases = [
      [root, "ECDSA_WITH_SHA256", "ecdsa-with-SHA256"],
      [root, "ECDSA_WITH_SHA384", "ecdsa-with-SHA384"],
      [root, "ECDSA_WITH_SHA512", "ecdsa-with-SHA512"],
      [rsaRoot, "SHA256_WITH_RSA", "sha256WithRSAEncryption"],
      [rsaRoot, "SHA384_WITH_RSA", "sha384WithRSAEncryption"],
      [rsaRoot, "SHA512_WITH_RSA", "sha512WithRSAEncryption"],
    ] as const;
    for (const [ca, alg, opensslName] of cases) {
      const leaf = await issueCertificate(
        leafInput(ca, leafKey.publicKey, "EC_P256", { signatureAlgorithm: alg }),
      );
      expect(new X509Certificate(leaf.pem).verify(new X509Certificate(ca.cert.pem).publicKey)).toBe(
        true,
      );
      const r = await openssl([
        "verify",
        "-x509_strict",
        "-CAfile",
        await dir.file(`ca-${alg}.pem`, ca.cert.pem),
        await dir.file(`leaf-${alg}.pem`, leaf.pem),
      ]);
      expect(r.stdout, alg).toContain(": OK");
      const text = await openssl(["x509", "-noout", "-text"], leaf.pem);
      expect(text.stdout).toContain(`Signature Algorithm: ${opensslName}`);
    }
  });
});

describe("path length", () => {
  it("a pathLen 0 CA cannot validly sign a sub-CA", async () => {
    // certmint refuses when it knows the issuer's certificate...
    const subKey = await keys.get("EC_P256", 3);
    const subInput = {
      ...leafInput(inter, subKey.publicKey, "EC_P256"),
      subject: cn("Sub CA"),
      isCa: true,
      keyUsages: ["KEY_CERT_SIGN", "CRL_SIGN"] as const,
      extendedKeyUsages: [],
    };
    await expectRefusal(
      issueCertificate({ ...subInput, keyUsages: [...subInput.keyUsages] }),
      "failed_precondition",
      "ISSUER_PATH_LENGTH_EXCEEDED",
    );
    // ...and when forced through an issuer known only by name, OpenSSL rejects the chain.
    const blind = Issuer.from({
      signer: inter.signer,
      subjectDer: parseCertificate(inter.cert.pem).subjectDer,
    });
    const sub = await issueCertificate({
      ...subInput,
      keyUsages: [...subInput.keyUsages],
      issuer: blind,
    });
    const subSigner = new SoftwareSigner(subKey.privateKey);
    const subIssuer = Issuer.from({ signer: subSigner, certificate: sub.pem });
    const leafKey = await keys.get("EC_P256", 2);
    const leaf = await issueCertificate(
      leafInput({ issuer: subIssuer, signer: subSigner }, leafKey.publicKey, "EC_P256"),
    );
    const r = await openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      await dir.file("root.pem", root.cert.pem),
      "-untrusted",
      await dir.file("untrusted.pem", inter.cert.pem + sub.pem),
      await dir.file("leaf-under-sub.pem", leaf.pem),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/path length constraint exceeded/);
  });

  it("refuses a sub-CA pathLength that exceeds the issuer's budget", async () => {
    const subKey = await keys.get("EC_P256", 3);
    const err = await expectRefusal(
      issueCertificate({
        ...leafInput(root, subKey.publicKey, "EC_P256"),
        subject: cn("Sub CA"),
        isCa: true,
        pathLength: 1,
        keyUsages: ["KEY_CERT_SIGN"],
        extendedKeyUsages: [],
      }),
      "failed_precondition",
      "ISSUER_PATH_LENGTH_EXCEEDED",
    );
    expect(err.message).toContain("use pathLength 0 or less");
  });
});

describe("refusals", () => {
  const cases: Array<[string, (k: Awaited<ReturnType<KeyPool["get"]>>) => object, string, string]> =
    [
      [
        "keyCertSign on a leaf",
        () => ({ keyUsages: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN"] }),
        "invalid_argument",
        "KEY_USAGE_INVALID",
      ],
      [
        "keyEncipherment with an EC key",
        () => ({ keyUsages: ["KEY_ENCIPHERMENT"] }),
        "invalid_argument",
        "KEY_USAGE_INVALID",
      ],
      [
        "a CA without keyCertSign",
        () => ({ isCa: true, keyUsages: ["CRL_SIGN"] }),
        "invalid_argument",
        "KEY_USAGE_INVALID",
      ],
      [
        "empty subject and no SANs",
        () => ({ subject: { attributes: [] }, sans: { dns: [], ip: [], email: [], uri: [] } }),
        "invalid_argument",
        "SUBJECT_INVALID",
      ],
      [
        "an RSA signature algorithm with an EC CA",
        () => ({ signatureAlgorithm: "SHA256_WITH_RSA" }),
        "invalid_argument",
        "SIGNATURE_ALGORITHM_MISMATCH",
      ],
      [
        "notAfter past the issuer",
        () => ({ notAfter: new Date(NOW.getTime() + 400 * 86_400_000) }),
        "failed_precondition",
        "VALIDITY_EXCEEDS_ISSUER",
      ],
      [
        "notAfter before notBefore",
        () => ({ notAfter: new Date(NOW.getTime() - 86_400_000) }),
        "invalid_argument",
        "VALIDITY_INVALID",
      ],
      [
        "a negative serial",
        () => ({ serial: Buffer.from("80112233", "hex") }),
        "invalid_argument",
        "SERIAL_MALFORMED",
      ],
      [
        "an IP SAN that is not an address",
        () => ({ sans: { dns: [], ip: ["10.0.0.256"], email: [], uri: [] } }),
        "invalid_argument",
        "SAN_INVALID",
      ],
      [
        "a non-ASCII DNS SAN",
        () => ({ sans: { dns: ["bücher.example"], ip: [], email: [], uri: [] } }),
        "invalid_argument",
        "SAN_INVALID",
      ],
      [
        "a three-letter country",
        () => ({ subject: { attributes: [{ type: "COUNTRY", value: "USA" }] } }),
        "invalid_argument",
        "SUBJECT_INVALID",
      ],
      [
        "a non-http CRL URL",
        () => ({ crlDistributionUrl: "file:///etc/passwd" }),
        "invalid_argument",
        "URL_INVALID",
      ],
    ];
  it.each(cases)("refuses %s", async (_name, override, kind, reason) => {
    const leafKey = await keys.get("EC_P256", 2);
    await expectRefusal(
      issueCertificate({ ...leafInput(inter, leafKey.publicKey, "EC_P256"), ...override(leafKey) }),
      kind,
      reason,
    );
  });

  it("refuses a self-signed certificate over a different key", async () => {
    const a = await keys.get("EC_P256", 2);
    const b = await keys.get("EC_P256", 3);
    await expectRefusal(
      issueCertificate({
        ...leafInput(inter, a.publicKey, "EC_P256"),
        issuer: { selfSigned: new SoftwareSigner(b.privateKey) },
      }),
      "invalid_argument",
      "SELF_SIGNED_KEY_MISMATCH",
    );
  });

  it("refuses an issuer whose certificate is not a CA, or does not match the key", async () => {
    const leafKey = await keys.get("EC_P256", 2);
    const leaf = await issueCertificate(leafInput(inter, leafKey.publicKey, "EC_P256"));
    expect(() =>
      Issuer.from({ signer: new SoftwareSigner(leafKey.privateKey), certificate: leaf.pem }),
    ).toThrow(expect.objectContaining({ reason: "ISSUER_NOT_CA" }));
    expect(() => Issuer.from({ signer: root.signer, certificate: inter.cert.pem })).toThrow(
      expect.objectContaining({ reason: "ISSUER_KEY_MISMATCH" }),
    );
  });

  it("issues a self-signed leaf that OpenSSL accepts as its own trust anchor", async () => {
    const k = await keys.get("EC_P256", 4);
    const signer = new SoftwareSigner(k.privateKey);
    const cert = await issueCertificate({
      ...leafInput(inter, k.publicKey, "EC_P256"),
      serial: newSerialNumber(),
      issuer: { selfSigned: signer },
    });
    const path = await dir.file("self.pem", cert.pem);
    const r = await openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      path,
      path,
    ]);
    expect(r.stdout).toContain(": OK");
  });
});
