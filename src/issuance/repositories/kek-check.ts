/**
 * The one row that proves the key-encryption key: a known value sealed with it, so a server
 * started with the wrong key stops at start-up instead of failing at the first signature.
 */
export interface KekCheckRepository {
  /** The sealed check value; null on a database that holds no sealed key yet. */
  sealedCheck(): Promise<Uint8Array | null>;
  /** Writes the check value and the id of the KEK that sealed it (kek_check.kek_id). */
  saveCheck(sealed: Uint8Array, now: Date, kekId: Uint8Array): Promise<void>;
  /**
   * Sets kek_check.kek_id to `kekId` unless it is that already, only while the check value is
   * still `sealed` (the one the KEK was proven against): a rotation that committed meanwhile
   * re-sealed it, and its id must not be overwritten with the old key's. Whether it changed.
   */
  fillKekId(sealed: Uint8Array, kekId: Uint8Array): Promise<boolean>;
  /** One CA's sealed key, any; null when the database holds none. */
  anySealedCaKey(): Promise<{ id: string; slug: string; sealedPrivateKey: Uint8Array } | null>;
}
