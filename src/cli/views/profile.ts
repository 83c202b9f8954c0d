import { CertificateProfile } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  ENROLLMENT_METHOD,
  EXTENDED_KEY_USAGE,
  KEY_ALGORITHM,
  KEY_RETENTION,
  KEY_USAGE,
  SIGNATURE_ALGORITHM,
  VALIDITY_OVERFLOW,
} from "../enums";
import type { Column } from "../output";
import { formatDuration, formatTime } from "../values";
import { formatSubject } from "./names";
import type { OneView } from "./print";

/** Slugs of the policies and CAs profiles refer to by id, for display. */
export type SlugsById = ReadonlyMap<string, string>;

/** A policy or CA by its slug (and, in detail views, its id); the id alone when unknown. */
function named(id: string, slugs: SlugsById, withId: boolean): string {
  const slug = slugs.get(id);
  if (!slug) return id;
  return withId ? `${slug} (${id})` : slug;
}

function issuer(p: CertificateProfile, slugs: SlugsById, withId: boolean): string {
  if (p.issuer?.$case === "certificateAuthority") return named(p.issuer.value, slugs, withId);
  return p.issuer?.$case === "selfSigned" ? "self-signed" : "";
}

export function profileColumns(slugs: SlugsById): ReadonlyArray<Column<CertificateProfile>> {
  return [
    { header: "SLUG", value: (p) => p.slug },
    { header: "POLICY", value: (p) => named(p.certificatePolicy, slugs, false) },
    { header: "ISSUER", value: (p) => issuer(p, slugs, false) },
    { header: "TTL", value: (p) => formatDuration(p.defaults?.ttl) },
    { header: "APPROVAL", value: (p) => (p.requireApproval ? "required" : "no") },
    { header: "ID", value: (p) => p.id },
  ];
}

export function profileView(slugs: SlugsById): OneView<CertificateProfile> {
  return {
    codec: CertificateProfile,
    fields: (p) => {
      const d = p.defaults;
      const r = p.renewal;
      return [
        ["id", p.id],
        ["slug", p.slug],
        ["description", p.description],
        ["policy", named(p.certificatePolicy, slugs, true)],
        ["issuer", issuer(p, slugs, true)],
        ["enrollment", ENROLLMENT_METHOD.name(p.enrollmentMethod)],
        ["default ttl", formatDuration(d?.ttl)],
        ["default subject", formatSubject(d?.subject)],
        ["default key", d?.keyAlgorithm ? KEY_ALGORITHM.name(d.keyAlgorithm) : ""],
        [
          "default signature",
          d?.signatureAlgorithm ? SIGNATURE_ALGORITHM.name(d.signatureAlgorithm) : "",
        ],
        ["default key usages", (d?.keyUsages ?? []).map((u) => KEY_USAGE.name(u)).join(" ")],
        [
          "default ext. key usages",
          (d?.extendedKeyUsages ?? []).map((u) => EXTENDED_KEY_USAGE.name(u)).join(" "),
        ],
        [
          "renewal",
          [
            r?.autoRenew ? "auto-renew" : "manual",
            ...(r?.renewBeforeDays ? [`${r.renewBeforeDays} days before expiry`] : []),
            ...(r?.renewBefore ? [`${formatDuration(r.renewBefore)} before expiry`] : []),
            r?.allowSharedRenewal ? "any issuer of the profile" : "owner or admin only",
          ].join("; "),
        ],
        [
          "approval",
          p.requireApproval
            ? `required${p.allowSelfApproval ? "; self-approval allowed" : ""}`
            : "not required",
        ],
        ["validity overflow", VALIDITY_OVERFLOW.name(p.validityOverflow)],
        ["generated keys", KEY_RETENTION.name(p.privateKeyRetention)],
        ["created", formatTime(p.createTime)],
        ["updated", formatTime(p.updateTime)],
        ["etag", p.etag],
      ];
    },
  };
}
