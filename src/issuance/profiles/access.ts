import type { CertmintError } from "../../errors";
import { type AuditResource, auditRecordOf } from "../audit/record";
import { type Call, mayActOnProfile } from "../call";
import {
  certificateNotFound,
  findCertificate,
  findRequest,
  requestNotFound,
} from "../certificates/find";
import type {
  AuditRepository,
  CaRepository,
  Certificate,
  CertificateRepository,
  CertificateRequest,
  RequestRepository,
} from "../repositories";

/**
 * How a call that changes something records that it named an object it may not see (renew,
 * approve, reject). Reads pass none: a read's refusal is not audited, for a missing id either.
 */
export interface HiddenObjectAudit {
  store: { audit: Pick<AuditRepository, "insert"> };
  now: () => Date;
}

/**
 * A certificate the caller names by id or serial, on a profile the call may act on. For an
 * issuer or approver, one on a profile its token does not list is NOT_FOUND exactly as a
 * certificate that does not exist (the same error, built by the same function): a distinct
 * refusal would tell the caller that the id or serial exists, on a profile it may not read.
 * A caller that names a profile itself (IssueCertificate, a watch of a profile) already knows
 * it exists and is refused PERMISSION_DENIED instead (requireProfileAccess).
 */
export async function findCertificateFor(
  store: {
    certificates: Pick<CertificateRepository, "findById" | "findBySerial">;
    cas: Pick<CaRepository, "findBySerial">;
  },
  call: Call,
  ref: string,
  field: string,
  audit?: HiddenObjectAudit,
): Promise<Certificate> {
  const certificate = await findCertificate(store, ref, field);
  if (mayActOnProfile(call, certificate.profileId)) return certificate;
  throw await hidden(
    call,
    certificateNotFound(ref),
    { type: "certificate", id: certificate.id },
    audit,
  );
}

/** A certificate request by id, on a profile the call may act on; else as findCertificateFor. */
export async function findRequestFor(
  store: { requests: Pick<RequestRepository, "findById"> },
  call: Call,
  id: string,
  audit?: HiddenObjectAudit,
): Promise<CertificateRequest> {
  const request = await findRequest(store, id);
  if (mayActOnProfile(call, request.profileId)) return request;
  throw await hidden(
    call,
    requestNotFound(id),
    { type: "certificate_request", id: request.id },
    audit,
  );
}

/** google.rpc.Code NOT_FOUND, for a call without statusCodeOf (the kind maps to it). */
const NOT_FOUND = 5;

/**
 * The not-found answer for an object the caller may not see. A call that changes something has
 * its refusal audited as a missing id's is (same method, status code, one record), but the
 * record tells admins what the caller was not told: the reason PROFILE_NOT_GRANTED and the
 * object it named. Written here (autocommitted) and noted on the call, so the API layer adds no
 * second record for the same refusal (it checks the record exists: one round trip more than a
 * missing id costs). The client never sees the trail (ListAuditRecords is for admins and
 * auditors).
 */
async function hidden(
  call: Call,
  answer: CertmintError,
  resource: AuditResource,
  audit: HiddenObjectAudit | undefined,
  /** Why the caller may not see it, for the trail only. */
  reason = "PROFILE_NOT_GRANTED",
): Promise<CertmintError> {
  if (audit) {
    const outcome = {
      statusCode: call.statusCodeOf?.(answer) ?? NOT_FOUND,
      errorReason: reason,
    };
    const record = auditRecordOf(call, resource, outcome, audit.now());
    await audit.store.audit.insert(record);
    call.auditRecordId = record.id;
  }
  return answer;
}

/**
 * Another caller's request, named by an issuer that may act on its profile (an issuer sees its
 * own requests only: certificates/request-list.ts mayReadRequest): NOT_FOUND exactly as a
 * missing id, and, for a call that changes something (RejectCertificateRequest), audited with
 * the reason REQUEST_NOT_OWN and the request named, as PROFILE_NOT_GRANTED is for another
 * profile's object. Until stop 45 of 2026-12-06 the record read as a mistyped id's (an outside
 * probe): admins could not tell an attempt on a co-issuer's request from a typo.
 */
export function hiddenRequest(
  call: Call,
  request: CertificateRequest,
  named: string,
  audit?: HiddenObjectAudit,
): Promise<CertmintError> {
  return hidden(
    call,
    requestNotFound(named),
    { type: "certificate_request", id: request.id },
    audit,
    "REQUEST_NOT_OWN",
  );
}
