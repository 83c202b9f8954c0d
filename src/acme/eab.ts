import { randomBytes } from "node:crypto";
import { type CallerLocks, changeTransaction } from "../issuance/access-tokens/caller";
import { boundsWhatItCreates } from "../issuance/access-tokens/lifetime";
import { changeRecord } from "../issuance/audit/record";
import { type Call, refuseIfAbandoned } from "../issuance/call";
import { lineVouchers } from "../issuance/certificates/credential-lifetime";
import type { IssuanceDeps } from "../issuance/deps";
import type {
  AcmeRepository,
  AuditRepository,
  ProfileRepository,
  StoreWith,
} from "../issuance/repositories";
import { verifyHmac } from "../signer/jws";
import { acmeProfileNamed } from "./admin/profile";
import type { AcmeExchange } from "./http/exchange";
import { decodeB64url, parseFlattenedJws, parseJson, protectedHeaderOf } from "./http/jws-request";
import { AcmeProblem, malformed, unauthorized } from "./problem";

/**
 * External Account Binding keys (RFC 8555 7.3.4). An admin creates one for a profile
 * (CreateAcmeExternalAccountKey) and hands its id and HMAC key to whoever may open an account.
 * The HMAC key is derived from the key-encryption key and the id (HKDF, then HMAC-SHA256,
 * src/signer/mac.ts), 256 bits as RFC 7518 3.2 asks of HS256, and never stored: every replica
 * derives the same one, and a database dump alone cannot forge a binding.
 */
export function externalAccountHmacKey(deps: Pick<IssuanceDeps, "keyring">, keyId: string): Buffer {
  const mac = deps.keyring.macFor("acme external account binding");
  return Buffer.concat([mac.tag(keyId, "hmac key, first half"), mac.tag(keyId, "second half")]);
}

/**
 * A new key id: 128 random bits in base64url, drawn again while it starts with "-" or "_" (1 in 32;
 * a few bits less than 128 of entropy, none that matters for a name). An id starting with "-"
 * reads as an option on every command line it is pasted into (`certmint profile revoke-acme-key
 * -Fx...`, lego's `--eab-kid`), and until stop 50 of 2026-12-06 one in 64 did: a CI run failed on
 * one. `random` is the source, replaceable to test the redraw.
 */
export function newExternalAccountKeyId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString("base64url");
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

/**
 * CreateAcmeExternalAccountKey: a new key for an ACME profile, its id and HMAC key (base64url)
 * returned once. NOT_FOUND for an unknown profile; FAILED_PRECONDITION (PROFILE_NOT_ACME) for a
 * profile that does not enroll by ACME. The key and its audit record commit together.
 */
export interface CreateExternalAccountKeyDeps extends Pick<IssuanceDeps, "keyring" | "now"> {
  store: StoreWith<
    CallerLocks & {
      profiles: Pick<ProfileRepository, "find">;
      acme: Pick<AcmeRepository, "insertExternalAccountKey">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
}

export async function createExternalAccountKey(
  deps: CreateExternalAccountKeyDeps,
  call: Call,
  profileRef: string,
): Promise<{ keyId: string; hmacKey: string; profileId: string }> {
  const profile = await acmeProfileNamed(deps.store, profileRef, "External Account Binding keys");
  refuseIfAbandoned(call);
  const keyId = newExternalAccountKeyId();
  const now = deps.now();
  await changeTransaction(deps, { call }, async (tx) => {
    // The bound of the credential that made it (an admin binding's client certificate issued
    // by a shorter-lived token, say): certificates/credential-lifetime.ts.
    await tx.acme.insertExternalAccountKey(
      keyId,
      profile.id,
      call.actor.id,
      now,
      call.actor.credentialsUntil ?? null,
      lineVouchers(call.actor),
    );
    // The key id it created (never the HMAC key): which binding was minted by whom. Until stop
    // 43 of 2026-12-06 the record named only the profile (an outside probe).
    await tx.audit.insert(
      changeRecord(call, { type: "certificate_profile", id: profile.id }, now, undefined, [
        { field: "external_account_key_id", after: keyId },
      ]),
    );
  });
  return {
    keyId,
    hmacKey: externalAccountHmacKey(deps, keyId).toString("base64url"),
    profileId: profile.id,
  };
}

/**
 * Checks newAccount's externalAccountBinding: a JWS with alg HS256/384/512, kid a key of this
 * profile not yet bound and not revoked (RevokeAcmeExternalAccountKey), url the newAccount URL,
 * and as payload the account key itself, MACed with that key. Returns the key id; the caller binds it in the same transaction
 * (the row is locked here, so two accounts cannot bind one key).
 *
 * An EAB key is a credential its creator delegated (RFC 8555 7.3.4: the CA's own account
 * system vouches for the binding): a key whose creator token is revoked binds no account any
 * more, `unauthorized`, whether the creator was revoked alone or with its line
 * (revoke_created_tokens): a leaked admin token's holder may have made keys, handed on or kept.
 * The creator's row is read FOR SHARE in the binding's transaction, after the key's own lock
 * (lockExternalAccountKeyCreator), as a storing statement holds its caller (callersInForce): a
 * revocation committed first is seen; one that comes later waits for the binding's commit, and a
 * cascade then finds the account bound and deactivates it (access-tokens/revoke.ts). No
 * deadlock: a revocation locks token rows, never a key's (it reads keys without a lock and
 * updates accounts, which a binding in flight has not committed); RevokeAcmeExternalAccountKey
 * takes the key's lock first, as a binding does, so the two run one after the other
 * (acme/admin/keys.ts says its order of locks). A key with no creator
 * recorded (creator_id null), or whose creator row is gone, binds as before. A key whose
 * creator expired is refused too (since stop 52 of 2026-12-07: a key lasts no longer than the
 * token that made it, access-tokens/lifetime.ts; certmint's first admin token excepted, as for
 * the tokens it makes); until then only a revoked creator stopped a binding, and a key made
 * with a leaked hour-long token bound accounts for good (an outside probe, AUTHZ F1). Accounts
 * already bound stay valid, as after a plain revocation of the creator. Until stop 47 of
 * 2026-12-06 the creator was not looked at, and the keys of a revoked line kept opening
 * accounts that got certificates (an outside probe, S F1; test/auth/stop47-line-leftovers.test.ts).
 */
export async function verifyExternalAccountBinding(
  x: AcmeExchange,
  tx: { acme: Pick<AcmeRepository, "lockExternalAccountKey" | "lockExternalAccountKeyCreator"> },
  binding: unknown,
  accountJwk: Record<string, string>,
): Promise<string> {
  const jws = parseFlattenedJws(binding);
  const header = protectedHeaderOf(jws);
  if (!/^HS(256|384|512)$/.test(header.alg)) {
    throw malformed("externalAccountBinding alg must be HS256, HS384 or HS512");
  }
  if ("nonce" in header) throw malformed("externalAccountBinding must not carry a nonce");
  if (header.url !== x.url)
    throw malformed("externalAccountBinding url must be the newAccount URL");
  if (typeof header.kid !== "string" || header.kid === "") {
    throw malformed("externalAccountBinding needs the key id as kid");
  }
  const key = await tx.acme.lockExternalAccountKey(header.kid);
  if (!key || key.profile_id !== x.profile.id) {
    throw unauthorized("externalAccountBinding names no key of this profile");
  }
  const signature = decodeB64url(jws.signature, "externalAccountBinding signature");
  const hmacKey = externalAccountHmacKey(x.ctx.deps, key.key_id);
  if (!verifyHmac(header.alg, hmacKey, `${jws.protected}.${jws.payload}`, signature)) {
    throw unauthorized("the externalAccountBinding MAC does not verify");
  }
  // After the MAC: only the key's holder learns whether it is revoked, or bound, or its creator
  // revoked (until stop 48 of 2026-12-06 "bound" came before the MAC, so anyone who knew a key
  // id learned whether it had bound an account: an outside probe, F7). A revoked key's row is
  // kept for ListAcmeExternalAccountKeys, and this column refuses it.
  if (key.revoked_at) {
    throw unauthorized(
      `this External Account Binding key was revoked at ${key.revoked_at.toISOString()} (by an admin, RevokeAcmeExternalAccountKey, or with the access-token line that created it), so it binds no account; ask an admin to create a new key (CreateAcmeExternalAccountKey)`,
    );
  }
  if (key.account_id !== null) {
    throw unauthorized("this External Account Binding key is bound to another account already");
  }
  const creator = key.creator_id
    ? await tx.acme.lockExternalAccountKeyCreator(key.creator_id)
    : null;
  if (creator?.revoked_at) {
    throw new KeyOfRevokedCreator(
      key.key_id,
      `this External Account Binding key's creator (an access token) was revoked at ${creator.revoked_at.toISOString()}, so the key binds no account any more; ask an admin to create a new key (CreateAcmeExternalAccountKey)`,
    );
  }
  // Nor a key whose creator expired (access-tokens/lifetime.ts): a key lasts no longer than the
  // token that made it, as a token it creates. Its row is left as it is: nothing the binding
  // may write, and the listing names the creator, whose state says EXPIRED.
  const expired = creator && creator.expires_at.getTime() <= x.now.getTime();
  if (expired && boundsWhatItCreates({ creatorId: creator.creator_id })) {
    throw unauthorized(
      `this External Account Binding key's creator (an access token) expired at ${creator.expires_at.toISOString()}, and a key lasts no longer than the token that made it, so it binds no account any more; ask an admin to create a new key (CreateAcmeExternalAccountKey)`,
    );
  }
  // Nor a key made over a client certificate of a token since revoked (its vouchers: a cut of
  // their line revokes the key, but skips one a binding holds, as for its creator above).
  for (const voucherId of key.vouched_by ?? []) {
    const voucher = await tx.acme.lockExternalAccountKeyCreator(voucherId);
    if (voucher?.revoked_at) {
      throw new KeyOfRevokedCreator(
        key.key_id,
        `this External Account Binding key was made over a client certificate issued by an access token revoked at ${voucher.revoked_at.toISOString()}, so it binds no account any more; ask an admin to create a new key (CreateAcmeExternalAccountKey)`,
      );
    }
  }
  // Nor a key made over a client certificate whose bound has passed (credential-lifetime.ts):
  // its creator's own expiry may be later.
  const usableUntil = key.usable_until ? new Date(key.usable_until) : null;
  if (usableUntil && usableUntil.getTime() <= x.now.getTime()) {
    throw unauthorized(
      `this External Account Binding key was created over a credential that lasted until ${usableUntil.toISOString()}, and a key lasts no longer than the credential that made it, so it binds no account any more; ask an admin to create a new key (CreateAcmeExternalAccountKey)`,
    );
  }
  const payload = parseJson(
    decodeB64url(jws.payload, "externalAccountBinding payload"),
    "externalAccountBinding payload",
  ) as Record<string, unknown>;
  const same =
    payload !== null &&
    typeof payload === "object" &&
    Object.keys(accountJwk).every((k) => payload[k] === accountJwk[k]);
  if (!same) {
    throw new AcmeProblem("malformed", "externalAccountBinding must sign the account key");
  }
  return key.key_id;
}

/**
 * The refusal of a key whose creator token is revoked. A line cut revokes its unbound keys, but
 * skips one a binding in flight holds (revokeUnboundKeysOf: SKIP LOCKED, to avoid a deadlock);
 * that binding is this refusal, and once its transaction is undone the newAccount handler
 * revokes the key with its creator (revokeKeyWithItsCreator), so no key of a cut line stays
 * listed as unrevoked (found by an outside probe, stop 48, F3).
 */
export class KeyOfRevokedCreator extends AcmeProblem {
  constructor(
    readonly keyId: string,
    detail: string,
  ) {
    super("unauthorized", detail, 403);
  }
}
