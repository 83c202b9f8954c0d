/**
 * The one row that proves the key-encryption key: a known value sealed with it, so a server
 * started with the wrong key stops at start-up instead of failing at the first signature.
 */
export interface KekCheckRepository {
  /** The sealed check value; null on a database that holds no sealed key yet. */
  sealedCheck(): Promise<Uint8Array | null>;
  saveCheck(sealed: Uint8Array, now: Date): Promise<void>;
  /** One CA's sealed key, any; null when the database holds none. */
  anySealedCaKey(): Promise<{ id: string; slug: string; sealedPrivateKey: Uint8Array } | null>;
}
