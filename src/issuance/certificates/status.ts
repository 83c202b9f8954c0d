import type { EntityManager } from "@mikro-orm/postgresql";
import { invalidField, notFound } from "../../errors";
import {
  CertificateEntity,
  CertificateRequestEntity,
  type CertificateRequestRow,
} from "../../store/entities";
import { recordAudit } from "../audit/record";
import { currentCallScope } from "../call-scope";
import { isUuid } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { requireProfileAccessById } from "../profiles/access";
import { viewOf } from "./outcome";
import { requestKeyAad } from "./sign-and-store";
import type { IssuedView } from "./types";

export interface RequestStatusView {
  request: CertificateRequestRow;
  certificate?: IssuedView;
  privateKeyPem?: string;
}

/** GetRequestStatus: the request, its certificate once ISSUED, and a waiting key exactly once. */
export async function requestStatus(deps: IssuanceDeps, id: string): Promise<RequestStatusView> {
  const em = deps.orm.em.fork();
  const request = await findRequest(em, id);
  await requireProfileAccessById(em, request.profileId);
  if (request.status !== "ISSUED" || !request.certificateId) return { request };
  const cert = await em.findOneOrFail(CertificateEntity, { id: request.certificateId });
  let privateKeyPem: string | undefined;
  // Only the token that made the request may take its waiting key (anyone else who may read
  // the request, an auditor or approver say, sees the certificate without it). A key kept
  // for replays (key_held_until set) is the replay's to return, not this read's.
  const requester = currentCallScope()?.actor.id ?? request.caller;
  if (request.sealedPrivateKey && !request.keyHeldUntil && requester === request.caller) {
    // Take the sealed key and delete it in one statement: exactly one caller ever gets it.
    // Handing out a private key is audited, in the transaction that deletes it.
    const sealed = await em.transactional(async (tx: EntityManager) => {
      const rows = await tx.getConnection().execute<Array<{ sealed: Buffer }>>(
        `update "certificate_request" r set "sealed_private_key" = null
             from (select "id", "sealed_private_key" as "sealed" from "certificate_request"
                    where "id" = ? and "key_held_until" is null for update) old
            where r."id" = old."id" and old."sealed" is not null returning old."sealed"`,
        [request.id],
        "all",
        tx.getTransactionContext(),
      );
      if (rows[0]?.sealed) await recordAudit(tx, { type: "certificate_request", id: request.id });
      return rows[0]?.sealed;
    });
    if (sealed) {
      privateKeyPem = deps.keyring
        .openWith(requestKeyAad(request.id), sealed)
        .export({ type: "pkcs8", format: "pem" })
        .toString();
    }
  }
  return { request, certificate: viewOf(cert), privateKeyPem };
}

export async function findRequest(em: EntityManager, id: string): Promise<CertificateRequestRow> {
  if (!isUuid(id.trim())) {
    throw invalidField(
      "CERTIFICATE_REQUEST_ID_INVALID",
      "certificate_request_id must be the UUID IssueCertificate returned",
      "certificate_request_id",
      "not a UUID",
    );
  }
  const row = await em.findOne(CertificateRequestEntity, { id: id.trim().toLowerCase() });
  if (!row) {
    throw notFound("CERTIFICATE_REQUEST_NOT_FOUND", `no certificate request ${id}`);
  }
  return row;
}
