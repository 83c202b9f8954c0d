import type { handleUnaryCall, Metadata, ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { CertmintError, isCertmintError } from "../errors";
import { type PeerIdentity, peerIdentity } from "../server/peer-identity";
import { toServiceError } from "./errors";

/** What a handler knows of its call besides the request message. */
export interface CallContext {
  /** x-request-id of the call (see server/call-logging.ts). */
  readonly requestId: string;
  readonly metadata: Metadata;
  /** When the caller stops waiting, if it set a deadline. */
  readonly deadline?: Date;
  /**
   * The client certificate the TLS handshake verified against CERTMINT_TLS_CLIENT_CA_FILE
   * (mTLS); absent on plaintext, without a client certificate, or with one not verified.
   * Not used for authorization yet (issue 6).
   */
  readonly peerCertificate?: PeerIdentity;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

/** Whether the server may take calls yet (the database is open and migrated). */
export interface Readiness {
  readonly ready: boolean;
}

/**
 * Adapts an async handler to grpc-js: refuses calls until the server is ready, and maps
 * every thrown error through the one error mapping (api/errors.ts). Errors that are not
 * CertmintErrors are logged here with their stack and reach the client as INTERNAL.
 */
/** What every handler module gets from the server. */
export interface HandlerDeps {
  logger: Logger;
  readiness: Readiness;
}

export function unary<Req, Res>(
  method: string,
  handler: UnaryHandler<Req, Res>,
  deps: HandlerDeps,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const deadline = call.getDeadline();
    const ctx: CallContext = {
      requestId: String(call.metadata.get("x-request-id")[0] ?? ""),
      metadata: call.metadata,
      deadline:
        deadline instanceof Date
          ? deadline
          : Number.isFinite(deadline)
            ? new Date(deadline)
            : undefined,
      peerCertificate: peerIdentity(call.getAuthContext()),
    };
    const run = async () => {
      if (!deps.readiness.ready) {
        throw new CertmintError(
          "unavailable",
          "SERVER_NOT_READY",
          "certmint is starting or stopping; retry shortly",
        );
      }
      return handler(call.request, ctx);
    };
    run().then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!isCertmintError(err)) {
          deps.logger.error(
            { err, method, requestId: ctx.requestId },
            "unhandled error in handler",
          );
        }
        callback(toServiceError(err) as ServiceError);
      },
    );
  };
}
