import type { handleUnaryCall, Metadata, ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { CallSecurity } from "../auth/access-control";
import { type PeerIdentity, peerIdentity } from "../auth/peer-identity";
import { ruleFor } from "../auth/permissions";
import { CertmintError, isCertmintError, STARTING_OR_STOPPING_RETRY_SECONDS } from "../errors";
import type { AuditResource } from "../issuance/audit/record";
import { type Actor, type Call, monotonicDeadline, remainingMs } from "../issuance/call";
import {
  noteCallActor,
  noteCallIssued,
  notedCallDeadline,
  notedCallPeer,
} from "../server/call-logging";
import { logCallFailure } from "./call-failure-log";
import { asCertmintError, codeOf, toServiceError } from "./errors";
import type { FairAdmission } from "./fair-admission";
import { namedResource } from "./refusal-resource";
import { admitRequest } from "./request-check";
import type { UnreadAnswers } from "./unread-answers";

/** What a handler knows of its call besides the request message. */
export interface CallContext {
  /**
   * The call's x-request-id (server/call-logging.ts): a trace id, logged as `requestId`; not
   * the caller's idempotency key (request_id, IssueInput.requestId) nor a request's row id
   * (certificate_request_id).
   */
  readonly traceId: string;
  readonly metadata: Metadata;
  /**
   * The client certificate the TLS handshake verified against CERTMINT_TLS_CLIENT_CA_FILE
   * (mTLS); absent on plaintext, without a client certificate, or with one not verified.
   */
  readonly peerCertificate?: PeerIdentity;
  /** Who is calling (the access token that authenticated the call). */
  readonly actor: Actor;
  /** The call, as the use cases take it (src/issuance/call.ts). */
  readonly call: Call;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

/** Whether the server may take calls yet (the database is open and migrated). */
export interface Readiness {
  readonly ready: boolean;
}

/**
 * Handlers running now. A handler can outlive its call (grpc-js answers a passed deadline or a
 * cancel itself): this counts until the handler is done, audit record included.
 */
export class InFlightCalls {
  /** Each call in flight, as the way to answer it UNAVAILABLE. */
  private readonly calls = new Set<() => void>();
  get count(): number {
    return this.calls.size;
  }
  /** A call started; `answerUnavailable` answers it if a stop cannot wait for it. */
  enter(answerUnavailable: () => void): () => void {
    this.calls.add(answerUnavailable);
    return () => this.calls.delete(answerUnavailable);
  }
  /**
   * The grace period of a stop is over: every call still in flight is answered UNAVAILABLE
   * (SERVER_STOPPING: another replica, or this one restarted, may serve its retry; a retry
   * with its request_id resolves a change that committed meanwhile) before the server's
   * connections are closed, which would otherwise leave the client a CANCELLED it has no
   * reason to retry. Returns how many were answered.
   */
  answerAllUnavailable(): number {
    const calls = [...this.calls];
    for (const answer of calls) answer();
    return calls.length;
  }
}

/** What every handler module gets from the server. */
export interface HandlerDeps {
  logger: Logger;
  readiness: Readiness;
  /** Authentication, rate limit, authorization and audit of refusals; exists once ready. */
  security: () => CallSecurity;
  /** Counts handlers in flight, when given. */
  calls?: InFlightCalls;
  /** Admits calls to their work in turn by access token, when given (fair-admission.ts). */
  admission?: FairAdmission;
  /** What a call's connection and token leave unread, when counted (unread-answers.ts). */
  unreadAnswers?: Pick<UnreadAnswers, "checkAnswerable">;
}

/**
 * Adapts an async handler to grpc-js, and is the one gate every certmint RPC passes:
 *  1. refuse until the server is ready (UNAVAILABLE);
 *  2. authenticate (UNAUTHENTICATED; RESOURCE_EXHAUSTED after too many failures from one
 *     address), take one call from the actor's rate limit (RESOURCE_EXHAUSTED, never audited),
 *     then authorize the method for the actor's role (PERMISSION_DENIED);
 *  3. refuse work the caller no longer waits for (DEADLINE_EXCEEDED, CANCELLED), and a request
 *     that breaks the contract's limits (INVALID_ARGUMENT; checked before it was decoded,
 *     request-check.ts); a list of a token whose list-row budget is spent (RESOURCE_EXHAUSTED,
 *     LIST_ROWS_EXHAUSTED; fair-admission.ts ListRowBudget: its answer's rows are charged when
 *     it is done); then wait for the call's turn among the calls at work, taken by access
 *     token in turn (fair-admission.ts; RESOURCE_EXHAUSTED past a token's queue);
 *  4. run the handler with the call (src/issuance/call.ts), which it passes to its use case
 *     explicitly: per-profile checks, and the audit record written with the change;
 *  5. record a mutating call that failed (or did not record itself) in the audit trail;
 *  6. map every thrown error through the one mapping (api/errors.ts). A database outage is
 *     UNAVAILABLE with a RetryInfo (logged by its cause); other errors that are not
 *     CertmintErrors are logged here with their stack and reach the client as INTERNAL.
 */
export function unary<Req, Res>(
  method: string,
  handler: UnaryHandler<Req, Res>,
  deps: HandlerDeps,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // On the monotonic clock, converted once as the call arrived (by the log interceptor, when
    // it saw the call: server/call-logging.ts says why not here): every later check of it
    // (below, and the use cases' lock waits and statement bounds) compares with
    // performance.now(), so a wall clock stepped during the call moves none of them.
    const notedDeadline = notedCallDeadline(call.metadata);
    const deadlineAt =
      notedDeadline === undefined
        ? monotonicDeadline(call.getDeadline())
        : (notedDeadline ?? undefined);
    const traceId = String(call.metadata.get("x-request-id")[0] ?? "");
    // As the log interceptor read it for this call, when it did (the same certificate).
    const noted = notedCallPeer(call.metadata);
    const peerCertificate =
      noted === undefined ? peerIdentity(call.getAuthContext()) : (noted ?? undefined);
    const { mutating } = ruleFor(method);
    let scope: Call | undefined;
    // Aborted once nobody waits for the answer: grpc-js reports a client's cancel, and a
    // passed deadline (it answers DEADLINE_EXCEEDED itself), as "cancelled". Work that waits
    // (a key queued for generation) is dropped then (Call.signal). The AbortSignal is made on
    // first use (an EventTarget: about 7 us and a few objects per call, and only the
    // key-generation path reads it); made after a cancel, it starts aborted.
    let abandon: AbortController | undefined;
    let cancelled = false;
    const onCancelled = () => {
      cancelled = true;
      abandon?.abort();
    };
    const signal = (): AbortSignal => {
      if (!abandon) {
        abandon = new AbortController();
        if (cancelled) abandon.abort();
      }
      return abandon.signal;
    };
    call.once("cancelled", onCancelled);
    // One answer per call: the handler's, or UNAVAILABLE from a stop past its grace period.
    let answered = false;
    const answer: typeof callback = (err, response) => {
      if (answered) return;
      answered = true;
      callback(err, response);
    };
    const leave = deps.calls?.enter(() =>
      answer(
        toServiceError(
          new CertmintError(
            "unavailable",
            "SERVER_STOPPING",
            "certmint stopped before this call finished; retry it (with the same request_id, a change that was made is answered, never made twice)",
            { retryAfterSeconds: STARTING_OR_STOPPING_RETRY_SECONDS },
          ),
        ) as ServiceError,
      ),
    );
    const { admission } = deps;
    let admitted = false;
    // A list's rows reserved in its token's budget, settled with the rows of its answer (none
    // when it failed).
    let settleRows: ((response: unknown) => void) | undefined;
    const done = () => {
      call.removeListener("cancelled", onCancelled);
      leave?.();
      if (admitted) admission?.leave();
    };
    // A call refused before its turn (at the gate, or cancelled while waiting) still writes its
    // refusal's audit record: that write waits for a place as the call's own work would. Else
    // a token cancelling its calls at once got a row written per call outside the places, as
    // many at once as it sent (RST_STREAM, 1 ms deadlines): rapid resets passed its share of
    // CERTMINT_CALLS_IN_PROGRESS and held the database pool from other tokens. False (the
    // record is not written, as for a rate-limited call) past the token's queue.
    const turnToRecord = async (actor: Actor): Promise<boolean> => {
      if (!admission || admitted) return true;
      try {
        // A signal nothing aborts: the caller already left, the record is written regardless.
        const turn = admission.enter(actor, () => new AbortController().signal);
        if (turn) await turn;
      } catch {
        return false;
      }
      admitted = true;
      return true;
    };
    const run = async () => {
      if (!deps.readiness.ready) {
        throw new CertmintError(
          "unavailable",
          "SERVER_NOT_READY",
          "certmint is starting or stopping; retry shortly",
          { retryAfterSeconds: STARTING_OR_STOPPING_RETRY_SECONDS },
        );
      }
      const security = deps.security();
      const actor = await security.authenticate(call.metadata, peerCertificate, call.getPeer());
      noteCallActor(call.metadata, actor.slug);
      // Before anything else the call does (authorization, audit records): see CallSecurity.
      const rated = security.admit(actor);
      if (rated) await rated;
      scope = {
        actor,
        method,
        traceId,
        peer: call.getPeer(),
        abandoned: () => call.cancelled || remainingMs({ deadlineAt }) <= 0,
        deadlineAt,
        get signal() {
          return signal();
        },
        statusCodeOf: codeOf,
        whileOutside: admission && ((wait) => admission.whileOutside(wait)),
        checkAnswerable:
          deps.unreadAnswers && (() => deps.unreadAnswers?.checkAnswerable(call.metadata)),
      };
      security.authorize(method, actor);
      refuseAbandonedCall(call, deadlineAt);
      const request = admitRequest(call.request);
      // Before its turn: a list refused for its rows waits for nothing and changes nothing.
      settleRows = admission?.reserveListRows(actor, method, request);
      if (admission) {
        const turn = admission.enter(actor, signal);
        if (turn) await turn;
        admitted = true;
      }
      const ctx: CallContext = {
        traceId,
        metadata: call.metadata,
        peerCertificate,
        actor,
        call: scope,
      };
      const s = scope;
      let response: Res;
      try {
        response = await handler(request, ctx);
      } finally {
        // The certificate it issued, for the call's log line: also when what the handler did
        // after the commit failed (the certificate exists either way).
        if (s.issued) noteCallIssued(call.metadata, s.issued);
      }
      settleRows?.(response);
      if (mutating && !s.auditRecordId) {
        // A change whose use case wrote no record (or a replay that changed nothing), naming
        // the request it answered when there is one: until stop 60 of 2026-12-08 a replay's
        // record named nothing, and could not be tied to its certificate (an outside probe).
        await security.recordOutcome(
          s,
          { statusCode: 0, errorReason: "" },
          requestAnswered(response),
        );
      }
      return response;
    };
    run().then(
      (response) => {
        done();
        answer(null, response);
      },
      async (err: unknown) => {
        settleRows?.(undefined);
        const { outage } = logCallFailure(deps.logger, err, method, traceId);
        // Refusals of mutating calls are audited; a rate-limited flood is not (writing a
        // row per refused call would make the limit a way to load the database), nor a call
        // that met a database outage (the record could not be written either).
        if (
          mutating &&
          scope &&
          !outage &&
          !(isCertmintError(err) && err.kind === "resource_exhausted") &&
          !(await deps
            .security()
            .auditRecordCommitted(scope)
            .catch((checkErr: unknown) => {
              // Unknown whether the change's record committed: record the outcome (at worst
              // a second record of the call), and say so.
              deps.logger.warn(
                { err: checkErr, method, requestId: traceId },
                "could not check the call's audit record; recording its outcome",
              );
              return false;
            })) &&
          // Its record is work of its token like any other, so it takes its turn.
          (await turnToRecord(scope.actor))
        ) {
          await deps
            .security()
            .recordOutcome(
              scope,
              {
                statusCode: codeOf(err),
                errorReason: asCertmintError(err)?.reason ?? "INTERNAL",
              },
              resourceOf(err) ?? namedResource(method, call.request),
            )
            .catch((auditErr: unknown) =>
              deps.logger.error(
                { err: auditErr, method, requestId: traceId },
                "audit record not written",
              ),
            );
        }
        done();
        answer(toServiceError(err) as ServiceError);
      },
    );
  };
}

/** The resource a refusal is about, when the use case named it (certificate_request_id). */
function resourceOf(err: unknown): AuditResource | undefined {
  if (!isCertmintError(err)) return undefined;
  const certificateRequestId = err.metadata.certificate_request_id;
  return certificateRequestId
    ? { type: "certificate_request", id: certificateRequestId }
    : undefined;
}

/** The certificate request an answer is about (IssueCertificate's, RenewCertificate's). */
function requestAnswered(response: unknown): AuditResource | undefined {
  const id = (response as { certificateRequestId?: unknown } | null)?.certificateRequestId;
  return typeof id === "string" && id !== "" ? { type: "certificate_request", id } : undefined;
}

/** grpc-js ends a call at its deadline or when the client cancels; do not start its work then. */
function refuseAbandonedCall(
  call: ServerUnaryCall<unknown, unknown>,
  deadlineAt: number | undefined,
): void {
  if (call.cancelled) {
    throw new CertmintError("deadline_exceeded", "CALL_CANCELLED", "the caller cancelled the call");
  }
  if (remainingMs({ deadlineAt }) <= 0) {
    throw new CertmintError(
      "deadline_exceeded",
      "DEADLINE_EXCEEDED",
      "the call's deadline passed before certmint could start it",
    );
  }
}
