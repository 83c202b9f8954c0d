import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  RevocationReason,
  SignatureAlgorithm,
  SubjectAltNames,
  SubjectName,
} from "../../model/pki";

/**
 * An issued certificate and its metadata. Serial numbers are unique per issuing CA. The table
 * has columns of the database's own besides these, kept by triggers and read by the statements
 * that need them: renewal state (Migration20261202100000RenewalAndEvents), CRL entries, and a
 * certificate's lineage (lineage_id, lineage_depth: Migration20261204000000CertificateLineage).
 */
export const CertificateEntity = defineEntity({
  name: "Certificate",
  tableName: "certificate",
  properties: (p) => ({
    id: p.uuid().primary(),
    /** Lower-case hex, no colons. */
    serialNumber: p.text(),
    /** Null for self-signed certificates. */
    caId: p.uuid().nullable(),
    /** Null once the profile is deleted; the certificate is kept. */
    profileId: p.uuid().nullable(),
    certificateRequestId: p.uuid(),
    /**
     * The access token (id) that holds the private key: the requester of an issuance or of a
     * NEW or CSR renewal; for a REUSE renewal the owner of the certificate renewed (same key).
     * Only the owner renews it (unless its profile shares renewal) or receives its stored key.
     */
    owner: p.text(),
    /**
     * Until when it may authenticate as a client certificate binding's token: the expiry of the
     * credential that had it issued (issuance/certificates/credential-lifetime.ts). Null: no
     * bound but its own notAfter and its binding's expiry.
     */
    authenticatesUntil: p.datetime().nullable(),
    /**
     * The access tokens (ids) whose authority its issuance rests on
     * (issuance/certificates/credential-lifetime.ts): a line's cut takes it. Null before stop 56.
     */
    vouchedBy: p.json<string[]>().nullable(),
    subject: p.json<SubjectName>(),
    commonName: p.text().default(""),
    sans: p.json<SubjectAltNames>(),
    /** Lower-cased CN and SANs joined by spaces, for name_contains searches. */
    searchNames: p.text().default(""),
    keyAlgorithm: p.text().$type<KeyAlgorithm>(),
    signatureAlgorithm: p.text().$type<SignatureAlgorithm>(),
    keyUsages: p.json<KeyUsage[]>(),
    extendedKeyUsages: p.json<ExtendedKeyUsage[]>(),
    isCa: p.boolean().default(false),
    notBefore: p.datetime(),
    notAfter: p.datetime(),
    /** No index: looked up with the serial, by the serial's (Migration20261203100000FingerprintIndex). */
    fingerprintSha256: p.text(),
    /**
     * SHA-256 of the certified key's SubjectPublicKeyInfo (signer/spki.ts spkiSha256): the
     * certificates of one key, for a key-compromise revocation (Migration20261205000000BlockedKeys).
     * Null only for a stored certificate the backfill could not parse.
     */
    spkiSha256: p.text().nullable(),
    certificatePem: p.text(),
    chainPem: p.json<string[]>(),
    revokedAt: p.datetime().nullable(),
    revocationReason: p.text().$type<RevocationReason>().nullable(),
    /** RFC 5280 5.3.2 (Migration20261207220000InvalidityDate); null when none was given. */
    invalidityDate: p.datetime().nullable(),
    renewedFromId: p.uuid().nullable(),
    renewedById: p.uuid().nullable(),
    /** Kept only when the profile says STORE_ENCRYPTED; sealed. */
    sealedPrivateKey: p.blob().nullable(),
    createdAt: p.datetime(),
  }),
});
export type CertificateRow = InferEntity<typeof CertificateEntity>;
