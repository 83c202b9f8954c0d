/**
 * The call that signs a certificate (IssueCertificate, RenewCertificate). Its answer carries the
 * only copy of a key certmint generated, and a failure of the connection or the deadline does
 * not say whether the server signed: the answer may be what was lost. Every such call carries a
 * request id (options/request.ts), so sending it again returns what the first call made.
 */
import { type ServiceError, status } from "@grpc/grpc-js";
import type { Invocation } from "./invocation";
import { isServiceError, type ReqOf, type ResOf, unary } from "./rpc";

/** Codes after which the server may have signed, the answer lost on the way back. */
const OUTCOME_UNKNOWN: ReadonlySet<number> = new Set([
  status.DEADLINE_EXCEEDED,
  status.UNAVAILABLE,
  status.CANCELLED,
  status.UNKNOWN,
  status.INTERNAL,
]);

/**
 * Whether grpc-js failed the call before it had a connection to send it on (its load balancer's
 * "No connection established", or a name that did not resolve): nothing reached the server, so
 * there is no answer to lose nor a reason to send again. Matched on grpc-js's wording; should it
 * change, such a failure gets the retries and the hint too, which is harmless.
 */
const neverSent = (err: ServiceError) =>
  err.code === status.UNAVAILABLE &&
  /No connection established|Name resolution failed/.test(err.details);

/**
 * How often an UNAVAILABLE call is sent again by itself, at once and within the first call's
 * deadline: a dropped connection (a proxy's idle reset, a server's GOAWAY) reconnects, and the
 * same request id returns the certificate the first call made, if any, never a second one (a
 * call still signing it holds the request's lock; the repetition waits for it).
 */
const UNAVAILABLE_RETRIES = 2;

/**
 * An issuing call's failure after which the certificate may exist: reported as the call's
 * failure plus `recovery`, how to get that certificate (and its key) back.
 */
export class AnswerLostError extends Error {
  override name = "AnswerLostError";
  constructor(
    readonly failure: ServiceError,
    readonly recovery: string,
  ) {
    super(failure.message);
  }
}

/** What an issuing command says its repetition returns, e.g. "the same certificate and key". */
export interface LostAnswerHelp {
  requestId: string;
  /** What a repetition with the request id gets back. */
  returns: string;
  /** What happens when the command is run again without it (a second certificate, a refusal). */
  without: string;
}

function recoveryOf(help: LostAnswerHelp): string {
  return (
    `the answer was lost, not necessarily the certificate: certmint may have signed it (request id ${help.requestId}).\n` +
    `  to get it: repeat the same command with --request-id ${help.requestId} (and --force if its files exist by then) ` +
    `within 60 minutes; it returns ${help.returns}. Without --request-id, ${help.without}`
  );
}

/**
 * An issuing call with the invocation's deadline: UNAVAILABLE sent again up to
 * UNAVAILABLE_RETRIES times; once an attempt may have reached the server and its answer was
 * lost, the final failure is thrown as AnswerLostError (a repetition's own failure, a refused
 * connection say, does not tell what the first did). A dry run (`help` undefined) signs
 * nothing, so its failures are plain.
 */
export async function issuingCall<C extends object, M extends keyof C>(
  inv: Invocation,
  client: C,
  method: M,
  request: ReqOf<C[M]>,
  help: LostAnswerHelp | undefined,
): Promise<ResOf<C[M]>> {
  const deadline = Date.now() + inv.settings.deadlineMs;
  let answerLost = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await unary(client, method, request, Math.max(1, deadline - Date.now()));
    } catch (err) {
      if (!isServiceError(err) || help === undefined) throw err;
      const lost = OUTCOME_UNKNOWN.has(err.code) && !neverSent(err);
      answerLost ||= lost;
      if (
        lost &&
        err.code === status.UNAVAILABLE &&
        attempt < UNAVAILABLE_RETRIES &&
        Date.now() < deadline
      ) {
        inv.note(
          `certmint: UNAVAILABLE (${err.details}); sending the request again with request id ${help.requestId}`,
        );
        continue;
      }
      throw answerLost ? new AnswerLostError(err, recoveryOf(help)) : err;
    }
  }
}
