import type { RateLimit } from "../../auth/rate-limiter";
import type { AccountRow } from "../../issuance/repositories";
import type { AcmeContext, AcmeProfile, AcmeUrls } from "../context";
import { AcmeProblem, malformed } from "../problem";
import type { VerifiedRequest } from "./jws-request";

/** One ACME request as a handler sees it: the profile, its URLs, and the verified JWS. */
export interface AcmeExchange {
  readonly ctx: AcmeContext;
  readonly profile: AcmeProfile;
  readonly urls: AcmeUrls;
  readonly now: Date;
  /** The full URL of this request (what the JWS `url` must be). */
  readonly url: string;
  /** The client's address, for the audit trail. */
  readonly peer: string;
  /** Parses and verifies the JWS body (jws-request.ts verifyRequest). */
  verify(keyFrom: "jwk" | "kid" | "either"): Promise<VerifiedRequest>;
}

/** What a handler answers; the listener adds Replay-Nonce and the index Link. */
export interface AcmeResponse {
  status: number;
  body?: unknown;
  /** application/pem-certificate-chain (RFC 8555 7.4.2) instead of JSON. */
  pem?: string;
  location?: string;
  /** Seconds (RFC 8555 7.5.1, 8.2: when to poll again). */
  retryAfter?: number;
  links?: Array<{ url: string; rel: string }>;
}

/**
 * RFC 8555 6.3: a POST-as-GET's payload is the empty string. Resources that are only read
 * (an order, a certificate, an account's orders list) refuse any other, `{}` included, which
 * they ignored until 2026-12-05; lego and certbot send the empty string.
 */
export function requireEmptyPayload(request: VerifiedRequest, what: string): void {
  if (request.payload !== undefined) {
    throw malformed(
      `${what} is read with POST-as-GET: the JWS payload must be the empty string (RFC 8555 6.3)`,
    );
  }
}

/** The verified request's account, which must exist (kid requests) and be the one named. */
export function requireAccount(request: VerifiedRequest, accountId?: string): AccountRow {
  const account = request.account;
  if (!account) throw new AcmeProblem("accountDoesNotExist", "sign this request with a kid");
  if (accountId !== undefined && account.id !== accountId) {
    throw new AcmeProblem("unauthorized", "this resource belongs to another account", 403);
  }
  return account;
}

/**
 * RFC 8555 6.6: past the per-account rate (`limiter`: requests that change something, or the
 * POST-as-GET reads' readLimiter), rateLimited with Retry-After. Callers await it: a Promise
 * only when the limit is kept by the supervisor (CERTMINT_PROCESSES > 1) and asked.
 */
export function takeRate(
  x: AcmeExchange,
  identity: string,
  limiter: RateLimit = x.ctx.rateLimiter,
): void | Promise<void> {
  const wait = limiter.take(identity);
  if (typeof wait !== "number") return wait.then((w) => refuseOverRate(w));
  refuseOverRate(wait);
}

function refuseOverRate(wait: number): void {
  if (wait > 0) {
    const retryAfter = Math.max(1, Math.ceil(wait));
    throw new AcmeProblem(
      "rateLimited",
      `too many requests from this account; retry after ${retryAfter} s`,
      429,
      { retryAfter },
    );
  }
}
