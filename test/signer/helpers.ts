/** Shared fixtures for the signer tests: OpenSSL runner, temp files, key pool, issuance builders. */
import { execFile } from "node:child_process";
import type { KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";
import type { KeyAlgorithm, SubjectName } from "../../src/model/pki";
import {
  type CaSigner,
  defaultSignatureAlgorithm,
  generateKeyPair,
  type IssueCertificateInput,
  Issuer,
  issueCertificate,
  type KeyPair,
  newSerialNumber,
  parseCertificate,
  SoftwareSigner,
} from "../../src/signer";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs openssl without throwing, so tests can assert on failures too. */
export function openssl(args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile("openssl", args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A temp directory per test file; `file()` writes content and returns the path. */
export class TempDir {
  private constructor(readonly path: string) {}
  static async create(): Promise<TempDir> {
    return new TempDir(await mkdtemp(join(tmpdir(), "certmint-signer-")));
  }
  async file(name: string, content: string | Buffer): Promise<string> {
    const p = join(this.path, name);
    await writeFile(p, content);
    return p;
  }
  remove(): Promise<void> {
    return rm(this.path, { recursive: true, force: true });
  }
}

/** Key pairs generated once per test file (RSA-4096 takes seconds), indexed by algorithm and slot. */
export class KeyPool {
  private readonly keys = new Map<string, Promise<KeyPair>>();
  get(alg: KeyAlgorithm, slot = 0): Promise<KeyPair> {
    const id = `${alg}/${slot}`;
    let p = this.keys.get(id);
    if (p === undefined) {
      p = generateKeyPair(alg);
      this.keys.set(id, p);
    }
    return p;
  }
}

export const cn = (value: string): SubjectName => ({
  attributes: [
    { type: "ORGANIZATION", value: "certmint tests" },
    { type: "COMMON_NAME", value },
  ],
});

const DAY = 86_400_000;
export const NOW = new Date();

/** A self-signed root CA. */
export async function makeRoot(key: KeyPair, name = "Test Root", pathLength?: number) {
  const signer = new SoftwareSigner(key.privateKey);
  const cert = await issueCertificate({
    subject: cn(name),
    sans: { dns: [], ip: [], email: [], uri: [] },
    publicKey: key.publicKey,
    serial: newSerialNumber(),
    notBefore: new Date(NOW.getTime() - 60_000),
    notAfter: new Date(NOW.getTime() + 3650 * DAY),
    isCa: true,
    ...(pathLength === undefined ? {} : { pathLength }),
    keyUsages: ["KEY_CERT_SIGN", "CRL_SIGN", "DIGITAL_SIGNATURE"],
    extendedKeyUsages: [],
    signatureAlgorithm: defaultSignatureAlgorithm(signer.keyAlgorithm),
    issuer: { selfSigned: signer },
  });
  return { signer, cert, issuer: Issuer.from({ signer, certificate: cert.pem }) };
}

/** A subordinate CA signed by `parent`. */
export async function makeIntermediate(
  parent: { issuer: Issuer; signer: CaSigner },
  key: KeyPair,
  name = "Test Intermediate",
  pathLength: number | undefined = 0,
) {
  const signer = new SoftwareSigner(key.privateKey);
  const cert = await issueCertificate({
    subject: cn(name),
    sans: { dns: [], ip: [], email: [], uri: [] },
    publicKey: key.publicKey,
    serial: newSerialNumber(),
    notBefore: new Date(NOW.getTime() - 60_000),
    notAfter: new Date(NOW.getTime() + 365 * DAY),
    isCa: true,
    ...(pathLength === undefined ? {} : { pathLength }),
    keyUsages: ["KEY_CERT_SIGN", "CRL_SIGN", "DIGITAL_SIGNATURE"],
    extendedKeyUsages: [],
    signatureAlgorithm: defaultSignatureAlgorithm(parent.signer.keyAlgorithm),
    issuer: parent.issuer,
  });
  return { signer, cert, issuer: Issuer.from({ signer, certificate: cert.pem }) };
}

/** A TLS server leaf with the usual extensions. */
export function leafInput(
  parent: { issuer: Issuer; signer: CaSigner },
  publicKey: KeyObject,
  keyAlg: KeyAlgorithm,
  overrides: Partial<IssueCertificateInput> = {},
): IssueCertificateInput {
  return {
    subject: cn("svc.example.internal"),
    sans: { dns: ["svc.example.internal"], ip: ["10.1.2.3", "2001:db8::7"], email: [], uri: [] },
    publicKey,
    serial: newSerialNumber(),
    notBefore: new Date(NOW.getTime() - 60_000),
    notAfter: new Date(NOW.getTime() + 30 * DAY),
    isCa: false,
    keyUsages: keyAlg.startsWith("RSA")
      ? ["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"]
      : ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["SERVER_AUTH", "CLIENT_AUTH"],
    signatureAlgorithm: defaultSignatureAlgorithm(parent.signer.keyAlgorithm),
    issuer: parent.issuer,
    ...overrides,
  };
}

export interface ExtensionInfo {
  critical: boolean;
  value: forge.asn1.Asn1;
}

/** Independent extension reader (forge, not the code under test's readers). */
export function extensionsOf(der: Buffer): Map<string, ExtensionInfo> {
  const cert = forge.asn1.fromDer(der.toString("latin1"));
  const tbs = (cert.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
  const wrapper = (tbs.value as forge.asn1.Asn1[]).find(
    (n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 3,
  );
  const out = new Map<string, ExtensionInfo>();
  if (!wrapper) return out;
  for (const ext of ((wrapper.value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1)
    .value as forge.asn1.Asn1[]) {
    const parts = ext.value as forge.asn1.Asn1[];
    const id = forge.asn1.derToOid(parts[0]?.value as string);
    const critical = parts.length === 3 && parts[1]?.value === "\xff";
    const octets = parts[parts.length - 1]?.value as string;
    out.set(id, { critical, value: forge.asn1.fromDer(octets) });
  }
  return out;
}

export { parseCertificate };
