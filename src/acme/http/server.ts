import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { peerAddressKey } from "../../auth/failure-limiter";
import type { ConnectionLimits, TlsConfig } from "../../config";
import { databaseOutage } from "../../database-outage";
import { isCertmintError } from "../../errors";
import { capWarning, surviveAcceptErrors } from "../../server/connection-limits";
import { limitConnectionsPerAddress } from "../../server/connections-per-address";
import {
  BUSY_RETRY_AFTER_SECONDS,
  type InFlightLimit,
  limitRequestsInFlight,
  requestPath,
  requestQuery,
} from "../../server/http-server";
import { holdConnection } from "../../server/request-rate-per-address";
import { TLS_POLICY } from "../../server/tls";
import { checkTlsFiles, readTlsFilesSync, type TlsMaterial } from "../../server/tls-files";
import { WatchedTlsFiles } from "../../server/tls-reload";
import { refuseBlockedAccount } from "../blocked-account-key";
import { type AcmeContext, type AcmeProfile, AcmeUrls } from "../context";
import { keyChange, listOrders, newAccount, updateAccount } from "../handlers/accounts";
import { getAuthorization, postChallenge } from "../handlers/authorizations";
import { getCertificate, renewalInfo, revokeCertificate } from "../handlers/certificates";
import { directory } from "../handlers/directory";
import { finalize, getOrder, newOrder } from "../handlers/orders";
import { AcmeProblem, malformed, problemOfDomainError } from "../problem";
import type { AcmeExchange, AcmeResponse } from "./exchange";
import { parseFlattenedJws, parseJson, verifyRequest } from "./jws-request";

/** A JWS body is small: a CSR is at most 64 KiB (base64url: 86 KiB), the rest a few hundred bytes. */
const MAX_BODY_BYTES = 128 * 1024;

type Route = (x: AcmeExchange, id: string) => Promise<AcmeResponse>;

/**
 * POST routes by resource name (RFC 8555 7.1.1 names them in the directory). A Map: the name
 * comes from the request's path, and a plain object's lookup found "constructor" (Object
 * itself, run as a handler before any JWS check; its answer killed the process: an outside
 * probe, stop 49).
 */
const POST_ROUTES = new Map<string, Route>([
  ["new-account", (x) => newAccount(x)],
  ["new-order", (x) => newOrder(x)],
  ["revoke-cert", (x) => revokeCertificate(x)],
  ["key-change", (x) => keyChange(x)],
  ["account", (x, id) => updateAccount(x, id)],
  ["account/orders", (x, id) => listOrders(x, id)],
  ["order", (x, id) => getOrder(x, id)],
  ["order/finalize", (x, id) => finalize(x, id)],
  ["authz", (x, id) => getAuthorization(x, id)],
  ["chall", (x, id) => postChallenge(x, id)],
  ["cert", (x, id) => getCertificate(x, id)],
]);

const PATH =
  /^\/acme\/([a-z0-9][a-z0-9-]{0,62})\/([a-z-]+)(?:\/([A-Za-z0-9_.-]{1,200}))?(?:\/(finalize|orders))?$/;
const HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/;

/**
 * Requests of one connection being answered at once (server/http-server.ts
 * limitRequestsInFlight). Node runs the handler of every pipelined request as soon as it is
 * parsed, and each costs a database query (the profile, then a nonce, an account...), so one
 * write could otherwise start thousands. ACME clients (certbot, lego) send one request at a time
 * per connection; a few more leave room for any that pipeline.
 */
export const ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION = 4;

/**
 * Requests being answered at once on the ACME port, all connections together: each takes a few
 * database round trips (a finalize: one issuance), so 64 at once is far more than the database
 * pool serves at a time, and bounds its queue (and memory) whatever anonymous clients send.
 */
export const ACME_MAX_REQUESTS_IN_FLIGHT = 64;

/**
 * Requests of one client address (IPv4 address, IPv6 /64: peerAddressKey) being answered at
 * once on the ACME port. Without it one address opening ACME_MAX_REQUESTS_IN_FLIGHT /
 * ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION connections of slow requests holds every place,
 * and every other client gets 503. A quarter of the port: at least four addresses are needed
 * to fill it, and one host (or a NAT of clients that each send one request at a time) keeps
 * 16 requests going. A constant like the two limits above (not a setting): it bounds this
 * process's work, not what a client is entitled to (that is CERTMINT_ACME_RATE_LIMIT_*).
 */
export const ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS = 16;

/**
 * How long a request beyond the address's or the port's places waits for one before it is
 * refused (503 rateLimited), and how many may wait: four times the places, of the address and of
 * the port. ACME clients retry only badNonce (lego 4.x-5.x, certbot): refused at once, each of
 * 24 lego runs started together behind one address past the first 16 failed on whichever request
 * met a full address (an outside probe of stop 53 of 2026-12-07, LOADACME F1). A request is
 * answered in milliseconds, so a fleet's burst waits briefly; a client holding slow requests
 * still holds no more than its address's places, and what waits is bounded.
 */
export const ACME_WAIT_FOR_PLACE_MS = 5_000;

/**
 * The ACME listener (CERTMINT_ACME_LISTEN): one directory per ACME profile at
 * /acme/<profile slug>/directory. HTTPS with the gRPC port's certificate files when TLS is
 * configured (reloaded the same way), else plain HTTP (loopback only, unless
 * CERTMINT_ALLOW_PLAINTEXT). The same connection bounds as the publication port, and bounds
 * on the requests being answered at once (ACME_MAX_REQUESTS_IN_FLIGHT*: per connection, per
 * client address, per port).
 */
export function startAcmeServer(
  listen: { host: string; port: number },
  tls: TlsConfig | undefined,
  ctx: AcmeContext,
  limits: ConnectionLimits,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const options = {
    headersTimeout: limits.handshakeTimeoutMs,
    requestTimeout: 2 * limits.handshakeTimeoutMs,
    keepAliveTimeout: Math.min(5000, limits.idleTimeoutMs),
    connectionsCheckingInterval: Math.max(10, Math.min(1000, limits.handshakeTimeoutMs / 2)),
  };
  // A request is counted against the limits once its body has arrived (at most MAX_BODY_BYTES):
  // a client that sends headers and then its body slowly (until Node's request timeout) holds
  // its own connection, not a place others need. One whose connection is gone by then is not
  // served at all.
  const bodies = new WeakMap<IncomingMessage, Promise<Buffer>>();
  const limited = limitRequestsInFlight(
    (req, res) =>
      serve(ctx, tls !== undefined, req, res, bodies.get(req)!).catch((err: unknown) =>
        failedToAnswer(ctx, res, err),
      ),
    {
      perConnection: ACME_MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION,
      total: ACME_MAX_REQUESTS_IN_FLIGHT,
      perAddress: {
        limit: ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS,
        key: (req) => peerAddressKey(peerOf(req)),
      },
      refuse: (req, res, beyond) => refuseBusy(ctx, req, res, beyond),
      wait: {
        ms: ACME_WAIT_FOR_PLACE_MS,
        perAddress: 4 * ACME_MAX_REQUESTS_IN_FLIGHT_PER_ADDRESS,
        total: 4 * ACME_MAX_REQUESTS_IN_FLIGHT,
      },
    },
  );
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const body = readBody(req, res);
    bodies.set(req, body);
    const admit = () => {
      if (!req.socket.destroyed) limited(req, res);
    };
    body.then(admit, admit);
  };
  let reload: NodeJS.Timeout | undefined;
  let server: Server;
  if (tls) {
    const material = checkTlsFiles(tls, readTlsFilesSync(tls));
    const contextOf = (m: TlsMaterial) => ({ cert: m.files.cert, key: m.files.key, ...TLS_POLICY });
    // The TLS handshake has the gRPC port's deadline (CERTMINT_HANDSHAKE_TIMEOUT_MS): Node's own
    // is 120 s, and until stop 49 a client that opened connections and never finished TLS held
    // them that long, a quarter of the port's connections per address (an outside probe).
    const https = createHttpsServer(
      { ...options, handshakeTimeout: limits.handshakeTimeoutMs, ...contextOf(material) },
      handler,
    );
    // The gRPC port's rule for changed files (server/tls-reload.ts): checked, or not served.
    const files = new WatchedTlsFiles(
      tls,
      ctx.logger,
      material,
      (m) => https.setSecureContext(contextOf(m)),
      "ACME listener: ",
    );
    reload = setInterval(() => void files.reload(), tls.reloadIntervalMs);
    reload.unref();
    server = https;
  } else {
    server = createHttpServer(options, handler);
  }
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on("drop", capWarning(ctx.logger, "acme", limits.maxConnections));
  surviveAcceptErrors(server, ctx.logger, "acme");
  // One client address holds at most its share (server/connections-per-address.ts).
  limitConnectionsPerAddress(server, limits, "acme", ctx.logger);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      const address = server.address();
      resolve({
        server,
        port: typeof address === "object" && address ? address.port : 0,
        async close() {
          if (reload) clearInterval(reload);
          await new Promise((r) => server.close(r));
          // Those still queued for a place will not run here (validation/slots.ts).
          ctx.validationSlots.close();
          // Validations already started finish (and record their outcome) before the database closes.
          await Promise.allSettled([...ctx.validations]);
        },
      });
    });
  });
}

async function serve(
  ctx: AcmeContext,
  secure: boolean,
  req: IncomingMessage,
  res: ServerResponse,
  requestBody: Promise<Buffer>,
): Promise<void> {
  const method = req.method ?? "GET";
  const path = requestPath(req);
  const host = req.headers.host ?? "";
  const m = PATH.exec(path);
  let urls: AcmeUrls | undefined;
  let nonce = false;
  try {
    // Every request counts against its address's rate first, whatever it asks (a flood of
    // unknown paths cost nothing before 2026-12-04); past it, its connection is held.
    await limitAddress(ctx, req);
    if (!m) throw new AcmeProblem("malformed", "no such ACME resource", 404);
    const [, slug, resource, id, sub] = m;
    urls = new AcmeUrls(`${originOf(ctx, secure, host)}/acme/${slug}`);
    // Every request below reads the profile from the database (renewal-info then certificates;
    // new nonces and POSTs write before any key is known), so every one is limited per address
    // first: a refused request costs no query (RFC 8555 6.6). GETs share the budget of nonces
    // and POSTs: a client sends a few of them per order (a directory per run, a renewal-info
    // per certificate now and then) against a dozen nonces and POSTs, so the shared budget
    // barely changes what it may do, where a budget of their own would add to what one
    // address may cost.
    const profile = await loadAcmeProfile(ctx, slug!);
    const now = ctx.deps.now();
    // RFC 8555 6.5: a Replay-Nonce in every answer to a POST, errors included (a SHOULD for
    // those): a POST to a resource that does not exist, or to the directory, got none until stop
    // 51 of 2026-12-07 (an outside probe), and its client had to fetch a nonce again.
    if (method === "POST") nonce = true;
    if ((resource === "directory" || resource === "new-nonce") && !id) {
      if (method !== "GET" && method !== "HEAD") {
        // RFC 9110 15.5.6: a resource that exists answers another method 405 with Allow (RFC
        // 8555 7.1.1, 7.2: both are read with GET or HEAD); until 2026-12-05, a 404.
        res.setHeader("allow", "GET, HEAD");
        throw new AcmeProblem("malformed", `${resource} is read with GET or HEAD`, 405);
      }
      if (resource === "directory") {
        return await send(ctx, res, urls, false, method, directory(urls, profile));
      }
      // RFC 8555 7.2: 200 for HEAD, 204 for GET, never cached.
      return await send(ctx, res, urls, true, method, { status: method === "HEAD" ? 200 : 204 });
    }
    if (resource === "renewal-info" && id && method === "GET") {
      const x = exchange(ctx, profile, urls, now, req, async () => {
        throw malformed("renewal-info is read with GET");
      });
      return await send(ctx, res, urls, false, method, await renewalInfo(x, id));
    }
    const route = POST_ROUTES.get(sub ? `${resource}/${sub}` : resource!);
    if (
      !route ||
      (id === undefined) !==
        ["new-account", "new-order", "revoke-cert", "key-change"].includes(resource!)
    ) {
      throw new AcmeProblem("malformed", "no such ACME resource", 404);
    }
    if (method !== "POST") {
      res.setHeader("allow", "POST");
      throw new AcmeProblem(
        "malformed",
        "this resource is read with POST-as-GET (RFC 8555 6.3)",
        405,
      );
    }
    nonce = true;
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/jose+json") {
      throw new AcmeProblem("malformed", "Content-Type must be application/jose+json", 415);
    }
    const body = await requestBody;
    // With the request's query, if any: RFC 8555 6.4, the url header is the URL the request
    // was sent to, and none of certmint's has a query (until stop 51 of 2026-12-07 a query was
    // dropped before the comparison: an outside probe, ACME F8).
    const url = `${urls.base}/${resource}${id ? `/${id}` : ""}${sub ? `/${sub}` : ""}${requestQuery(req)}`;
    const x = exchange(ctx, profile, urls, now, req, async (keyFrom) => {
      const request = await verifyRequest(
        ctx.store.acme,
        parseFlattenedJws(parseJson(body, "the body")),
        { url, accountUrlPrefix: urls!.accountPrefix(), profileId: profile.id, now, keyFrom },
      );
      if (request.account) await refuseBlockedAccount(ctx.store.certificates, request.key);
      return request;
    });
    return await send(ctx, res, urls, true, method, await route(x, id ?? ""));
  } catch (err) {
    const problem = problemOfDomainError(err);
    // An outage is logged by its cause alone, as on the gRPC port: a driver error's message
    // can quote SQL and its values.
    const outage = isCertmintError(err) ? undefined : databaseOutage(err);
    if (outage) ctx.logger.warn({ cause: outage, path }, "database unavailable");
    else if (problem.status >= 500 && !(err instanceof AcmeProblem)) {
      ctx.logger.error({ err, path }, "ACME request failed");
    } else if (problem.extra.internalCause !== undefined) {
      // A handler turned an unexpected error into this problem (problemOfDomainError): its
      // cause, not the problem, says what failed.
      ctx.logger.error({ err: problem.extra.internalCause, path }, "ACME request failed");
    }
    if (problem.type === "badNonce") nonce = true;
    return send(
      ctx,
      res,
      urls,
      nonce,
      method,
      {
        status: problem.status,
        body: problem.document(),
        ...(problem.extra.retryAfter ? { retryAfter: problem.extra.retryAfter } : {}),
        ...(problem.extra.location ? { location: problem.extra.location } : {}),
      },
      true,
    );
  }
}

/**
 * What escaped serve's own error handling (an answer that could not be written): logged, and
 * the client gets a 500 problem if nothing was sent yet, else its connection ends. Never an
 * unhandled rejection, which ends the process and every port with it (an outside probe, stop 49).
 */
function failedToAnswer(ctx: AcmeContext, res: ServerResponse, err: unknown): void {
  ctx.logger.error({ err }, "ACME request failed");
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    type: "urn:ietf:params:acme:error:serverInternal",
    detail: "the server failed to answer this request",
    status: 500,
  });
  try {
    res.writeHead(500, {
      "content-type": "application/problem+json",
      "cache-control": "no-store",
    });
    res.end(body);
  } catch {
    res.destroy();
  }
}

/**
 * Where the ACME URLs point (the directory's, Location headers, and what a JWS url must be,
 * RFC 8555 6.4): CERTMINT_ACME_BASE_URL when set, whatever Host the client sent; else the
 * request's own scheme and Host, which a client chooses (a shared cache or a proxy that passes
 * Host through can then hand other clients URLs of the host an attacker named: README).
 */
function originOf(ctx: AcmeContext, secure: boolean, host: string): string {
  if (ctx.baseUrl !== undefined) return ctx.baseUrl;
  if (!HOST.test(host)) throw malformed("the Host header is missing or invalid");
  return `${secure ? "https" : "http"}://${host}`;
}

function exchange(
  ctx: AcmeContext,
  profile: AcmeProfile,
  urls: AcmeUrls,
  now: Date,
  req: IncomingMessage,
  verify: AcmeExchange["verify"],
): AcmeExchange {
  const path = requestPath(req);
  return {
    ctx,
    profile,
    urls,
    now,
    url: `${urls.base.slice(0, urls.base.indexOf("/acme/"))}${path}`,
    peer: peerOf(req),
    verify,
  };
}

/** The client as gRPC peers are written: "1.2.3.4:port" or "[v6]:port". */
function peerOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? "";
  return `${address.includes(":") ? `[${address}]` : address}:${req.socket.remotePort ?? ""}`;
}

/**
 * A request beyond the requests in flight (ACME_MAX_REQUESTS_IN_FLIGHT*): 503 with Retry-After
 * and a rateLimited problem document (RFC 8555 6.6, 6.7), without a nonce (storing one is the
 * database work this spares). The detail says which limit, so a client behind a shared address
 * can tell its neighbours' load from the server's.
 */
function refuseBusy(
  ctx: AcmeContext,
  req: IncomingMessage,
  res: ServerResponse,
  beyond: InFlightLimit,
): void {
  const detail = {
    connection: "too many requests in flight on this connection; retry shortly",
    address: "too many requests in flight from this address; retry shortly",
    port: "too many requests in flight; retry shortly",
  }[beyond];
  const problem = new AcmeProblem("rateLimited", detail, 503, {
    retryAfter: BUSY_RETRY_AFTER_SECONDS,
  });
  void send(
    ctx,
    res,
    undefined,
    false,
    req.method ?? "GET",
    { status: problem.status, body: problem.document(), retryAfter: BUSY_RETRY_AFTER_SECONDS },
    true,
  );
}

/**
 * RFC 8555 6.6: past its address's rate (IPv4 address; IPv6 /64, and its /48 at 16 times that),
 * rateLimited before anything is read or written.
 */
async function limitAddress(ctx: AcmeContext, req: IncomingMessage): Promise<void> {
  const wait = await ctx.addressLimiter.take(peerOf(req));
  if (wait > 0) {
    // Answering alone would not slow a client that ignores Retry-After: its next requests
    // wait unread (server/request-rate-per-address.ts).
    holdConnection(req.socket);
    const retryAfter = Math.max(1, Math.ceil(wait));
    throw new AcmeProblem(
      "rateLimited",
      `too many requests from this address; retry after ${retryAfter} s`,
      429,
      { retryAfter },
    );
  }
}

/** An ACME profile by slug; any other (missing, or enrolling by API or EST) is 404. */
async function loadAcmeProfile(ctx: AcmeContext, slug: string): Promise<AcmeProfile> {
  const profile = await ctx.store.profiles.find({ slug });
  const row = profile?.enrollmentMethod === "ACME" ? profile : undefined;
  if (!row) throw new AcmeProblem("malformed", `no ACME profile "${slug}"`, 404);
  return {
    id: row.id,
    slug: row.slug,
    requireExternalAccountBinding: row.acmeRequireEab,
    renewBeforeDays: row.renewal?.renewBeforeDays ?? 0,
  };
}

/**
 * The request's body, at most MAX_BODY_BYTES: beyond it (declared, or sent in chunks) the
 * answer is 413 and the connection closes after it, the rest unread. Until stop 49 a chunked
 * body over the bound had its connection reset with no answer (an outside probe).
 */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new AcmeProblem("malformed", `the body is larger than ${MAX_BODY_BYTES} bytes`, 413));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(
          new AcmeProblem("malformed", `the body is larger than ${MAX_BODY_BYTES} bytes`, 413),
        );
        req.removeAllListeners("data");
        req.pause();
        res.setHeader("connection", "close");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function send(
  ctx: AcmeContext,
  res: ServerResponse,
  urls: AcmeUrls | undefined,
  withNonce: boolean,
  method: string,
  response: AcmeResponse,
  problem = false,
): Promise<void> {
  try {
    if (withNonce && urls)
      res.setHeader("replay-nonce", await ctx.store.acme.newNonce(ctx.deps.now()));
  } catch (err) {
    ctx.logger.error({ err }, "ACME: cannot store a nonce");
  }
  res.setHeader("cache-control", "no-store");
  const links = [
    ...(urls ? [{ url: urls.directory(), rel: "index" }] : []),
    ...(response.links ?? []),
  ];
  if (links.length > 0)
    res.setHeader(
      "link",
      links.map((l) => `<${l.url}>;rel="${l.rel}"`),
    );
  if (response.location) res.setHeader("location", response.location);
  if (response.retryAfter) res.setHeader("retry-after", String(response.retryAfter));
  let body: string | undefined;
  if (response.pem !== undefined) {
    res.setHeader("content-type", "application/pem-certificate-chain");
    body = response.pem;
  } else if (response.body !== undefined) {
    res.setHeader("content-type", problem ? "application/problem+json" : "application/json");
    body = JSON.stringify(response.body);
  }
  res.statusCode = response.status;
  if (body !== undefined) res.setHeader("content-length", Buffer.byteLength(body));
  res.end(method === "HEAD" ? undefined : body);
}
