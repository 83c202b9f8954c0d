/** How ACME External Account Binding keys and ACME accounts print (profile acme-keys, acme-accounts). */
import {
  AcmeAccount,
  AcmeExternalAccountKey,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { ACME_ACCOUNT_STATUS } from "../enums";
import type { Column } from "../output";
import { formatTime } from "../values";
import type { OneView } from "./print";

/** unbound, bound or revoked: what the key can still do. */
function keyState(k: AcmeExternalAccountKey): string {
  if (k.revokeTime) return "revoked";
  return k.acmeAccountId ? "bound" : "unbound";
}

export const ACME_KEY_COLUMNS: ReadonlyArray<Column<AcmeExternalAccountKey>> = [
  { header: "KEY ID", value: (k) => k.keyId },
  { header: "STATE", value: keyState },
  { header: "CREATED", value: (k) => formatTime(k.createTime) },
  { header: "ACCOUNT", value: (k) => k.acmeAccountId },
  { header: "CREATOR", value: (k) => k.creator },
];

export const ACME_KEY_VIEW: OneView<AcmeExternalAccountKey> = {
  codec: AcmeExternalAccountKey,
  fields: (k) => [
    ["key id", k.keyId],
    ["state", keyState(k)],
    ["profile", k.certificateProfileId],
    ["created", formatTime(k.createTime)],
    ["creator", k.creator],
    ["account", k.acmeAccountId],
    ["bound", formatTime(k.bindTime)],
    ["revoked", formatTime(k.revokeTime)],
  ],
};

export const ACME_ACCOUNT_COLUMNS: ReadonlyArray<Column<AcmeAccount>> = [
  { header: "ID", value: (a) => a.id },
  { header: "STATUS", value: (a) => ACME_ACCOUNT_STATUS.name(a.status) },
  { header: "CREATED", value: (a) => formatTime(a.createTime) },
  { header: "EAB KEY", value: (a) => a.externalAccountKeyId },
  { header: "CONTACT", value: (a) => a.contact.join(",") },
];

export const ACME_ACCOUNT_VIEW: OneView<AcmeAccount> = {
  codec: AcmeAccount,
  fields: (a) => [
    ["id", a.id],
    ["status", ACME_ACCOUNT_STATUS.name(a.status)],
    ["profile", a.certificateProfileId],
    ["contact", a.contact.join(" ")],
    ["key thumbprint", a.keyThumbprint],
    ["eab key", a.externalAccountKeyId],
    ["created", formatTime(a.createTime)],
    ["updated", formatTime(a.updateTime)],
  ],
};
