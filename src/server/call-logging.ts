import { randomUUID } from "node:crypto";
import { Metadata, ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { type PeerIdentity, peerIdentity } from "../auth/peer-identity";
import { type IssuedNote, issuedFields, monotonicDeadline } from "../issuance/call";
import { clientCodeOf } from "./transport-statuses";

/** The metadata key of the per-call request id (read from the client or generated). */
export const REQUEST_ID_HEADER = "x-request-id";
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Health checks (load balancers, every few seconds) and reflection (grpcurl) are logged at
 * debug: at info they would drown the calls an operator reads the log for.
 */
const QUIET_SERVICES = /^\/grpc\.(health\.v1\.Health|reflection\.v1(alpha)?\.ServerReflection)\//;

/** The access token (slug) that authenticated a call, noted by the API layer for the log line. */
const actors = new WeakMap<Metadata, string>();

export function noteCallActor(metadata: Metadata, actorSlug: string): void {
  actors.set(metadata, actorSlug);
}

/** The slug noted for a call's metadata; undefined before it authenticated (or if it did not). */
export function callActor(metadata: Metadata): string | undefined {
  return actors.get(metadata);
}

/**
 * The certificate a call issued (IssueCertificate, RenewCertificate, ApproveCertificateRequest),
 * noted by the API layer once its use case stored it (issuance/call.ts Call.issued): its log
 * line names it, so the log holds every issuance outside the database. After a restore from a
 * backup, the certificates issued since are unknown to the database and still valid in the
 * field; these lines are what names them (README: Backups, and what a restore means).
 */
const issuances = new WeakMap<Metadata, IssuedNote>();

export function noteCallIssued(metadata: Metadata, issued: IssuedNote): void {
  issuances.set(metadata, issued);
}

/**
 * The verified client certificate the interceptor read for a call (null: none), by the call's
 * metadata: the API layer takes it from here instead of reading the TLS socket again (grpc-js's
 * getAuthContext goes through the HTTP/2 session's socket proxy, ~6 us a call in bench/profile).
 * Undefined for a call the interceptor did not see.
 */
const peers = new WeakMap<Metadata, PeerIdentity | null>();

export function notedCallPeer(metadata: Metadata): PeerIdentity | null | undefined {
  return peers.get(metadata);
}

/**
 * Each call's deadline on the monotonic clock (issuance/call.ts monotonicDeadline; null: none),
 * taken by the interceptor as the call arrives, by the call's metadata. grpc-js dates the
 * deadline by the wall clock when the call's headers arrive, and runs the handler (api/unary.ts)
 * only once its whole request has arrived too, which for a large request sent slowly is seconds
 * later: converted then, a wall clock stepped in between moved the deadline by the step (a step
 * forward refused the call at once). Undefined for a call the interceptor did not see.
 */
const deadlines = new WeakMap<Metadata, number | null>();

export function notedCallDeadline(metadata: Metadata): number | null | undefined {
  return deadlines.get(metadata);
}

/**
 * One log line per call: method, status code, duration, request id and, under mTLS, the
 * verified client certificate's common name and URI SANs (`peer`), and the slug of the
 * access token that authenticated it (`actor`). The request id comes
 * from the caller's x-request-id when it is well formed, else is generated; it is written
 * back into the incoming metadata (so handlers see it) and returned as a response header and trailer.
 */
/**
 * How close to its deadline a cancelled call counts as one whose deadline passed: the time a
 * call can take to reach the interceptor on a busy machine, by which the client's deadline
 * precedes the server's.
 */
const DEADLINE_SLACK_MS = 1_000;

export function callLoggingInterceptor(logger: Logger): ServerInterceptor {
  // The line holds only the fields built below (the method, a status, a validated or generated
  // request id, a token's slug, a certificate's names and serial, an issued certificate's id,
  // serial, CA and notAfter), never a request's values (no CSR, no key), so it skips the
  // redaction pass: ~6 us of the ~8 us per line (pino 10's redaction walks
  // every key for the wildcard paths, and allocates as it goes).
  const access = logger.child({}, { redact: [] });
  return (method, call) => {
    const started = process.hrtime.bigint();
    // Now, as grpc-js has just dated it: see `deadlines`.
    const deadlineAt = monotonicDeadline(call.getDeadline()) ?? null;
    const identity = peerIdentity(call.getAuthContext());
    const peer = identity && {
      ...(identity.commonName === undefined ? {} : { cn: identity.commonName }),
      ...(identity.uris.length === 0 ? {} : { uris: identity.uris }),
      serial: identity.serialNumber,
    };
    let requestId = "";
    let received: Metadata | undefined;
    let logged = false;
    const log = (code: status) => {
      logged = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const actor = received && actors.get(received);
      // Only calls that issued have one: the others pay one WeakMap lookup, as for `actor`.
      const issued = received && issuances.get(received);
      const line = {
        method: method.path,
        code: status[code] ?? String(code),
        durationMs: Math.round(durationMs * 1000) / 1000,
        requestId,
        // The token's slug, never the token.
        ...(actor === undefined ? {} : { actor }),
        ...(peer === undefined ? {} : { peer }),
        ...(issued === undefined ? {} : { issued: issuedFields(issued) }),
      };
      if (code === status.INTERNAL || code === status.UNKNOWN) access.error(line, "call failed");
      else if (QUIET_SERVICES.test(method.path)) access.debug(line, "call");
      else access.info(line, "call");
    };
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata: Metadata, nextMetadata) => {
            const given = metadata.get(REQUEST_ID_HEADER)[0];
            requestId =
              typeof given === "string" && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
            metadata.set(REQUEST_ID_HEADER, requestId);
            received = metadata;
            peers.set(metadata, identity ?? null);
            deadlines.set(metadata, deadlineAt);
            nextMetadata(metadata);
          },
          // A call the client cancelled, or whose deadline passed, ends without a status sent
          // through here (grpc-js answers it below the interceptors): logged all the same, with
          // the code the client sees. Until stop 58 of 2026-12-07 such calls, every
          // WatchCertificates stream among them, left no line (an outside probe).
          // The client's own deadline timer usually ends the call first (its RST_STREAM CANCEL
          // comes before this server's deadline, which counts from the call's arrival, later
          // than its sending): a cancel within DEADLINE_SLACK_MS of the deadline is the
          // deadline's, as the client reports it (in stop 58's CI run, one arrived before it).
          onCancel: () => {
            if (logged || !requestId) return;
            const expired =
              deadlineAt !== null && performance.now() >= deadlineAt - DEADLINE_SLACK_MS;
            log(expired ? status.DEADLINE_EXCEEDED : status.CANCELLED);
          },
        });
      },
      sendMetadata: (metadata, next) => {
        if (requestId) metadata.set(REQUEST_ID_HEADER, requestId);
        next(metadata);
      },
      sendStatus: (st, next) => {
        // The code the client is told (transport-statuses.ts remaps some of grpc-js's below
        // the interceptors): until stop 59 of 2026-12-07 a call whose request message was cut
        // short was logged UNIMPLEMENTED, answered INVALID_ARGUMENT (an outside probe).
        if (!logged) log(clientCodeOf(st, method.path));
        // An error without a response is sent trailers-only: carry the request id there too.
        const metadata = st.metadata ?? new Metadata();
        if (requestId) metadata.set(REQUEST_ID_HEADER, requestId);
        next({ ...st, metadata });
      },
    });
  };
}
