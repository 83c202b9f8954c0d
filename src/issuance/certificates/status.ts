import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { findRequestFor } from "../profiles/access";
import { type CertificateRequestView, requestView } from "../repositories";
import { handOutApprovedKey } from "./approved-key";
import { certificateNamed, requestNotFound } from "./find";
import { keyHandOutBlocked } from "./held-keys";
import { viewOf } from "./outcome";
import { mayReadRequest } from "./request-list";
import type { IssuedView } from "./types";

export interface RequestStatusView {
  request: CertificateRequestView;
  certificate?: IssuedView;
  privateKeyPem?: string;
}

/** GetRequestStatus: the request, its certificate once ISSUED, and its requester's approved key. */
export async function requestStatus(
  deps: IssuanceDeps,
  call: Call,
  id: string,
): Promise<RequestStatusView> {
  // Another profile's request is NOT_FOUND, as a missing one (profiles/access.ts); so is
  // another issuer's, which ListCertificateRequests does not show either (request-list.ts).
  const request = await findRequestFor(deps.store, call, id);
  if (!mayReadRequest(call.actor, request)) throw requestNotFound(id);
  if (request.status !== "ISSUED" || !request.certificateId) {
    return { request: requestView(request) };
  }
  const cert = await certificateNamed(deps.store, request.certificateId);
  let privateKeyPem: string | undefined;
  // Only the token that made the request may take its held key (anyone else who may read the
  // request, an auditor or approver say, sees the certificate without it): the key an approval
  // signed, kept for the replay window after its first hand-out, or the key an issuance keeps
  // for its replays (approved-key.ts). Until stop 40 of 2026-12-05 only the first read of an
  // approval's key got it, and a replay-held key was the replay's alone.
  if (
    request.sealedPrivateKey &&
    call.actor.id === request.caller &&
    !(await keyHandOutBlocked(deps, cert.spkiSha256))
  ) {
    privateKeyPem = await handOutApprovedKey(deps, call, request);
  }
  return {
    request: requestView(request),
    certificate: viewOf(cert),
    privateKeyPem,
  };
}
