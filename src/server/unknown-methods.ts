/**
 * Calls of a method the server does not have. grpc-js answers them itself, before any
 * interceptor or handler, with UNIMPLEMENTED and a bare message ("The server does not implement
 * the method /x/Y"): no google.rpc.Status, no ErrorInfo, no log line and no count, so a client
 * built against another version could not tell it apart by reason, and someone enumerating
 * methods was invisible to the operator (an outside probe, stop 40 of 2026-12-05).
 *
 * This wraps that answer of one server (Server#_respondWithError in grpc-js 1.14.7, the version
 * package.json pins; not part of its public API, like transport-statuses.ts): the status stays
 * UNIMPLEMENTED, with a message naming the method and how to list the real ones, an ErrorInfo
 * (METHOD_NOT_FOUND), and `onUnknown` called so the call is logged and counted. The method's
 * name is the caller's text: it is quoted, cut to 200 characters, and never a metric label.
 * If grpc-js is not as expected nothing is wrapped; test/server/unknown-methods.test.ts fails.
 */
import { type Metadata, type Server, status } from "@grpc/grpc-js";
import { toServiceError } from "../api/errors";
import { CertmintError } from "../errors";

interface StatusLike {
  code?: number;
  details?: string;
  metadata?: Metadata | null;
}

type RespondWithError = (err: StatusLike, stream: unknown, info?: unknown) => void;

const UNKNOWN = /^The server does not implement the method (.*)$/s;
const SHOWN_CHARACTERS = 200;

/** The status a call of the unknown method `path` is answered with. */
export function unknownMethodStatus(path: string): StatusLike {
  const shown = JSON.stringify(
    path.length > SHOWN_CHARACTERS ? `${path.slice(0, SHOWN_CHARACTERS)}...` : path,
  );
  const e = toServiceError(
    new CertmintError(
      "unimplemented",
      "METHOD_NOT_FOUND",
      `this server has no method ${shown}; its services and methods are listed by server reflection (grpcurl HOST:PORT list) and in proto/certmint/v1`,
    ),
  );
  return { code: e.code, details: e.details, metadata: e.metadata ?? null };
}

/** Installs the answer on `server`; true when it is in place. */
export function answerUnknownMethods(
  server: Server,
  onUnknown: (path: string, peer: string | undefined) => void,
): boolean {
  const target = server as unknown as { _respondWithError?: RespondWithError };
  const respond = target._respondWithError;
  if (typeof respond !== "function") return false;
  target._respondWithError = function respondWithError(err, stream, info) {
    const unknown = err.code === status.UNIMPLEMENTED ? UNKNOWN.exec(err.details ?? "") : null;
    if (!unknown) return respond.call(this, err, stream, info);
    const path = unknown[1]!;
    const socket = (
      stream as { session?: { socket?: { remoteAddress?: string; remotePort?: number } } }
    ).session?.socket;
    const peer = socket?.remoteAddress && `${socket.remoteAddress}:${socket.remotePort ?? ""}`;
    onUnknown(
      path.length > SHOWN_CHARACTERS ? `${path.slice(0, SHOWN_CHARACTERS)}...` : path,
      peer || undefined,
    );
    return respond.call(this, unknownMethodStatus(path), stream, info);
  };
  return true;
}
