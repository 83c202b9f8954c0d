import type { KeyObject } from "node:crypto";
import type { KeyRequest } from "../../signer";
import { type Call, refuseIfAbandoned } from "../call";
import type { IssuanceDeps } from "../deps";
import { refuseOtherEnrollment } from "./plan";
import type { IssuancePlan } from "./types";

/** AAD binding a sealed private key to the row that holds it. */
export const certificateKeyAad = (certificateId: string) => `certmint:certificate:${certificateId}`;
export const requestKeyAad = (requestRowId: string) => `certmint:request:${requestRowId}`;

/** The certified key: from the CSR, reused, or generated (the private key only then). */
export interface CertifiedKey {
  publicKey: KeyObject;
  privateKey?: KeyObject;
}

/**
 * The plan's key; a generated one is made now, in the caller's fair share of the key
 * generator (RSA runs on its worker threads, src/signer/key-generator.ts).
 */
export async function certifiedKeyOf(
  deps: Pick<IssuanceDeps, "keys">,
  plan: IssuancePlan,
  request: KeyRequest,
): Promise<CertifiedKey> {
  return plan.key.kind === "GENERATE"
    ? deps.keys.generate(plan.key.keyAlgorithm, request)
    : { publicKey: plan.key.publicKey };
}

/** A sealed private key opened and exported as PKCS#8 PEM, for its owner only. */
export function openedKeyPem(
  deps: Pick<IssuanceDeps, "keyring">,
  aad: string,
  sealed: Uint8Array,
): string {
  return deps.keyring.openWith(aad, sealed).export({ type: "pkcs8", format: "pem" }).toString();
}

/**
 * A key certmint makes for issue or renew, made before anything is signed or written, in this
 * caller's fair share of the RSA pool: a call refused for a full queue (RESOURCE_EXHAUSTED) or
 * given up while its key waits (cancel, deadline) leaves nothing behind and may retry its
 * request_id.
 */
export async function generateKey(
  deps: IssuanceDeps,
  call: Call,
  plan: IssuancePlan,
  who: { caller: string },
): Promise<CertifiedKey> {
  // The call's AbortSignal only for a key to generate: made on first read (api/unary.ts), it
  // was ~10 us of a CSR issuance's main-thread CPU at 1 client (bench/profile), for a key that
  // never waits.
  const pending =
    plan.key.kind === "GENERATE"
      ? certifiedKeyOf(deps, plan, { caller: who.caller, signal: call.signal })
      : Promise.resolve<CertifiedKey>({ publicKey: plan.key.publicKey });
  // An RSA key waits for a worker thread (up to seconds): outside the calls at work
  // (src/api/fair-admission.ts), so such calls do not hold the places of CSR issuances.
  const slow = plan.key.kind === "GENERATE" && plan.key.keyAlgorithm.startsWith("RSA");
  const key = await (slow && call.whileOutside ? call.whileOutside(pending) : pending);
  if (key.privateKey) refuseIfAbandoned(call); // generating it may have outlasted the caller
  if (slow) await refuseIfEnrollmentChanged(deps, plan);
  return key;
}

/**
 * An RSA key takes up to seconds: a profile switched to ACME meanwhile must not sign what was
 * checked against API enrollment before (plan.ts refuseOtherEnrollment). Read again once the key
 * is made; one read, on the RSA path only (a fast key leaves no window worth a round trip).
 * Until an outside probe of stop 44's fixes an RSA-4096 issuance or approval sent 250 ms before
 * the switch was signed 1-2.5 s after it.
 */
async function refuseIfEnrollmentChanged(deps: IssuanceDeps, plan: IssuancePlan): Promise<void> {
  const now = await deps.store.profiles.find({ id: plan.profile.id });
  if (now && now.enrollmentMethod !== plan.profile.enrollmentMethod) {
    refuseOtherEnrollment(
      plan.profile.enrollmentMethod,
      now,
      "this request, checked before its key was made,",
    );
  }
}
