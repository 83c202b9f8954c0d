import { createPublicKey, X509Certificate } from "node:crypto";
import type { TestDatabase } from "../support/postgres";

/** Turns on server-driven renewal of a profile written by createProfileRows, with its TTL. */
export async function autoRenew(
  db: Pick<TestDatabase, "query">,
  profileId: string,
  renewal: { renewBeforeSeconds?: number; renewBeforeDays?: number },
  ttlSeconds?: number,
): Promise<void> {
  await db.query(
    `update certificate_profile set renewal = $2::jsonb,
        defaults = case when $3::bigint is null then defaults else jsonb_set(defaults, '{ttlSeconds}', to_jsonb($3::bigint)) end
      where id = $1`,
    [
      profileId,
      JSON.stringify({ autoRenew: true, renewBeforeDays: 0, ...renewal }),
      ttlSeconds ?? null,
    ],
  );
}

/** The SPKI (DER) of a certificate's public key. */
export const spkiOfCert = (pem: string): Buffer =>
  createPublicKey(
    new X509Certificate(pem).publicKey.export({ type: "spki", format: "pem" }),
  ).export({ type: "spki", format: "der" }) as Buffer;

/** A clock that tests move forward (StartOptions.now). */
export class MovableClock {
  private offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}
