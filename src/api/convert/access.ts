import {
  type AccessToken,
  AccessTokenState,
  type ClientCertificateBinding,
  ClientCertificateIdentityType,
  Role,
} from "../../../gen/ts/certmint/v1/access_token_service";
import type { AuditRecord } from "../../../gen/ts/certmint/v1/audit_service";
import type { RequestedBinding } from "../../issuance/access-tokens/binding";
import { IDENTITY_TYPES, type IdentityType } from "../../issuance/access-tokens/binding";
import { accessTokenState } from "../../issuance/access-tokens/queries";
import { changesOf } from "../../issuance/audit/changes";
import { type Role as DomainRole, ROLES } from "../../issuance/call";
import type {
  AccessTokenView,
  AuditRecord as DomainAuditRecord,
} from "../../issuance/repositories";
import { enumCodec } from "./enums";
import { optionalDate } from "./time";

export const roleCodec = enumCodec<DomainRole>(Role, "ROLE_", ROLES);
export const identityTypeCodec = enumCodec<IdentityType>(
  ClientCertificateIdentityType,
  "CLIENT_CERTIFICATE_IDENTITY_TYPE_",
  IDENTITY_TYPES,
);

/** The binding of a CreateAccessToken request; undefined when the message is absent. */
export function bindingFromProto(
  pb: ClientCertificateBinding | undefined,
): RequestedBinding | undefined {
  if (!pb) return undefined;
  return {
    type: identityTypeCodec.fromProto(
      pb.identityType,
      "access_token.client_certificate_binding.identity_type",
    ),
    value: pb.value,
    certificateAuthority: pb.certificateAuthority,
    issuerCertificateSha256: pb.issuerCertificateSha256,
  };
}

const STATE_TO_PROTO = {
  ACTIVE: AccessTokenState.ACCESS_TOKEN_STATE_ACTIVE,
  EXPIRED: AccessTokenState.ACCESS_TOKEN_STATE_EXPIRED,
  REVOKED: AccessTokenState.ACCESS_TOKEN_STATE_REVOKED,
} as const;

/** A token as the API shows it: never its secret or the secret's hash. */
export function accessTokenToProto(row: AccessTokenView, now: Date): AccessToken {
  return {
    id: row.id,
    slug: row.slug,
    description: row.description,
    role: roleCodec.toProto(row.role),
    certificateProfiles: [...row.profileIds],
    clientCertificateIdentity: row.clientIdentity ?? "",
    clientCertificateBinding:
      row.clientIdentity === null || row.clientIdentity === undefined
        ? undefined
        : {
            identityType: identityTypeCodec.toProto(row.clientIdentityType),
            value: row.clientIdentity,
            certificateAuthority: row.clientCaId ?? "",
            issuerCertificateSha256: row.clientCaSha256 ?? "",
          },
    state: STATE_TO_PROTO[accessTokenState(row, now)],
    createTime: row.createdAt,
    expireTime: row.expiresAt,
    revokeTime: optionalDate(row.revokedAt),
    creator: row.creatorId ?? "",
  };
}

export function auditRecordToProto(row: DomainAuditRecord): AuditRecord {
  return {
    id: row.id,
    createTime: row.createdAt,
    actor: row.actorId ?? "",
    actorSlug: row.actorSlug,
    method: row.method,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    statusCode: row.statusCode,
    errorReason: row.errorReason,
    requestId: row.traceId,
    peer: row.peer,
    // What an administrative change set (FieldChange: JSON values as google.protobuf.Value).
    changes: changesOf(row),
  };
}
