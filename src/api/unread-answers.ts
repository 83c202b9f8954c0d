/**
 * A budget for answers the server has written and their clients have not read.
 *
 * HTTP/2 flow control (RFC 9113 section 5.2) lets a client stop taking DATA frames. grpc-js
 * writes a unary answer whole, and what the client does not take waits in the server's memory
 * until it reads or the connection closes (CERTMINT_CONNECTION_MAX_AGE_MS and its grace: about
 * 30 minutes). A 1,000-row ListCertificates answer with PEMs is ~2.3 MB, so a client that never
 * reads could hold 250 of them (CERTMINT_MAX_CONCURRENT_STREAMS) per connection it opens.
 *
 * Every answer written is counted against its connection, its access token and the process
 * until its bytes have left (grpc-js calls back once the HTTP/2 stream took them) or its stream
 * closed. A unary answer is refused with RESOURCE_EXHAUSTED, its work done but its bytes never
 * held, when
 *  - its connection already holds `unreadAnswerBytesPerConnection`, or
 *  - its access token, over all its connections, holds `unreadAnswerBytesPerToken`, or
 *  - the process holds `unreadAnswerBytes` and the connection holds some of them, or the answer
 *    is larger than HTTP/2's default window (RFC 9113 section 6.9.2), which a client that reads
 *    nothing still takes at once.
 * A connection whose client reads holds nothing between its answers, so it is not refused for
 * what other clients leave unread unless its answers are large; one token cannot reach the
 * process's budget by opening connections. Past the process's budget, the most it adds is one
 * default window per connection (CERTMINT_MAX_CONNECTIONS).
 *
 * A list (the list gate, issuance/common/list-gate.ts) asks checkAnswerable when its turn
 * comes, and is refused then with the same error rather than after its page was read for nobody.
 *
 * Streamed answers (WatchCertificates) are counted but never refused here: the watch writes
 * an event only once the previous one drained (src/api/watch-certificates.ts).
 *
 * Per process on purpose, the token's budget too: the bytes are held in this process's memory,
 * and a token's connections on another worker of CERTMINT_PROCESSES hold that worker's.
 */
import type { Http2Session, ServerHttp2Stream } from "node:http2";
import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { CertmintError } from "../errors";
import { callActor } from "../server/call-logging";
import { toServiceError } from "./errors";

export interface UnreadAnswerLimits {
  readonly unreadAnswerBytesPerConnection: number;
  readonly unreadAnswerBytesPerToken: number;
  readonly unreadAnswerBytes: number;
}

/** Which budget refused an answer: its connection's, its access token's or the process's. */
export type UnreadAnswerLimit = "connection" | "token" | "server";

/** HTTP/2's initial flow-control window (RFC 9113 section 6.9.2). */
const DEFAULT_WINDOW_BYTES = 65_535;
const RETRY_AFTER_SECONDS = 1;

/** The bytes counted for one connection, one token or the process. */
interface Held {
  bytes: number;
}

export class UnreadAnswers {
  private readonly server: Held = { bytes: 0 };
  private readonly connections = new WeakMap<Http2Session, Held>();
  /** By token slug; an entry goes once its token holds nothing. */
  private readonly tokens = new Map<string, Held>();
  /** Each counted call's account, by the metadata its handler sees (checkAnswerable). */
  private readonly accounts = new WeakMap<Metadata, CallAccount>();
  private refusedCount = 0;
  /** performance.now() of the last warning: a wall clock stepped back would silence it. */
  private lastWarning = Number.NEGATIVE_INFINITY;
  private missingStreamLogged = false;

  constructor(
    private readonly limits: UnreadAnswerLimits,
    private readonly logger: Logger,
    private readonly onRefused?: (limit: UnreadAnswerLimit) => void,
  ) {}

  /** Answer bytes written and not yet taken by their clients, over every connection. */
  get bytes(): number {
    return this.server.bytes;
  }

  /**
   * The interceptor; it must come last in the server's list (grpc-js 1.14 makes the last one
   * outermost), so that its refusal passes through the log and metrics interceptors.
   */
  interceptor(): ServerInterceptor {
    return (method, call) => {
      const stream = http2StreamOf(call);
      const session = stream?.session;
      if (!stream || !session) {
        this.noteMissingStream();
        return new ServerInterceptingCall(call);
      }
      let connection = this.connections.get(session);
      if (!connection) {
        connection = { bytes: 0 };
        this.connections.set(session, connection);
      }
      const account = new CallAccount(this, connection, stream, (metadata) =>
        this.accounts.set(metadata, account),
      );
      return new BudgetedCall(call, account, (message) =>
        method.responseStream
          ? undefined
          : this.refusal(account, () => sizeOf(method, message))?.status,
      );
    };
  }

  /**
   * Throws the refusal this call's answer would get now, before any answer size is known: its
   * connection or its token at its budget, or the process at its budget while this connection
   * holds some of it. Unary calls only check it before expensive work (the list gate): an
   * answer refused after the work was done cost the work for nothing.
   */
  checkAnswerable(metadata: Metadata): void {
    const account = this.accounts.get(metadata);
    if (!account) return;
    const refused = this.refusal(account, () => 0);
    if (refused) throw refused.error;
  }

  /** What a token holds now (0 for none, or a call not authenticated). */
  tokenHeld(slug: string | undefined): Held | undefined {
    return slug === undefined ? undefined : this.tokens.get(slug);
  }

  /** Counts `bytes` (negative: released) for a call's connection, token and the process. */
  count(connection: Held, slug: string | undefined, bytes: number): void {
    connection.bytes += bytes;
    this.server.bytes += bytes;
    if (slug === undefined) return;
    let token = this.tokens.get(slug);
    if (!token) {
      token = { bytes: 0 };
      this.tokens.set(slug, token);
    }
    token.bytes += bytes;
    if (token.bytes <= 0) this.tokens.delete(slug);
  }

  private refusal(
    account: CallAccount,
    answerBytes: () => number,
  ): { status: StatusObject; error: CertmintError } | undefined {
    const { connection, slug } = account;
    const token = this.tokenHeld(slug)?.bytes ?? 0;
    const limits = this.limits;
    let limit: UnreadAnswerLimit | undefined;
    let message = "";
    if (connection.bytes >= limits.unreadAnswerBytesPerConnection) {
      limit = "connection";
      message =
        `this connection holds ${mib(connection.bytes)} of answers its client has not read ` +
        `(limit ${mib(limits.unreadAnswerBytesPerConnection)}, ` +
        "CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION); read the answers of earlier calls on " +
        "it, then retry";
    } else if (token >= limits.unreadAnswerBytesPerToken) {
      limit = "token";
      message =
        `this access token's connections hold ${mib(token)} of answers not read ` +
        `(limit ${mib(limits.unreadAnswerBytesPerToken)}, ` +
        "CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN); read the answers of earlier calls, then retry";
    } else if (this.server.bytes >= limits.unreadAnswerBytes) {
      const held = connection.bytes;
      const size = held > 0 ? 0 : answerBytes();
      if (held > 0 || size > DEFAULT_WINDOW_BYTES) {
        limit = "server";
        message =
          `the server holds ${mib(this.server.bytes)} of answers its clients have not read ` +
          `(limit ${mib(limits.unreadAnswerBytes)}, CERTMINT_UNREAD_ANSWER_BYTES), and ` +
          (held > 0
            ? `this connection holds ${mib(held)} of them; read them, then retry`
            : `this answer is ${mib(size)}; retry once clients read theirs`);
      }
    }
    if (limit === undefined) return undefined;
    this.refusedCount++;
    this.onRefused?.(limit);
    this.warn(limit, connection.bytes, token);
    const error = new CertmintError("resource_exhausted", "UNREAD_ANSWERS", message, {
      metadata: {
        limit,
        connection_unread_bytes: String(connection.bytes),
        token_unread_bytes: String(token),
        server_unread_bytes: String(this.server.bytes),
      },
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
    const { code, details, metadata } = toServiceError(error);
    return {
      status: {
        code: code ?? status.RESOURCE_EXHAUSTED,
        details: details ?? message,
        metadata: metadata ?? new Metadata(),
      },
      error,
    };
  }

  /** One warning a minute at most: a client that does not read may be refused many times. */
  private warn(limit: UnreadAnswerLimit, connectionBytes: number, tokenBytes: number): void {
    const now = performance.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.logger.warn(
      {
        limit,
        connectionUnreadBytes: connectionBytes,
        tokenUnreadBytes: tokenBytes,
        serverUnreadBytes: this.server.bytes,
        refusedTotal: this.refusedCount,
      },
      "answers refused: clients left too many answers unread (RESOURCE_EXHAUSTED)",
    );
  }

  private noteMissingStream(): void {
    if (this.missingStreamLogged) return;
    this.missingStreamLogged = true;
    this.logger.error(
      "this @grpc/grpc-js exposes no HTTP/2 stream to interceptors: unread answers are not bounded",
    );
  }
}

/** What one call has written and its client has not yet taken. */
class CallAccount {
  /** The call's metadata, on which the API layer notes the token that authenticated it. */
  metadata?: Metadata;
  private held = 0;
  private closed = false;

  constructor(
    private readonly budget: UnreadAnswers,
    readonly connection: Held,
    readonly stream: ServerHttp2Stream,
    /** Registers the call's metadata (UnreadAnswers.checkAnswerable finds the account by it). */
    readonly onMetadata: (metadata: Metadata) => void,
  ) {
    // Releases what is left when the stream ends. Node 20 completes a write that is under way
    // when its stream closes (test/server/unread-answers.test.ts closes such connections), but
    // grpc-js drops the callback of a write that fails, which would leave its bytes counted.
    stream.once("close", () => {
      this.release(this.held);
      this.closed = true;
    });
  }

  /** The token's slug: known once the handler authenticated the call, before any answer. */
  get slug(): string | undefined {
    return this.metadata && callActor(this.metadata);
  }

  add(bytes: number): void {
    if (this.closed || bytes <= 0) return;
    this.held += bytes;
    this.budget.count(this.connection, this.slug, bytes);
  }

  release(bytes: number): void {
    if (this.closed || bytes <= 0) return;
    this.held -= bytes;
    this.budget.count(this.connection, this.slug, -bytes);
  }
}

/**
 * Counts each answer by how much it grew its HTTP/2 stream's write buffer: grpc-js serializes
 * and writes the message synchronously inside sendMessage (the interceptors in front of it
 * forward at once), and Node counts a write in writableLength until the stream took its bytes.
 */
class BudgetedCall extends ServerInterceptingCall {
  constructor(
    next: ServerInterceptingCallInterface,
    private readonly account: CallAccount,
    private readonly refusal: (message: unknown) => StatusObject | undefined,
  ) {
    super(next, {
      start: (nextStart) =>
        nextStart({
          onReceiveMetadata: (metadata, nextMetadata) => {
            account.metadata = metadata;
            account.onMetadata(metadata);
            nextMetadata(metadata);
          },
        }),
    });
  }

  override sendMessage(message: unknown, callback: () => void): void {
    const refused = this.refusal(message);
    if (refused) {
      this.sendStatus(refused);
      return;
    }
    const { stream } = this.account;
    const before = stream.writableLength;
    let written = 0;
    let sent = false;
    super.sendMessage(message, () => {
      sent = true;
      this.account.release(written);
      callback();
    });
    written = sent ? 0 : stream.writableLength - before;
    this.account.add(written);
  }
}

/**
 * The HTTP/2 stream under a call: grpc-js's base call keeps it as `stream`, each interceptor's
 * call its inner one as `nextCall` (private fields of the pinned @grpc/grpc-js 1.14).
 */
function http2StreamOf(call: ServerInterceptingCallInterface): ServerHttp2Stream | undefined {
  let current: unknown = call;
  for (let depth = 0; depth < 16 && current; depth++) {
    const { stream, nextCall } = current as { stream?: ServerHttp2Stream; nextCall?: unknown };
    if (stream && typeof stream.writableLength === "number") return stream;
    current = nextCall;
  }
  return undefined;
}

function sizeOf(method: { responseSerialize: (value: unknown) => Buffer }, message: unknown) {
  return method.responseSerialize(message).length;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
