import {
  computeValidity,
  createCsr,
  issueCertificate,
  type KeyGenerator,
  newSerialNumber,
  SoftwareSigner,
} from "../../signer";
import type { Call } from "../call";
import { newRowId } from "../common/ids";
import type { CertificateAuthorityView } from "../repositories";
import type { CaKeyring } from "./keyring";
import {
  assertSlugFree,
  assertSubjectFree,
  CA_KEYS,
  caSubjectAltNames,
  checkNewCa,
  type NewCaStore,
  newCaRecord,
  OWN_CA_KEY_USAGES,
  storeNewCa,
} from "./new-ca";
import { INTERMEDIATE_DEFAULT_TTL, type NewCaInput, ROOT_DEFAULT_TTL } from "./types";

export interface CreateCaDeps {
  store: NewCaStore;
  keyring: Pick<CaKeyring, "seal">;
  keys: Pick<KeyGenerator, "generate">;
  now: () => Date;
}

/** CreateRootCertificateAuthority: a self-signed root CA (key, certificate, sealed key, one row). */
export async function createRootCa(
  deps: CreateCaDeps,
  call: Call,
  input: NewCaInput,
): Promise<CertificateAuthorityView> {
  // 1. Every check that needs no database; the slug is free.
  const plan = checkNewCa(input, ROOT_DEFAULT_TTL);
  await assertSlugFree(deps.store, input.slug);
  await assertSubjectFree(deps.store.cas, null, input.subject);
  // 2. The key pair (RSA generation runs on a worker thread, never on the event loop).
  const { privateKey, publicKey } = await deps.keys.generate(plan.keyAlgorithm, CA_KEYS);
  // 3. The certificate, signed by its own key.
  const now = deps.now();
  const cert = await issueCertificate({
    subject: input.subject,
    sans: caSubjectAltNames(input.subject),
    publicKey,
    serial: newSerialNumber(),
    ...computeValidity({ now, ttlSeconds: plan.ttlSeconds }),
    isCa: true,
    pathLength: input.maxPathLength,
    keyUsages: OWN_CA_KEY_USAGES,
    extendedKeyUsages: [],
    signatureAlgorithm: plan.signatureAlgorithm,
    issuer: { selfSigned: new SoftwareSigner(privateKey) },
  });
  // 4. One row, the key sealed before it reaches the database, with its audit record.
  const id = newRowId();
  return storeNewCa(
    deps,
    call,
    newCaRecord({
      id,
      slug: input.slug,
      description: input.description,
      type: "ROOT",
      status: "ACTIVE",
      subject: input.subject,
      keyAlgorithm: plan.keyAlgorithm,
      signatureAlgorithm: plan.signatureAlgorithm,
      parentId: null,
      certificatePem: cert.pem,
      chainPem: [],
      serialNumber: cert.serialHex,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      maxPathLength: input.maxPathLength ?? null,
      csrPem: null,
      sealedPrivateKey: deps.keyring.seal(id, privateKey),
      createdAt: now,
      updatedAt: now,
    }),
  );
}

/**
 * CreateExternalIntermediateCertificateAuthority: an intermediate whose certificate is signed
 * outside: a key and a CSR, PENDING_CERTIFICATE until import-certificate.ts.
 */
export async function createExternalCa(
  deps: CreateCaDeps,
  call: Call,
  input: NewCaInput,
): Promise<CertificateAuthorityView> {
  const plan = checkNewCa({ ...input, ttlSeconds: undefined }, INTERMEDIATE_DEFAULT_TTL);
  await assertSlugFree(deps.store, input.slug);
  const { privateKey } = await deps.keys.generate(plan.keyAlgorithm, CA_KEYS);
  const csrPem = await createCsr({
    subject: input.subject,
    signer: new SoftwareSigner(privateKey),
    signatureAlgorithm: plan.signatureAlgorithm,
    ca: { pathLength: input.maxPathLength },
  });
  const now = deps.now();
  const id = newRowId();
  return storeNewCa(
    deps,
    call,
    newCaRecord({
      id,
      slug: input.slug,
      description: input.description,
      type: "EXTERNAL_INTERMEDIATE",
      status: "PENDING_CERTIFICATE",
      subject: input.subject,
      keyAlgorithm: plan.keyAlgorithm,
      signatureAlgorithm: plan.signatureAlgorithm,
      parentId: null,
      certificatePem: null,
      chainPem: [],
      serialNumber: null,
      notBefore: null,
      notAfter: null,
      maxPathLength: input.maxPathLength ?? null,
      csrPem,
      sealedPrivateKey: deps.keyring.seal(id, privateKey),
      createdAt: now,
      updatedAt: now,
    }),
  );
}
