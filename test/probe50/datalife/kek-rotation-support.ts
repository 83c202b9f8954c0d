/**
 * What the stop-50 KEK rotation probes share: a database with CAs of every key family and a
 * kept key (populate), what must hold with the new KEK (signsWithEveryCa), and the sealed
 * bytes' format under a KEK (expectSealedUnder).
 */
import { createHmac, createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import {
  CertificateProfile,
  PrivateKeyRetention,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { createIntermediate, createRoot } from "../../ca/helpers";
import { attrRequest } from "../../certificates/helpers";
import { createIssuingProfile } from "../../probe49/emb/support";
import { createTlsServerPolicy } from "../../support/fixtures";
import { type CertmintClients, call } from "../../support/harness";
import { opensslOk, type TempDir } from "../../support/openssl";
import { holdsPlainKey } from "./support";

export const kekIdOf = (kekFile: string) =>
  createHmac("sha256", Buffer.from(readFileSync(kekFile, "utf8").trim(), "base64"))
    .update("certmint kek id")
    .digest()
    .subarray(0, 8)
    .toString("hex");

const ROOTS = [
  ["root-p384", KeyAlgorithm.KEY_ALGORITHM_EC_P384],
  ["root-rsa", KeyAlgorithm.KEY_ALGORITHM_RSA_2048],
  ["root-ed25519", KeyAlgorithm.KEY_ALGORITHM_ED25519],
] as const;

export const keptRequest = () =>
  attrRequest("keep", { cn: "kept.example.com", dns: ["kept.example.com"], requestId: "kept-1" });

export interface Made {
  roots: Map<string, string>;
  kept: { pem: string; key: string };
}

/** Over gRPC: CAs of every key family, the "web" profile, and a certificate whose key certmint keeps. */
export async function populate(c: CertmintClients): Promise<Made> {
  const roots = new Map<string, string>();
  const { root } = await createIssuingProfile(c);
  roots.set("root", root.certificatePem);
  for (const [slug, algorithm] of ROOTS) {
    roots.set(slug, (await createRoot(c, slug, { keyAlgorithm: algorithm })).certificatePem);
  }
  await createTlsServerPolicy(c, "keep-policy", 30 * 86_400);
  await call(c.profiles, "createCertificateProfile", {
    certificateProfile: CertificateProfile.fromPartial({
      slug: "keep",
      certificatePolicy: "keep-policy",
      issuer: { $case: "certificateAuthority", value: "issuing" },
      privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
    }),
  });
  const kept = await call(c.certificates, "issueCertificate", keptRequest());
  return { roots, kept: { pem: kept.certificate!.certificatePem, key: kept.privateKeyPem } };
}

/** With the new KEK: every root signs an intermediate, "issuing" a leaf, the kept key comes back. */
export async function signsWithEveryCa(
  c: CertmintClients,
  made: Made,
  tmp: TempDir,
): Promise<void> {
  for (const [slug, pem] of made.roots) {
    const inter = await createIntermediate(c, `${slug}-after`, slug);
    const verified = opensslOk([
      "verify",
      "-CAfile",
      tmp.file(`${slug}.pem`, pem),
      tmp.file(`${slug}-after.pem`, inter.certificatePem),
    ]);
    expect(verified).toMatch(/: OK/);
  }
  const leaf = await call(
    c.certificates,
    "issueCertificate",
    attrRequest("web", { cn: "after.example.com", dns: ["after.example.com"] }),
  );
  expect(leaf.certificate!.certificatePem).toContain("BEGIN CERTIFICATE");
  const kept = await call(c.certificates, "issueCertificate", keptRequest());
  expect(kept.certificate!.certificatePem).toBe(made.kept.pem);
  expect(kept.privateKeyPem).toBe(made.kept.key);
  expect(
    new X509Certificate(made.kept.pem).checkPrivateKey(createPrivateKey(kept.privateKeyPem)),
  ).toBe(true);
}

/** Every sealed key: format 2 under `kekFile`'s id, nothing in the clear. */
export function expectSealedUnder(blobs: Map<string, Buffer>, kekFile: string): void {
  const id = kekIdOf(kekFile);
  for (const [row, blob] of blobs) {
    expect(holdsPlainKey(blob), row).toBe(false);
    expect({ row, version: blob[0], kekId: blob.subarray(1, 9).toString("hex") }).toEqual({
      row,
      version: 2,
      kekId: id,
    });
  }
}
