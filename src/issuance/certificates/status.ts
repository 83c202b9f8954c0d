import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { findRequestFor } from "../profiles/access";
import { type CertificateRequestView, requestView } from "../repositories";
import { certificateNamed } from "./find";
import { keyHandOutBlocked } from "./held-keys";
import { openedKeyPem, requestKeyAad } from "./keys";
import { viewOf } from "./outcome";
import type { IssuedView } from "./types";

export interface RequestStatusView {
  request: CertificateRequestView;
  certificate?: IssuedView;
  privateKeyPem?: string;
}

/** GetRequestStatus: the request, its certificate once ISSUED, and a waiting key exactly once. */
export async function requestStatus(
  deps: IssuanceDeps,
  call: Call,
  id: string,
): Promise<RequestStatusView> {
  // Another profile's request is NOT_FOUND, as a missing one (profiles/access.ts).
  const request = await findRequestFor(deps.store, call, id);
  if (request.status !== "ISSUED" || !request.certificateId) {
    return { request: requestView(request) };
  }
  const cert = await certificateNamed(deps.store, request.certificateId);
  let privateKeyPem: string | undefined;
  // Only the token that made the request may take its waiting key (anyone else who may read
  // the request, an auditor or approver say, sees the certificate without it). A key kept
  // for replays (key_held_until set) is the replay's to return, not this read's.
  if (
    request.sealedPrivateKey &&
    !request.keyHeldUntil &&
    call.actor.id === request.caller &&
    !(await keyHandOutBlocked(deps, cert.spkiSha256))
  ) {
    // Take the sealed key and delete it in one statement: exactly one caller ever gets it.
    // Handing out a private key is audited, in the transaction that deletes it.
    const sealed = await deps.store.transaction(async (tx) => {
      const taken = await tx.requests.takeKeyAfterApproval(request.id);
      if (taken) {
        await tx.audit.insert(
          changeRecord(call, { type: "certificate_request", id: request.id }, deps.now()),
        );
      }
      return taken;
    });
    if (sealed) privateKeyPem = openedKeyPem(deps, requestKeyAad(request.id), sealed);
  }
  return {
    request: requestView(request),
    certificate: viewOf(cert),
    privateKeyPem,
  };
}
