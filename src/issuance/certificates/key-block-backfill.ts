import type { Logger } from "pino";
import { systemCall } from "../call";
import type { IssuanceDeps } from "../deps";
import { revoke } from "./revoke";

/**
 * At start-up: blocks the keys of certificates revoked for key compromise before certmint
 * blocked keys (Migration20261205500000KeyCompromiseBackfill lists them), with the use case a
 * key-compromise revocation runs now: the key blocked, its other unrevoked certificates revoked
 * (each with its audit record, on its CA's next CRL), held keys forgotten. certmint itself is
 * the actor. Each is taken off the list once done, so a start that dies half-way goes on where
 * it stopped. Runs under the start-up lock: one replica does it.
 */
export async function blockKeysRevokedBeforeBlocking(
  deps: IssuanceDeps,
  logger: Logger,
): Promise<number> {
  const ids = await deps.store.certificates.keyBlockBackfill();
  if (ids.length === 0) return 0;
  const call = systemCall("certmint/StartUp/BlockCompromisedKeys");
  for (const id of ids) {
    await revoke(deps, call, { certificate: id, reason: "KEY_COMPROMISE" });
    await deps.store.certificates.forgetKeyBlockBackfill(id);
  }
  logger.warn(
    { certificates: ids.length },
    "blocked the keys of certificates revoked for key compromise before key blocking existed, and revoked their other certificates",
  );
  return ids.length;
}
