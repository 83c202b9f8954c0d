import { type handleServerStreamingCall, Metadata, type ServerWritableStream } from "@grpc/grpc-js";
import {
  CertificateServiceService,
  CertificateEventType as PbEventType,
  type WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { credentialChanged } from "../auth/open-streams";
import { peerIdentity } from "../auth/peer-identity";
import { CertmintError, STARTING_OR_STOPPING_RETRY_SECONDS } from "../errors";
import { type Actor, type Call, PROFILE_SCOPED_ROLES } from "../issuance/call";
import { recentIssuerRevocations } from "../issuance/certificates/issuer-revocations";
import { certificateStatus } from "../issuance/certificates/queries";
import type { IssuanceDeps } from "../issuance/deps";
import type { CertificateWatch, WatchEvent, WatchTarget } from "../issuance/events/watch";
import type { IssuerRevocations } from "../issuance/repositories";
import { noteCallActor } from "../server/call-logging";
import { logCallFailure } from "./call-failure-log";
import { certificateToProto, storedErrorToStatus } from "./convert/certificate";
import { enumCodec } from "./convert/enums";
import { codeOf, toServiceError } from "./errors";
import type { FairAdmission } from "./fair-admission";
import { admitRequest } from "./request-check";
import { reusableResponse } from "./reusable-response";
import type { HandlerDeps } from "./unary";

const METHOD = CertificateServiceService.watchCertificates.path;

const eventTypeCodec = enumCodec(PbEventType, "CERTIFICATE_EVENT_TYPE_", [
  "ISSUED",
  "RENEWED",
  "REVOKED",
  "RENEWAL_FAILED",
  "EXPIRING",
  "KEEPALIVE",
  "CURRENT",
  "HOLD_RELEASED",
] as const satisfies readonly WatchEvent["type"][]);

function targetOf(req: WatchCertificatesRequest): WatchTarget {
  const scope = req.scope;
  if (scope?.$case === "certificateId") return { kind: "LINEAGE", certificate: scope.value };
  if (scope?.$case === "certificateProfile") return { kind: "PROFILE", profile: scope.value };
  return { kind: "ALL" };
}

function eventToProto(
  e: WatchEvent,
  now: Date,
  revokedIssuers?: IssuerRevocations,
): WatchCertificatesResponse {
  return {
    cursor: e.cursor,
    type: eventTypeCodec.toProto(e.type),
    eventTime: e.time,
    certificate: e.certificate
      ? certificateToProto(e.certificate, now, e.renewal, revokedIssuers)
      : undefined,
    previousCertificateId: e.previousCertificateId ?? "",
    privateKeyPem: e.privateKeyPem ?? "",
    error: storedErrorToStatus(e.error ?? null),
    issuingCertificateAuthorityPem: e.certificate
      ? (e.certificate.chainPem.at(-1) ?? e.certificate.certificatePem)
      : "",
  };
}

/**
 * Messages of events that many streams send (one WatchEvent object for every watch that read
 * it together, watch.ts hydrate), by that object: built once and encoded once
 * (reusableResponse), instead of once per stream. With 500 streams open, each issuance was
 * built and encoded 500 times (bench/fairness/watch-flood.ts). Held weakly: a message goes
 * with its event. Kept with the status it was built with: a stream that sends it after the
 * certificate expired, or its CA was revoked, builds its own.
 */
const sharedMessages = new WeakMap<
  WatchEvent,
  { message: WatchCertificatesResponse; status: ReturnType<typeof certificateStatus> | undefined }
>();

/**
 * An event's message for one stream. Never shared: a KEEPALIVE or a CURRENT (one stream's own
 * position); those are built per stream. An event with a private key is an object of the
 * key owner's token alone (watch.ts sharedHandOut: one per event and token), so its message is
 * shared by that token's streams only: built and encoded once, not once per stream (an issuer
 * with 100 streams had each key's message built 100 times; an outside probe, 2026-12-06).
 */
export function watchMessageOf(
  e: WatchEvent,
  now: Date,
  revokedIssuers?: IssuerRevocations,
): WatchCertificatesResponse {
  if (e.type === "KEEPALIVE" || e.type === "CURRENT") {
    return eventToProto(e, now, revokedIssuers);
  }
  const status = e.certificate ? certificateStatus(e.certificate, now, revokedIssuers) : undefined;
  const held = sharedMessages.get(e);
  if (held && held.status === status) return held.message;
  const message = reusableResponse(eventToProto(e, now, revokedIssuers));
  sharedMessages.set(e, { message, status });
  return message;
}

/**
 * WatchCertificates, a server-streaming call, through the same gate as every unary call
 * (unary.ts steps 1-3: ready, authenticate, rate limit, authorize, request limits, then its
 * turn among the calls at work). The turn is for the stream's set-up only (its checks, and its
 * first message when it sends one at once); the open stream then holds no place. A read, so
 * the call itself is not audited; each private key it hands out is, before its event is sent
 * (src/issuance/events/watch.ts, handOut). Its events come from the watch; the
 * stream follows the client's flow control (a slow reader holds the next event back), ends
 * when the client cancels, and ends with UNAVAILABLE (SERVER_STOPPING) when the server stops.
 * Its credential is checked before every message, and the stream is held to it
 * (CallSecurity.holdStream): it ends with UNAUTHENTICATED as soon as this process learns that
 * the token was revoked (through this process, or announced by another one), or at the token's
 * expiry, or once its client certificate is revoked, without waiting for a message.
 */
/** Whether a profile-scoped caller may no longer see this event's certificate (its profile is off its token). */
function outOfScope(actor: Actor, event: WatchEvent): boolean {
  const profileId = event.certificate?.profileId;
  return (
    PROFILE_SCOPED_ROLES.includes(actor.role) &&
    profileId !== undefined &&
    (profileId === null || !actor.profileIds.includes(profileId))
  );
}

export function watchCertificatesHandler(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
  watch: () => CertificateWatch,
): handleServerStreamingCall<WatchCertificatesRequest, WatchCertificatesResponse> {
  return (call) => {
    const traceId = String(call.metadata.get("x-request-id")[0] ?? "");
    const cancelled = new AbortController();
    call.once("cancelled", () => cancelled.abort());
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
      const peer = peerIdentity(call.getAuthContext());
      const actor = await security.authenticate(call.metadata, peer, call.getPeer());
      noteCallActor(call.metadata, actor.slug);
      const admitted = security.admit(actor);
      if (admitted) await admitted;
      security.authorize(METHOD, actor);
      const request = admitRequest(call.request);
      // Ends the stream with the refusal a call would now get, as soon as this process learns
      // that its credential is no longer in force. Until stop 47 of 2026-12-06 an idle stream
      // of a revoked token stayed open until its next KEEPALIVE (CERTMINT_WATCH_KEEPALIVE_MS,
      // 30 s), holding one of its token's places, and its client was not told (outside probe, F4).
      const revoked = new AbortController();
      const ended = AbortSignal.any([cancelled.signal, revoked.signal]);
      const letGo = security.holdStream?.(call.metadata, peer, actor, (err) => revoked.abort(err));
      const refusedNow = () => {
        if (revoked.signal.aborted) throw revoked.signal.reason;
      };
      const watchCall: Call = {
        actor,
        method: METHOD,
        traceId,
        peer: call.getPeer(),
        abandoned: () => call.cancelled,
        // The watch stops reading (and handing out keys) for a stream whose credential ended it
        // as for one whose client left.
        signal: ended,
        statusCodeOf: codeOf,
      };
      let release: (() => void) | undefined;
      let setUpDone: (() => void) | undefined;
      let events: AsyncGenerator<WatchEvent> | undefined;
      try {
        // One of the token's places for open watches (CERTMINT_WATCH_STREAMS_PER_TOKEN), held
        // until this call ends, however it ends.
        const place = watch().admitStream(actor);
        release = place instanceof Promise ? await place : place;
        refusedNow();
        // The stream's set-up is one call of its token among the calls at work, in its turn
        // (fair-admission.ts, as unary.ts step 3): refused past the token's queue
        // (RESOURCE_EXHAUSTED, CALLS_QUEUED), leaving the queue if the client cancels first.
        // Until 2026-12-05 it was outside (tenant probe): one issuer opening and cancelling
        // 140 watches a second (each open some 8 round trips) raised another token's
        // IssueCertificate p99 from 15 to 412-492 ms, worse than its unary flood at 378/s
        // (164 ms).
        setUpDone = await setUpTurn(deps.admission, actor, ended);
        // Given up just as its turn came: no work for it.
        if (cancelled.signal.aborted) return;
        refusedNow();
        const target = targetOf(request);
        events = await watch().open(watchCall, target, request.afterCursor);
        let first: IteratorResult<WatchEvent> | undefined;
        if (firstAtOnce(request)) {
          // Not raced with a cancel: the place is held until this work is done, as a unary
          // call's is until its handler returns.
          first = await events.next();
        } else {
          // Its first message waits for an event: the stream holds no place for that.
          setUpDone?.();
        }
        // Headers now, so a client knows the watch is open before its first event.
        call.sendMetadata(new Metadata());
        const send = async (event: WatchEvent) => {
          refusedNow();
          // The credential is checked again before every message, KEEPALIVEs included (from the
          // authentication cache: no round trip), so a stream ends once its token is revoked or
          // expires, or its client certificate is revoked, and hands out no further event or key.
          const still = await security.authenticate(call.metadata, peer, call.getPeer());
          if (still.id !== actor.id) throw credentialChanged(actor);
          // A profile taken off a scoped token while the stream is open (deleted: its tokens list
          // it no more) takes its events with it, as a new watch would not get them. Until stop
          // 51 of 2026-12-07 the scope was read once at the open, and an issuer's open watches
          // went on receiving its deleted profile's revocations (an outside probe, RENEWAL F4).
          if (outOfScope(still, event)) return;
          // Its certificate's status against the CAs revoked now (ISSUER_REVOKED below one),
          // read at most once a second for every stream (issuer-revocations.ts).
          const d = issuance();
          const revokedIssuers = event.certificate?.caId
            ? await recentIssuerRevocations(d.store.certificates)
            : undefined;
          const written = write(call, watchMessageOf(event, d.now(), revokedIssuers), ended);
          // Handed to grpc-js: the set-up is done. Not once the client takes it: a client
          // that does not read would hold the place.
          setUpDone?.();
          await written;
        };
        if (first && !first.done && !cancelled.signal.aborted) await send(first.value);
        for await (const event of withCancel(events, ended)) await send(event);
        // Ended by its credential rather than by its client: the client is told why.
        refusedNow();
      } finally {
        setUpDone?.();
        release?.();
        letGo?.();
        // Ended before its loop (its first message refused): the watch's reader goes too.
        events?.return(undefined).catch(() => undefined);
      }
    };
    run().then(
      () => call.end(),
      (err: unknown) => {
        if (cancelled.signal.aborted) return;
        logCallFailure(deps.logger, err, METHOD, traceId);
        call.emit("error", toServiceError(err));
      },
    );
  };
}

/**
 * Waits for the stream's set-up's turn among the calls at work (none without an admission);
 * returns what gives its place back (once).
 */
async function setUpTurn(
  admission: FairAdmission | undefined,
  actor: Actor,
  gone: AbortSignal,
): Promise<(() => void) | undefined> {
  if (!admission) return undefined;
  const turn = admission.enter(actor, () => gone);
  if (turn) await turn;
  let left = false;
  return () => {
    if (left) return;
    left = true;
    admission.leave();
  };
}

/**
 * Whether a watch sends its first message at once, so that message is part of its set-up: a
 * watch without a cursor (a lineage's CURRENT, from reads of its own; any other's KEEPALIVE at
 * the position it starts from, which gives the client a cursor before any event). A watch
 * resumed from a cursor sends its first message when an event comes; its reads, like every
 * later read of a live stream, are shared and gated per token (CertificateWatch.shared).
 */
function firstAtOnce(request: WatchCertificatesRequest): boolean {
  return request.afterCursor === "";
}

/**
 * Writes one message, waiting while the client's flow-control window is full, or until the
 * client goes away: a client that stopped reading and then cancelled never drains, and a
 * write waiting for that kept the stream (and the events it held) for the life of the process
 * (test/renewal/watch-slow-reader.test.ts).
 */
function write(
  call: ServerWritableStream<unknown, WatchCertificatesResponse>,
  msg: WatchCertificatesResponse,
  gone: AbortSignal,
) {
  return new Promise<void>((resolve) => {
    if (call.write(msg) || gone.aborted) {
      resolve();
      return;
    }
    const done = () => {
      call.off("drain", done);
      gone.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    gone.addEventListener("abort", done, { once: true });
  });
}

/** The generator's events until `signal` aborts (the client went away). */
async function* withCancel<T>(source: AsyncGenerator<T>, signal: AbortSignal): AsyncGenerator<T> {
  const aborted = new Promise<"aborted">((resolve) =>
    signal.aborted
      ? resolve("aborted")
      : signal.addEventListener("abort", () => resolve("aborted"), { once: true }),
  );
  try {
    for (;;) {
      // Not another read from the source once the client is gone.
      if (signal.aborted) return;
      const next = await Promise.race([source.next(), aborted]);
      if (next === "aborted" || next.done) return;
      yield next.value;
    }
  } finally {
    // Ends the source at its next await; a pending read just finishes unused.
    void source.return(undefined);
  }
}
