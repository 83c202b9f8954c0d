import { signingGuardError } from "../../database-outage";
import { alreadyExists, invalidField, notFound } from "../../errors";
import { CA_KEY_USAGES } from "../../model/keys";
import type { KeyAlgorithm, KeyUsage, SignatureAlgorithm, SubjectAltNames } from "../../model/pki";
import {
  assertSignatureFits,
  defaultSignatureAlgorithm,
  type KeyRequest,
  sameDistinguishedName,
} from "../../signer";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { createdFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkSlug } from "../common/refs";
import { normalizeEmail } from "../policy-engine";
import {
  type AuditRepository,
  type CaNamesUnder,
  type CaRepository,
  type Certificate,
  type CertificateAuthority,
  type CertificateAuthorityView,
  type CertificateRepository,
  caView,
  StillReferenced,
  type StoreWith,
  UniqueConflict,
} from "../repositories";
import { checkCaSubject } from "./subject-check";
import { CA_MAX_TTL, CA_MIN_TTL, type NewCaInput } from "./types";

/** The steps every new CA shares (create.ts, create-intermediate.ts). */

/**
 * CA keys share one queue of the key-generation pool: admins create CAs one at a time, so the
 * queue is not bounded, and a burst of leaf keys cannot keep a CA key waiting for long.
 */
export const CA_KEYS: KeyRequest = { caller: "certificate-authorities", bounded: false };

/** keyUsage of every certmint CA certificate, critical (RFC 5280 4.2.1.3, 4.2.1.9). */
export const OWN_CA_KEY_USAGES: KeyUsage[] = ["DIGITAL_SIGNATURE", ...CA_KEY_USAGES];

export interface NewCaPlan {
  keyAlgorithm: KeyAlgorithm;
  signatureAlgorithm: SignatureAlgorithm;
  ttlSeconds: number;
}

/** Every check that needs no database, before any key is generated. */
export function checkNewCa(input: NewCaInput, defaultTtl: number): NewCaPlan {
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
  const pathLength = input.maxPathLength;
  if (
    pathLength !== undefined &&
    (!Number.isInteger(pathLength) || pathLength < 0 || pathLength > 16)
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

export type NewCaStore = StoreWith<
  CallerLocks & {
    cas: Pick<CaRepository, "slugTaken" | "insert" | "siblingSubjects" | "find">;
    certificates: Pick<CertificateRepository, "caCertificatesIssuedBy">;
    audit: Pick<AuditRepository, "insert">;
  }
>;

export async function assertSlugFree(store: NewCaStore, slug: string): Promise<void> {
  if (await store.cas.slugTaken(slug)) throw slugTaken(slug);
}

/**
 * ALREADY_EXISTS (CA_SUBJECT_TAKEN) when the issuer of a new CA (its parent, or for a root: no
 * one, among roots) has certified another CA under the same name, compared as RFC 5280 7.1
 * compares names: a CA here, or a CA certificate it signed through a profile (`certificates`;
 * until stop 44 of 2026-12-06 those were not looked at, an outside probe, E F7). RFC 5280
 * 4.1.2.6: a DN MUST be unique for each subject entity certified by one CA; two CAs of one name
 * under one issuer (different keys, CRLs, revocation states) leave relying parties that look
 * issuers up by name (certificate stores, CRL caches) to pick the wrong one. Until 2026-12-05
 * they were created (an outside lint probe). An external intermediate's issuer is outside, and
 * is not checked.
 */
export async function assertSubjectFree(
  cas: Pick<CaRepository, "siblingSubjects">,
  parentId: string | null,
  subject: CertificateAuthority["subject"],
  certificates?: Pick<CertificateRepository, "caCertificatesIssuedBy">,
): Promise<void> {
  const issued =
    certificates && parentId !== null ? await certificates.caCertificatesIssuedBy(parentId) : [];
  subjectTaken(await cas.siblingSubjects(parentId), parentId, subject, issued);
}

/**
 * The same rule for a CA certificate about to be signed through a profile by the CA `issuerId`
 * (certificates/plan.ts): refused when a CA here under that issuer, or another CA certificate
 * it signed through a profile for another key, has the subject. The same key under the same
 * name is the same entity (a certificate issued again for it), and is not refused; a renewal
 * continues its certificate's entity and is not checked.
 */
export async function assertCaNameFree(
  store: {
    cas: Pick<CaRepository, "siblingSubjects">;
    certificates: Pick<CertificateRepository, "caCertificatesIssuedBy">;
  },
  issuerId: string,
  subject: CertificateAuthority["subject"],
  spkiSha256: string | undefined,
): Promise<void> {
  refuseTakenCaName(
    {
      certificates: await store.certificates.caCertificatesIssuedBy(issuerId),
      cas: await store.cas.siblingSubjects(issuerId),
    },
    issuerId,
    subject,
    spkiSha256,
  );
}

/**
 * assertCaNameFree's rule on names already read: those the store read under the issuer's names
 * lock, just before a CA certificate is stored (the issuance repository's storeCaIssuance, an
 * approval's LockedRequest.caNames). Checked there again because the check at planning reads
 * outside any transaction: until stop 45 of 2026-12-06 two CA certificates of one name issued
 * at the same moment (two replicas, or one racing a CreateIntermediate) both passed it.
 */
export function refuseTakenCaName(
  names: CaNamesUnder,
  issuerId: string,
  subject: CertificateAuthority["subject"],
  spkiSha256: string | undefined,
): void {
  const issued = names.certificates.filter(
    (c) => spkiSha256 === undefined || c.spkiSha256 !== spkiSha256,
  );
  subjectTaken(names.cas, issuerId, subject, issued);
}

function subjectTaken(
  siblings: Array<Pick<CertificateAuthority, "slug" | "subject">>,
  parentId: string | null,
  subject: CertificateAuthority["subject"],
  issued: Array<Pick<Certificate, "id" | "subject">> = [],
): void {
  const same = siblings.find((c) => sameDistinguishedName(c.subject, subject));
  const cert = same ? undefined : issued.find((c) => sameDistinguishedName(c.subject, subject));
  if (!same && !cert) return;
  const holder = same
    ? `certificate authority "${same.slug}" has this subject name already`
    : `CA certificate ${cert!.id}, which the issuer signed through a profile, has this subject name already`;
  throw alreadyExists(
    "CA_SUBJECT_TAKEN",
    `${holder}, under the same ${parentId === null ? "trust anchor set (roots)" : "issuer"}: a CA's name must be unique among the CAs its issuer certifies (RFC 5280 4.1.2.6); choose another common name`,
  );
}

/** A new CA's row: what the caller gives, and a fresh CRL number, version and counters. */
export const newCaRecord = (
  fields: Omit<
    CertificateAuthority,
    "crlNumber" | "version" | "revokedAt" | "revocationReason" | "revocationCount"
  >,
): CertificateAuthority => ({
  ...fields,
  crlNumber: "0",
  version: 1,
  revokedAt: null,
  revocationReason: null,
  revocationCount: "0",
});

/** Stores a new CA with its audit record in one transaction; a slug race is ALREADY_EXISTS. */
export async function storeNewCa(
  deps: { store: NewCaStore; now: () => Date },
  call: Call,
  ca: CertificateAuthority,
  /**
   * Settings the CA's row does not hold, recorded with its creation: an intermediate's name
   * constraints, which live only in its certificate (left out of the record, below).
   */
  settings: Record<string, unknown> = {},
): Promise<CertificateAuthorityView> {
  try {
    await changeTransaction(deps, { call }, async (tx) => {
      // Again under the issuer's names lock: a create racing this one waits, then sees it
      // (its slug first, which the unique index decides in the end anyway).
      if (ca.type !== "EXTERNAL_INTERMEDIATE") {
        const names = await tx.cas.siblingSubjects(ca.parentId);
        if (await tx.cas.slugTaken(ca.slug)) throw slugTaken(ca.slug);
        const issued = ca.parentId ? await tx.certificates.caCertificatesIssuedBy(ca.parentId) : [];
        subjectTaken(names, ca.parentId, ca.subject, issued);
      }
      await tx.cas.insert(ca);
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "certificate_authority", id: ca.id },
          ca.createdAt,
          undefined,
          // Its PEMs are public but long; the sealed key never appears (audit/changes.ts).
          [
            ...createdFields(ca, ["certificatePem", "chainPem", "csrPem"]),
            ...createdFields(settings),
          ],
        ),
      );
    });
  } catch (err) {
    // Two creates racing for one slug: the unique index decides.
    if (err instanceof UniqueConflict) throw slugTaken(ca.slug);
    // The only foreign key of a new CA is its parent: deleted while this one was signed (its
    // row went after the checks above). Until stop 40 of 2026-12-05 this was INTERNAL (an
    // outside probe, 5 of 8 rounds).
    // So is a parent the signing guard found gone (Migration20261205300000CaSigningGuard: a
    // CA that does not exist does not sign, CMC01), which until stop 50 of 2026-12-06 was
    // answered CA_NOT_ACTIVE, "revoked or disabled" (an outside probe, 10 of 10 rounds).
    const parentGone =
      ca.parentId &&
      (err instanceof StillReferenced ||
        (signingGuardError(err) !== undefined &&
          !(await deps.store.cas.find({ id: ca.parentId }))));
    if (parentGone) {
      throw notFound(
        "CERTIFICATE_AUTHORITY_NOT_FOUND",
        "the parent certificate authority was deleted while this one was created; nothing was stored",
      );
    }
    throw err;
  }
  return caView(ca);
}

const slugTaken = (slug: string) =>
  alreadyExists("CA_SLUG_TAKEN", `a certificate authority "${slug}" already exists`);

/**
 * A CA certificate's subjectAltName: the subject's emailAddress values as rfc822Names. RFC 5280
 * 4.1.2.6: a certificate with an email address MUST carry it as an rfc822Name SAN (the subject
 * attribute alone is only for legacy). Leaves already got it; CA certificates did not until
 * 2026-12-05 (an outside lint probe: zlint e_subj_email_not_in_san, pkilint).
 */
export function caSubjectAltNames(subject: NewCaInput["subject"]): SubjectAltNames {
  // Normalised as a leaf's email SANs are (the domain as a DNS name: lower case, no trailing
  // dot); checkCaSubject has refused an address that does not parse.
  const email = subject.attributes
    .filter((a) => a.type === "EMAIL_ADDRESS")
    .map((a) => {
      const normalised = normalizeEmail(a.value);
      return normalised.ok ? normalised.value : a.value;
    });
  return { dns: [], ip: [], email, uri: [] };
}
