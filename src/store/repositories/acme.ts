import { randomBytes, randomUUID } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import {
  type AccountRow,
  type AcmeAccount,
  type AcmeAccountStatus,
  type AcmeChallengeType,
  type AcmeIdentifier,
  type AcmeOrderStatus,
  type AcmeRepository,
  type AuthorizationRow,
  type ChallengeResult,
  type ChallengeRow,
  type ExternalAccountKey,
  type ExternalAccountKeyCreator,
  type ExternalAccountKeyRow,
  type LineBoundAccount,
  NONCE_LIFETIME_MS,
  ORDER_LIFETIME_MS,
  ORDER_RETENTION_MS,
  type OrderRow,
  type PageQuery,
  type ProblemDocument,
} from "../../issuance/repositories";
import { translatingConflicts } from "../rows";
import { UUIDS } from "../uuid-list";

/** The ids of a JSON array bound to `?`, as text: what a vouched_by array holds (jsonb_exists_any). */
const LINE_TEXT_IDS = "select jsonb_array_elements_text(?::jsonb)";

/**
 * The ACME tables (migration 20261202120000Acme), read and written with plain SQL on the
 * ORM's connection (`em()` is a fresh fork, or the transaction's): the rows are protocol
 * state, not entities.
 */
export class OrmAcmeRepository implements AcmeRepository {
  constructor(private readonly em: () => EntityManager) {}

  /** Runs `sql` (`?` placeholders); timestamp columns (named *_at) come back as Dates. */
  private async query<T>(sql: string, params: unknown[] = [], em?: EntityManager): Promise<T[]> {
    const e = em ?? this.em();
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await e.getConnection().execute(sql, params, "all", e.getTransactionContext());
    } catch (err) {
      // A raw statement's driver error is not converted by MikroORM (its own queries' are):
      // convert it, so translatingConflicts sees a UniqueConstraintViolationException.
      throw e
        .getPlatform()
        .getExceptionConverter()
        .convertException(err as Error);
    }
    for (const row of rows) {
      for (const [k, v] of Object.entries(row)) {
        if (k.endsWith("_at") && typeof v === "string") row[k] = new Date(v);
      }
    }
    return rows as T[];
  }

  // ---- nonces (RFC 8555 6.5) ------------------------------------------------------------

  async newNonce(now: Date): Promise<string> {
    const value = randomBytes(16).toString("base64url");
    await this.query(`insert into acme_nonce (value, created_at) values (?, ?)`, [value, now]);
    return value;
  }

  /** Spends a nonce: true once, false for a replay, an unknown or an expired nonce. */
  async spendNonce(value: string, now: Date): Promise<boolean> {
    const rows = await this.query<{ value: string }>(
      `delete from acme_nonce where value = ? and created_at > ? returning value`,
      [value, new Date(now.getTime() - NONCE_LIFETIME_MS)],
    );
    return rows.length === 1;
  }

  async sweepNonces(now: Date): Promise<void> {
    await this.query(`delete from acme_nonce where created_at <= ?`, [
      new Date(now.getTime() - NONCE_LIFETIME_MS),
    ]);
  }

  async sweepOrders(now: Date, limit: number): Promise<number> {
    // Authorizations and challenges go with their order (on delete cascade,
    // Migration20261202120000Acme). In batches of `limit`, so a large backlog holds no lock for
    // long. `certificate_id is null` (true of every order in these statuses: only a valid order
    // has a certificate) lets acme_order_sweep_index serve: a range of the orders that never
    // issued, by expiry, instead of a sequential scan of every order kept
    // (Migration20261204100000WatchAndSweepIndexes). Oldest first, in the index's order, so
    // that with a LIMIT the planner does not expect a batch early in a sequential scan: it
    // estimates the expired share over all orders, the kept ones included (8,937 entries of
    // the range expected where there were 80, test/store/watch-index.test.ts). The batch's ids
    // as an array, each row deleted found by its primary key: joined to the subquery (`id in`)
    // the batch was hashed and the whole table read to find its rows.
    const rows = await this.query<{ id: string }>(
      `delete from acme_order where id = any(array(
         select id from acme_order
          where status in ('pending', 'ready', 'invalid') and certificate_id is null and expires_at < ?
          order by expires_at limit ?))
       returning id`,
      [new Date(now.getTime() - ORDER_RETENTION_MS), limit],
    );
    return rows.length;
  }

  // ---- accounts (RFC 8555 7.3) ----------------------------------------------------------

  async accountByKey(profileId: string, thumbprint: string): Promise<AccountRow | undefined> {
    const [row] = await this.query<AccountRow>(
      `select * from acme_account where profile_id = ? and key_thumbprint = ?`,
      [profileId, thumbprint],
    );
    return row;
  }

  async anyAccountHasKey(thumbprint: string): Promise<boolean> {
    const rows = await this.query<{ id: string }>(
      `select id from acme_account where key_thumbprint = ? limit 1`,
      [thumbprint],
    );
    return rows.length > 0;
  }

  async account(id: string): Promise<AccountRow | undefined> {
    const [row] = await this.query<AccountRow>(`select * from acme_account where id = ?`, [id]);
    return row;
  }

  /** Inserts an account; undefined when the key already has one (a concurrent newAccount). */
  async insertAccount(
    a: Omit<AccountRow, "id" | "created_at" | "status">,
    now: Date,
  ): Promise<AccountRow | undefined> {
    const [row] = await this.query<AccountRow>(
      `insert into acme_account (id, profile_id, key_thumbprint, jwk, status, contact, eab_key_id, created_at, updated_at)
       values (?, ?, ?, ?::jsonb, 'valid', ?::jsonb, ?, ?, ?)
       on conflict (profile_id, key_thumbprint) do nothing returning *`,
      [
        randomUUID(),
        a.profile_id,
        a.key_thumbprint,
        JSON.stringify(a.jwk),
        JSON.stringify(a.contact),
        a.eab_key_id,
        now,
        now,
      ],
    );
    return row;
  }

  async updateAccount(
    id: string,
    change: { status?: AcmeAccountStatus; contact?: string[] },
    now: Date,
  ): Promise<AccountRow> {
    const [row] = await this.query<AccountRow>(
      `update acme_account set status = coalesce(?, status), contact = coalesce(?::jsonb, contact), updated_at = ?
       where id = ? returning *`,
      [change.status ?? null, change.contact ? JSON.stringify(change.contact) : null, now, id],
    );
    return row!;
  }

  /** Key rollover; UniqueConflict("account_key") when another account of the profile has the key. */
  async replaceAccountKey(
    id: string,
    jwk: Record<string, string>,
    thumbprint: string,
    now: Date,
  ): Promise<void> {
    await translatingConflicts(
      () =>
        this.query(
          `update acme_account set jwk = ?::jsonb, key_thumbprint = ?, updated_at = ? where id = ?`,
          [JSON.stringify(jwk), thumbprint, now, id],
        ),
      { acme_account_profile_key_key: "account_key" },
    );
  }

  // ---- orders, authorizations, challenges (RFC 8555 7.4, 7.5) ----------------------------

  async insertOrder(
    order: Pick<OrderRow, "account_id" | "profile_id" | "identifiers" | "replaces">,
    challengesFor: (identifier: AcmeIdentifier, wildcard: boolean) => AcmeChallengeType[],
    now: Date,
  ): Promise<OrderRow> {
    const expires = new Date(now.getTime() + ORDER_LIFETIME_MS);
    const [row] = await this.query<OrderRow>(
      `insert into acme_order (id, account_id, profile_id, status, identifiers, expires_at, replaces, created_at, updated_at)
       values (?, ?, ?, 'pending', ?::jsonb, ?, ?, ?, ?) returning *`,
      [
        randomUUID(),
        order.account_id,
        order.profile_id,
        JSON.stringify(order.identifiers),
        expires,
        order.replaces,
        now,
        now,
      ],
    );
    for (const identifier of order.identifiers) {
      const wildcard = identifier.type === "dns" && identifier.value.startsWith("*.");
      const authzId = randomUUID();
      await this.query(
        `insert into acme_authorization (id, order_id, account_id, identifier_type, identifier_value, wildcard, status, expires_at, created_at)
         values (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        [
          authzId,
          row!.id,
          order.account_id,
          identifier.type,
          wildcard ? identifier.value.slice(2) : identifier.value,
          wildcard,
          expires,
          now,
        ],
      );
      for (const type of challengesFor(identifier, wildcard)) {
        await this.query(
          `insert into acme_challenge (id, authorization_id, type, token, status) values (?, ?, ?, ?, 'pending')`,
          [randomUUID(), authzId, type, randomBytes(32).toString("base64url")],
        );
      }
    }
    return row!;
  }

  async order(id: string): Promise<OrderRow | undefined> {
    const [row] = await this.query<OrderRow>(`select * from acme_order where id = ?`, [id]);
    return row;
  }

  async ordersOf(accountId: string): Promise<Array<{ id: string }>> {
    return this.query(
      `select id from acme_order where account_id = ? and status in ('pending', 'ready', 'processing') order by created_at desc limit 1000`,
      [accountId],
    );
  }

  async authorizationsOf(orderId: string): Promise<AuthorizationRow[]> {
    return this.query(
      `select * from acme_authorization where order_id = ? order by identifier_value`,
      [orderId],
    );
  }

  async authorization(id: string): Promise<AuthorizationRow | undefined> {
    const [row] = await this.query<AuthorizationRow>(
      `select * from acme_authorization where id = ?`,
      [id],
    );
    return row;
  }

  async challengesOf(authorizationId: string): Promise<ChallengeRow[]> {
    return this.query(`select * from acme_challenge where authorization_id = ? order by type`, [
      authorizationId,
    ]);
  }

  async challenge(id: string): Promise<ChallengeRow | undefined> {
    const [row] = await this.query<ChallengeRow>(`select * from acme_challenge where id = ?`, [id]);
    return row;
  }

  /**
   * pending -> processing, once, while its authorization is pending and no other challenge of
   * it is processing (RFC 8555 7.1.6). The authorization's row lock orders concurrent starts of
   * its challenges: the second waits for the first to commit, and its update (a statement of
   * its own, so a fresh snapshot under READ COMMITTED) then sees that challenge processing.
   * The check and the update in one statement would not do: both would read the snapshot from
   * before either committed. Until 2026-12-05 two challenges of one authorization could run at
   * once, and a failing one written last left it invalid beside a valid challenge.
   */
  async startChallenge(id: string, startedAt: Date | null): Promise<boolean> {
    return this.em().transactional(async (tx) => {
      const [authz] = await this.query<{ id: string }>(
        `select a.id from acme_challenge c join acme_authorization a on a.id = c.authorization_id
          where c.id = ? and a.status = 'pending' for update of a`,
        [id],
        tx,
      );
      if (!authz) return false;
      const rows = await this.query(
        `update acme_challenge set status = 'processing', started_at = ? where id = ? and status = 'pending'
           and not exists (select 1 from acme_challenge where authorization_id = ? and status = 'processing')
         returning id`,
        [startedAt, id, authz.id],
        tx,
      );
      return rows.length === 1;
    });
  }

  async restartStalledChallenge(id: string, startedBefore: Date, now: Date): Promise<boolean> {
    const rows = await this.query(
      `update acme_challenge set started_at = ? where id = ? and status = 'processing'
         and (started_at is null or started_at < ?) returning id`,
      [now, id, startedBefore],
    );
    return rows.length === 1;
  }

  /**
   * Records a validation's result: the challenge, its authorization and, when every
   * authorization of the order is valid, the order becomes ready (RFC 8555 7.1.6).
   */
  async finishChallenge(
    challenge: ChallengeRow,
    result: ChallengeResult,
    now: Date,
  ): Promise<void> {
    await this.em().transactional(async (tx) => {
      await this.query(
        `update acme_challenge set status = ?, validated_at = ?, error = ?::jsonb where id = ?`,
        [
          result.valid ? "valid" : "invalid",
          result.valid ? now : null,
          result.valid ? null : JSON.stringify(result.error),
          challenge.id,
        ],
        tx,
      );
      const [authz] = await this.query<AuthorizationRow>(
        `update acme_authorization set status = ? where id = ? and status = 'pending' returning *`,
        [result.valid ? "valid" : "invalid", challenge.authorization_id],
        tx,
      );
      if (!authz) return;
      // The order's row, locked to the commit before its authorizations are counted: two
      // validations of one order ending together each counted the other's authorization still
      // pending (its update not committed yet), neither made the order ready, and it stayed
      // pending with every authorization valid, a client polling it forever (an outside probe of
      // stop 53 of 2026-12-07, LOADACME: 100 challenges answered at once). Locked, the second
      // counts after the first committed (READ COMMITTED: each statement sees what committed
      // before it began).
      await this.query(`select id from acme_order where id = ? for update`, [authz.order_id], tx);
      if (!result.valid) {
        await this.query(
          `update acme_order set status = 'invalid', error = ?::jsonb, updated_at = ? where id = ? and status = 'pending'`,
          [JSON.stringify(result.error), now, authz.order_id],
          tx,
        );
        return;
      }
      await this.query(
        `update acme_order set status = 'ready', updated_at = ? where id = ? and status = 'pending'
           and not exists (select 1 from acme_authorization where order_id = ? and status <> 'valid')`,
        [now, authz.order_id, authz.order_id],
        tx,
      );
    });
  }

  /** ready -> processing, once (a second finalize gets orderNotReady). */
  async startFinalize(orderId: string, now: Date): Promise<boolean> {
    const rows = await this.query(
      `update acme_order set status = 'processing', updated_at = ? where id = ? and status = 'ready' returning id`,
      [now, orderId],
    );
    return rows.length === 1;
  }

  async reopenInterruptedFinalize(
    orderId: string,
    startedBefore: Date,
    now: Date,
  ): Promise<boolean> {
    const rows = await this.query(
      `update acme_order set status = 'ready', updated_at = ? where id = ? and status = 'processing'
         and certificate_request_id is null and updated_at < ? returning id`,
      [now, orderId, startedBefore],
    );
    return rows.length === 1;
  }

  async finishOrder(
    orderId: string,
    result: {
      status: AcmeOrderStatus;
      certificateRequestId?: string;
      certificateId?: string;
      error?: ProblemDocument;
    },
    now: Date,
  ): Promise<void> {
    await this.query(
      `update acme_order set status = ?, certificate_request_id = coalesce(?, certificate_request_id),
         certificate_id = coalesce(?, certificate_id), error = ?::jsonb, updated_at = ? where id = ?`,
      [
        result.status,
        result.certificateRequestId ?? null,
        result.certificateId ?? null,
        result.error ? JSON.stringify(result.error) : null,
        now,
        orderId,
      ],
    );
  }

  async deactivateAuthorization(id: string, now: Date): Promise<void> {
    // RFC 8555 7.1.6: an order whose authorization is deactivated is invalid. One statement,
    // so no reader sees the one without the other (until stop 51 of 2026-12-07 the order stayed
    // ready, and its finalize was refused: an outside probe, ACME F3).
    await this.query(
      `with deactivated as (
         update acme_authorization set status = 'deactivated'
          where id = ? and status in ('pending', 'valid') returning order_id)
       update acme_order set status = 'invalid', error = ?::jsonb, updated_at = ?
        where id in (select order_id from deactivated) and status in ('pending', 'ready')`,
      [
        id,
        JSON.stringify({
          type: "urn:ietf:params:acme:error:unauthorized",
          detail: "an authorization of the order was deactivated",
        }),
        now,
      ],
    );
  }

  async validAuthorizationsFor(
    accountId: string,
    values: readonly string[],
    now: Date,
  ): Promise<Array<Pick<AuthorizationRow, "identifier_type" | "identifier_value" | "wildcard">>> {
    // Through the account's recent orders (acme_order_account_index): acme_authorization has
    // no index of its account.
    return this.query(
      `select distinct a.identifier_type, a.identifier_value, a.wildcard
         from acme_order o join acme_authorization a on a.order_id = o.id
        where o.account_id = ? and o.created_at > ? and a.status = 'valid' and a.expires_at > ?
          and a.identifier_value in (select jsonb_array_elements_text(?::jsonb))`,
      [accountId, new Date(now.getTime() - ORDER_LIFETIME_MS), now, JSON.stringify(values)],
    );
  }

  /**
   * RFC 9773 5: a certificate is replaced by one order only, one that is not invalid. An order
   * that can no longer become valid does not hold the place: one past its expiry while pending
   * or ready, or one with an authorization deactivated, invalid or expired (RFC 8555 7.1.6 makes
   * such an order invalid; until stop 51 of 2026-12-07 a crashed client's abandoned order held
   * the place until the sweep deleted it, up to 37 days: an outside probe, ACME F2).
   * `replaces` is the canonical certificate identifier (canonicalCertId). Called in the order's
   * transaction after lockReplaced, so two orders at once cannot both pass (ACME F4).
   */
  async replacedBy(replaces: string, now: Date): Promise<string | undefined> {
    const [row] = await this.query<{ id: string }>(
      `select o.id from acme_order o
        where o.replaces = ? and o.status <> 'invalid'
          and not (o.status in ('pending', 'ready') and o.expires_at <= ?)
          and not exists (select 1 from acme_authorization a where a.order_id = o.id
                            and (a.status in ('deactivated', 'invalid', 'revoked')
                                 or (a.status <> 'valid' and a.expires_at <= ?)))
        limit 1`,
      [replaces, now, now],
    );
    return row?.id;
  }

  /** Serialises the orders replacing one certificate until the transaction ends (replacedBy). */
  async lockReplaced(replaces: string): Promise<void> {
    await this.query(`select pg_advisory_xact_lock(${ACME_REPLACES_LOCK_CLASS}, hashtext(?))`, [
      replaces,
    ]);
  }

  // ---- External Account Binding keys (RFC 8555 7.3.4) -----------------------------------

  async insertExternalAccountKey(
    keyId: string,
    profileId: string,
    creatorId: string | null,
    now: Date,
    usableUntil: Date | null = null,
    vouchedBy: string[] | null = null,
  ): Promise<void> {
    await this.query(
      `insert into acme_eab_key (id, key_id, profile_id, creator_id, created_at, usable_until, vouched_by) values (?, ?, ?, ?, ?, ?, ?::jsonb)`,
      [
        randomUUID(),
        keyId,
        profileId,
        creatorId,
        now,
        usableUntil,
        vouchedBy ? JSON.stringify(vouchedBy) : null,
      ],
    );
  }

  async lockExternalAccountKey(keyId: string): Promise<ExternalAccountKeyRow | undefined> {
    const [row] = await this.query<ExternalAccountKeyRow>(
      `select key_id, profile_id, account_id, creator_id, revoked_at, usable_until, vouched_by from acme_eab_key where key_id = ? for update`,
      [keyId],
    );
    return row;
  }

  async lockExternalAccountKeyCreator(
    creatorId: string,
  ): Promise<ExternalAccountKeyCreator | null> {
    // FOR SHARE, not KEY SHARE: it conflicts with the FOR NO KEY UPDATE and the UPDATE of a
    // revocation (access-tokens/revoke.ts), so the two are ordered by commit, and a locking read
    // sees the row's newest committed version (a revocation committed after this statement's
    // snapshot included).
    const [row] = await this.query<ExternalAccountKeyCreator>(
      `select slug, revoked_at, expires_at, creator_id from access_token where id = ?::uuid for share`,
      [creatorId],
    );
    return row ? { ...row, expires_at: new Date(row.expires_at) } : null;
  }

  async accountsBoundByLine(creatorIds: readonly string[]): Promise<LineBoundAccount[]> {
    if (creatorIds.length === 0) return [];
    return this.query<LineBoundAccount>(
      `select a.id, a.eab_key_id, k.creator_id from acme_account a
         join acme_eab_key k on k.key_id = a.eab_key_id
        where (k.creator_id in (${UUIDS}) or jsonb_exists_any(k.vouched_by, array(${LINE_TEXT_IDS})))
          and a.status = 'valid'
        order by a.created_at, a.id
        for no key update of a`,
      [JSON.stringify(creatorIds), JSON.stringify(creatorIds)],
    );
  }

  async revokeUnboundKeysOf(creatorIds: readonly string[], now: Date): Promise<string[]> {
    if (creatorIds.length === 0) return [];
    const rows = await this.query<{ key_id: string }>(
      // SKIP LOCKED: a binding in flight holds its key FOR UPDATE and then waits for its
      // creator's row, which the cut holds: waiting for the key here would deadlock. Once the
      // cut commits, that binding finds its creator revoked, is refused and revokes the key
      // (acme/eab.ts KeyOfRevokedCreator, revokeKeyWithItsCreator).
      `update acme_eab_key set revoked_at = ? where id in (
         select id from acme_eab_key
          where (creator_id in (${UUIDS}) or jsonb_exists_any(vouched_by, array(${LINE_TEXT_IDS})))
            and account_id is null and revoked_at is null
            for update skip locked)
       returning key_id`,
      [now, JSON.stringify(creatorIds), JSON.stringify(creatorIds)],
    );
    return rows.map((r) => r.key_id).sort();
  }

  async revokeKeyWithItsCreator(keyId: string): Promise<boolean> {
    const rows = await this.query<{ key_id: string }>(
      `update acme_eab_key k set revoked_at = t.revoked_at
         from access_token t
        where k.key_id = ? and k.account_id is null and k.revoked_at is null
          and (t.id = k.creator_id or k.vouched_by @> jsonb_build_array(t.id::text))
          and t.revoked_at is not null
       returning k.key_id`,
      [keyId],
    );
    return rows.length > 0;
  }

  async bindExternalAccountKey(keyId: string, accountId: string, now: Date): Promise<void> {
    await this.query(
      `update acme_eab_key set account_id = ?, bound_at = ? where key_id = ? and account_id is null`,
      [accountId, now, keyId],
    );
  }

  // ---- an admin's lists and revocations --------------------------------------------------

  async externalAccountKeysOf(profileId: string, page: PageQuery): Promise<ExternalAccountKey[]> {
    const rows = await this.query<KeyRecord>(
      `select ${KEY_COLUMNS} from acme_eab_key where profile_id = ? ${AFTER(page)}
        order by created_at, id limit ?`,
      [profileId, ...afterParams(page), page.limit],
    );
    return rows.map(keyOf);
  }

  async accountsOf(profileId: string, page: PageQuery): Promise<AcmeAccount[]> {
    const rows = await this.query<AccountRecord>(
      `select ${ACCOUNT_COLUMNS} from acme_account where profile_id = ? ${AFTER(page)}
        order by created_at, id limit ?`,
      [profileId, ...afterParams(page), page.limit],
    );
    return rows.map(accountOf);
  }

  async lockExternalAccountKeyForRevocation(
    keyId: string,
  ): Promise<ExternalAccountKey | undefined> {
    const [row] = await this.query<KeyRecord>(
      `select ${KEY_COLUMNS} from acme_eab_key where key_id = ? for update`,
      [keyId],
    );
    return row && keyOf(row);
  }

  async markExternalAccountKeyRevoked(keyId: string, now: Date): Promise<ExternalAccountKey> {
    const [row] = await this.query<KeyRecord>(
      `update acme_eab_key set revoked_at = coalesce(revoked_at, ?) where key_id = ?
       returning ${KEY_COLUMNS}`,
      [now, keyId],
    );
    return keyOf(row!);
  }

  async lockAccount(id: string): Promise<AcmeAccount | undefined> {
    const [row] = await this.query<AccountRecord>(
      `select ${ACCOUNT_COLUMNS} from acme_account where id = ?::uuid for no key update`,
      [id],
    );
    return row && accountOf(row);
  }

  async shareAccount(id: string): Promise<AcmeAccount | undefined> {
    const [row] = await this.query<AccountRecord>(
      `select ${ACCOUNT_COLUMNS} from acme_account where id = ?::uuid for share`,
      [id],
    );
    return row && accountOf(row);
  }

  async markAccountRevoked(id: string, now: Date): Promise<AcmeAccount> {
    const [row] = await this.query<AccountRecord>(
      `update acme_account set status = 'revoked', updated_at = ? where id = ?::uuid and status = 'valid'
       returning ${ACCOUNT_COLUMNS}`,
      [now, id],
    );
    return accountOf(row!);
  }
}

/** created_at to the microsecond, as PostgreSQL holds it (PageCursor.createdAtText). */
const CREATED_AT_TEXT = `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_text`;

const KEY_COLUMNS = `id, key_id, profile_id, creator_id, account_id, created_at, bound_at, revoked_at, ${CREATED_AT_TEXT}`;
const ACCOUNT_COLUMNS = `id, profile_id, status, contact, key_thumbprint, eab_key_id, created_at, updated_at, ${CREATED_AT_TEXT}`;

/**
 * The keyset condition of a page (common/pagination.ts): rows after the cursor in (created_at,
 * id) order. A row comparison, which the (profile_id, created_at, id) indexes serve as a range
 * (Migration20261206180000AcmeAdministration).
 */
const AFTER = (page: PageQuery) =>
  page.after ? "and (created_at, id) > (?::timestamptz, ?::uuid)" : "";
const afterParams = (page: PageQuery): unknown[] =>
  page.after ? [page.after.createdAtText ?? page.after.createdAt.toISOString(), page.after.id] : [];

interface KeyRecord {
  id: string;
  key_id: string;
  profile_id: string;
  creator_id: string | null;
  account_id: string | null;
  created_at: Date;
  bound_at: Date | null;
  revoked_at: Date | null;
  created_text: string;
}

const keyOf = (r: KeyRecord): ExternalAccountKey => ({
  id: r.id,
  keyId: r.key_id,
  profileId: r.profile_id,
  creatorId: r.creator_id,
  accountId: r.account_id,
  createdAt: r.created_at,
  createdAtText: r.created_text,
  boundAt: r.bound_at,
  revokedAt: r.revoked_at,
});

interface AccountRecord {
  id: string;
  profile_id: string;
  status: AcmeAccountStatus;
  contact: string[];
  key_thumbprint: string;
  eab_key_id: string | null;
  created_at: Date;
  updated_at: Date;
  created_text: string;
}

const accountOf = (r: AccountRecord): AcmeAccount => ({
  id: r.id,
  profileId: r.profile_id,
  status: r.status,
  contact: r.contact,
  keyThumbprint: r.key_thumbprint,
  externalAccountKeyId: r.eab_key_id,
  createdAt: r.created_at,
  createdAtText: r.created_text,
  updatedAt: r.updated_at,
});

/** The advisory lock class of the orders replacing one certificate (lockReplaced): "acrp". */
const ACME_REPLACES_LOCK_CLASS = 0x61637270;
