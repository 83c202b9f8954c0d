import type { EntityManager } from "@mikro-orm/postgresql";
import { DatabaseError } from "pg";
import { CA_SIGNING_REFUSED } from "../../database-outage";
import { notFound } from "../../errors";
import type {
  AuditRecord,
  CaNamesUnder,
  Certificate,
  CertificateAuthority,
  CertificatePolicy,
  CertificateProfile,
  CertificateRequest,
  DecidedRules,
  HeldRows,
  IssuanceRepository,
  IssuanceRows,
  IssuanceStored,
  IssuedRequest,
  LockedRequest,
  LockedRequester,
  RequestFailure,
  RequestStatus,
  RowKey,
  RowTag,
  SignedIssuance,
  WaitingRecorded,
} from "../../issuance/repositories";
import type { SubjectName } from "../../model/pki";
import { TableColumns } from "../columns";
import {
  AuditRecordEntity,
  CertificateAuthorityEntity,
  CertificateEntity,
  CertificatePolicyEntity,
  CertificateProfileEntity,
  CertificateRequestEntity,
} from "../entities";
import { executePrepared, type HeldConnection, withConnection } from "../prepared";
import { withRequestLock } from "../request-lock";
import { fromRow } from "../rows";
import { StatementBatches } from "../statement-batches";
import { CA_NAMES_LOCK_SQL } from "./certificate-authorities";
import { staleKekRefusal } from "./kek-check";

/**
 * The advisory lock class (two-int4 key space) that serialises one caller's requests waiting
 * for approval (recordWaitingRequest), keyed by hashtext(caller); request-lock.ts uses another.
 */
const WAITING_LOCK_CLASS = 0x77616974; // "wait"
/** How long a call waits for that lock: a holder's whole transaction takes milliseconds. */
const WAITING_LOCK_TIMEOUT_MS = 5000;

/**
 * The issuance hot path: each method one statement and one round trip, run as a named
 * prepared statement (prepared.ts). The ORM's unit of work costs about 0.2 ms of CPU per round
 * trip plus BEGIN/COMMIT round trips (bench/issue); these statements run autocommitted, one
 * durable commit each, or on the connection that holds a request's lock (request-lock.ts), in
 * its transaction. A change and its audit record are one statement, so neither commits
 * without the other. An issuance without approval is the read and storeIssuance: two round
 * trips, one durable commit. Tables and columns come from the entities' metadata (columns.ts).
 */
export class OrmIssuanceRepository implements IssuanceRepository {
  private readonly sql: ReturnType<typeof statements>;
  private readonly stores: StatementBatches<SignedIssuance, IssuanceStored>;
  private readonly reads: StatementBatches<IssuanceRead, IssuanceRows>;
  private readonly known = new KnownRows();
  /** Lone calls that used held rows, and how many of those found them changed when storing. */
  readonly heldRowCounts = { used: 0, changed: 0 };

  /**
   * `em` is used for its connection pool and metadata only, never its unit of work: every
   * statement runs on a pooled connection of its own (prepared.ts), outside any transaction of
   * the caller's, so one EntityManager serves every call (a fork per call cost ~15 us each).
   */
  constructor(private readonly em: EntityManager) {
    this.sql = statements(em);
    this.stores = new StatementBatches(
      (issuance) => this.storeOne(issuance),
      (issuances) => this.storeMany(issuances),
      BATCHES,
    );
    this.reads = new StatementBatches(
      (read) => this.readOne(read.profile, read.prior),
      (reads) => this.readMany(reads),
      BATCHES,
    );
  }

  /**
   * Concurrent calls' reads share a statement (statement-batches.ts). A lone call (no read or
   * store of this kind running or waiting) that may use held rows gets the rows read last,
   * with no round trip: about 15-20% of a lone issuance's time (bench/peers, 1 client, 284-307
   * -> 346-350 issuances/s). Only lone calls: with others in flight, sharing the read lined
   * calls up into shared stores and socket writes, and skipping it cost 5-12% at 16 and 64
   * clients. Every decision taken on held rows is checked when storing (storeIssuance).
   */
  findProfileAndPrior(
    profile: RowKey,
    prior?: { caller: string; idempotencyKey: string },
    mayUseHeld = false,
  ): Promise<IssuanceRows> {
    if (mayUseHeld && this.reads.idle && this.stores.idle) {
      const held = this.known.held(profile);
      if (held) {
        this.heldRowCounts.used++;
        return Promise.resolve(held);
      }
    }
    return this.reads.run({ profile, prior });
  }

  /**
   * Several reads in one statement, in their order. A profile, policy or CA row this process
   * parsed before (KnownRows) comes back as its id and tag only when it is unchanged: the
   * statement still reads every row afresh, and returns the wide columns (the CA's PEMs, chain
   * and sealed key, the policy's spec, the profile's settings) only for rows that changed.
   */
  private async readMany(reads: IssuanceRead[]): Promise<IssuanceRows[]> {
    const known = reads.map((read) => this.known.forRead(read.profile));
    const { text, bindings } = this.sql.read.batch(reads, known);
    const rows = await executePrepared<Array<Record<string, unknown>>>(this.em, text, bindings);
    if (rows.length !== reads.length) throw new Error("the issuance read lost rows");
    return rows.map((row, i) => this.rowsOf(row, known[i]!));
  }

  private rowsOf(row: Record<string, unknown>, known: KnownForRead): IssuanceRows {
    const read = this.sql.read;
    const profile = this.known.profiles.take(row, read.profile, known.profile);
    if (profile) this.known.rememberSlug(profile.slug, profile.id);
    return {
      priorRequestId: (row.prior_id as string | null | undefined) ?? null,
      profile,
      policy: this.known.policies.take(row, read.policy, known.policy),
      ca: this.known.cas.take(row, read.ca, known.ca),
    };
  }

  /** A lone read: the batched statement with one row (one statement text to prepare). */
  private async readOne(
    profile: RowKey,
    prior?: { caller: string; idempotencyKey: string },
  ): Promise<IssuanceRows> {
    const [rows] = await this.readMany([{ profile, prior }]);
    return rows!;
  }

  async recordRequest(request: CertificateRequest, audit?: AuditRecord): Promise<boolean> {
    const { text, bindings } = this.sql.recordRequest(request, audit);
    const rows = await executePrepared<Array<{ id: string }>>(this.em, text, bindings);
    return rows.length === 1;
  }

  /**
   * The count and the insert in one transaction that holds an advisory lock on the caller, so
   * that two calls of one caller never both count below the cap: the second counts after the
   * first committed (each statement under READ COMMITTED sees what committed before it began,
   * and the count begins once the lock is held). Only requests that wait for a person take this
   * path, so its five round trips (begin, lock, count, insert, commit) stay off the hot path.
   * On the embedded database the pool's one connection already serialises it.
   */
  async recordWaitingRequest(
    request: CertificateRequest,
    audit: AuditRecord,
    cap: number | undefined,
    requester: { callerInForce?: string; accountInForce?: string } = {},
  ): Promise<WaitingRecorded> {
    const count =
      cap === undefined ? undefined : this.sql.countWaitingForApproval(request.caller, cap);
    const insert = this.sql.recordRequest(request, audit);
    return withConnection(this.em, async (connection) => {
      await connection.command("begin");
      try {
        // Bounded (the subquery's setting is made before the row's lock is taken): a holder
        // whose session hangs (a stalled network on another replica) fails this call ABORTED
        // (lock_not_available) instead of holding it to its deadline.
        await connection.execute(
          `select pg_advisory_xact_lock(?::int4, hashtext(?))
             from (select set_config('lock_timeout', '${WAITING_LOCK_TIMEOUT_MS}ms', true)) "t"`,
          [WAITING_LOCK_CLASS, request.caller],
        );
        // The profile's row, key-share locked to the commit: a DeleteCertificateProfile (FOR
        // UPDATE, then it counts the waiting requests) either waits for this insert and counts
        // it, or deleted the row first and this request is refused. Without it a request
        // recorded between the delete's count and its commit waited on a deleted profile (an
        // outside probe, stop 40 of 2026-12-05: 40 such requests in six rounds).
        const profile = await connection.execute<Array<{ id: string }>>(PROFILE_KEY_SHARE_SQL, [
          request.profileId,
        ]);
        if (profile.length === 0) {
          await connection.command("rollback");
          return "profile-gone";
        }
        // The requester's token (still not revoked) or ACME account (still valid), FOR SHARE to
        // the commit, as a signed certificate's store holds it (callersInForce, accountsInForce):
        // a revocation committed first is seen here and nothing is written; one that comes later
        // waits for this commit and then finds the request waiting and rejects it with its
        // requester (issuance/acme-accounts/end.ts, access-tokens/revoke.ts). Until stop 48 of
        // 2026-12-06 a finalize racing RevokeAcmeAccount left a request of the revoked account
        // waiting for an approver (an outside probe, F1).
        const guard = requester.callerInForce
          ? callersInForce("= ?::uuid")
          : requester.accountInForce
            ? accountsInForce("= ?::uuid")
            : undefined;
        if (guard) {
          const inForce = await connection.execute<Array<{ id: string }>>(guard, [
            requester.callerInForce ?? requester.accountInForce,
          ]);
          if (inForce.length === 0) {
            await connection.command("rollback");
            return "caller-revoked";
          }
        }
        // The tokens it rests on besides its caller, as a store holds them (vouchersHeld): a
        // cut of their line waited for, and once committed nothing is written; one that comes
        // later finds the request waiting and rejects it (access-tokens/revoke.ts).
        const vouchers = request.vouchedBy ?? [];
        if (vouchers.length > 0) {
          const held = await connection.execute<Array<{ line_cut_at: unknown }>>(
            vouchersHeld("?::jsonb"),
            [JSON.stringify(vouchers)],
          );
          if (held.some((v) => v.line_cut_at !== null)) {
            await connection.command("rollback");
            return "line-cut";
          }
        }
        // One renewal of a certificate waits for approval at a time, whoever asks: approving a
        // second gave one certificate and failed the rest (an outside probe, stop 40 of
        // 2026-12-05: six waiting renewals of one certificate, five approvals wasted). Under a
        // lock on the certificate, so two callers racing cannot both pass; the same caller's
        // replay (its request_id) is left to the insert's ON CONFLICT.
        if (request.renewalOfCertificateId) {
          await connection.execute("select pg_advisory_xact_lock(?::int4, hashtext(?))", [
            RENEWAL_WAIT_LOCK_CLASS,
            request.renewalOfCertificateId,
          ]);
          const [other] = await connection.execute<Array<{ id: string }>>(WAITING_RENEWAL_SQL, [
            request.renewalOfCertificateId,
            request.caller,
            request.idempotencyKey ?? null,
            request.idempotencyKey ?? null,
          ]);
          if (other) {
            await connection.command("rollback");
            return { renewalWaiting: other.id };
          }
        }
        if (count && cap !== undefined) {
          const [counted] = await connection.execute<Array<{ n: number }>>(
            count.text,
            count.bindings,
          );
          const waiting = Number(counted?.n ?? 0);
          if (waiting >= cap) {
            await connection.command("rollback");
            return { waiting };
          }
        }
        const rows = await connection.execute<Array<{ id: string }>>(insert.text, insert.bindings);
        await connection.command("commit");
        return rows.length === 1;
      } catch (err) {
        await connection.command("rollback").catch(() => connection.discard("rollback failed"));
        throw err;
      }
    });
  }

  /**
   * New issuances of concurrent calls share a statement and a commit (statement-batches.ts),
   * each caller's token guard included (storeIssuances); a renewal (it locks the renewed
   * certificate) goes alone.
   */
  storeIssuance(issuance: SignedIssuance): Promise<IssuanceStored> {
    if (issuance.certificate.renewedFromId) return this.storeOne(issuance);
    return this.stores.run(issuance);
  }

  /**
   * Several new issuances in one statement, each with its own outcome (a revoked caller's items
   * "caller-revoked", the other callers' stored); throws having written nothing.
   */
  private async storeMany(issuances: SignedIssuance[]): Promise<IssuanceStored[]> {
    const { text, bindings } = this.sql.storeIssuances(issuances);
    const rows = await executePrepared<Array<{ id: string; outcome: BatchOutcome }>>(
      this.em,
      text,
      bindings,
    );
    const outcomes = new Map(rows.map((r) => [r.id, r.outcome]));
    return issuances.map((i) => {
      const outcome = outcomes.get(i.certificate.id);
      if (outcome === "rows-changed") this.heldRowCounts.changed++;
      return outcome ?? "duplicate";
    });
  }

  /** One issuance's statement, autocommitted or on `connection` (in its transaction). */
  private async storeOne(
    issuance: SignedIssuance,
    connection?: HeldConnection,
  ): Promise<IssuanceStored> {
    const { text, bindings } = this.sql.storeIssuance(issuance);
    type Counts = Array<{
      stored: number;
      renewable?: number;
      held?: number;
      decided?: number;
      caller?: number;
      vouched?: number;
    }>;
    let row: Counts[number] | undefined;
    try {
      [row] = connection
        ? await connection.execute<Counts>(text, bindings)
        : await executePrepared<Counts>(this.em, text, bindings);
    } catch (err) {
      // The statement is atomic: a serial conflict wrote nothing, and the caller signs again.
      if (isSerialConflict(err)) return "serial-taken";
      if (isKeyBlocked(err)) return "key-blocked";
      if ((err as { code?: string } | null)?.code === CA_SIGNING_REFUSED) return "ca-inactive";
      // Its profile was deleted while it was signed (Migration20261206153000CertificateProfileGuard).
      if ((err as { code?: string } | null)?.code === PROFILE_GONE) throw profileGone();
      // A generated key sealed under a KEK rotated since this server started: KEK_ROTATED. In
      // a batch (storeMany) the statement failed whole and each issuance came here alone, so a
      // CSR issuance of the same batch is stored.
      throw staleKekRefusal(err);
    }
    if (row?.caller === 0) return "caller-revoked";
    if (row?.vouched === 0) return "line-cut";
    if (row?.held === 0) {
      this.heldRowCounts.changed++;
      return "rows-changed";
    }
    if (row?.decided === 0) return "rules-changed";
    if (row?.renewable === 0) return "renewed-meanwhile";
    return row?.stored === 1 ? "stored" : "duplicate";
  }

  /**
   * Four round trips besides the begin and commit (names lock, names, store): only CA
   * certificates take this path, never a leaf.
   */
  storeCaIssuance(
    issuance: SignedIssuance,
    caNamesOf: string,
    check: (now: { names: CaNamesUnder }) => void,
  ): Promise<IssuanceStored> {
    return withConnection(this.em, async (connection) => {
      await connection.command("begin");
      try {
        check({ names: await caNamesOn(connection, caNamesOf) });
        const stored = await this.storeOne(issuance, connection);
        // A statement that failed (a serial conflict) ended the transaction: nothing to keep.
        await connection.command(stored === "stored" ? "commit" : "rollback");
        return stored;
      } catch (err) {
        await connection.command("rollback").catch(() => connection.discard("rollback failed"));
        throw err;
      }
    });
  }

  async markFailed(failure: RequestFailure, audit: AuditRecord): Promise<boolean> {
    const { text, bindings } = this.sql.markFailed(failure, audit);
    const rows = await executePrepared<Array<{ id: string }>>(this.em, text, bindings);
    return rows.length === 1;
  }

  withRequestLock<T>(
    requestId: string,
    waitMs: number,
    fn: (locked: LockedRequest) => Promise<T>,
  ): Promise<T | "busy"> {
    return withRequestLock(this.em, this.sql.lock, requestId, waitMs, ({ connection, status }) =>
      fn(this.locked(connection, status as RequestStatus | null)),
    );
  }

  private locked(connection: HeldConnection, status: RequestStatus | null): LockedRequest {
    const sql = this.sql;
    const changed = async (statement: { text: string; bindings: unknown[] }) =>
      (await connection.execute<Array<{ id: string }>>(statement.text, statement.bindings))
        .length === 1;
    return {
      status,
      storeIssued: (certificate, request, audit) =>
        changed(sql.storeIssued(certificate, request, audit)).catch((err: unknown) => {
          throw staleKekRefusal(err);
        }),
      keyBlocked: async (spkiSha256) => {
        const [row] = await connection.execute<Array<{ blocked: boolean }>>(KEY_BLOCKED_SQL, [
          spkiSha256,
        ]);
        return row?.blocked === true;
      },
      issuerNow: async (caId) => {
        const [lock] = await connection.execute<Array<{ signs: boolean }>>(CA_SIGNS_SQL, [caId]);
        if (lock?.signs === true) return { status: "ACTIVE", revokedAt: null };
        // Not signing: why, read after the lock (a statement of its own, so a fresh snapshot).
        const [row] = await connection.execute<
          Array<{ status: CertificateAuthority["status"]; revoked_at: Date | string | null }>
        >(ISSUER_STATE_SQL, [caId]);
        return row
          ? {
              status: row.status,
              revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
            }
          : null;
      },
      caNames: (issuerId) => caNamesOn(connection, issuerId),
      linkRenewal: (renewedId, successorId) => changed(sql.linkRenewal(renewedId, successorId)),
      renewedNow: async (certificateId) => {
        const [row] = await connection.execute<
          Array<{ revoked_at: Date | string | null; renewed_by_id: string | null }>
        >(RENEWED_NOW_SQL, [certificateId]);
        return row
          ? {
              revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
              renewedById: row.renewed_by_id,
            }
          : null;
      },
      markFailed: (failure, audit) => changed(sql.markFailed(failure, audit)),
      requesterNow: (caller) => requesterOn(connection, caller),
      profileNow: async (profileId) => {
        const [row] = await connection.execute<
          Array<{
            slug: string;
            enrollment_method: CertificateProfile["enrollmentMethod"];
            ca_id: string | null;
            allow_self_approval: boolean;
            version: number;
            policy_id: string;
          }>
        >(PROFILE_SHARE_SQL, [profileId]);
        return row
          ? {
              slug: row.slug,
              enrollmentMethod: row.enrollment_method,
              caId: row.ca_id,
              allowSelfApproval: row.allow_self_approval,
              version: row.version,
              policyId: row.policy_id,
            }
          : null;
      },
      policyVersionNow: async (policyId) => {
        const [row] = await connection.execute<Array<{ version: number }>>(POLICY_SHARE_SQL, [
          policyId,
        ]);
        return row ? row.version : null;
      },
      caNow: async (caId) => {
        const [row] = await connection.execute<
          Array<{
            id: string;
            slug: string;
            status: CertificateAuthority["status"];
            revoked_at: Date | string | null;
            parent_id: string | null;
            certificate_pem: string | null;
          }>
        >(CA_NOW_SQL, [caId]);
        return row
          ? {
              id: row.id,
              slug: row.slug,
              status: row.status,
              revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
              parentId: row.parent_id,
              certificatePem: row.certificate_pem,
            }
          : null;
      },
      revokedAbove: async (caId) => {
        const [row] = await connection.execute<
          Array<{ slug: string; revoked_at: Date | string; revocation_reason: string | null }>
        >(REVOKED_ABOVE_SQL, [caId]);
        return row
          ? {
              slug: row.slug,
              revokedAt: new Date(row.revoked_at),
              revocationReason: row.revocation_reason,
            }
          : null;
      },
      backToApproval: async (id, updatedAt) =>
        (await connection.execute<Array<{ id: string }>>(BACK_TO_APPROVAL_SQL, [updatedAt, id]))
          .length === 1,
    };
  }
}

/**
 * The storing statements' guard on their callers' tokens (SignedIssuance.callerInForce), `ids`
 * the condition on the id (one, or a batch's): the rows still not revoked, held FOR SHARE to
 * the commit. A revocation committed before the row is locked leaves it out, even one committed
 * after the statement's snapshot (a locking read goes to the row's newest version and checks it
 * again: READ COMMITTED's EvalPlanQual), so nothing of that caller is inserted; one after waits
 * for this commit. RevokeAccessToken locks the row FOR NO KEY UPDATE (lockForRevocation) and
 * sets revoked_at, no key column: both conflict with FOR SHARE, neither with FOR KEY SHARE,
 * which would lock the row as the snapshot saw it, without checking it again, and store after
 * the revocation committed. One statement of new issuances runs at a time per process (renewals
 * go alone) and a batch locks each distinct caller once, so on one replica the lockers of a row
 * do not overlap (no MultiXact): one WAL record (~54 bytes) per caller per statement (measured
 * at stop 46).
 */
const callersInForce = (ids: string) =>
  `select "id" from "access_token" where "id" ${ids} and "revoked_at" is null for share`;

/**
 * The same for an ACME finalize's account (SignedIssuance.accountInForce): each account of
 * `ids` whose status is still 'valid', held FOR SHARE to the commit. Its deactivation (RFC 8555
 * 7.3.6, acme/handlers/accounts.ts) locks the row FOR NO KEY UPDATE (lockAccount), the first
 * statement of its transaction, and so does an admin's revocation (acme/admin: RevokeAcmeAccount,
 * RevokeAcmeExternalAccountKey, after the caller's token FOR SHARE, which a store's FOR SHARE
 * does not conflict with): a store that comes after it waits for its commit and then reads
 * the row as it left it (READ COMMITTED re-checks `status` on the newest version) and stores
 * nothing; a deactivation that comes after the store waits for the store's commit. Until stop 47
 * of 2026-12-06 an account deactivated while its finalize was in flight still got the
 * certificate. No deadlock: the deactivation locks this one row first and then waits on nothing
 * a store holds (it inserts audit records and updates its own account's requests waiting for
 * approval, which no store locks).
 */
const accountsInForce = (ids: string) =>
  `select "id" from "acme_account" where "id" ${ids} and "status" = 'valid' for share`;

/**
 * The same for the tokens a certificate or request rests on besides its caller (its
 * `vouched_by`: those the caller's client certificate was vouched for by, and a renewal's
 * lineage; credential-lifetime.ts), `json` a JSON array of their ids: their rows, held FOR
 * SHARE to the commit, with when their line was cut (line_cut_at; null: never). A cut (RevokeAccessToken with revoke_created_tokens) locks
 * every token of its line FOR NO KEY UPDATE before it reads what the line made and sets
 * `line_cut_at` (Migration20261207235900LineCut): a store that comes after the lock waits for
 * the cut's commit, reads the rows as the cut left them (a locking read returns the newest
 * version) and stores nothing; one before it committed first and the cut finds its
 * certificate. An id with no row (none: tokens are deleted only by a create that failed) cuts
 * nothing. Until stop 59 of 2026-12-07 nothing held them: a workload whose client
 * certificate a leaked admin token had issued stored certificates vouched for by that token
 * faster than the cut revoked them, and the cut never ended (an outside probe). A plain
 * revocation sets no line_cut_at and stops nothing here.
 */
const vouchersHeld = (json: string) =>
  `select "id", "line_cut_at" from "access_token" where "id" in (select (jsonb_array_elements_text(${json}))::uuid) order by "id" for share`;

/**
 * LockedRequest.requesterNow: the requester's row FOR SHARE, which conflicts with the FOR NO
 * KEY UPDATE of RevokeAccessToken's (and an ACME deactivation's) UPDATE: a revocation committed
 * before is read (a locking read sees the row's newest committed version), one after waits for
 * the approval's commit. KEY SHARE would not do: it lets a non-key UPDATE through.
 */
const REQUESTER_TOKEN_SHARE_SQL = `select "slug", "revoked_at" from "access_token" where "id" = ?::uuid for share`;
const REQUESTER_ACCOUNT_SHARE_SQL = `select "status" from "acme_account" where "id" = ?::uuid for share`;

/** LockedRequest.profileNow: as the requester's, against UpdateCertificateProfile's UPDATE. */
const PROFILE_SHARE_SQL = `select "slug", "enrollment_method", "ca_id", "allow_self_approval", "version", "policy_id"::text as "policy_id" from "certificate_profile" where "id" = ? for share`;

/** LockedRequest.policyVersionNow: against UpdateCertificatePolicy's FOR UPDATE. */
const POLICY_SHARE_SQL = `select "version" from "certificate_policy" where "id" = ? for share`;

/** LockedRequest.caNow: no lock (issuerNow takes the CA's signing lock, in its place). */
const CA_NOW_SQL = `select "id", "slug", "status", "revoked_at", "parent_id", "certificate_pem" from "certificate_authority" where "id" = ?`;

/**
 * LockedRequest.revokedAbove: up the parents from the CA until a revoked one (a CA's parents
 * never change; 32 levels at most, as ca/revoke.ts revokedAbove walks them).
 */
const REVOKED_ABOVE_SQL = `with recursive "up" ("parent_id", "slug", "revoked_at", "revocation_reason", "depth") as (
    select "parent_id", "slug", "revoked_at", "revocation_reason", 0 from "certificate_authority" where "id" = ?
    union all
    select "a"."parent_id", "a"."slug", "a"."revoked_at", "a"."revocation_reason", "up"."depth" + 1
      from "certificate_authority" "a" join "up" on "a"."id" = "up"."parent_id"
     where "up"."revoked_at" is null and "up"."depth" < 32
  )
  select "slug", "revoked_at", "revocation_reason" from "up" where "revoked_at" is not null order by "depth" limit 1`;

/** LockedRequest.backToApproval: the claim (approval.ts, claimForSigning) undone. */
const BACK_TO_APPROVAL_SQL = `update "certificate_request"
   set "status" = 'PENDING_APPROVAL', "reserved_serial" = null, "claimed_by" = null, "updated_at" = ?
 where "id" = ? and "status" = 'PENDING' returning "id"`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads and group commits of new issuances (statement-batches.ts): one statement of a kind at
 * a time, the calls that arrive meanwhile gathered into the next, up to 64 each (a store of 64
 * is ~400 KB of JSON). Two at a time (one running or committing while the next gathered) was
 * the choice until 2026-12-04; measured again then, alternately on the same build (bench/peers,
 * certmint alone, server and PostgreSQL on one core): one at a time 726 / 744 issuances/s at
 * 16 clients and 945 / 876 at 64, against 622 / 674 and 753 / 792, at 1.32-1.35 ms of server
 * and PostgreSQL CPU per certificate instead of 1.46-1.59 (fewer, fuller statements and
 * commits); a lone client the same (443-476/s against 431-468, bench/profile); on 2 cores
 * (`make bench-issue`) 1,029 / 1,321 against 911 / 1,205 at 16 / 64 clients, and in a run in
 * the other order 874 / 1,157 against 912 / 1,217.
 */
const BATCHES = { maxInFlight: 1, maxBatch: 64, refused: refusedByPostgres };

/**
 * An error PostgreSQL reported for the statement (pg's DatabaseError, with its SQLSTATE): an
 * autocommitted statement that ends in one committed nothing. Anything else (a connection
 * lost before the answer) leaves the outcome unknown.
 */
function refusedByPostgres(err: unknown): boolean {
  return err instanceof DatabaseError;
}

/** An item's outcome as the batched store reports it (no row: "duplicate"). */
type BatchOutcome = "stored" | "rows-changed" | "caller-revoked" | "line-cut" | "rules-changed";

/** What one call's read asks: its profile, and its prior request unless a dry run. */
interface IssuanceRead {
  profile: RowKey;
  prior?: { caller: string; idempotencyKey: string };
}

/** A row this process parsed, with the id and tag it had (TableColumns.selectUnlessKnown). */
interface KnownRow<T> {
  id: string;
  tag: string;
  record: T;
}

/** The rows a read holds already, sent with it. */
interface KnownForRead {
  profile?: KnownRow<CertificateProfile>;
  policy?: KnownRow<IssuanceRows["policy"] & object>;
  ca?: KnownRow<CertificateAuthority>;
}

/**
 * Rows of one table as last parsed, by id, at most 256 (then the oldest goes). Records are
 * frozen: every call that reads an unchanged row gets the same object.
 */
class RowsById<T extends object> {
  private readonly rows = new Map<string, KnownRow<T>>();

  get(id: string | null | undefined): KnownRow<T> | undefined {
    return id ? this.rows.get(id) : undefined;
  }

  /** The record of a read's row: parsed when its columns came, else the one held. */
  take(
    row: Record<string, unknown>,
    select: ReturnType<TableColumns["selectUnlessKnown"]>,
    known: KnownRow<T> | undefined,
  ): T | null {
    const id = select.id(row);
    if (id === null) return null;
    const tag = select.tag(row);
    if (select.present(row)) {
      const record = deepFreeze(asRecord<T>(select.read(row)));
      this.rows.delete(id);
      if (this.rows.size >= KNOWN_ROWS) this.rows.delete(this.rows.keys().next().value as string);
      this.rows.set(id, { id, tag, record });
      return record;
    }
    // The statement leaves the columns out only for the row it was told of, with its tag.
    if (known?.id !== id || known.tag !== tag) throw new Error("the issuance read left out a row");
    return known.record;
  }
}

const KNOWN_ROWS = 256;

/** The profiles, policies and CAs the issuance reads parsed, and profiles' slugs. */
class KnownRows {
  readonly profiles = new RowsById<CertificateProfile>();
  readonly policies = new RowsById<IssuanceRows["policy"] & object>();
  readonly cas = new RowsById<CertificateAuthority>();
  private readonly slugs = new Map<string, string>();

  /** What a read of this profile holds: the profile as last read, its policy and CA. */
  forRead(key: RowKey): KnownForRead {
    const profile = this.profiles.get("id" in key ? key.id : this.slugs.get(key.slug));
    if (!profile) return {};
    return {
      profile,
      policy: this.policies.get(profile.record.policyId),
      ca: this.cas.get(profile.record.caId),
    };
  }

  /**
   * The rows of a lone call, as held: the profile as last read (by id, or by the slug it had
   * then), its policy and CA as last read; undefined unless all of them are held.
   */
  held(key: RowKey): IssuanceRows | undefined {
    const { profile, policy, ca } = this.forRead(key);
    if (!profile || !policy) return undefined;
    // A slug read before a rename still names the id here: only the slug the row has counts.
    if ("slug" in key && profile.record.slug !== key.slug) return undefined;
    const caId = profile.record.caId;
    if (caId && ca?.id !== caId) return undefined;
    return {
      priorRequestId: null,
      profile: profile.record,
      policy: policy.record,
      ca: caId ? ca!.record : null,
      held: { profile: tagOf(profile), policy: tagOf(policy), ca: caId ? tagOf(ca!) : null },
    };
  }

  rememberSlug(slug: string, id: string): void {
    if (this.slugs.get(slug) === id) return;
    if (this.slugs.size >= KNOWN_ROWS) this.slugs.clear();
    this.slugs.set(slug, id);
  }
}

const tagOf = (row: KnownRow<object>): RowTag => ({ id: row.id, tag: row.tag });

/**
 * The position of `chain` in `chains`, added when no equal chain is there yet. The chains of
 * one CA's certificates hold the same string objects (its frozen record's PEMs), so comparing
 * them is mostly comparing references; a batch has a few distinct chains at most.
 */
function chainIndex(chains: string[][], chain: readonly string[]): number {
  for (let k = 0; k < chains.length; k++) {
    const known = chains[k]!;
    if (known.length === chain.length && known.every((pem, i) => pem === chain[i])) return k;
  }
  return chains.push([...chain]) - 1;
}

/** Held rows as a batched store's item carries them (storeIssuances). */
const heldJson = (rows: HeldRows) => ({
  p: rows.profile.id,
  pt: rows.profile.tag,
  y: rows.policy.id,
  yt: rows.policy.tag,
  c: rows.ca?.id ?? null,
  ct: rows.ca?.tag ?? null,
});

/** Freezes a parsed row and what it holds (jsonb values), but not Buffers (they cannot be). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (value instanceof Date || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

/** The unique index that keeps a serial to one certificate per CA (RFC 5280 4.1.2.2). */
const SERIAL_INDEX = "certificate_ca_serial_key";

/** PostgreSQL's unique_violation on the serial index (the driver's error, or the ORM's copy). */
function isSerialConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; message?: string } | null;
  return (
    e?.code === "23505" &&
    (e.constraint === SERIAL_INDEX || String(e.message).includes(SERIAL_INDEX))
  );
}

/**
 * The trigger certificate_blocked_key's refusal of a certificate whose key was revoked for key
 * compromise (Migration20261205000000BlockedKeys): the statement wrote nothing.
 */
function isKeyBlocked(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === KEY_BLOCKED_SQLSTATE;
}

const KEY_BLOCKED_SQLSTATE = "CMK01";

/** The trigger's look, as a statement: the key's shared lock, then whether it is blocked. */
const KEY_BLOCKED_SQL = `select "certmint_key_blocked"(?) as "blocked"`;

/** The advisory lock class of one certificate's waiting renewal (recordWaitingRequest): "rnwl". */
const RENEWAL_WAIT_LOCK_CLASS = 0x726e776c;

/**
 * Another request waiting for approval to renew the same certificate; the same caller's same
 * request_id is a replay, not another (a request without one is never a replay: until the
 * review of stop 40, NULL matched every other id-less request of the caller). It reads the
 * waiting requests (certificate_request_pending_approval_index), a set the per-token cap bounds.
 */
const WAITING_RENEWAL_SQL = `select "id" from "certificate_request"
  where "status" = 'PENDING_APPROVAL' and "renewal_of_certificate_id" = ?::uuid
    and not ("caller" = ? and ?::text is not null and "request_id" = ?::text) limit 1`;

/**
 * The certificate_renew_at trigger's refusal of a certificate whose profile is gone: deleted
 * after the issuance read it, before or while it was stored (it waited for the delete's lock).
 * NOT_FOUND, as a call that came after the deletion is answered; the statement wrote nothing.
 */
const PROFILE_GONE = "CMP01";
const profileGone = () =>
  notFound(
    "CERTIFICATE_PROFILE_NOT_FOUND",
    "the certificate profile was deleted while the certificate was issued; nothing was stored",
  );

/** recordWaitingRequest: the profile's row, locked against its deletion to the commit. */
const PROFILE_KEY_SHARE_SQL = `select "id" from "certificate_profile" where "id" = ? for key share`;

/**
 * Whether the CA signs, after its shared signing lock (certmint_ca_signs takes it and holds it
 * to the commit, Migration20261205300000CaSigningGuard): a disable or revocation committed
 * before is seen, and one after waits for this transaction.
 */
const CA_SIGNS_SQL = `select "certmint_ca_signs"(?::uuid) as "signs"`;
const ISSUER_STATE_SQL = `select "status", "revoked_at" from "certificate_authority" where "id" = ?`;
const RENEWED_NOW_SQL = `select "revoked_at", "renewed_by_id" from "certificate" where "id" = ?`;

/**
 * A caller's access token (or ACME account) as it is now, its row held FOR SHARE to the
 * commit (REQUESTER_TOKEN_SHARE_SQL); null when neither exists.
 */
async function requesterOn(
  connection: HeldConnection,
  caller: string,
): Promise<LockedRequester | null> {
  // Token and account ids are UUIDs; anything else names neither (and the cast would fail
  // the transaction).
  if (!UUID.test(caller)) return null;
  const [token] = await connection.execute<
    Array<{ slug: string; revoked_at: Date | string | null }>
  >(REQUESTER_TOKEN_SHARE_SQL, [caller]);
  if (token) {
    return {
      kind: "token",
      slug: token.slug,
      revokedAt: token.revoked_at === null ? null : new Date(token.revoked_at),
    };
  }
  const [account] = await connection.execute<Array<{ status: string }>>(
    REQUESTER_ACCOUNT_SHARE_SQL,
    [caller],
  );
  return account ? { kind: "account", status: account.status } : null;
}

/**
 * The names an issuer certifies (CaNamesUnder), read on a connection in its transaction after
 * its names lock (CA_NAMES_LOCK_SQL), in a statement of their own: under READ COMMITTED that
 * statement's snapshot holds whatever the lock's last holder committed. The CA certificates are
 * read through their partial index (Migration20261206130000CaCertificateIndex).
 */
async function caNamesOn(connection: HeldConnection, issuerId: string): Promise<CaNamesUnder> {
  await connection.execute(CA_NAMES_LOCK_SQL, [issuerId]);
  const rows = await connection.execute<
    Array<{ slug: string | null; subject: SubjectName; id: string | null; spki: string | null }>
  >(CA_NAMES_SQL, [issuerId, issuerId]);
  const names: CaNamesUnder = { cas: [], certificates: [] };
  for (const row of rows) {
    if (row.slug !== null) names.cas.push({ slug: row.slug, subject: row.subject });
    else names.certificates.push({ id: row.id!, subject: row.subject, spkiSha256: row.spki });
  }
  return names;
}

const CA_NAMES_SQL = `select "slug", "subject", null::uuid as "id", null::text as "spki"
    from "certificate_authority" where "parent_id" = ?::uuid
  union all
  select null, "subject", "id", "spki_sha256" from "certificate" where "ca_id" = ?::uuid and "is_ca"`;

/** A record read by the statement: the same properties and types as the ORM's (columns.ts). */
const asRecord = <T extends object>(values: Record<string, unknown>): T => fromRow<T>(values as T);

/** The statements, their texts built once from the entities' metadata. */
function statements(em: EntityManager) {
  const metadata = em.getMetadata();
  const platform = em.getPlatform();
  const table = (e: { meta: { className: string } }) =>
    new TableColumns(metadata.get(e.meta.className), platform);
  const requests = table(CertificateRequestEntity);
  const certificates = table(CertificateEntity);
  const audit = table(AuditRecordEntity);
  const profiles = table(CertificateProfileEntity);
  const policies = table(CertificatePolicyEntity);
  const cas = table(CertificateAuthorityEntity);
  const r = (prop: keyof CertificateRequest) => requests.column(prop);

  /**
   * A CTE `held` of one row while every held row is still the one the issuance was decided on
   * (same id and tag), of none otherwise; the request is inserted from it.
   */
  const heldGuard = (rows: HeldRows) => {
    const checks = [profiles.unchanged("hp"), policies.unchanged("hy")];
    const bindings: unknown[] = [
      rows.profile.id,
      rows.profile.tag,
      rows.policy.id,
      rows.policy.tag,
    ];
    if (rows.ca) {
      checks.push(cas.unchanged("hc"));
      bindings.push(rows.ca.id, rows.ca.tag);
    }
    return { text: `held as (select 1 where ${checks.join(" and ")}), `, bindings };
  };

  /**
   * The rows a decision was made on, still at their versions, each held FOR SHARE to the commit
   * (SignedIssuance.rules): an edit committed before this statement read them is seen (a locking
   * read waits for a concurrent edit's commit, then reads the row as it left it), and an edit
   * after it waits for this commit. Until stop 50 of 2026-12-06 only held rows were checked, and
   * with no lock: certificates decided on a policy an edit had just tightened were stored after
   * the edit answered (an outside probe: 20-40 in 6 rounds).
   */
  const profileAt = `exists (select 1 from ${profiles.table} rp where rp.${profiles.column("id")} = ? and rp.${profiles.column("version")} = ? for share)`;
  const policyAt = `exists (select 1 from ${policies.table} ry where ry.${policies.column("id")} = ? and ry.${policies.column("version")} = ? for share)`;
  const rulesGuard = (rules: DecidedRules) => ({
    text: `decided as (select 1 where ${profileAt} and ${policyAt}), `,
    bindings: [rules.profileId, rules.profileVersion, rules.policyId, rules.policyVersion],
  });

  /** The audit record inserted from the rows of `source` (a CTE), when there is one. */
  const auditFrom = (source: string, record?: AuditRecord) => {
    if (!record) return { text: "", bindings: [] as unknown[] };
    const a = audit.insert(record);
    return {
      text: `, audited as (insert into ${audit.table} (${a.columns}) select ${a.placeholders} from ${source})`,
      bindings: a.bindings,
    };
  };

  return {
    /** What the request lock reads (request-lock.ts). */
    lock: { table: requests.table, id: r("id"), status: r("status") },

    read: {
      profile: profiles.selectUnlessKnown("p"),
      policy: policies.selectUnlessKnown("y", ["id", "slug", "version", "spec"] satisfies Array<
        keyof CertificatePolicy
      >),
      ca: cas.selectUnlessKnown("c"),
      batchText: "",
      /**
       * The read of several calls in one statement: one row per call, in their order (the
       * ordinality of the unnested keys); a call reads its profile by id or by slug, and its
       * prior request when it has an idempotency key (null keys match nothing). With each call
       * go the ids and tags of the rows it holds (KnownRows): a row that is still that one
       * comes back as its id and tag only.
       */
      batch(reads: IssuanceRead[], known: KnownForRead[]): { text: string; bindings: unknown[] } {
        if (!this.batchText) {
          const prior = `(select r.${r("id")} from ${requests.table} r where r.${r("caller")} = k.caller and r.${r("idempotencyKey")} = k.key) as "prior_id"`;
          this.batchText = `select ${prior}, ${this.profile.sql}, ${this.policy.sql}, ${this.ca.sql}
             from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::uuid[], ?::text[], ?::uuid[], ?::text[], ?::uuid[], ?::text[])
               with ordinality as k(pid, pslug, caller, key, kp, kpt, ky, kyt, kc, kct, n)
             left join ${profiles.table} p on p.${profiles.column("id")} = k.pid or p.${profiles.column("slug")} = k.pslug
             ${this.profile.joinFull("k.kp", "k.kpt")}
             left join ${policies.table} y on y.${policies.column("id")} = p.${profiles.column("policyId")}
             ${this.policy.joinFull("k.ky", "k.kyt")}
             left join ${cas.table} c on c.${cas.column("id")} = p.${profiles.column("caId")}
             ${this.ca.joinFull("k.kc", "k.kct")}
             order by k.n`.replace(/\s+/g, " ");
        }
        const column = (f: (read: IssuanceRead, i: number) => string | null | undefined) =>
          reads.map((read, i) => f(read, i) ?? null);
        return {
          text: this.batchText,
          bindings: [
            column((x) => ("id" in x.profile ? x.profile.id : null)),
            column((x) => ("id" in x.profile ? null : x.profile.slug)),
            column((x) => x.prior?.caller),
            column((x) => x.prior?.idempotencyKey),
            column((_, i) => known[i]!.profile?.id),
            column((_, i) => known[i]!.profile?.tag),
            column((_, i) => known[i]!.policy?.id),
            column((_, i) => known[i]!.policy?.tag),
            column((_, i) => known[i]!.ca?.id),
            column((_, i) => known[i]!.ca?.tag),
          ],
        };
      },
    },

    /**
     * A caller's requests waiting for approval, at most `atMost` of them read: the partial index
     * on PENDING_APPROVAL rows serves it, and with every caller capped (intent.ts) there are
     * never many such rows to look through.
     */
    countWaitingForApproval(caller: string, atMost: number) {
      return {
        text: `select count(*)::int as "n" from (select 1 from ${requests.table}
           where ${r("status")} = 'PENDING_APPROVAL' and ${r("caller")} = ? limit ?) "w"`,
        bindings: [caller, atMost],
      };
    },

    /** INSERT ... ON CONFLICT (caller, idempotency key) DO NOTHING, the audit record riding along. */
    recordRequest(request: CertificateRequest, record?: AuditRecord) {
      const v = requests.insert(request);
      const insert = `insert into ${requests.table} (${v.columns}) values (${v.placeholders})
         on conflict (${r("caller")}, ${r("idempotencyKey")}) where ${r("idempotencyKey")} is not null
         do nothing returning ${r("id")}`;
      if (!record) return { text: insert, bindings: v.bindings };
      const a = auditFrom("inserted", record);
      return {
        text: `with inserted as (${insert})${a.text} select ${r("id")} from inserted`,
        bindings: [...v.bindings, ...a.bindings],
      };
    },

    /**
     * A certificate signed before its request was written, stored in one statement: the
     * request inserted ISSUED unless one of the same (caller, idempotency key) exists (the
     * unique index decides between concurrent calls: the second waits for the first's commit,
     * then inserts nothing), and the certificate and the audit record inserted from the
     * inserted request, so neither exists without it. A renewal first locks the renewed
     * certificate, still unrenewed and unrevoked (FOR UPDATE waits for a concurrent renewal's
     * commit and re-checks the row as that left it), inserts the request only from that row,
     * and links it to its successor only once the request is in: all or nothing. The result
     * says which part came up empty; a serial conflict fails the statement as a whole.
     */
    storeIssuance({
      request,
      certificate,
      audit: record,
      heldRows,
      callerInForce,
      accountInForce,
      rules,
    }: SignedIssuance) {
      const c = (prop: keyof Certificate) => certificates.column(prop);
      const q = requests.insert(request);
      const v = certificates.insert(certificate);
      const a = auditFrom("inserted", record);
      const renewed = certificate.renewedFromId;
      // A renewal takes its new key's lock (shared, as the blocked-key trigger takes it) before
      // the renewed certificate's row: a key-compromise revocation takes the key's lock, then the
      // rows, and in the other order the two deadlocked (an outside probe of stop 50 of
      // 2026-12-06: renewals racing the revocation of the certificate they renew, ABORTED).
      const keyFirst = renewed && certificate.spkiSha256;
      const guard = renewed
        ? `renewable as (select ${c("id")} from ${certificates.table}
             where ${c("id")} = ? and ${c("renewedById")} is null and ${c("revokedAt")} is null
               ${keyFirst ? `and "certmint_key_blocked"(?) is not null` : ""}
             for update), `
        : "";
      const held = heldRows ? heldGuard(heldRows) : undefined;
      const decided = rules ? rulesGuard(rules) : undefined;
      // The caller's token, still not revoked, or an ACME caller's account, still valid, held
      // FOR SHARE to the commit (callersInForce, accountsInForce). A call has one or neither.
      const callerId = callerInForce ?? accountInForce;
      const caller = callerInForce
        ? `caller as (${callersInForce("= ?::uuid")}), `
        : accountInForce
          ? `caller as (${accountsInForce("= ?::uuid")}), `
          : "";
      // The tokens it rests on besides its caller (vouchersHeld), every one held: one row when
      // none of them had its line cut.
      const vouchers = [...new Set(certificate.vouchedBy ?? [])];
      const vouched = vouchers.length
        ? `vouchers as (${vouchersHeld("?::jsonb")}), vouched as (select 1 where not exists (select 1 from vouchers where "line_cut_at" is not null)), `
        : "";
      const sources = [
        renewed ? "renewable" : "",
        held ? "held" : "",
        decided ? "decided" : "",
        callerId ? "caller" : "",
        vouched ? "vouched" : "",
      ].filter(Boolean);
      const source = sources.length
        ? `select ${q.placeholders} from ${sources.join(", ")}`
        : `values (${q.placeholders})`;
      const link = renewed
        ? `, linked as (update ${certificates.table} set ${c("renewedById")} = ?
             where ${c("id")} = ? and ${c("renewedById")} is null and ${c("revokedAt")} is null
               and exists (select 1 from inserted) returning ${c("id")})`
        : "";
      const counts = [
        `(select count(*) from stored)::int as "stored"`,
        ...(renewed ? [`(select count(*) from renewable)::int as "renewable"`] : []),
        ...(held ? [`(select count(*) from held)::int as "held"`] : []),
        ...(decided ? [`(select count(*) from decided)::int as "decided"`] : []),
        ...(callerId ? [`(select count(*) from caller)::int as "caller"`] : []),
        ...(vouched ? [`(select count(*) from vouched)::int as "vouched"`] : []),
      ].join(", ");
      return {
        text: `with ${guard}${held?.text ?? ""}${decided?.text ?? ""}${caller}${vouched}inserted as (
           insert into ${requests.table} (${q.columns}) ${source}
           on conflict (${r("caller")}, ${r("idempotencyKey")}) where ${r("idempotencyKey")} is not null
           do nothing returning ${r("id")})${link}${a.text},
         stored as (
           insert into ${certificates.table} (${v.columns}) select ${v.placeholders} from inserted
           returning ${c("id")})
         select ${counts}`,
        bindings: [
          ...(renewed ? [renewed] : []),
          ...(keyFirst ? [certificate.spkiSha256] : []),
          ...(held?.bindings ?? []),
          ...(decided?.bindings ?? []),
          ...(callerId ? [callerId] : []),
          ...(vouched ? [JSON.stringify(vouchers)] : []),
          ...q.bindings,
          ...(renewed ? [certificate.id, renewed] : []),
          ...a.bindings,
          ...v.bindings,
        ],
      };
    },

    /**
     * storeIssuance for several new issuances (no renewals) at once, one parameter: a JSON
     * array of {q: request, c: certificate, a: audit record} rows (columns.ts jsonRow), read
     * back as the tables' row types. Each request is inserted unless one of its (caller,
     * idempotency key) exists, from this statement included (DO NOTHING: the second of two in
     * one batch is a duplicate, as it would be in two statements); its certificate and audit
     * record only with it; an item decided on held rows (h: their ids and tags) only while each
     * is still that row; an item of a caller's token (t: its id, SignedIssuance.callerInForce)
     * only while that token is not revoked: `callers` reads each distinct token of the batch
     * once, FOR SHARE (callersInForce), so a batch of one caller's calls costs one row lock, and
     * a revoked caller's items store nothing while the other callers' store; an ACME finalize's
     * item (u: its account, SignedIssuance.accountInForce) likewise only while its account is
     * still valid (`accounts`, accountsInForce). Returns each certificate's outcome: "stored",
     * "caller-revoked" (its caller's token was revoked, or its ACME account is no longer
     * valid; checked first, as the lone statement does), "rows-changed" (its held rows
     * changed); a duplicate
     * has no row. A serial conflict fails the statement as a whole (the caller stores each alone
     * then). The parameter is parsed once, as jsonb: as
     * json, each item's text was lexed again for every field taken from it (a batch of 16
     * items took 323 us of the statement's time per item as json, 257 as jsonb).
     *
     * A certificate's chain (its CA's certificate and the CA's own chain: the same PEMs for
     * every certificate of a CA) goes once per batch, in a second parameter, a JSON array of
     * the batch's distinct chains; an item names its chain by position (k) and the certificate
     * is stored with that chain (an item without k keeps its own chain_pem). It was 1.2 of the
     * 4.9 KB of JSON per item: what the server serialised and wrote, and what PostgreSQL
     * received and parsed (jsonb parsing of the parameter, about 5 us per KB of it).
     */
    storeIssuances(issuances: SignedIssuance[]) {
      // Two texts: a batch none of whose certificates rests on a token besides its caller (the
      // usual one: vouched_by null) neither reads nor locks any (vouchers, uncut): about 0.03 ms
      // of PostgreSQL per issuance at 16 clients (bench/profile/ab.ts, stop 59).
      const vouched = issuances.some((i) => (i.certificate.vouchedBy ?? []).length > 0);
      let text = vouched ? this.storeIssuancesText : this.storeIssuancesUnvouchedText;
      if (!text) {
        const reqId = `(items.q).${r("id")}`;
        const unchanged = (t: TableColumns, alias: string, id: string, tag: string) =>
          `exists (select 1 from ${t.table} ${alias} where ${alias}.${t.column("id")} = (e->'h'->>'${id}')::uuid and ${t.tag(alias)} = e->'h'->>'${tag}')`;
        // As the lone statement's `decided` (rulesGuard): the profile and policy at the versions
        // the item was decided on, held FOR SHARE to the commit.
        const at = (t: TableColumns, alias: string, id: string, version: string) =>
          `exists (select 1 from ${t.table} ${alias} where ${alias}.${t.column("id")} = (e->'r'->>'${id}')::uuid and ${alias}.${t.column("version")} = (e->'r'->>'${version}')::int for share)`;
        // An item's caller still in force: its token (t) not revoked, its ACME account (u)
        // still valid; an item has one or neither.
        // And every token it rests on besides its caller (the certificate's vouched_by) not
        // of a cut line (vouchersHeld; null for most: an issuer's own certificates).
        const vouchedBy = `(items.c).${certificates.column("vouchedBy")}`;
        const callerOk = `((items.t is null or items.t in (select "id" from callers)) and (items.u is null or items.u in (select "id" from accounts)))`;
        const uncut = vouched
          ? `(${vouchedBy} is null or not exists (select 1 from vouchers where vouchers."line_cut_at" is not null and jsonb_exists(${vouchedBy}, vouchers."id"::text)))`
          : "true";
        const inForce = `(${callerOk} and ${uncut})`;
        text = `with items as materialized (
             select jsonb_populate_record(null::${requests.table}, e->'q') as q,
                    jsonb_populate_record(null::${certificates.table}, e->'c') as c,
                    jsonb_populate_record(null::${audit.table}, e->'a') as a,
                    (e->'h' is null or (${unchanged(profiles, "hp", "p", "pt")} and ${unchanged(policies, "hy", "y", "yt")}
                      and (e->'h'->>'c' is null or ${unchanged(cas, "hc", "c", "ct")}))) as fresh,
                    (e->'r' is null or (${at(profiles, "rp", "p", "pv")} and ${at(policies, "ry", "y", "yv")})) as decided,
                    (chains.list -> ((e->>'k')::int)) as chain,
                    (e->>'t')::uuid as t,
                    (e->>'u')::uuid as u
               from jsonb_array_elements(?::jsonb) as e, (select ?::jsonb as list) as chains),
           callers as (${callersInForce("in (select items.t from items)")}),
           accounts as (${accountsInForce("in (select items.u from items)")}),
           ${vouched ? `vouchers as (${vouchersHeld(`coalesce((select jsonb_agg(distinct v) from items, jsonb_array_elements_text(${vouchedBy}) v), '[]'::jsonb)`)}),` : ""}
           inserted as (
             insert into ${requests.table} (${requests.columnList}) select ${requests.fieldsOf("q")} from items
             where items.fresh and items.decided and ${inForce}
             on conflict (${r("caller")}, ${r("idempotencyKey")}) where ${r("idempotencyKey")} is not null
             do nothing returning ${r("id")}),
           audited as (
             insert into ${audit.table} (${audit.columnList})
             select ${audit.fieldsOf("items.a")} from items join inserted on inserted.${r("id")} = ${reqId}),
           stored as (
             insert into ${certificates.table} (${certificates.columnList})
             select ${certificates.fieldsOf("items.c", { chainPem: `coalesce(items.chain, (items.c).${certificates.column("chainPem")})` })} from items join inserted on inserted.${r("id")} = ${reqId}
             returning ${certificates.column("id")})
         select ${certificates.column("id")} as "id", 'stored' as "outcome" from stored
         union all select (items.c).${certificates.column("id")}, 'caller-revoked' from items
           where not ${callerOk}
         union all select (items.c).${certificates.column("id")}, 'line-cut' from items
           where ${callerOk} and not ${uncut}
         union all select (items.c).${certificates.column("id")}, 'rows-changed' from items
           where not items.fresh and ${inForce}
         union all select (items.c).${certificates.column("id")}, 'rules-changed' from items
           where items.fresh and not items.decided and ${inForce}`.replace(/\s+/g, " ");
        if (vouched) this.storeIssuancesText = text;
        else this.storeIssuancesUnvouchedText = text;
      }
      const chains: string[][] = [];
      const rows = issuances.map((i) => {
        const chain = i.certificate.chainPem;
        const k = Array.isArray(chain) ? chainIndex(chains, chain) : undefined;
        return {
          q: requests.jsonRow(i.request),
          c: certificates.jsonRow(i.certificate, k === undefined ? undefined : "chainPem"),
          a: audit.jsonRow(i.audit),
          ...(k === undefined ? {} : { k }),
          ...(i.heldRows ? { h: heldJson(i.heldRows) } : {}),
          ...(i.callerInForce ? { t: i.callerInForce } : {}),
          ...(i.accountInForce ? { u: i.accountInForce } : {}),
          ...(i.rules
            ? {
                r: {
                  p: i.rules.profileId,
                  pv: i.rules.profileVersion,
                  y: i.rules.policyId,
                  yv: i.rules.policyVersion,
                },
              }
            : {}),
        };
      });
      return { text, bindings: [JSON.stringify(rows), JSON.stringify(chains)] };
    },
    storeIssuancesText: "",
    storeIssuancesUnvouchedText: "",

    /**
     * The certificate stored and its PENDING request marked ISSUED in one statement: the insert
     * reads from the update, so nothing is stored unless the request was still PENDING.
     */
    storeIssued(certificate: Certificate, request: IssuedRequest, record: AuditRecord) {
      const v = certificates.insert(certificate);
      const a = auditFrom("marked", record);
      return {
        text: `with marked as (
           update ${requests.table}
              set ${r("status")} = 'ISSUED', ${r("certificateId")} = ?, ${r("updatedAt")} = ?,
                  ${r("sealedPrivateKey")} = ?, ${r("keyHeldUntil")} = ?
            where ${r("id")} = ? and ${r("status")} = 'PENDING'
            returning ${r("id")})${a.text}
         insert into ${certificates.table} (${v.columns}) select ${v.placeholders} from marked
         returning ${certificates.column("id")}`,
        bindings: [
          certificate.id,
          request.updatedAt,
          requests.bind("sealedPrivateKey", request.sealedPrivateKey),
          request.keyHeldUntil,
          request.id,
          ...a.bindings,
          ...v.bindings,
        ],
      };
    },

    /** A renewed certificate linked to its successor, unless renewed or revoked meanwhile. */
    linkRenewal(renewedId: string, successorId: string) {
      const c = (prop: keyof Certificate) => certificates.column(prop);
      return {
        text: `update ${certificates.table} set ${c("renewedById")} = ?
          where ${c("id")} = ? and ${c("renewedById")} is null and ${c("revokedAt")} is null
          returning ${c("id")}`,
        bindings: [successorId, renewedId],
      };
    },

    /** A PENDING request marked FAILED with its error, and the refusal's audit record. */
    markFailed(failure: RequestFailure, record: AuditRecord) {
      const a = auditFrom("failed", record);
      return {
        text: `with failed as (
           update ${requests.table}
              set ${r("status")} = 'FAILED', ${r("error")} = ${requests.placeholder("error")},
                  ${r("updatedAt")} = ?
            where ${r("id")} = ? and ${r("status")} = 'PENDING' returning ${r("id")})${a.text}
         select ${r("id")} from failed`,
        bindings: [
          requests.bind("error", failure.error),
          failure.updatedAt,
          failure.id,
          ...a.bindings,
        ],
      };
    },
  };
}
