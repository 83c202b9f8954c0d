import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { CaStatus, CaType } from "../../issuance/repositories/certificate-authorities";
import type {
  KeyAlgorithm,
  RevocationReason,
  SignatureAlgorithm,
  SubjectName,
} from "../../model/pki";

/** A CA whose key certmint holds. The private key is stored only sealed (AES-256-GCM). */
export const CertificateAuthorityEntity = defineEntity({
  name: "CertificateAuthority",
  tableName: "certificate_authority",
  properties: (p) => ({
    id: p.uuid().primary(),
    slug: p.text().unique("certificate_authority_slug_key"),
    description: p.text().default(""),
    /** ROOT | INTERMEDIATE | EXTERNAL_INTERMEDIATE */
    type: p.text().$type<CaType>(),
    /** ACTIVE | DISABLED | PENDING_CERTIFICATE */
    status: p.text().$type<CaStatus>(),
    subject: p.json<SubjectName>(),
    keyAlgorithm: p.text().$type<KeyAlgorithm>(),
    signatureAlgorithm: p.text().$type<SignatureAlgorithm>(),
    parentId: p.uuid().nullable(),
    certificatePem: p.text().nullable(),
    /** PEM certificates above this CA, nearest first. */
    chainPem: p.json<string[]>(),
    serialNumber: p.text().nullable(),
    notBefore: p.datetime().nullable(),
    notAfter: p.datetime().nullable(),
    maxPathLength: p.integer().nullable(),
    csrPem: p.text().nullable(),
    /** Sealed PKCS#8 private key: version | nonce | ciphertext | tag, bound to the CA id. */
    sealedPrivateKey: p.blob(),
    /**
     * Last cRLNumber issued (RFC 5280 5.2.3: monotonically increasing). The thisUpdate of that
     * CRL is the column crl_this_update, read and written only by CaRepository.nextCrl's
     * statement (Migration20261204300000CrlThisUpdate).
     */
    crlNumber: p.bigint("string").default("0"),
    /** When its parent revoked it (listed in the parent's CRL); null for a CA in good standing. */
    revokedAt: p.datetime().nullable(),
    /** RFC 5280 5.3.1 reason of that revocation. */
    revocationReason: p.text().$type<RevocationReason>().nullable(),
    /** RFC 5280 5.3.2 (Migration20261207220000InvalidityDate); null when none was given. */
    invalidityDate: p.datetime().nullable(),
    /**
     * Revocations of certificates and CAs this CA issued, bumped in each revoking transaction:
     * a replica whose published CRL was signed at a lower count signs a fresh one.
     */
    revocationCount: p.bigint("string").default("0"),
    /** Bumped on every update; the etag clients send back. */
    version: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  }),
});
export type CertificateAuthorityRow = InferEntity<typeof CertificateAuthorityEntity>;
