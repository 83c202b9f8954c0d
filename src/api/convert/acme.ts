import {
  type AcmeAccount,
  AcmeAccountStatus,
  type AcmeExternalAccountKey,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import type {
  AcmeAccountStatus as DomainAccountStatus,
  AcmeAccount as DomainAcmeAccount,
  ExternalAccountKey,
} from "../../issuance/repositories";
import { optionalDate } from "./time";

/** An External Account Binding key as the API shows it: never an HMAC key (none is stored). */
export function externalAccountKeyToProto(key: ExternalAccountKey): AcmeExternalAccountKey {
  return {
    keyId: key.keyId,
    certificateProfileId: key.profileId,
    creator: key.creatorId ?? "",
    createTime: key.createdAt,
    acmeAccountId: key.accountId ?? "",
    bindTime: optionalDate(key.boundAt),
    revokeTime: optionalDate(key.revokedAt),
  };
}

const STATUS_TO_PROTO: Record<DomainAccountStatus, AcmeAccountStatus> = {
  valid: AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID,
  deactivated: AcmeAccountStatus.ACME_ACCOUNT_STATUS_DEACTIVATED,
  revoked: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
};

/** An ACME account as the API shows it (RFC 8555 7.1.2), its key by thumbprint. */
export function acmeAccountToProto(account: DomainAcmeAccount): AcmeAccount {
  return {
    id: account.id,
    certificateProfileId: account.profileId,
    status: STATUS_TO_PROTO[account.status],
    contact: [...account.contact],
    keyThumbprint: account.keyThumbprint,
    externalAccountKeyId: account.externalAccountKeyId ?? "",
    createTime: account.createdAt,
    updateTime: account.updatedAt,
  };
}
