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
 *  - its connection already holds `unreadAnswerBytesPerConnection` (limit `connection`), or
 *  - its access token, over all its connections, holds `unreadAnswerBytesPerToken` (`token`), or
 *  - the process holds `unreadAnswerBytes`, its ceiling, and the connection holds some of
 *    them, or the answer is larger than HTTP/2's default window (RFC 9113 section 6.9.2),
 *    which a client that reads nothing still takes at once (`server`), or
 *  - the process is under pressure, holding three quarters of its ceiling or more, and the
 *    token holds its fair share of the room left or more (`share`, fairShare below).
 *
 * Why the fair share: bytes already written cannot be taken back, so a budget shared first come
 * first served belongs to whoever fills it. Before it, five tokens at their 64 MiB each passed
 * the 256 MiB, and from then on every token's answers over 64 KiB were refused, the tokens that
 * read theirs included, until the five read or left (bench/memory/probe.ts). As Linux does for
 * socket buffers (tcp_mem's pressure and hard limits, net/core/sock.c __sk_mem_raise_allocated:
 * under pressure a socket may grow only below its share of the hard limit), the last quarter of
 * the budget is kept for the tokens holding little: under pressure a token is answered only
 * while it holds less than (ceiling - bytes held) / (tokens holding bytes, itself included), or
 * less than a small floor (1/256 of the ceiling, at least 64 KiB). Tokens that do not read stop
 * at their share, which shrinks as they fill, so together they leave room below the ceiling: to
 * reach it takes more tokens, each let in only while it holds less than its share of what is
 * left or the floor, and so holding at most that and one answer (19 tokens that never read, at
 * the default sizes and 2.3 MB pages, where five did: test/api/unread-answers-share.unit.test.ts).
 * A token that reads its answers holds nothing between them, and is answered until the ceiling.
 * The price: tokens that all hold the same stop at three quarters of the ceiling.
 * The ceiling itself is as before: past it, the most the process adds is the answer that
 * crossed it and one default window per connection (CERTMINT_MAX_CONNECTIONS).
 *
 * A connection whose client reads holds nothing between its answers, so it is not refused for
 * what other clients leave unread unless the process is at its ceiling and its answers are
 * large; one token cannot reach the process's budget by opening connections.
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

/**
 * Which budget refused an answer: its connection's, its access token's, the process's ceiling,
 * or the token's fair share of the process's budget under pressure.
 */
export type UnreadAnswerLimit = "connection" | "token" | "server" | "share";

/** HTTP/2's initial flow-control window (RFC 9113 section 6.9.2). */
const DEFAULT_WINDOW_BYTES = 65_535;
const RETRY_AFTER_SECONDS = 1;

/** The process is under pressure from this share of its ceiling (`unreadAnswerBytes`) on. */
export const PRESSURE_FRACTION = 3 / 4;

/**
 * The bytes a token may hold and still be answered while the process holds `held` of its
 * `ceiling`, `holders` tokens holding some (the asking one included): an even share of the room
 * left, or a floor of 1/256 of the ceiling (at least 64 KiB). Undefined below the pressure
 * point: then only the connection's and the token's own budgets apply.
 */
export function fairShare(ceiling: number, held: number, holders: number): number | undefined {
  if (held < Math.floor(ceiling * PRESSURE_FRACTION)) return undefined;
  const floor = Math.max(64 * 1024, Math.floor(ceiling / 256));
  return Math.max(floor, Math.floor((ceiling - held) / Math.max(1, holders)));
}

/** The bytes counted for one connection, one token or the process. */
interface Held {
  bytes: number;
}

/** What is held when a call's answer is about to be written. */
export interface HeldNow {
  /** By the call's connection. */
  readonly connection: number;
  /** By the call's access token over all its connections (0 for a call without one). */
  readonly token: number;
  /** By the process. */
  readonly server: number;
  /** How many access tokens hold some. */
  readonly tokens: number;
  /** The call has no token (health, reflection): its connection counts as one more holder. */
  readonly tokenless: boolean;
}

/**
 * The limit that refuses an answer now, in the order of the module comment, or undefined to
 * answer it. `answerBytes` is asked only past the ceiling, for a connection holding nothing.
 */
export function unreadAnswerLimitReached(
  limits: UnreadAnswerLimits,
  now: HeldNow,
  answerBytes: () => number,
): { limit: UnreadAnswerLimit; size?: number; share?: number; holders?: number } | undefined {
  if (now.connection >= limits.unreadAnswerBytesPerConnection) return { limit: "connection" };
  if (now.token >= limits.unreadAnswerBytesPerToken) return { limit: "token" };
  if (now.server >= limits.unreadAnswerBytes) {
    if (now.connection > 0) return { limit: "server" };
    const size = answerBytes();
    return size > DEFAULT_WINDOW_BYTES ? { limit: "server", size } : undefined;
  }
  const own = now.tokenless ? now.connection : now.token;
  const holders = now.tokens + (now.tokenless || now.token === 0 ? 1 : 0);
  const share = fairShare(limits.unreadAnswerBytes, now.server, holders);
  return share !== undefined && own >= share ? { limit: "share", share, holders } : undefined;
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

  /** Access tokens holding answer bytes their clients have not taken. */
  get tokenCount(): number {
    return this.tokens.size;
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
        // A stream whose session Node has destroyed already (the connection closed while the
        // call was set up) has no session any more; nothing of it can be sent, so nothing is
        // bounded. Only a call without any stream means a grpc-js that hides them (until stop
        // 53 of 2026-12-07 the first case logged that error too: an outside probe, LOADCLIENTS F3).
        if (!stream) this.noteMissingStream();
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
   * connection or its token at its budget, the process at its ceiling while this connection
   * holds some of it, or the token at its fair share. Unary calls only check it before expensive work (the list gate): an
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
    const server = this.server.bytes;
    const now: HeldNow = {
      connection: connection.bytes,
      token,
      server,
      tokens: this.tokens.size,
      tokenless: slug === undefined,
    };
    const reached = unreadAnswerLimitReached(limits, now, answerBytes);
    if (reached === undefined) return undefined;
    const { limit, size = 0, share = 0, holders = 0 } = reached;
    let message: string;
    switch (limit) {
      case "connection":
        message =
          `this connection holds ${mib(connection.bytes)} of answers its client has not read ` +
          `(limit ${mib(limits.unreadAnswerBytesPerConnection)}, ` +
          "CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION); read the answers of earlier calls on " +
          "it, then retry";
        break;
      case "token":
        message =
          `this access token's connections hold ${mib(token)} of answers not read ` +
          `(limit ${mib(limits.unreadAnswerBytesPerToken)}, ` +
          "CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN); read the answers of earlier calls, then retry";
        break;
      case "server":
        message =
          `the server holds ${mib(server)} of answers its clients have not read ` +
          `(limit ${mib(limits.unreadAnswerBytes)}, CERTMINT_UNREAD_ANSWER_BYTES), and ` +
          (connection.bytes > 0
            ? `this connection holds ${mib(connection.bytes)} of them; read them, then retry`
            : `this answer is ${mib(size)}; retry once clients read theirs`);
        break;
      case "share":
        message =
          `the server holds ${mib(server)} of answers its clients have not read, ` +
          `${PRESSURE_FRACTION * 100}% or more of its limit (${mib(limits.unreadAnswerBytes)}, ` +
          "CERTMINT_UNREAD_ANSWER_BYTES), and " +
          (slug === undefined
            ? `this connection holds ${mib(connection.bytes)}`
            : `this access token's connections hold ${mib(token)}`) +
          ` of them, its fair share (${mib(share)}: the room left below the limit shared among ` +
          `${holders} tokens, or a floor) or more; answers go first to tokens holding less: ` +
          "read the answers of earlier calls, then retry";
        break;
    }
    this.refusedCount++;
    this.onRefused?.(limit);
    this.warn(limit, connection.bytes, token);
    const error = new CertmintError("resource_exhausted", "UNREAD_ANSWERS", message, {
      metadata: {
        limit,
        connection_unread_bytes: String(connection.bytes),
        token_unread_bytes: String(token),
        server_unread_bytes: String(server),
        ...(limit === "share" ? { fair_share_bytes: String(share) } : {}),
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
