import type { EntityManager } from "@mikro-orm/postgresql";
import { CertmintError, type ErrorKind } from "../../errors";
import {
  CertificateEntity,
  type CertificateRequestRow,
  type CertificateRow,
} from "../../store/entities";
import { currentCallScope } from "../call-scope";
import type { IssuanceDeps } from "../deps";
import { certificateKeyAad, requestKeyAad } from "./sign-and-store";
import type { IssuedView, IssueOutcome, RequestStatus, StoredError } from "./types";

/** The view of a stored certificate: PEM, chain, issuing CA, serial, validity. */
export function viewOf(cert: CertificateRow): IssuedView {
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

/** What a failure looks like stored on the request (and rebuilt for GetRequestStatus and replays). */
export function storedErrorOf(err: CertmintError): StoredError {
  return { code: err.kind, reason: err.reason, message: err.message, violations: err.violations };
}

export function errorFromStored(stored: StoredError): CertmintError {
  return new CertmintError(stored.code as ErrorKind, stored.reason, stored.message, {
    violations: stored.violations,
  });
}

/**
 * The result a finished request stands for, as IssueCertificate returns it: the same
 * certificate on every replay, the stored error for a FAILED or REJECTED request. A private
 * key goes only to the token that made the request, and only if that token owns the
 * certificate (ownership.ts): the key the profile keeps with the certificate
 * (STORE_ENCRYPTED), or the generated key kept on the request for replays until its time runs
 * out (sign-and-store.ts).
 */
export async function outcomeOf(
  deps: IssuanceDeps,
  em: EntityManager,
  row: CertificateRequestRow,
): Promise<IssueOutcome> {
  const status = row.status as RequestStatus;
  if (status === "FAILED" || status === "REJECTED") {
    const err = errorFromStored(row.error as unknown as StoredError);
    err.metadata.certificate_request_id = row.id;
    throw err;
  }
  if (status !== "ISSUED" || !row.certificateId) return { certificateRequestId: row.id, status };
  const cert = await em.findOneOrFail(CertificateEntity, { id: row.certificateId });
  const asker = currentCallScope()?.actor.id ?? row.caller;
  let sealed: { aad: string; key: Uint8Array } | undefined;
  if (asker === row.caller && asker === cert.owner) {
    if (cert.sealedPrivateKey) {
      sealed = { aad: certificateKeyAad(cert.id), key: cert.sealedPrivateKey };
    } else if (row.sealedPrivateKey && row.keyHeldUntil && row.keyHeldUntil > deps.now()) {
      sealed = { aad: requestKeyAad(row.id), key: row.sealedPrivateKey };
    }
  }
  const privateKeyPem = sealed
    ? deps.keyring
        .openWith(sealed.aad, sealed.key)
        .export({ type: "pkcs8", format: "pem" })
        .toString()
    : undefined;
  return { certificateRequestId: row.id, status, certificate: viewOf(cert), privateKeyPem };
}
