/**
 * Calls the gRPC port of this process holds open at once, in all and per client address.
 *
 * A call is an HTTP/2 stream: from its headers until it ends. grpc-js holds one for as long as
 * its client keeps it open, before any handler authenticates anyone: a unary call whose request
 * message never comes, a Health.Watch, a reflection stream. Each costs the server 7-9 KB, and
 * the limits before this one multiply: a quarter of CERTMINT_MAX_CONNECTIONS per address (250)
 * times CERTMINT_MAX_CONCURRENT_STREAMS (250) let one address with no credential hold 62,500
 * calls, about 0.5 GB, until the connections' maximum age (an outside probe, stop 51 of
 * 2026-12-07, LATENCY). Here the process holds at most `maxOpenCalls`
 * (CERTMINT_MAX_OPEN_CALLS), and one client address (auth/address-keys.ts) a quarter of them, as
 * for connections (connections-per-address.ts): a call past either is answered at once,
 * RESOURCE_EXHAUSTED OPEN_CALLS_EXHAUSTED with a RetryInfo, before grpc-js reads its request
 * or runs a handler. Per process on purpose, like the connection cap: each worker of
 * CERTMINT_PROCESSES has its own memory to protect.
 *
 * This wraps grpc-js's stream handler (Server#_streamHandler of 1.14.7, the version
 * package.json pins; not part of its public API, like unknown-methods.ts). Without it the
 * server does not start (test/server/open-calls.test.ts).
 */
import type { ServerHttp2Stream } from "node:http2";
import type { TLSSocket } from "node:tls";
import { type Server, status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { toServiceError } from "../api/errors";
import { peerAddressKey } from "../auth/address-keys";
import { credentialsMissing } from "../auth/authenticator";
import { CertmintError } from "../errors";
import { peerOf } from "./connections-per-address";
import {
  type CredentialFreeCalls,
  isCredentialFree,
  type StatusLike,
} from "./credential-free-calls";

/** The calls one client address may hold open: a quarter of the process's. */
export function openCallsPerAddress(maxOpenCalls: number): number {
  return Math.max(1, Math.floor(maxOpenCalls / 4));
}

type StreamHandler = (
  extraInterceptors: unknown,
  stream: ServerHttp2Stream,
  headers: Record<string, unknown>,
) => void;
type RespondWithError = (err: StatusLike, stream: ServerHttp2Stream, info: null) => void;

/**
 * The answer to a call past a limit of `limit` calls, the address's share or the server's;
 * `unverified`: the limit of calls with tokens not yet verified (UNVERIFIED_SHARE).
 */
export function openCallsRefusal(
  perAddress: boolean,
  limit: number,
  unverified = false,
): StatusLike {
  const message = unverified
    ? perAddress
      ? `this client address has ${limit} calls open with access tokens the server has not yet verified (its share of open calls for them); send each call's request message, end calls it no longer needs, or retry shortly`
      : `the server has ${limit} calls open with access tokens it has not yet verified (their share of CERTMINT_MAX_OPEN_CALLS); retry shortly`
    : perAddress
      ? `this client address has ${limit} calls open on the server, its share (a quarter of CERTMINT_MAX_OPEN_CALLS); end or cancel calls it no longer needs, or retry shortly`
      : `the server has ${limit} calls open, its limit (CERTMINT_MAX_OPEN_CALLS); retry shortly`;
  const e = toServiceError(
    new CertmintError("resource_exhausted", "OPEN_CALLS_EXHAUSTED", message, {
      retryAfterSeconds: 1,
      metadata: { limit_calls: String(limit) },
    }),
  );
  return { code: e.code ?? status.RESOURCE_EXHAUSTED, details: e.details, metadata: e.metadata };
}

/**
 * The calls without a credential one client address may hold open (see limitOpenCalls): a
 * client that sends one gets its refusal as soon as its message arrives, so a few in flight
 * per address are all a mistaken client ever holds.
 */
export const CREDENTIAL_LESS_CALLS_PER_ADDRESS = 16;

function missingCredential(): StatusLike {
  const e = toServiceError(credentialsMissing());
  return { code: e.code ?? status.UNAUTHENTICATED, details: e.details, metadata: e.metadata };
}

/** Whether `path` is a method the server serves (grpc-js's handlers; private, as above). */
function served(server: Server, path: string): boolean {
  const handlers = (server as unknown as { handlers?: Map<string, unknown> }).handlers;
  return handlers instanceof Map ? handlers.has(path) : true;
}

/**
 * Whether the call's connection presented a client certificate the TLS handshake verified
 * (what grpc-js hands authentication as the peer certificate: socket.authorized).
 */
function verifiedClientCertificate(stream: ServerHttp2Stream): boolean {
  return (stream.session?.socket as TLSSocket | undefined)?.authorized === true;
}

/**
 * The calls with a bearer token this process has not seen authenticate (Authenticator
 * knowsBearer: made-up, mistyped, or new since it started) may hold at most this part of the
 * open calls, in all and per client address; the rest stays for tokens that authenticated here
 * and for verified client certificates. Such a call's token is checked only once its message
 * arrives, and until stop 60 of 2026-12-08 calls with a made-up token that never sent their
 * message could hold every open call, as credential-less ones could before stop 59 (an outside
 * probe). A half: a new client's first burst has plenty (1,250 calls per address by default).
 */
export const UNVERIFIED_SHARE = 0.5;

/** What tells calls apart before their message (see limitOpenCalls). */
export interface CallCredentials {
  /** The rate of calls that need no credential (credential-free-calls.ts). */
  credentialFree?: CredentialFreeCalls;
  /** Whether an `authorization` header's token authenticated here (Authenticator knowsBearer). */
  knowsBearer?: (authorization: string) => boolean;
}

/** Open calls now, for the metrics and the tests. */
export interface OpenCalls {
  readonly open: () => number;
}

/**
 * Applies the limits to every call `server` receives from now on, and the rate of calls that
 * need no credential (credential-free-calls.ts) when given. Throws when grpc-js is not the
 * version certmint expects (a server without the limits would serve anyway).
 */
export function limitOpenCalls(
  server: Server,
  maxOpenCalls: number,
  logger: Logger,
  { credentialFree, knowsBearer }: CallCredentials = {},
): OpenCalls {
  const target = server as unknown as {
    _streamHandler?: StreamHandler;
    _respondWithError?: RespondWithError;
  };
  const handle = target._streamHandler;
  const respond = target._respondWithError;
  if (typeof handle !== "function" || typeof respond !== "function") {
    throw new Error(
      "this @grpc/grpc-js has no Server._streamHandler: the limit of open calls cannot be applied",
    );
  }
  const perAddress = openCallsPerAddress(maxOpenCalls);
  const byAddress = new Map<string, number>();
  const withoutCredential = new Map<string, number>();
  const unverifiedPerAddress = Math.max(1, Math.floor(perAddress * UNVERIFIED_SHARE));
  const maxUnverified = Math.max(1, Math.floor(maxOpenCalls * UNVERIFIED_SHARE));
  const unverifiedByAddress = new Map<string, number>();
  let unverifiedOpen = 0;
  let open = 0;
  let warnedAt = Number.NEGATIVE_INFINITY;
  // An instance property, read by grpc-js's _setupHandlers when a port is bound (bindAsync).
  target._streamHandler = function streamHandler(this: Server, extra, stream, headers): void {
    const socket = stream.session?.socket;
    const peer = socket ? peerOf(socket) : "";
    const path = headers[":path"];
    if (credentialFree && typeof path === "string" && isCredentialFree(path)) {
      const refused = credentialFree.refusal(peer, stream.session);
      if (refused) {
        stream.once("error", () => {});
        respond.call(this, refused, stream, null);
        return;
      }
    }
    const key = peerAddressKey(peer);
    // A call that needs a credential and presents none (no `authorization`, no verified client
    // certificate) will be refused CREDENTIALS_MISSING once its message arrives; an address
    // holds at most CREDENTIAL_LESS_CALLS_PER_ADDRESS of them open, and its next is refused so
    // as its headers arrive. Until stop 59 of 2026-12-07 such calls that never completed their
    // message, with 60 KB of metadata each, filled every address's share of open calls from
    // four addresses (1 GB of RSS; every other caller refused OPEN_CALLS_EXHAUSTED: an outside
    // probe). Methods certmint does not serve are left to grpc-js (UNIMPLEMENTED).
    const credentialLess =
      typeof path === "string" &&
      !isCredentialFree(path) &&
      headers.authorization === undefined &&
      served(this, path) &&
      !verifiedClientCertificate(stream);
    const heldWithout = credentialLess ? (withoutCredential.get(key) ?? 0) : 0;
    if (credentialLess && heldWithout >= CREDENTIAL_LESS_CALLS_PER_ADDRESS) {
      stream.once("error", () => {});
      respond.call(this, missingCredential(), stream, null);
      return;
    }
    // A bearer token this process has not seen authenticate: its calls share UNVERIFIED_SHARE.
    const authorization = headers.authorization;
    const unverified =
      knowsBearer !== undefined &&
      typeof path === "string" &&
      !isCredentialFree(path) &&
      authorization !== undefined &&
      !knowsBearer(String(authorization)) &&
      !verifiedClientCertificate(stream);
    const heldUnverified = unverified ? (unverifiedByAddress.get(key) ?? 0) : 0;
    if (unverified && (heldUnverified >= unverifiedPerAddress || unverifiedOpen >= maxUnverified)) {
      const ofAddress = heldUnverified >= unverifiedPerAddress;
      stream.once("error", () => {});
      const limit = ofAddress ? unverifiedPerAddress : maxUnverified;
      respond.call(this, openCallsRefusal(ofAddress, limit, true), stream, null);
      return;
    }
    const held = byAddress.get(key) ?? 0;
    if (held >= perAddress || open >= maxOpenCalls) {
      const ofAddress = held >= perAddress;
      // grpc-js's own handler does the same: an error after the answer has nowhere to go.
      stream.once("error", () => {});
      respond.call(
        this,
        openCallsRefusal(ofAddress, ofAddress ? perAddress : maxOpenCalls),
        stream,
        null,
      );
      if (performance.now() - warnedAt >= 60_000) {
        warnedAt = performance.now();
        logger.warn(
          ofAddress
            ? { address: key, openCallsPerAddress: perAddress }
            : { openCalls: maxOpenCalls },
          ofAddress
            ? "a client address holds its share of open calls (a quarter of CERTMINT_MAX_OPEN_CALLS): its new calls are refused"
            : "the server holds CERTMINT_MAX_OPEN_CALLS open calls: new calls are refused",
        );
      }
      return;
    }
    open++;
    byAddress.set(key, held + 1);
    if (credentialLess) withoutCredential.set(key, heldWithout + 1);
    if (unverified) {
      unverifiedOpen++;
      unverifiedByAddress.set(key, heldUnverified + 1);
    }
    stream.once("close", () => {
      open--;
      if (unverified) {
        unverifiedOpen--;
        decrement(unverifiedByAddress, key);
      }
      decrement(byAddress, key);
      if (credentialLess) decrement(withoutCredential, key);
    });
    handle.call(this, extra, stream, headers);
  };
  return { open: () => open };
}

/** One call fewer for `key`: the entry goes at zero, so the maps hold only addresses with calls. */
function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
