import { type CertmintError, failedPrecondition, isCertmintError } from "../../errors";
import { auditRecordOf } from "../audit/record";
import type { Actor, Call } from "../call";
import { issuedFields } from "../call";
import { AUTO_RENEWAL_REQUEST_ID_PREFIX } from "../certificates/idempotency";
import { storedErrorOf } from "../certificates/outcome";
import { renew } from "../certificates/renew";
import type { IssuanceDeps } from "../deps";
import type { ClaimedCertificate } from "../repositories";
import { type CallerStanding, standingOf } from "./standing";

/** What a log line says of an issued certificate (issuance/call.ts issuedFields). */
type IssuedFields = ReturnType<typeof issuedFields>;

/** What the renewer is told by the configuration (src/config.ts RenewalConfig). */
export interface RenewerSettings {
  tickMs: number;
  perSecond: number;
  leaseSeconds: number;
  retrySeconds: number;
  retryMaxSeconds: number;
  /** How long a generated key of a RETURN_ONCE profile stays sealed for its owner. */
  keyHoldSeconds: number;
}

export interface RenewerHooks {
  /** The gRPC status code of an error, for the audit record of a failed attempt. */
  statusCodeOf(err: unknown): number;
  /** A tick or an attempt failed for a reason that is not the certificate's (an outage). */
  onError(err: unknown, certificateId?: string): void;
  /** A certificate was renewed or an attempt failed (for the log). */
  onOutcome?(outcome: AttemptOutcome): void;
  /** Certificates this tick found expired before any renewal (EXPIRED_BEFORE_RENEWAL). */
  onExpiredUnrenewed?(count: number): void;
}

export type AttemptOutcome =
  | {
      certificateId: string;
      result: "RENEWED";
      successorId: string;
      /**
       * The successor this attempt signed and stored, as a gRPC call's log line names what it
       * issued (issuance/call.ts issuedFields): the hook's log line carries it. Unset
       * for a replay of an earlier attempt's request, which issued nothing now.
       */
      issued?: IssuedFields;
    }
  | { certificateId: string; result: "AWAITING_APPROVAL"; requestId: string }
  | { certificateId: string; result: "FAILED"; reason: string; retryAt: Date }
  | { certificateId: string; result: "SETTLED" | "LEFT" };

/**
 * The actor of automatic renewals: in audit records (actor_slug "certmint-auto-renewal", no
 * token: the nil UUID, as certmint's own SYSTEM_ACTOR) and for the checks of the renew use
 * case, which it passes as an admin would. The successor's owner is still the certificate's
 * owner: the renewal is made in its name (`caller`), so its key goes to it alone.
 */
export const AUTO_RENEWAL_ACTOR: Actor = {
  id: "00000000-0000-0000-0000-000000000000",
  slug: "certmint-auto-renewal",
  role: "ADMIN",
  profileIds: [],
};

/**
 * The idempotency key (request_id) of an automatic renewal: one per certificate and attempt,
 * so a retry after a crash replays it.
 */
export const autoRenewalRequestId = (certificateId: string, attempt: number) =>
  `${AUTO_RENEWAL_REQUEST_ID_PREFIX}${certificateId}:${attempt}`;

/** Automatic renewals are audited as the RPC a client would call (proto CertificateService). */
const RENEW_METHOD = "/certmint.v1.CertificateService/RenewCertificate";

/** Renewals a tick runs at once (each waits on the database or on key generation). */
const PARALLEL_ATTEMPTS = 4;

/**
 * Server-driven renewal (issue 13): every tick, claims due certificates of auto_renew profiles
 * (claimDue: row locks and a lease, so across replicas each is renewed by one of them), at
 * most perSecond * tickMs / 1000 of them, in turn between profiles (one profile's backlog
 * takes its share of a tick, not all of it), and renews each through the RenewCertificate use
 * case in its owner's name: same profile, subject and SANs, the profile's TTL, the policy as it
 * is now; a CSR certificate's public key is kept (REUSE), a generated one gets a new key pair.
 *
 * Exactly once: the renewal's request_id names the certificate and the attempt, so a replica
 * that takes over a certificate whose renewer died replays that request (which answers the
 * successor if it was stored, and issues it if the renewer died before its one commit) rather
 * than making a second one; and linking the successor refuses a certificate already renewed.
 * A refused attempt is recorded FAILED on the certificate, audited, sent to watchers, and
 * retried with backoff under a new request_id.
 */
export class Renewer {
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** The profile this replica's last claim ended on: the next claim's turn starts after it. */
  private lastProfileId: string | null = null;

  constructor(
    private readonly deps: IssuanceDeps,
    private readonly settings: RenewerSettings,
    private readonly hooks: RenewerHooks,
  ) {}

  /** Certificates claimed per tick. */
  get batchSize(): number {
    return Math.max(1, Math.round((this.settings.perSecond * this.settings.tickMs) / 1000));
  }

  /** Ticks every tickMs until stopped; a tick never overlaps the one before. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) => this.hooks.onError(err))
        .finally(() => {
          if (!this.stopped) {
            this.timer = setTimeout(loop, this.settings.tickMs);
            this.timer.unref();
          }
        });
    };
    loop();
  }

  /** Stops claiming; waits for the attempts of the running tick. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running.catch(() => undefined);
  }

  /** One round: claim a batch, renew each, then note certificates nearing expiry. */
  async tick(): Promise<AttemptOutcome[]> {
    const { renewals } = this.deps.store;
    // Round robin between profiles (claimDue), continued from the last tick's claim.
    const claimed = await renewals.claimDue(
      this.deps.now(),
      this.batchSize,
      this.settings.leaseSeconds,
      this.lastProfileId,
    );
    this.lastProfileId = claimed.at(-1)?.profileId ?? this.lastProfileId;
    const outcomes: AttemptOutcome[] = [];
    let next = 0;
    const worker = async () => {
      while (next < claimed.length && !this.stopped) {
        const cert = claimed[next++]!;
        const outcome = await this.attempt(cert).catch((err: unknown) => {
          this.hooks.onError(err, cert.id);
          return { certificateId: cert.id, result: "LEFT" } as const;
        });
        this.hooks.onOutcome?.(outcome);
        outcomes.push(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_ATTEMPTS, claimed.length) }, worker));
    await renewals.noteExpiring(this.deps.now(), this.batchSize);
    const expired = await renewals.noteExpiredUnrenewed(
      this.deps.now(),
      this.batchSize,
      storedErrorOf(expiredBeforeRenewal()),
    );
    if (expired > 0) this.hooks.onExpiredUnrenewed?.(expired);
    return outcomes;
  }

  /**
   * Renews one claimed certificate and records what came of it. A successor it stored is named
   * in the outcome (`issued`), the one record of it outside the database (README: Backups), as
   * the gRPC call line names what RenewCertificate issued; until stop 47 of 2026-12-06 the
   * outcome named its id only, and neither its serial nor its CA nor its notAfter was logged.
   * Stored and then met a failure (the bookkeeping after the commit: an outage), it is still
   * RENEWED, with `issued`: the certificate exists, and a replay of its request issues no other.
   */
  private async attempt(cert: ClaimedCertificate): Promise<AttemptOutcome> {
    const idempotencyKey = autoRenewalRequestId(cert.id, cert.failures);
    const call: Call = {
      actor: AUTO_RENEWAL_ACTOR,
      method: RENEW_METHOD,
      traceId: idempotencyKey,
      peer: "certmint-auto-renewal",
      statusCodeOf: this.hooks.statusCodeOf,
    };
    let outcome: AttemptOutcome;
    try {
      outcome = await this.renewOne(cert, call, idempotencyKey);
    } catch (err) {
      if (!call.issued) throw err;
      this.hooks.onError(err, cert.id);
      outcome = {
        certificateId: cert.id,
        result: "RENEWED",
        successorId: call.issued.certificateId,
      };
    }
    if (!call.issued) return outcome;
    const issued = issuedFields(call.issued);
    return outcome.result === "RENEWED"
      ? { ...outcome, issued }
      : { certificateId: cert.id, result: "RENEWED", successorId: issued.certificateId, issued };
  }

  private async renewOne(
    cert: ClaimedCertificate,
    call: Call,
    idempotencyKey: string,
  ): Promise<AttemptOutcome> {
    const { store } = this.deps;
    // A generated key of a RETURN_ONCE profile stays sealed for the owner's watch this long.
    const deps = { ...this.deps, generatedKeyReplaySeconds: this.settings.keyHoldSeconds };
    try {
      // Not in the name of an owner that may no longer hold certificates (standing.ts): a
      // revoked token (a CSR key that may be compromised would keep getting successors; a
      // generated key would wait for a watch nobody may open), or a deactivated ACME account.
      // Checked before renew, so a replay of an earlier attempt's request issues nothing
      // either. An expired token is no reason: tokens are rotated, the service keeps working.
      const standing = await standingOf(store, cert.owner);
      if (standing.state !== "ACTIVE") throw ownerRefusal(cert.id, standing);
      const outcome = await renew(deps, call, {
        caller: cert.owner,
        certificateId: cert.id,
        idempotencyKey,
        ttlSeconds: cert.profileTtlSeconds ?? undefined,
        validateOnly: false,
        automatic: true,
      });
      if (outcome.status === "PENDING_APPROVAL") {
        await store.renewals.markAwaitingApproval(cert.id, outcome.certificateRequestId);
        return {
          certificateId: cert.id,
          result: "AWAITING_APPROVAL",
          requestId: outcome.certificateRequestId,
        };
      }
      await store.renewals.markSettled(cert.id);
      return {
        certificateId: cert.id,
        result: "RENEWED",
        successorId: outcome.certificate?.certificateId ?? "",
      };
    } catch (err) {
      if (!isCertmintError(err) || TRANSIENT.has(err.kind)) {
        // An outage or a request another replica still holds: the lease runs out and any
        // replica tries again; nothing is said about the certificate.
        this.hooks.onError(err, cert.id);
        return { certificateId: cert.id, result: "LEFT" };
      }
      if (SETTLED_REASONS.has(err.reason)) {
        await store.renewals.markSettled(cert.id);
        return { certificateId: cert.id, result: "SETTLED" };
      }
      // An owner's revocation is final, and a profile switched to another enrollment method
      // is an admin's decision: no doubling from retrySeconds (a record and an event each
      // time), the longest wait at once; each retry checks again, first.
      const waitSeconds = LONGEST_WAIT_REASONS.has(err.reason)
        ? this.settings.retryMaxSeconds
        : this.backoffSeconds(cert);
      const retryAt = new Date(this.deps.now().getTime() + waitSeconds * 1000);
      // The failure on the certificate, and the attempt's audit record unless the refusal
      // wrote one with the change it made (a FAILED request), commit together.
      await store.transaction(async (tx) => {
        await tx.renewals.markFailedAttempt(cert, storedErrorOf(err), retryAt);
        if (call.auditRecordId) return;
        await tx.audit.insert(
          auditRecordOf(
            call,
            { type: "certificate", id: cert.id },
            { statusCode: this.hooks.statusCodeOf(err), errorReason: err.reason },
            this.deps.now(),
          ),
        );
      });
      return { certificateId: cert.id, result: "FAILED", reason: err.reason, retryAt };
    }
  }

  /** retrySeconds, doubled per earlier failure, at most retryMaxSeconds. */
  private backoffSeconds(cert: ClaimedCertificate): number {
    const { retrySeconds, retryMaxSeconds } = this.settings;
    return Math.min(retryMaxSeconds, retrySeconds * 2 ** Math.min(cert.failures, 30));
  }
}

/**
 * Why a certificate of an auto_renew profile ended without a successor although no attempt
 * failed: certmint was down (or its database) through its renewal time and its end, and the
 * renewer renews only certificates still valid. Told once, as a failed renewal (RENEWAL_FAILED
 * to watchers, renewal_state FAILED), so a sidecar and an operator learn the lineage stopped;
 * until stop 40 of 2026-12-05 it stayed IDLE with no event at all (an outside probe). An expired
 * certificate can still be renewed by hand (RenewCertificate), which continues its lineage.
 */
function expiredBeforeRenewal(): CertmintError {
  return failedPrecondition(
    "EXPIRED_BEFORE_RENEWAL",
    "the certificate expired before certmint could renew it (the server or its database was down through its renewal time and its end); automatic renewal renews only valid certificates: renew it with RenewCertificate (certmint cert renew), which continues its lineage",
  );
}

/** Failures that say nothing about the certificate: retried once the lease runs out. */
const TRANSIENT = new Set([
  "unavailable",
  "aborted",
  "deadline_exceeded",
  "resource_exhausted",
  "internal",
]);

/** The certificate was renewed or revoked by another path: nothing left to do. */
const SETTLED_REASONS = new Set(["CERTIFICATE_ALREADY_RENEWED", "CERTIFICATE_REVOKED"]);

/**
 * Refusals retried after CERTMINT_RENEWAL_RETRY_MAX_SECONDS at once: the owner may no longer
 * have certificates made in its name (ownerRefusal), or the profile now enrolls by ACME
 * (certificates/plan.ts refuseOtherEnrollment: its certificates are renewed by ACME orders,
 * whose challenges prove the names again; renewal resumes if it is switched back to API), or
 * its CA (or one above it) was revoked: an admin's decision too, pointing the profile at a CA in
 * good standing, after which the renewal comes from it (until stop 47 of 2026-12-06 CA_REVOKED
 * was retried with the doubling backoff, a failure recorded at each attempt).
 */
const LONGEST_WAIT_REASONS = new Set([
  "OWNER_REVOKED",
  "OWNER_DEACTIVATED",
  "ENROLLMENT_METHOD_MISMATCH",
  "CA_REVOKED",
]);

/**
 * FAILED_PRECONDITION for a certificate whose owner is revoked (OWNER_REVOKED) or, for an ACME
 * account, deactivated (OWNER_DEACTIVATED): recorded as the attempt's failure (renewal_error,
 * a RENEWAL_FAILED event, the audit record), with what the operator can do.
 */
function ownerRefusal(
  certificateId: string,
  standing: Exclude<CallerStanding, { state: "ACTIVE" }>,
): CertmintError {
  const todo = `renew it with another token (RenewCertificate by an admin, with key_source NEW or CSR, so that the successor and its key are that token's) or revoke it (RevokeCertificate)`;
  if (standing.state === "TOKEN_REVOKED") {
    return failedPrecondition(
      "OWNER_REVOKED",
      `certificate ${certificateId} is owned by access token "${standing.slug}", which was revoked: certmint no longer renews it automatically; ${todo}`,
      {
        preconditions: [
          {
            type: "OWNER_STATUS",
            subject: `access_tokens/${standing.slug}`,
            description: "the owner access token is revoked",
          },
        ],
        metadata: { certificate_id: certificateId, access_token: standing.slug },
      },
    );
  }
  return failedPrecondition(
    "OWNER_DEACTIVATED",
    `certificate ${certificateId} is owned by an ACME account that is ${standing.status}: certmint no longer renews it automatically; ${todo}`,
    {
      preconditions: [
        {
          type: "OWNER_STATUS",
          subject: "acme_account",
          description: `the owner ACME account is ${standing.status}`,
        },
      ],
      metadata: { certificate_id: certificateId },
    },
  );
}
