/**
 * ACME protocol state (src/acme; tables of migration 20261202120000Acme): nonces, accounts,
 * orders, authorizations, challenges and External Account Binding keys. The records keep
 * their columns' names: they are the protocol's state as RFC 8555 names it, read by the ACME
 * handlers only, not domain entities. Every write is one statement, or one short transaction
 * (`Store.transaction`), so a crash between requests leaves a state a client can resume from.
 */

import type { PageQuery } from "./paging";

/** How long a nonce may wait to be spent; older ones are refused and swept. */
export const NONCE_LIFETIME_MS = 60 * 60 * 1000;

/**
 * How long an order that never led to a certificate is kept after it expired: long enough for a
 * client (or an operator reading the audit trail) to look at why it failed, short enough that
 * what accounts leave behind does not grow for good. Orders that issued, or still wait for an
 * approver (processing), are kept.
 */
export const ORDER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** How long an order and its authorizations stay usable (RFC 8555 7.1.3 `expires`). */
export const ORDER_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export type AcmeAccountStatus = "valid" | "deactivated" | "revoked";
export type AcmeOrderStatus = "pending" | "ready" | "processing" | "valid" | "invalid";
export type AcmeAuthorizationStatus =
  | "pending"
  | "valid"
  | "invalid"
  | "deactivated"
  | "expired"
  | "revoked";
export type AcmeChallengeStatus = "pending" | "processing" | "valid" | "invalid";
export type AcmeChallengeType = "http-01" | "tls-alpn-01" | "dns-01";

/** An identifier of an order (RFC 8555 9.7.7: dns; RFC 8738: ip). */
export interface AcmeIdentifier {
  type: "dns" | "ip";
  value: string;
}

/** A problem document (RFC 7807) as ACME sends it, kept on failed orders and challenges. */
export interface ProblemDocument {
  type: string;
  detail: string;
  status?: number;
  identifier?: AcmeIdentifier;
  subproblems?: ProblemDocument[];
  algorithms?: string[];
}

export interface AccountRow {
  id: string;
  profile_id: string;
  key_thumbprint: string;
  jwk: Record<string, string>;
  status: AcmeAccountStatus;
  contact: string[];
  eab_key_id: string | null;
  created_at: Date;
}

export interface OrderRow {
  id: string;
  account_id: string;
  profile_id: string;
  status: AcmeOrderStatus;
  identifiers: AcmeIdentifier[];
  expires_at: Date;
  error: ProblemDocument | null;
  certificate_request_id: string | null;
  certificate_id: string | null;
  replaces: string | null;
  /** Set by every change of status (a finalize's start included). */
  updated_at: Date;
}

export interface AuthorizationRow {
  id: string;
  order_id: string;
  account_id: string;
  identifier_type: "dns" | "ip";
  identifier_value: string;
  wildcard: boolean;
  status: AcmeAuthorizationStatus;
  expires_at: Date;
}

export interface ChallengeRow {
  id: string;
  authorization_id: string;
  type: AcmeChallengeType;
  token: string;
  status: AcmeChallengeStatus;
  validated_at: Date | null;
  error: ProblemDocument | null;
  /** When its validation started; null before it did (and for challenges from before 2026-12-03). */
  started_at: Date | null;
}

export interface ExternalAccountKeyRow {
  key_id: string;
  profile_id: string;
  account_id: string | null;
  /** The access token that created it (CreateAcmeExternalAccountKey); null: none recorded. */
  creator_id: string | null;
  /** When an admin revoked it (RevokeAcmeExternalAccountKey); null while not revoked. */
  revoked_at: Date | null;
  /**
   * The bound of the credential that created it (Actor.credentialsUntil: its creator's expiry,
   * or the client certificate it called with, if earlier); null: none (or made before stop 56).
   */
  usable_until?: Date | null;
  /**
   * The tokens its creation rested on besides its creator (the client certificate its creator
   * called with was vouched for by them): their line's cut revokes it too.
   */
  vouched_by?: string[] | null;
}

/**
 * An External Account Binding key as an admin lists it (ListAcmeExternalAccountKeys): never an
 * HMAC key (none is stored). `id` is the row's (a UUID, the list's keyset cursor), `keyId` the
 * JWS kid the key's holder sends.
 */
export interface ExternalAccountKey {
  id: string;
  keyId: string;
  profileId: string;
  creatorId: string | null;
  accountId: string | null;
  createdAt: Date;
  /** created_at to the microsecond (PageCursor.createdAtText). */
  createdAtText: string;
  boundAt: Date | null;
  revokedAt: Date | null;
}

/** An ACME account as an admin lists it (ListAcmeAccounts): never its public key's JWK. */
export interface AcmeAccount {
  id: string;
  profileId: string;
  status: AcmeAccountStatus;
  contact: string[];
  keyThumbprint: string;
  externalAccountKeyId: string | null;
  createdAt: Date;
  /** created_at to the microsecond (PageCursor.createdAtText). */
  createdAtText: string;
  updatedAt: Date;
}

/** An ACME account deactivated with the line of a revoked token (accountsBoundByLine). */
export interface LineBoundAccount {
  id: string;
  /** The External Account Binding key it was bound with, and that key's creator. */
  eab_key_id: string;
  creator_id: string;
}

/** What a finished validation records (RFC 8555 7.5.1). */
export type ChallengeResult = { valid: true } | { valid: false; error: ProblemDocument };

export interface AcmeRepository {
  // ---- nonces (RFC 8555 6.5) ----
  /** Stores a fresh nonce and returns it. */
  newNonce(now: Date): Promise<string>;
  /** Spends a nonce: true once, false for a replay, an unknown or an expired nonce. */
  spendNonce(value: string, now: Date): Promise<boolean>;
  /** Deletes the nonces older than their lifetime. */
  sweepNonces(now: Date): Promise<void>;
  /**
   * Deletes up to `limit` orders that never led to a certificate (pending, ready, invalid) and
   * expired more than ORDER_RETENTION_MS ago, with their authorizations and challenges; returns
   * how many orders it deleted.
   */
  sweepOrders(now: Date, limit: number): Promise<number>;

  // ---- accounts (RFC 8555 7.3) ----
  /** Whether an ACME account of any profile has this key (RFC 7638 thumbprint). */
  anyAccountHasKey(thumbprint: string): Promise<boolean>;
  accountByKey(profileId: string, thumbprint: string): Promise<AccountRow | undefined>;
  account(id: string): Promise<AccountRow | undefined>;
  /** Inserts an account; undefined when the key already has one (a concurrent newAccount). */
  insertAccount(
    account: Omit<AccountRow, "id" | "created_at" | "status">,
    now: Date,
  ): Promise<AccountRow | undefined>;
  updateAccount(
    id: string,
    change: { status?: AcmeAccountStatus; contact?: string[] },
    now: Date,
  ): Promise<AccountRow>;
  /**
   * Key rollover (RFC 8555 7.3.5); UniqueConflict("account_key") when another account of the
   * profile has the new key.
   */
  replaceAccountKey(
    id: string,
    jwk: Record<string, string>,
    thumbprint: string,
    now: Date,
  ): Promise<void>;

  // ---- orders, authorizations, challenges (RFC 8555 7.4, 7.5) ----
  /**
   * An order with one authorization per identifier and its challenges; run it in a
   * transaction (with the order's audit record), so none exists without the others.
   */
  insertOrder(
    order: Pick<OrderRow, "account_id" | "profile_id" | "identifiers" | "replaces">,
    challengesFor: (identifier: AcmeIdentifier, wildcard: boolean) => AcmeChallengeType[],
    now: Date,
  ): Promise<OrderRow>;
  order(id: string): Promise<OrderRow | undefined>;
  /** The account's unfinished orders (pending, ready, processing), newest first, at most 1000. */
  ordersOf(accountId: string): Promise<Array<{ id: string }>>;
  authorizationsOf(orderId: string): Promise<AuthorizationRow[]>;
  authorization(id: string): Promise<AuthorizationRow | undefined>;
  challengesOf(authorizationId: string): Promise<ChallengeRow[]>;
  challenge(id: string): Promise<ChallengeRow | undefined>;
  /**
   * pending -> processing, once, and only while its authorization is pending with no other
   * challenge processing (RFC 8555 7.1.6: one validation at a time per authorization, so a
   * failing one cannot make it invalid after another made it valid); false otherwise.
   * `startedAt` null: accepted while no validation place was free, to be started by a later
   * poll (restartStalledChallenge takes it as started at an unknown time).
   */
  startChallenge(id: string, startedAt: Date | null): Promise<boolean>;
  /**
   * Claims a challenge whose validation started before `startedBefore` (or at an unknown time)
   * and never finished, to run it again: true for one caller, which then runs it.
   */
  restartStalledChallenge(id: string, startedBefore: Date, now: Date): Promise<boolean>;
  /**
   * Records a validation's result, in one transaction: the challenge, its authorization and,
   * when every authorization of the order is valid, the order becomes ready (RFC 8555 7.1.6);
   * an invalid one makes the order invalid.
   */
  finishChallenge(challenge: ChallengeRow, result: ChallengeResult, now: Date): Promise<void>;
  /** ready -> processing, once (a second finalize gets orderNotReady). */
  startFinalize(orderId: string, now: Date): Promise<boolean>;
  /**
   * processing -> ready for an order whose finalize started before `startedBefore` and never
   * recorded its certificate request (the process stopped, or the database went away, in
   * between); false when the order is not such an order (any more).
   */
  reopenInterruptedFinalize(orderId: string, startedBefore: Date, now: Date): Promise<boolean>;
  finishOrder(
    orderId: string,
    result: {
      status: AcmeOrderStatus;
      certificateRequestId?: string;
      certificateId?: string;
      error?: ProblemDocument;
    },
    now: Date,
  ): Promise<void>;
  /** Deactivates it and makes its order invalid (RFC 8555 7.1.6), in one statement. */
  deactivateAuthorization(id: string, now: Date): Promise<void>;
  /**
   * The account's authorizations that are valid and unexpired at `now`, of these identifier
   * values (RFC 8555 7.6: an account holding them for every name of a certificate may revoke
   * it); a wildcard one names its base name with `wildcard` set. Only orders created within
   * ORDER_LIFETIME_MS are looked at: an authorization expires with its order.
   */
  validAuthorizationsFor(
    accountId: string,
    values: readonly string[],
    now: Date,
  ): Promise<Array<Pick<AuthorizationRow, "identifier_type" | "identifier_value" | "wildcard">>>;
  /**
   * RFC 9773 5: the order that replaces this certificate (its canonical identifier) and can
   * still become valid, if any: not invalid, not past its expiry while pending or ready, none of
   * its authorizations deactivated, invalid or expired.
   */
  replacedBy(replaces: string, now: Date): Promise<string | undefined>;
  /** Holds the orders replacing this certificate back until the transaction ends. */
  lockReplaced(replaces: string): Promise<void>;

  // ---- External Account Binding keys (RFC 8555 7.3.4) ----
  insertExternalAccountKey(
    keyId: string,
    profileId: string,
    creatorId: string | null,
    now: Date,
    usableUntil?: Date | null,
    vouchedBy?: string[] | null,
  ): Promise<void>;
  /** The key, locked until the transaction ends (so two accounts cannot bind one key). */
  lockExternalAccountKey(keyId: string): Promise<ExternalAccountKeyRow | undefined>;
  /**
   * Inside the transaction that binds a key: the key's creator token, its row held FOR SHARE
   * until the transaction ends (as the storing statements hold a caller's: callersInForce,
   * store/repositories/issuance.ts), so a revocation of the creator (FOR NO KEY UPDATE, then
   * an UPDATE of revoked_at) either committed before and is read here, or waits for the
   * binding's commit; null when the token row is gone.
   */
  lockExternalAccountKeyCreator(creatorId: string): Promise<ExternalAccountKeyCreator | null>;
  bindExternalAccountKey(keyId: string, accountId: string, now: Date): Promise<void>;
  /**
   * The accounts still valid bound with an External Account Binding key that one of `creatorIds`
   * created (acme_eab_key.creator_id), oldest first (created_at, id), each row locked FOR NO KEY
   * UPDATE in that order until the transaction ends (its status read again under the lock: one
   * deactivated meanwhile is left out), for its deactivation (updateAccount). The keys' rows are
   * read without a lock (a binding in flight holds its key, then waits for its creator's row).
   */
  accountsBoundByLine(creatorIds: readonly string[]): Promise<LineBoundAccount[]>;
  /**
   * Revokes (revoked_at = `now`) the External Account Binding keys created by `creatorIds` (or
   * made over a client certificate one of them vouched for: ExternalAccountKeyRow.vouched_by) that
   * no account was bound with yet and that are not revoked already; returns their key ids. One a
   * binding in flight holds is skipped: that binding waits for its creator's row, which the
   * caller holds, is refused once it commits, and then revokes the key (revokeKeyWithItsCreator).
   */
  revokeUnboundKeysOf(creatorIds: readonly string[], now: Date): Promise<string[]>;
  /**
   * Revokes an unbound, unrevoked key whose creator token is revoked, as of its creator's
   * revocation (the cut that skipped it); nothing for any other key. Whether it did.
   */
  revokeKeyWithItsCreator(keyId: string): Promise<boolean>;

  // ---- an admin's lists and revocations (CertificateProfileService) ----
  /** A page of a profile's keys, oldest first (created_at, id), in every state. */
  externalAccountKeysOf(profileId: string, page: PageQuery): Promise<ExternalAccountKey[]>;
  /** A page of a profile's accounts, oldest first (created_at, id), in every status. */
  accountsOf(profileId: string, page: PageQuery): Promise<AcmeAccount[]>;
  /**
   * The key by its key id, its row locked FOR UPDATE until the transaction ends (the lock a
   * binding takes: lockExternalAccountKey); undefined when no key has the id.
   */
  lockExternalAccountKeyForRevocation(keyId: string): Promise<ExternalAccountKey | undefined>;
  /** Sets revoked_at where it is null; the key as it is then. */
  markExternalAccountKeyRevoked(keyId: string, now: Date): Promise<ExternalAccountKey>;
  /**
   * The account, its row locked FOR NO KEY UPDATE until the transaction ends (the lock of its
   * UPDATE: a finalize's store holding it FOR SHARE commits first, or waits and then reads its
   * new status); undefined when no account has the id.
   */
  lockAccount(id: string): Promise<AcmeAccount | undefined>;
  /**
   * The account, its row held FOR SHARE until the transaction ends (a newOrder): its
   * revocation or deactivation (lockAccount) waits for it, or commits first and is read here.
   */
  shareAccount(id: string): Promise<AcmeAccount | undefined>;
  /**
   * valid -> revoked (RFC 8555 7.1.2: the server's own deactivation), of an account the
   * transaction locked (lockAccount) and found valid; the account as it is then.
   */
  markAccountRevoked(id: string, now: Date): Promise<AcmeAccount>;
}

/** The token that created an External Account Binding key, as a binding reads it (acme/eab.ts). */
export interface ExternalAccountKeyCreator {
  slug: string;
  revoked_at: Date | null;
  expires_at: Date;
  /** Null for certmint's first admin token, whose expiry bounds nothing it creates. */
  creator_id: string | null;
}
