import { DEFAULT_GENERATED_KEY_REPLAY_SECONDS, type IssuanceDeps } from "../deps";
import type { CertificateRepository } from "../repositories";

/**
 * Deletes the generated keys kept for replays whose time ran out (sign.ts keeps a
 * generated key of a RETURN_ONCE profile sealed on its request for
 * CERTMINT_GENERATED_KEY_REPLAY_SECONDS, so a lost answer can be fetched again by replaying
 * the request_id). Keys waiting for approval (no key_held_until) are left alone. Returns how
 * many were deleted. Any replica may run it; the statements are idempotent.
 *
 * The same window ends the replay of an access token's secret (a CreateAccessToken retried
 * with its request_id, access-tokens/request-id.ts): past it the secret's salt is dropped, so
 * the secret exists nowhere any more but with its holder.
 */
export async function deleteExpiredHeldKeys(
  deps: Pick<IssuanceDeps, "store" | "now" | "generatedKeyReplaySeconds">,
): Promise<number> {
  const now = deps.now();
  const replaySeconds = deps.generatedKeyReplaySeconds ?? DEFAULT_GENERATED_KEY_REPLAY_SECONDS;
  // Each on its own: a failure of one leaves the other done (the sweep reports the first).
  const [salts, keys] = await Promise.allSettled([
    deps.store.tokens.forgetSecretSalts(new Date(now.getTime() - replaySeconds * 1000)),
    deps.store.requests.deleteExpiredHeldKeys(now),
  ]);
  if (keys.status === "rejected") throw keys.reason;
  if (salts.status === "rejected") throw salts.reason;
  return keys.value;
}

/** How often the sweep runs: as often as the window is long, at most once a second, at least once a minute. */
export function heldKeySweepIntervalMs(replaySeconds: number): number {
  return Math.min(60, Math.max(1, replaySeconds)) * 1000;
}

/**
 * Runs deleteExpiredHeldKeys now and then every `intervalMs` until stopped; a failed sweep
 * (the database briefly away) is reported and retried at the next tick.
 */
export function startHeldKeySweep(
  deps: IssuanceDeps,
  intervalMs: number,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const sweep = () => {
    running = deleteExpiredHeldKeys(deps).then(
      () => undefined,
      (err: unknown) => onError(err),
    );
  };
  sweep();
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Whether the key of a certificate is blocked as compromised (blocked-keys.ts), so that no
 * held copy of it is handed out: not on a replay, by GetRequestStatus, nor on a watch. A
 * keyCompromise revocation deletes the keys of the certificates it revokes (revoke.ts); a
 * certificate of the same key revoked before for another reason keeps its held key until its
 * window ends, and this check covers it (a reviewer, 2026-12-05). One indexed read, only when
 * a key would be handed out.
 */
export async function keyHandOutBlocked(
  deps: { store: { certificates: Pick<CertificateRepository, "isKeyBlocked"> } },
  spkiSha256: string | null,
): Promise<boolean> {
  if (!spkiSha256) return false;
  return deps.store.certificates.isKeyBlocked(spkiSha256);
}
