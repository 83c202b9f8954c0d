/**
 * Leaf issuance throughput per CA key type, next to the raw crypto.sign rate of the same key.
 *
 *   npx tsx bench/signer/index.ts [seconds-per-measurement, default 2]
 *
 * A leaf here is what issuance produces: subject, DNS + IP SANs, keyUsage, extKeyUsage,
 * basicConstraints, SKI, AKI, a fresh serial, PEM encoding and SHA-256 fingerprint. Leaf keys
 * are 16 pre-generated P-256 keys used in turn. Calls are awaited one at a time, so the figures
 * are for a single core (for RSA the default signer hops to the libuv pool; the "inline" row
 * signs on the calling thread instead).
 */
import { sign } from "node:crypto";
import type { KeyAlgorithm } from "../../src/model/pki";
import {
  createCsr,
  defaultSignatureAlgorithm,
  generateKeyPair,
  type IssueCertificateInput,
  Issuer,
  issueCertificate,
  type KeyPair,
  newSerialNumber,
  parseCsr,
  SIGNATURE_ALGORITHM_INFO,
  SoftwareSigner,
} from "../../src/signer";
import { parseDer, toDer } from "../../src/signer/der";

const SECONDS = Number(process.argv[2] ?? 2);
const DAY = 86_400_000;

async function measure(fn: () => unknown, seconds: number): Promise<number> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await fn();
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await fn();
    n += 50;
  }
  return (n * 1000) / (performance.now() - start);
}

async function caFor(alg: KeyAlgorithm, offload?: boolean) {
  const key = await generateKeyPair(alg);
  const signer = new SoftwareSigner(key.privateKey, offload === undefined ? {} : { offload });
  const root = await issueCertificate({
    subject: { attributes: [{ type: "COMMON_NAME", value: `Bench CA ${alg}` }] },
    sans: { dns: [], ip: [], email: [], uri: [] },
    publicKey: key.publicKey,
    serial: newSerialNumber(),
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3650 * DAY),
    isCa: true,
    keyUsages: ["KEY_CERT_SIGN", "CRL_SIGN"],
    extendedKeyUsages: [],
    signatureAlgorithm: defaultSignatureAlgorithm(alg),
    issuer: { selfSigned: signer },
  });
  return { key, issuer: Issuer.from({ signer, certificate: root.der }) };
}

async function row(label: string, alg: KeyAlgorithm, leafKeys: KeyPair[], offload?: boolean) {
  const { key, issuer } = await caFor(alg, offload);
  const sigAlg = defaultSignatureAlgorithm(alg);
  const template: Omit<IssueCertificateInput, "publicKey" | "serial"> = {
    subject: { attributes: [{ type: "COMMON_NAME", value: "svc.bench.internal" }] },
    sans: { dns: ["svc.bench.internal", "svc"], ip: ["10.0.0.7"], email: [], uri: [] },
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * DAY),
    isCa: false,
    keyUsages: ["DIGITAL_SIGNATURE"],
    extendedKeyUsages: ["SERVER_AUTH", "CLIENT_AUTH"],
    signatureAlgorithm: sigAlg,
    issuer,
  };
  let i = 0;
  const issueOne = () =>
    issueCertificate({
      ...template,
      publicKey: (leafKeys[i++ % leafKeys.length] as KeyPair).publicKey,
      serial: newSerialNumber(),
    });
  // The raw rate signs a real leaf TBSCertificate with the same CA key.
  const sample = await issueOne();
  const tbs = toDer((parseDer(sample.der).node.value as ReturnType<typeof parseDer>["node"][])[0]!);
  const hash = SIGNATURE_ALGORITHM_INFO[sigAlg].hash;
  const raw = await measure(() => sign(hash, tbs, key.privateKey), SECONDS);
  const leaves = await measure(issueOne, SECONDS);
  console.log(
    `${label.padEnd(26)} ${leaves.toFixed(0).padStart(8)} ${raw.toFixed(0).padStart(12)} ${(raw / leaves).toFixed(2).padStart(11)}`,
  );
}

async function main() {
  const leafKeys = await Promise.all(Array.from({ length: 16 }, () => generateKeyPair("EC_P256")));
  console.log(`node ${process.version}, ${SECONDS} s per measurement, one call at a time`);
  console.log(
    `${"CA key".padEnd(26)} ${"leaves/s".padStart(8)} ${"raw sign/s".padStart(12)} ${"raw/leaf".padStart(11)}`,
  );
  await row("EC_P256", "EC_P256", leafKeys);
  await row("RSA_2048 (libuv pool)", "RSA_2048", leafKeys);
  await row("RSA_2048 (inline)", "RSA_2048", leafKeys, false);
  await row("ED25519", "ED25519", leafKeys);

  // CSR intake: parse + verify the self-signature (the CSR issuance path adds this per request).
  console.log(`\n${"CSR key".padEnd(26)} ${"parseCsr/s".padStart(10)}`);
  for (const alg of ["EC_P256", "RSA_2048", "ED25519"] as const) {
    const k = await generateKeyPair(alg);
    const csr = await createCsr({
      subject: { attributes: [{ type: "COMMON_NAME", value: "svc.bench.internal" }] },
      privateKey: k.privateKey,
      sans: { dns: ["svc.bench.internal"], ip: ["10.0.0.7"], email: [], uri: [] },
    });
    const rate = await measure(() => parseCsr(csr), SECONDS);
    console.log(`${alg.padEnd(26)} ${rate.toFixed(0).padStart(10)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
