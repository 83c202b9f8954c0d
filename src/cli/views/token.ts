import { AccessToken } from "../../../gen/ts/certmint/v1/access_token_service";
import { IDENTITY_TYPE, ROLE, TOKEN_STATE } from "../enums";
import type { Column } from "../output";
import { formatTime } from "../values";
import type { OneView } from "./print";

function binding(t: AccessToken): string {
  const b = t.clientCertificateBinding;
  if (!b) return "";
  const ca = b.certificateAuthority ? `CA ${b.certificateAuthority}` : "";
  const sha = b.issuerCertificateSha256 ? `issuer SHA-256 ${b.issuerCertificateSha256}` : "";
  return `${IDENTITY_TYPE.name(b.identityType)} ${b.value}${ca || sha ? ` (${[ca, sha].filter(Boolean).join(", ")})` : ""}`;
}

export const TOKEN_COLUMNS: ReadonlyArray<Column<AccessToken>> = [
  { header: "SLUG", value: (t) => t.slug },
  { header: "ROLE", value: (t) => ROLE.name(t.role) },
  { header: "STATE", value: (t) => TOKEN_STATE.name(t.state) },
  { header: "EXPIRES", value: (t) => formatTime(t.expireTime) },
  { header: "PROFILES", value: (t) => t.certificateProfiles.join(",") },
  { header: "KIND", value: (t) => (t.clientCertificateBinding ? "client certificate" : "bearer") },
  { header: "ID", value: (t) => t.id },
];

export const TOKEN_VIEW: OneView<AccessToken> = {
  codec: AccessToken,
  fields: (t) => [
    ["id", t.id],
    ["slug", t.slug],
    ["description", t.description],
    ["role", ROLE.name(t.role)],
    ["state", TOKEN_STATE.name(t.state)],
    ["profiles", t.certificateProfiles.join(" ")],
    ["client certificate", binding(t)],
    ["created", formatTime(t.createTime)],
    ["expires", formatTime(t.expireTime)],
    ["revoked", formatTime(t.revokeTime)],
    ["creator", t.creator],
  ],
};
