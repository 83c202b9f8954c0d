import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type {
  RequestStatus,
  StoredError,
  StoredParams,
} from "../../issuance/repositories/certificate-requests";
import type { SubjectAltNames, SubjectName } from "../../model/pki";

/**
 * One issuance or renewal request. Written before anything is signed (Boulder: record the
 * intent first), so a crash never leaves a certificate the database does not know.
 */
export const CertificateRequestEntity = defineEntity({
  name: "CertificateRequest",
  tableName: "certificate_request",
  properties: (p) => ({
    id: p.uuid().primary(),
    profileId: p.uuid().index("certificate_request_profile_id_index"),
    /** The authenticated caller; idempotency keys are unique per caller. */
    caller: p.text(),
    /** What the certificate it yields carries as authenticatesUntil (Certificate). */
    authenticatesUntil: p.datetime().nullable(),
    /** What the certificate it yields carries as vouchedBy (Certificate). */
    vouchedBy: p.json<string[]>().nullable(),
    /** The caller's idempotency key, if any (request_id in the API and the column). */
    idempotencyKey: p.text().nullable().fieldName("request_id"),
    /** SHA-256 of the canonical request, to refuse a reused request_id with another request. */
    requestFingerprint: p.text(),
    /** ISSUE | RENEW */
    kind: p.text().$type<"ISSUE" | "RENEW">(),
    /** PENDING_APPROVAL | PENDING | ISSUED | FAILED | REJECTED */
    status: p.text().$type<RequestStatus>(),
    subject: p.json<SubjectName>(),
    sans: p.json<SubjectAltNames>(),
    /** Everything else needed to evaluate and sign it again on approval (usages, TTL, ...). */
    params: p.json<StoredParams>(),
    csrPem: p.text().nullable(),
    /**
     * A server-generated key, sealed, for its requester only: until key_held_until for replays
     * of the request_id (a lost answer), or (key_held_until null) until the first fetch after
     * approval.
     */
    sealedPrivateKey: p.blob().nullable(),
    /** When the sweep deletes a key kept for replays (CERTMINT_GENERATED_KEY_REPLAY_SECONDS). */
    keyHeldUntil: p.datetime().nullable(),
    renewalOfCertificateId: p.uuid().nullable(),
    certificateId: p.uuid().nullable(),
    /** The serial reserved before signing (hex). */
    reservedSerial: p.text().nullable(),
    /**
     * The approver whose approval claimed it (Migration20261206160000RequestClaimedBy): a
     * takeover of the claim makes that approval's checks again. Null: no approval claimed it,
     * or one before the column.
     */
    claimedBy: p.text().nullable(),
    /** google.rpc.Status-shaped failure: code, message, reason, violations. */
    error: p.json<StoredError>().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  }),
});
export type CertificateRequestRow = InferEntity<typeof CertificateRequestEntity>;
