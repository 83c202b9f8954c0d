import { CertmintError, type ErrorKind } from "../../errors";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import type {
  Certificate,
  CertificateRepository,
  CertificateRequest,
  StoredError,
} from "../repositories";
import { type ApprovedKeyDeps, handOutApprovedKey } from "./approved-key";
import { certificateNamed } from "./find";
import { keyHandOutBlocked } from "./held-keys";
import { certificateKeyAad, openedKeyPem, requestKeyAad } from "./keys";
import type { SignedCertificate } from "./sign";
import type { IssuancePlan, IssuedView, IssueOutcome } from "./types";

/**
 * The answer for a certificate just signed and committed (sign-then-store.ts, sign-and-store.ts),
 * counted by the observer (metrics) once it is stored, never before.
 */
export function issuedOutcome(
  deps: Pick<IssuanceDeps, "observer">,
  call: Call,
  plan: IssuancePlan,
  requestId: string,
  signed: SignedCertificate,
  renewal: boolean,
): IssueOutcome {
  // Named in the call's log line (server/call-logging.ts): after a restore from a backup the
  // log is what still knows the certificates issued since, to revoke them (README: Backups).
  call.issued = {
    certificateId: signed.view.certificateId,
    serialNumber: signed.view.serialNumber,
    ca: plan.ca?.slug ?? "self-signed",
    caId: plan.ca?.id,
    notAfter: signed.view.notAfter,
  };
  deps.observer?.certificateIssued({
    operation: renewal ? "renew" : "issue",
    profile: plan.profile.slug,
    ca: plan.ca?.slug ?? "self-signed",
    keyAlgorithm: plan.keyAlgorithm,
  });
  return {
    certificateRequestId: requestId,
    status: "ISSUED",
    certificate: signed.view,
    privateKeyPem: signed.privateKeyPem,
  };
}

/** The view of a stored certificate: PEM, chain, issuing CA, serial, validity. */
export function viewOf(cert: IssuedViewSource): IssuedView {
  return {
    certificateId: cert.id,
    certificatePem: cert.certificatePem,
    chainPem: cert.chainPem,
    issuingCaPem: cert.chainPem[0] ?? cert.certificatePem,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

type IssuedViewSource = Pick<
  Certificate,
  "id" | "certificatePem" | "chainPem" | "serialNumber" | "notBefore" | "notAfter"
>;

/** What a failure looks like stored on the request (and rebuilt for GetRequestStatus and replays). */
export function storedErrorOf(err: CertmintError): StoredError {
  return { code: err.kind, reason: err.reason, message: err.message, violations: err.violations };
}

export function errorFromStored(stored: StoredError): CertmintError {
  return new CertmintError(stored.code as ErrorKind, stored.reason, stored.message, {
    violations: stored.violations,
  });
}

export interface OutcomeDeps extends ApprovedKeyDeps {
  store: ApprovedKeyDeps["store"] & {
    certificates: Pick<CertificateRepository, "findById" | "isKeyBlocked">;
  };
}

/**
 * The result a finished request stands for, as IssueCertificate returns it: the same
 * certificate on every replay, the stored error for a FAILED or REJECTED request. A private
 * key goes only to the token that made the request, and only if that token owns the
 * certificate (ownership.ts): the key the profile keeps with the certificate
 * (STORE_ENCRYPTED), or the generated key kept on the request for replays until its time runs
 * out (sign.ts).
 */
export async function outcomeOf(
  deps: OutcomeDeps,
  call: Call,
  request: CertificateRequest,
): Promise<IssueOutcome> {
  const { status } = request;
  if (status === "FAILED" || status === "REJECTED") {
    const err = errorFromStored(request.error!);
    err.metadata.certificate_request_id = request.id;
    throw err;
  }
  if (status !== "ISSUED" || !request.certificateId) {
    return { certificateRequestId: request.id, status };
  }
  const cert = await certificateNamed(deps.store, request.certificateId);
  const asker = call.actor.id;
  let privateKeyPem: string | undefined;
  if (
    asker === request.caller &&
    asker === cert.owner &&
    (cert.sealedPrivateKey || request.sealedPrivateKey) &&
    !(await keyHandOutBlocked(deps, cert.spkiSha256))
  ) {
    if (cert.sealedPrivateKey) {
      privateKeyPem = openedKeyPem(deps, certificateKeyAad(cert.id), cert.sealedPrivateKey);
    } else if (request.sealedPrivateKey && !request.keyHeldUntil) {
      // Signed by an approval, its window not started: the replay starts it, as
      // GetRequestStatus does (approved-key.ts).
      privateKeyPem = await handOutApprovedKey(deps, call, request);
    } else if (
      request.sealedPrivateKey &&
      request.keyHeldUntil &&
      request.keyHeldUntil > deps.now()
    ) {
      privateKeyPem = openedKeyPem(deps, requestKeyAad(request.id), request.sealedPrivateKey);
    }
  }
  return { certificateRequestId: request.id, status, certificate: viewOf(cert), privateKeyPem };
}
