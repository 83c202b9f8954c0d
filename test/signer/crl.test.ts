/** CRLs: parsed by `openssl crl -text`, verified with `openssl crl -CAfile -verify`. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import type { KeyAlgorithm } from "../../src/model/pki";
import {
  buildCrl,
  defaultSignatureAlgorithm,
  Issuer,
  newSerialNumber,
  parseCertificate,
  type RevokedEntry,
  serialToHex,
} from "../../src/signer";
import { KeyPool, makeRoot, openssl, TempDir } from "./helpers";

const keys = new KeyPool();
let dir: TempDir;
beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(() => dir?.remove());

const at = (iso: string) => new Date(iso);
const hexUpper = (serial: Buffer) => serialToHex(serial).toUpperCase();

describe.each(["EC_P256", "RSA_2048", "ED25519", "EC_P384"] as KeyAlgorithm[])(
  "CRL signed by a %s CA",
  (alg) => {
    it("lists revoked serials with reasons and verifies against the CA certificate", async () => {
      const ca = await makeRoot(await keys.get(alg), `CRL CA ${alg}`);
      const revoked: RevokedEntry[] = [
        {
          serial: newSerialNumber(),
          revokedAt: at("2026-01-02T03:04:05Z"),
          reason: "KEY_COMPROMISE",
        },
        { serial: newSerialNumber(), revokedAt: at("2026-02-03T04:05:06Z"), reason: "SUPERSEDED" },
        {
          serial: serialToHex(newSerialNumber()),
          revokedAt: at("2026-03-04T05:06:07Z"),
          reason: "UNSPECIFIED",
        },
        {
          serial: newSerialNumber(),
          revokedAt: at("2026-04-05T06:07:08Z"),
          reason: "CESSATION_OF_OPERATION",
        },
      ];
      const crl = await buildCrl({
        issuer: ca.issuer,
        signatureAlgorithm: defaultSignatureAlgorithm(alg),
        crlNumber: 42n,
        thisUpdate: new Date(),
        nextUpdate: new Date(Date.now() + 86_400_000),
        revoked,
      });
      const crlPath = await dir.file(`crl-${alg}.pem`, crl.pem);
      const caPath = await dir.file(`ca-${alg}.pem`, ca.cert.pem);

      const text = await openssl(["crl", "-noout", "-text", "-in", crlPath]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain("Version 2 (0x1)");
      expect(text.stdout).toMatch(/X509v3 CRL Number:\s+42/);
      expect(text.stdout).toContain("X509v3 Authority Key Identifier");
      expect(text.stdout).toContain(`Issuer: O = certmint tests, CN = CRL CA ${alg}`);
      for (const r of revoked) {
        const serial = typeof r.serial === "string" ? Buffer.from(r.serial, "hex") : r.serial;
        expect(text.stdout).toContain(`Serial Number: ${hexUpper(serial)}`);
      }
      expect(text.stdout).toContain("Key Compromise");
      expect(text.stdout).toContain("Superseded");
      expect(text.stdout).toContain("Cessation Of Operation");
      expect(text.stdout).not.toContain("Unspecified"); // 5.3.1: omitted rather than encoded
      expect(text.stdout.match(/X509v3 CRL Reason Code/g)?.length).toBe(3);
      expect(text.stdout).toContain("Revocation Date: Jan  2 03:04:05 2026 GMT");

      const verify = await openssl(["crl", "-noout", "-CAfile", caPath, "-in", crlPath, "-verify"]);
      expect(verify.code).toBe(0);
      expect(verify.stderr + verify.stdout).toContain("verify OK");
    });
  },
);

describe("CRL edge cases", () => {
  it("omits revokedCertificates when empty and still verifies", async () => {
    const ca = await makeRoot(await keys.get("EC_P256"), "Empty CRL CA");
    const crl = await buildCrl({
      issuer: ca.issuer,
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      crlNumber: 1n,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + 3_600_000),
      revoked: [],
    });
    const crlPath = await dir.file("empty.pem", crl.pem);
    const text = await openssl(["crl", "-noout", "-text", "-in", crlPath]);
    expect(text.stdout).toContain("No Revoked Certificates.");
    const verify = await openssl([
      "crl",
      "-noout",
      "-CAfile",
      await dir.file("empty-ca.pem", ca.cert.pem),
      "-in",
      crlPath,
      "-verify",
    ]);
    expect(verify.stderr + verify.stdout).toContain("verify OK");
  });

  it("accepts an issuer known by subject and key id, and a 20-octet CRL number", async () => {
    const ca = await makeRoot(await keys.get("EC_P256"), "Bare CA");
    const parsed = parseCertificate(ca.cert.pem);
    const crl = await buildCrl({
      issuer: {
        signer: ca.signer,
        subjectDer: parsed.subjectDer,
        subjectKeyIdentifier: parsed.subjectKeyIdentifier,
      },
      signatureAlgorithm: "ECDSA_WITH_SHA384",
      crlNumber: (1n << 159n) - 1n,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + 3_600_000),
      revoked: [{ serial: newSerialNumber(), revokedAt: new Date(), reason: "CERTIFICATE_HOLD" }],
    });
    const crlPath = await dir.file("bare.pem", crl.pem);
    const verify = await openssl([
      "crl",
      "-noout",
      "-text",
      "-CAfile",
      await dir.file("bare-ca.pem", ca.cert.pem),
      "-in",
      crlPath,
      "-verify",
    ]);
    expect(verify.stderr + verify.stdout).toContain("verify OK");
    expect(verify.stdout).toContain("Certificate Hold");
    expect(verify.stdout).toContain("ecdsa-with-SHA384");
  });

  const refusals: Array<
    [string, (serial: Buffer) => Partial<Parameters<typeof buildCrl>[0]>, string]
  > = [
    [
      "a duplicate serial",
      (s) => ({
        revoked: [
          { serial: s, revokedAt: new Date(), reason: "SUPERSEDED" },
          { serial: serialToHex(s), revokedAt: new Date(), reason: "KEY_COMPROMISE" },
        ],
      }),
      "CRL_DUPLICATE_SERIAL",
    ],
    [
      "REMOVE_FROM_CRL in a full CRL",
      (s) => ({ revoked: [{ serial: s, revokedAt: new Date(), reason: "REMOVE_FROM_CRL" }] }),
      "REVOCATION_REASON_INVALID",
    ],
    [
      "a malformed hex serial",
      () => ({ revoked: [{ serial: "xyz", revokedAt: new Date(), reason: "SUPERSEDED" }] }),
      "SERIAL_MALFORMED",
    ],
    ["nextUpdate before thisUpdate", () => ({ nextUpdate: new Date(0) }), "CRL_VALIDITY_INVALID"],
    ["a negative CRL number", () => ({ crlNumber: -1n }), "CRL_NUMBER_INVALID"],
    [
      "an RSA algorithm with an EC key",
      () => ({ signatureAlgorithm: "SHA256_WITH_RSA" }),
      "SIGNATURE_ALGORITHM_MISMATCH",
    ],
  ];
  it.each(refusals)("refuses %s", async (_name, override, reason) => {
    const ca = await makeRoot(await keys.get("EC_P256"), "Refusing CA");
    const err = await buildCrl({
      issuer: ca.issuer,
      signatureAlgorithm: "ECDSA_WITH_SHA256",
      crlNumber: 2n,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + 3_600_000),
      revoked: [],
      ...override(newSerialNumber()),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertmintError);
    expect((err as CertmintError).reason).toBe(reason);
  });

  it("refuses a CA certificate without cRLSign", async () => {
    const k = await keys.get("EC_P384");
    const { SoftwareSigner, issueCertificate } = await import("../../src/signer");
    const signer = new SoftwareSigner(k.privateKey);
    const cert = await issueCertificate({
      subject: { attributes: [{ type: "COMMON_NAME", value: "No CRL CA" }] },
      sans: { dns: [], ip: [], email: [], uri: [] },
      publicKey: k.publicKey,
      serial: newSerialNumber(),
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 86_400_000),
      isCa: true,
      keyUsages: ["KEY_CERT_SIGN"],
      extendedKeyUsages: [],
      signatureAlgorithm: "ECDSA_WITH_SHA384",
      issuer: { selfSigned: signer },
    });
    const err = await buildCrl({
      issuer: Issuer.from({ signer, certificate: cert.der }),
      signatureAlgorithm: "ECDSA_WITH_SHA384",
      crlNumber: 1n,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + 3_600_000),
      revoked: [],
    }).catch((e: unknown) => e);
    expect((err as CertmintError).reason).toBe("ISSUER_CANNOT_SIGN_CRL");
    expect((err as CertmintError).kind).toBe("failed_precondition");
  });
});
