/**
 * The object a refused call named, for its audit record: a refusal before the use case found
 * the object (a CA still in use, a stale etag, a role not allowed) is recorded against the
 * object's id (a reference by slug or serial looked up, since stop 50 of 2026-12-06), or the
 * reference the caller sent when nothing has it, so "who tried to revoke CA X" is answered by
 * ListAuditRecords' resource filters. Found by the third outside probe of 2026-12-05: such
 * records had no resource, and a failures-only list of a CA's records found none.
 */
import type { AuditResource, AuditResourceType } from "../issuance/audit/record";
import { normalizeSerial } from "../issuance/certificates/find";
import { isUuid } from "../issuance/common/refs";

/** Per service: the resource type, and the request field that names it. */
const NAMED_BY: Record<string, [AuditResourceType, string]> = {
  CertificateAuthorityService: ["certificate_authority", "certificateAuthority"],
  CertificatePolicyService: ["certificate_policy", "certificatePolicy"],
  CertificateProfileService: ["certificate_profile", "certificateProfile"],
  AccessTokenService: ["access_token", "accessToken"],
  CertificateService: ["certificate", "certificate"],
};

/** At most this much of a reference is recorded (ids and slugs are far shorter). */
const MAX_REFERENCE = 128;

export function namedResource(
  method: string,
  request: unknown,
): (AuditResource & { key?: string }) | undefined {
  const service = /\.(\w+Service)\//.exec(method)?.[1];
  if (typeof request !== "object" || request === null) return undefined;
  // Approve / Reject / GetRequestStatus name a request, not a certificate: until stop 46 of
  // 2026-12-06 their refusals (REQUEST_NOT_PENDING_APPROVAL) were recorded with no resource.
  const requestRef = (request as { certificateRequestId?: unknown }).certificateRequestId;
  if (service === "CertificateService" && typeof requestRef === "string" && requestRef.trim()) {
    return { type: "certificate_request", id: requestRef.trim().slice(0, MAX_REFERENCE) };
  }
  // RevokeAcmeExternalAccountKey names a key, not a profile.
  const keyRef = (request as { keyId?: unknown }).keyId;
  if (service === "CertificateProfileService" && typeof keyRef === "string" && keyRef.trim()) {
    return { type: "acme_external_account_key", id: keyRef.trim().slice(0, MAX_REFERENCE) };
  }
  // RevokeAcmeAccount names an ACME account, not a profile.
  const accountRef = (request as { acmeAccount?: unknown }).acmeAccount;
  if (
    service === "CertificateProfileService" &&
    typeof accountRef === "string" &&
    accountRef.trim()
  ) {
    return { type: "acme_account", id: accountRef.trim().slice(0, MAX_REFERENCE) };
  }
  const named = service ? NAMED_BY[service] : undefined;
  if (!named) return undefined;
  const value = (request as Record<string, unknown>)[named[1]];
  let ref = "";
  if (typeof value === "string") ref = value;
  else if (typeof value === "object" && value !== null) {
    const { id, slug } = value as { id?: unknown; slug?: unknown };
    ref = typeof id === "string" && id.trim() ? id : typeof slug === "string" ? slug : "";
  }
  ref = ref.trim();
  if (!ref) return undefined;
  const resource = { type: named[0], id: ref.slice(0, MAX_REFERENCE) };
  if (isUuid(ref)) return { ...resource, id: ref.toLowerCase() };
  // Named otherwise: by slug, or a certificate by serial (as find.ts reads one). The record
  // gets the object's id when one has it (AccessControl.recordOutcome).
  const key = named[0] === "certificate" ? normalizeSerial(ref) : ref;
  return key && key.length <= MAX_REFERENCE ? { ...resource, key } : resource;
}
