import type { KeyObject } from "node:crypto";
import type { Config } from "../../config";
import { CertmintError } from "../../errors";
import {
  type CaSigner,
  generateKeyPair,
  loadOrCreateKek,
  MessageAuthenticator,
  openPrivateKey,
  SoftwareSigner,
  sealPrivateKey,
} from "../../signer";
import { kekIdBytes } from "../../signer/key-wrap";
import type { KekCheckRepository } from "../repositories";

/** The associated data that binds a sealed CA key to its CA (AES-GCM AAD). */
export const caKeyAad = (caId: string) => `certmint:ca:${caId}`;
/** The associated data of the KEK check value (kek_check.sealed). */
export const KEK_CHECK_AAD = "certmint:kek-check";

/**
 * Holds the key-encryption key and the CA signers unsealed with it. A CA key is unsealed
 * once, on first use, and kept as a KeyObject inside its signer: PEM or DER is never parsed
 * again per request (GUIDE 3: OpenSSL 3 key import is slow).
 */
export class CaKeyring {
  private readonly signers = new Map<string, CaSigner>();
  private readonly macs = new Map<string, MessageAuthenticator>();

  constructor(private readonly kek: Buffer) {}

  /** The KEK's id (an HMAC under it, never the key): what kek_check.kek_id names when current. */
  get kekId(): Buffer {
    return kekIdBytes(this.kek);
  }

  seal(caId: string, privateKey: KeyObject): Buffer {
    return sealPrivateKey(this.kek, privateKey, caKeyAad(caId));
  }

  /** The signer of a CA; a key that does not unseal is FAILED_PRECONDITION KEY_UNWRAP_FAILED. */
  signerFor(ca: { id: string; sealedPrivateKey: Uint8Array }): CaSigner {
    let signer = this.signers.get(ca.id);
    if (!signer) {
      signer = new SoftwareSigner(
        openPrivateKey(this.kek, Buffer.from(ca.sealedPrivateKey), caKeyAad(ca.id)),
      );
      this.signers.set(ca.id, signer);
    }
    return signer;
  }

  /** Seals a key generated for a requester (kept until fetched, or stored by profile choice). */
  sealWith(aad: string, privateKey: KeyObject): Buffer {
    return sealPrivateKey(this.kek, privateKey, aad);
  }

  openWith(aad: string, sealed: Uint8Array): KeyObject {
    return openPrivateKey(this.kek, Buffer.from(sealed), aad);
  }

  /**
   * HMAC under a key derived from the KEK for `purpose` (src/signer/mac.ts): every process
   * sharing the database derives the same one.
   */
  macFor(purpose: string): MessageAuthenticator {
    let mac = this.macs.get(purpose);
    if (!mac) {
      mac = new MessageAuthenticator(this.kek, purpose);
      this.macs.set(purpose, mac);
    }
    return mac;
  }
}

/**
 * Loads the key-encryption key and proves it is the one this database was sealed with, before
 * anything is served. A missing or wrong key stops start-up with a clear message and writes
 * nothing; a new key file is generated (mode 0600) only for a database that holds no sealed
 * key yet.
 */
export async function openKeyring(
  config: Config,
  kekCheck: KekCheckRepository,
  now = new Date(),
): Promise<{ keyring: CaKeyring; created: boolean }> {
  const check = await kekCheck.sealedCheck();
  // Without a check value, a CA key sealed before it was lost (a partial restore, a table
  // emptied by hand) proves the KEK instead (below), and no new KEK is made for it.
  const sealedCa = check === null ? await kekCheck.anySealedCaKey() : null;
  let loaded: Awaited<ReturnType<typeof loadOrCreateKek>>;
  try {
    loaded = await loadOrCreateKek({
      ...config.kek,
      createIfMissing: check === null && sealedCa === null,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new CertmintError(
      "failed_precondition",
      "KEK_UNAVAILABLE",
      check === null && sealedCa === null
        ? `cannot load the key-encryption key: ${message}`
        : `cannot load the key-encryption key, and this database holds CA keys sealed with one: ${message}`,
    );
  }
  proveKek(loaded.key, check, sealedCa);
  if (!check) {
    // The check value is a throwaway Ed25519 key: sealing it exercises exactly the AES-GCM
    // path CA keys use, and its plaintext means nothing.
    const { privateKey } = await generateKeyPair("ED25519");
    await kekCheck.saveCheck(
      sealPrivateKey(loaded.key, privateKey, KEK_CHECK_AAD),
      now,
      kekIdBytes(loaded.key),
    );
  } else {
    // The KEK is proven: its id is the one the database accepts new sealed keys under (the
    // trigger of Migration20261206140000KekIdGuard). A database last started by an older build
    // has none yet. Only while the check value is the one just proven: a rotation that
    // committed since keeps its own id, and this server fails its seals (KEK_ROTATED).
    await kekCheck.fillKekId(check, kekIdBytes(loaded.key));
  }
  return { keyring: new CaKeyring(loaded.key), created: loaded.created };
}

/**
 * Throws KEK_MISMATCH (failed_precondition) unless `kek` is the key this database was sealed
 * with: it must open the check value, or, without one, the oldest CA's sealed key. Neither
 * (an empty database) proves nothing and passes. Shared by start-up (openKeyring) and the KEK
 * rotation (src/kek-rotation), so both refuse exactly the same keys.
 */
export function proveKek(
  kek: Buffer,
  check: Uint8Array | null,
  sealedCa: { id: string; slug: string; sealedPrivateKey: Uint8Array } | null,
  refusing = "refusing to start",
): void {
  if (check) {
    try {
      openPrivateKey(kek, Buffer.from(check), KEK_CHECK_AAD);
    } catch (err) {
      // The cause says why (a wrong key, or a check value that is not one), never the key.
      throw new CertmintError(
        "failed_precondition",
        "KEK_MISMATCH",
        `the key-encryption key does not match the one this database's CA keys were sealed with; ${refusing} (nothing was changed)`,
        { cause: err },
      );
    }
  } else if (sealedCa) {
    // Until stop 41 of 2026-12-06 a missing check value was written anew with whatever KEK
    // was given: a wrong one started SERVING unable to sign, and from then on the right one
    // was refused as a mismatch (an outside probe).
    try {
      openPrivateKey(kek, Buffer.from(sealedCa.sealedPrivateKey), caKeyAad(sealedCa.id));
    } catch (err) {
      throw new CertmintError(
        "failed_precondition",
        "KEK_MISMATCH",
        `the key-encryption key does not unseal the key of certificate authority "${sealedCa.slug}", and this database has no KEK check value to compare it with (lost in a partial restore?); ${refusing} (nothing was changed): give the key its CA keys were sealed with`,
        { cause: err },
      );
    }
  }
}
