import { invalidField, notFound, quoted } from "../../errors";
import { type CallerLocks, requireCallerInForce } from "../../issuance/access-tokens/caller";
import { changeRecord } from "../../issuance/audit/record";
import type { Call } from "../../issuance/call";
import type { Page, PageRequest } from "../../issuance/common/list-page";
import type {
  AcmeAccount,
  AcmeRepository,
  ExternalAccountKey,
  StoreWith,
} from "../../issuance/repositories";
import { type AccountRevocationStore, revokeLockedAccount } from "./accounts";
import { type ProfileListDeps, profilePage } from "./profile";

export interface ListExternalAccountKeysDeps extends ProfileListDeps {
  store: ProfileListDeps["store"] & { acme: Pick<AcmeRepository, "externalAccountKeysOf"> };
}

/**
 * ListAcmeExternalAccountKeys: a profile's External Account Binding keys (RFC 8555 7.3.4),
 * bound, unbound and revoked (profilePage); never an HMAC key (none is stored: acme/eab.ts). Keys
 * a cut token line revoked unbound (access-tokens/line.ts) are listed revoked (those it deleted
 * before stop 48 of 2026-12-06 are gone; the cut's audit record names them).
 */
export function listExternalAccountKeys(
  deps: ListExternalAccountKeysDeps,
  request: PageRequest & { caller: string; profile: string },
): Promise<Page<ExternalAccountKey>> {
  return profilePage(deps, request, "ListAcmeExternalAccountKeys", (id, query) =>
    deps.store.acme.externalAccountKeysOf(id, query),
  );
}

export interface RevokeExternalAccountKeyDeps {
  store: StoreWith<
    CallerLocks &
      AccountRevocationStore & {
        acme: Pick<
          AcmeRepository,
          "lockExternalAccountKeyForRevocation" | "markExternalAccountKeyRevoked"
        >;
      }
  >;
  now: () => Date;
}

/** The key revoked, and the account this call revoked with it (none when it revoked none). */
export interface RevokedExternalAccountKey {
  readonly key: ExternalAccountKey;
  readonly revokedAccount?: AcmeAccount;
}

/**
 * RevokeAcmeExternalAccountKey: the key's revoked_at is set, once; from the commit on it binds
 * no account (acme/eab.ts verifyExternalAccountBinding refuses it `unauthorized`; the row is
 * kept, not deleted, so that the list still shows who made it and what it bound). The account it
 * bound holds the key's authority: still valid, it is revoked in the same transaction as
 * RevokeAcmeAccount revokes one (revokeLockedAccount: audited, its waiting requests rejected).
 * The key's own record (resource: the key, acme_external_account_key and its key_id, so that a
 * refusal of the same call, recorded against the key it named, is found beside it) is written
 * last, so it is the call's. A key revoked already is returned as it is, nothing written.
 *
 * Order of locks: the key's row (FOR UPDATE), the caller's token (FOR SHARE, requireCallerInForce,
 * which changeTransaction would take first), then the bound account's (FOR NO KEY UPDATE).
 *  - A binding in flight (acme/eab.ts) locks the key FOR UPDATE and then its creator FOR SHARE:
 *    both take the key first, so one waits for the other to commit, and this never holds a
 *    token's row a binding waits for. With the caller first, a cut of a line holding both the
 *    caller and the key's creator (FOR NO KEY UPDATE) would close a cycle: the cut waiting for
 *    this call's caller, this call for the key, the binding for the creator.
 *  - A cut of a token line (access-tokens/revoke.ts, line.ts) locks tokens, then skips a key
 *    held here (revokeUnboundKeysOf: SKIP LOCKED), then locks the line's accounts: it waits for
 *    no row this call holds until the accounts, and this call, holding the key, waits at most for
 *    the cut's tokens, before it takes any account. A cut that commits first leaves the caller
 *    revoked (refused TOKEN_REVOKED, nothing written) or the account deactivated (left as it is).
 *  - A finalize's store holds its account FOR SHARE (accountsInForce): the account's lock here
 *    waits for its commit, and a store after this commit finds the account revoked.
 */
export async function revokeExternalAccountKey(
  deps: RevokeExternalAccountKeyDeps,
  call: Call,
  ref: string,
): Promise<RevokedExternalAccountKey> {
  const keyId = ref.trim();
  if (keyId === "") {
    throw invalidField(
      "REFERENCE_MISSING",
      "key_id is required (the key identifier CreateAcmeExternalAccountKey returned)",
      "key_id",
      "name the key by its key_id",
    );
  }
  return deps.store.transaction(async (tx) => {
    const key = await tx.acme.lockExternalAccountKeyForRevocation(keyId);
    if (!key) {
      throw notFound(
        "ACME_EXTERNAL_ACCOUNT_KEY_NOT_FOUND",
        `no External Account Binding key ${quoted(keyId)}`,
        { metadata: { key_id: keyId.slice(0, 64) } },
      );
    }
    await requireCallerInForce(tx, call, deps.now());
    if (key.revokedAt) return { key };
    const now = deps.now();
    const revoked = await tx.acme.markExternalAccountKeyRevoked(key.keyId, now);
    const bound = key.accountId ? await tx.acme.lockAccount(key.accountId) : undefined;
    const revokedAccount = bound
      ? await revokeLockedAccount(
          tx,
          call,
          bound,
          [{ field: "revoked_with_external_account_key_id", after: key.keyId }],
          now,
        )
      : undefined;
    await tx.audit.insert(
      changeRecord(call, { type: "acme_external_account_key", id: key.keyId }, now, undefined, [
        { field: "certificate_profile_id", after: key.profileId },
        { field: "revoked_external_account_key_id", after: key.keyId },
        ...(revokedAccount ? [{ field: "revoked_acme_account_id", after: revokedAccount.id }] : []),
      ]),
    );
    return { key: revoked, revokedAccount };
  });
}
