import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { DEFAULT_GENERATED_KEY_REPLAY_SECONDS, type IssuanceDeps } from "../deps";
import type { CertificateRequest } from "../repositories";
import { openedKeyPem, requestKeyAad } from "./keys";

/**
 * The generated key an approval signed, handed to its requester (the caller checks who asks)
 * by GetRequestStatus or by a replay of its request_id: the first hand-out starts the key's
 * replay window (CERTMINT_GENERATED_KEY_REPLAY_SECONDS, as for an issuance without approval),
 * and each hand-out until its end returns it, audited in the transaction that hands it out;
 * the sweep deletes it after (held-keys.ts). Until stop 40 of 2026-12-05 it was handed out
 * once, by GetRequestStatus alone, and deleted in the same statement: an answer lost on the
 * way lost the key, and a requester replaying its IssueCertificate (as the proto said it could)
 * never got it (an outside probe). With no replay window (0) the first hand-out deletes it.
 */
export type ApprovedKeyDeps = Pick<
  IssuanceDeps,
  "keyring" | "now" | "generatedKeyReplaySeconds"
> & {
  store: Pick<IssuanceDeps["store"], "transaction">;
};

export async function handOutApprovedKey(
  deps: ApprovedKeyDeps,
  call: Call,
  request: Pick<CertificateRequest, "id">,
): Promise<string | undefined> {
  const now = deps.now();
  const replaySeconds = deps.generatedKeyReplaySeconds ?? DEFAULT_GENERATED_KEY_REPLAY_SECONDS;
  const until = replaySeconds > 0 ? new Date(now.getTime() + replaySeconds * 1000) : null;
  const sealed = await deps.store.transaction(async (tx) => {
    const taken = await tx.requests.handOutApprovedKey(request.id, until, now);
    if (taken) {
      await tx.audit.insert(
        changeRecord(call, { type: "certificate_request", id: request.id }, now),
      );
    }
    return taken;
  });
  return sealed ? openedKeyPem(deps, requestKeyAad(request.id), sealed) : undefined;
}
