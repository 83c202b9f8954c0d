import { invalidField, notFound, quoted } from "../../errors";
import { type CallerLocks, changeTransaction } from "../../issuance/access-tokens/caller";
import { type AccountEndStore, recordAccountEnd } from "../../issuance/acme-accounts/end";
import type { FieldChange } from "../../issuance/audit/changes";
import type { Call } from "../../issuance/call";
import type { Page, PageRequest } from "../../issuance/common/list-page";
import { isUuid } from "../../issuance/common/refs";
import type { AcmeAccount, AcmeRepository, StoreWith } from "../../issuance/repositories";
import { type ProfileListDeps, profilePage } from "./profile";

export interface ListAcmeAccountsDeps extends ProfileListDeps {
  store: ProfileListDeps["store"] & { acme: Pick<AcmeRepository, "accountsOf"> };
}

/** ListAcmeAccounts: a profile's accounts in every status (profilePage). */
export function listAcmeAccounts(
  deps: ListAcmeAccountsDeps,
  request: PageRequest & { caller: string; profile: string },
): Promise<Page<AcmeAccount>> {
  return profilePage(deps, request, "ListAcmeAccounts", (id, query) =>
    deps.store.acme.accountsOf(id, query),
  );
}

/** What revoking an account locked for it takes (revokeLockedAccount). */
export type AccountRevocationStore = AccountEndStore & {
  acme: Pick<AcmeRepository, "lockAccount" | "markAccountRevoked">;
};

export interface RevokeAcmeAccountDeps {
  store: StoreWith<CallerLocks & AccountRevocationStore>;
  now: () => Date;
}

/**
 * RevokeAcmeAccount: a valid account becomes "revoked" (RFC 8555 7.1.2: deactivated by the
 * server), with its audit record and its requests waiting for approval rejected, in one
 * transaction (changeTransaction: the caller's token held FOR SHARE first, as every
 * administrative change). From the commit on, every request it signs is refused `unauthorized`
 * (acme/http/jws-request.ts: its status is not valid), and a finalize in flight stores nothing
 * (its storing statement holds the account FOR SHARE while it is valid, accountsInForce in
 * store/repositories/issuance.ts: this revocation's lock waits for that store's commit, or the
 * store waits for this commit and then finds the account revoked). An account that is not valid
 * (deactivated, revoked) is returned as it is, unchanged and with no record of a change. Its
 * certificates stay valid (RevokeCertificate revokes them).
 */
export async function revokeAcmeAccount(
  deps: RevokeAcmeAccountDeps,
  call: Call,
  ref: string,
): Promise<AcmeAccount> {
  const id = acmeAccountId(ref);
  return changeTransaction(deps, { call }, async (tx) => {
    const account = await tx.acme.lockAccount(id);
    if (!account) throw acmeAccountNotFound(id);
    return (await revokeLockedAccount(tx, call, account, [], deps.now())) ?? account;
  });
}

/**
 * Revokes `account`, whose row the transaction holds (lockAccount), when it is
 * still valid: its status, its record under `call` (the status, the key it was bound with, and
 * `cause`), its requests waiting for approval rejected (recordAccountEnd). Returns it revoked;
 * undefined when it was not valid (nothing written).
 */
export async function revokeLockedAccount(
  tx: AccountRevocationStore,
  call: Call,
  account: AcmeAccount,
  cause: readonly FieldChange[],
  now: Date,
): Promise<AcmeAccount | undefined> {
  if (account.status !== "valid") return undefined;
  const revoked = await tx.acme.markAccountRevoked(account.id, now);
  const key: FieldChange[] = account.externalAccountKeyId
    ? [{ field: "external_account_key_id", after: account.externalAccountKeyId }]
    : [];
  await recordAccountEnd(tx, call, account.id, "revoked", [...key, ...cause], now);
  return revoked;
}

/**
 * An account is named by its id, the last segment of its account URL, a UUID: anything else is
 * INVALID_ARGUMENT, as a certificate request id is (certificates/find.ts findRequest).
 */
function acmeAccountId(ref: string): string {
  const id = ref.trim();
  if (!isUuid(id)) {
    throw invalidField(
      "ACME_ACCOUNT_ID_INVALID",
      `acme_account must be an ACME account's id, the UUID that ends its account URL (got ${quoted(ref)})`,
      "acme_account",
      "not a UUID",
    );
  }
  return id.toLowerCase();
}

const acmeAccountNotFound = (id: string) =>
  notFound("ACME_ACCOUNT_NOT_FOUND", `no ACME account ${id}`, {
    metadata: { acme_account: id },
  });
