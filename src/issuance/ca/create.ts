import { randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { alreadyExists, failedPrecondition, invalidField } from "../../errors";
import type { KeyAlgorithm, KeyUsage, SignatureAlgorithm } from "../../model/pki";
import {
  assertSignatureFits,
  canonicalNameConstraints,
  computeValidity,
  createCsr,
  defaultSignatureAlgorithm,
  issueCertificate,
  type KeyRequest,
  newSerialNumber,
  SoftwareSigner,
} from "../../signer";
import { CertificateAuthorityEntity, type CertificateAuthorityRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkSlug, findByRef } from "../common/refs";
import { isUniqueViolation } from "../common/unique-violation";
import { caIssuer, requireActive } from "./load";
import { checkCaSubject } from "./subject-check";
import {
  CA_MAX_TTL,
  CA_MIN_TTL,
  type CaDeps,
  INTERMEDIATE_DEFAULT_TTL,
  type NewCaInput,
  type NewIntermediateInput,
  ROOT_DEFAULT_TTL,
} from "./types";

/**
 * CA keys share one queue of the key-generation pool: admins create CAs one at a time, so the
 * queue is not bounded, and a burst of leaf keys cannot keep a CA key waiting for long.
 */
const CA_KEYS: KeyRequest = { caller: "certificate-authorities", bounded: false };

/** keyUsage of every CA certificate, critical (RFC 5280 4.2.1.3, 4.2.1.9). */
const CA_KEY_USAGES: KeyUsage[] = ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"];

/** Creates a self-signed root CA: key, certificate, sealed key, one row. */
export async function createRootCa(
  deps: CaDeps,
  input: NewCaInput,
): Promise<CertificateAuthorityRow> {
  const plan = checkNewCa(input, ROOT_DEFAULT_TTL);
  const em = deps.orm.em.fork();
  await assertSlugFree(em, input.slug);
  // 1. Key pair (RSA generation runs on a worker thread, never on the event loop).
  const { privateKey, publicKey } = await deps.keys.generate(plan.keyAlgorithm, CA_KEYS);
  const signer = new SoftwareSigner(privateKey);
  // 2. Certificate, signed by its own key.
  const now = deps.now();
  const validity = computeValidity({ now, ttlSeconds: plan.ttlSeconds });
  const cert = await issueCertificate({
    subject: input.subject,
    sans: { dns: [], ip: [], email: [], uri: [] },
    publicKey,
    serial: newSerialNumber(),
    ...validity,
    isCa: true,
    pathLength: input.maxPathLength,
    keyUsages: CA_KEY_USAGES,
    extendedKeyUsages: [],
    signatureAlgorithm: plan.signatureAlgorithm,
    issuer: { selfSigned: signer },
  });
  // 3. One row, the key sealed before it reaches the database.
  const id = randomUUID();
  return insertCa(em, {
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
  });
}

/** Creates an intermediate CA signed by an ACTIVE CA here whose path length allows it. */
export async function createIntermediateCa(
  deps: CaDeps,
  input: NewIntermediateInput,
): Promise<CertificateAuthorityRow> {
  const plan = checkNewCa(input, INTERMEDIATE_DEFAULT_TTL);
  // Every subtree checked before anything else (INVALID_ARGUMENT naming the entry).
  const nameConstraints = input.nameConstraints && canonicalNameConstraints(input.nameConstraints);
  const em = deps.orm.em.fork();
  const parent = await findByRef(
    em,
    CertificateAuthorityEntity,
    input.parent,
    "certificate authority",
    "parent_certificate_authority",
  );
  requireActive(parent);
  // RFC 5280 4.2.1.9: pathLenConstraint 0 means no CA may follow; a sub-CA's limit must be
  // below its parent's so the whole path stays within the parent's constraint.
  if (parent.maxPathLength !== null && parent.maxPathLength !== undefined) {
    if (parent.maxPathLength === 0) {
      throw failedPrecondition(
        "PARENT_PATH_LENGTH_EXHAUSTED",
        `CA "${parent.slug}" has path length 0: it cannot sign a CA certificate`,
        {
          preconditions: [
            {
              type: "CA_PATH_LENGTH",
              subject: `certificate_authorities/${parent.slug}`,
              description: "pathLenConstraint is 0",
            },
          ],
        },
      );
    }
    if (input.maxPathLength !== undefined && input.maxPathLength >= parent.maxPathLength) {
      throw invalidField(
        "PATH_LENGTH_TOO_LARGE",
        `max_path_length must be below the parent's (${parent.maxPathLength})`,
        "max_path_length",
        `at most ${parent.maxPathLength - 1}`,
      );
    }
  }
  await assertSlugFree(em, input.slug);
  const issuer = caIssuer(deps, parent);
  const { privateKey, publicKey } = await deps.keys.generate(plan.keyAlgorithm, CA_KEYS);
  const now = deps.now();
  // Without an explicit ttl, the default lifetime is cut to what the parent has left; an
  // explicit ttl past the parent's notAfter is refused (RFC 5280 6.1: validity nests).
  const remaining = parent.notAfter
    ? Math.floor((parent.notAfter.getTime() - now.getTime()) / 1000)
    : Infinity;
  const validity = computeValidity({
    now,
    ttlSeconds:
      input.ttlSeconds === undefined
        ? Math.max(1, Math.min(plan.ttlSeconds, remaining))
        : plan.ttlSeconds,
    issuerNotAfter: parent.notAfter ?? undefined,
  });
  const maxPathLength =
    input.maxPathLength ??
    (parent.maxPathLength !== null && parent.maxPathLength !== undefined
      ? parent.maxPathLength - 1
      : undefined);
  const cert = await issueCertificate({
    subject: input.subject,
    sans: { dns: [], ip: [], email: [], uri: [] },
    publicKey,
    serial: newSerialNumber(),
    ...validity,
    isCa: true,
    pathLength: maxPathLength,
    nameConstraints,
    keyUsages: CA_KEY_USAGES,
    extendedKeyUsages: [],
    signatureAlgorithm: parent.signatureAlgorithm as SignatureAlgorithm,
    issuer,
    ...publicationUrls(deps, parent.id),
  });
  const id = randomUUID();
  return insertCa(em, {
    id,
    slug: input.slug,
    description: input.description,
    type: "INTERMEDIATE",
    status: "ACTIVE",
    subject: input.subject,
    keyAlgorithm: plan.keyAlgorithm,
    signatureAlgorithm: plan.signatureAlgorithm,
    parentId: parent.id,
    certificatePem: cert.pem,
    chainPem: [parent.certificatePem!, ...parent.chainPem],
    serialNumber: cert.serialHex,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    maxPathLength: maxPathLength ?? null,
    csrPem: null,
    sealedPrivateKey: deps.keyring.seal(id, privateKey),
    createdAt: now,
    updatedAt: now,
  });
}

/** Creates an intermediate whose certificate is signed outside: a key and a CSR, PENDING_CERTIFICATE. */
export async function createExternalCa(
  deps: CaDeps,
  input: NewCaInput,
): Promise<CertificateAuthorityRow> {
  const plan = checkNewCa({ ...input, ttlSeconds: undefined }, INTERMEDIATE_DEFAULT_TTL);
  const em = deps.orm.em.fork();
  await assertSlugFree(em, input.slug);
  const { privateKey } = await deps.keys.generate(plan.keyAlgorithm, CA_KEYS);
  const csrPem = await createCsr({
    subject: input.subject,
    signer: new SoftwareSigner(privateKey),
    signatureAlgorithm: plan.signatureAlgorithm,
    ca: { pathLength: input.maxPathLength },
  });
  const now = deps.now();
  const id = randomUUID();
  return insertCa(em, {
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
  });
}

/** Where a CA's CRL and certificate are published, when a public base URL is configured. */
export function publicationUrls(
  deps: CaDeps,
  caId: string,
): { crlDistributionUrl?: string; caIssuersUrl?: string } {
  if (!deps.publicBaseUrl) return {};
  return {
    crlDistributionUrl: `${deps.publicBaseUrl}/crl/${caId}.crl`,
    caIssuersUrl: `${deps.publicBaseUrl}/ca/${caId}.crt`,
  };
}

interface CaPlan {
  keyAlgorithm: KeyAlgorithm;
  signatureAlgorithm: SignatureAlgorithm;
  ttlSeconds: number;
}

/** Every check that needs no database, before any key is generated. */
function checkNewCa(input: NewCaInput, defaultTtl: number): CaPlan {
  checkSlug(input.slug);
  checkCaSubject(input.subject);
  const keyAlgorithm = input.keyAlgorithm ?? "EC_P256";
  const signatureAlgorithm = input.signatureAlgorithm ?? defaultSignatureAlgorithm(keyAlgorithm);
  assertSignatureFits(keyAlgorithm, signatureAlgorithm);
  const ttlSeconds = input.ttlSeconds ?? defaultTtl;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < CA_MIN_TTL || ttlSeconds > CA_MAX_TTL) {
    throw invalidField(
      "TTL_INVALID",
      `ttl of a CA must be between 1 hour and 30 years (got ${ttlSeconds} s)`,
      "ttl",
      "between 3600 s and 30 years",
    );
  }
  if (
    input.maxPathLength !== undefined &&
    (!Number.isInteger(input.maxPathLength) || input.maxPathLength < 0 || input.maxPathLength > 16)
  ) {
    throw invalidField(
      "PATH_LENGTH_INVALID",
      "max_path_length must be between 0 and 16",
      "max_path_length",
      "0 to 16",
    );
  }
  return { keyAlgorithm, signatureAlgorithm, ttlSeconds };
}

async function assertSlugFree(em: EntityManager, slug: string): Promise<void> {
  if (await em.count(CertificateAuthorityEntity, { slug })) {
    throw alreadyExists("CA_SLUG_TAKEN", `a certificate authority "${slug}" already exists`);
  }
}

type NewCaRow = Omit<
  CertificateAuthorityRow,
  "crlNumber" | "version" | "revokedAt" | "revocationReason" | "revocationCount"
>;

async function insertCa(em: EntityManager, row: NewCaRow): Promise<CertificateAuthorityRow> {
  try {
    // The audit record commits with the row (issue 6); created with tx, which flushes it.
    return await em.transactional(async (tx: EntityManager) => {
      const entity = tx.create(CertificateAuthorityEntity, {
        ...row,
        crlNumber: "0",
        version: 1,
        revokedAt: null,
        revocationReason: null,
        revocationCount: "0",
      });
      await tx.flush();
      await recordAudit(tx, { type: "certificate_authority", id: row.id }, row.createdAt);
      return entity;
    });
  } catch (err) {
    // Two creates racing for one slug: the unique index decides.
    if (isUniqueViolation(err, "certificate_authority_slug_key")) {
      throw alreadyExists("CA_SLUG_TAKEN", `a certificate authority "${row.slug}" already exists`);
    }
    throw err;
  }
}
