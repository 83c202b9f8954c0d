/**
 * Calls of the gRPC port that need no credential: Health (grpc.health.v1) and server reflection
 * (v1, v1alpha). Every other call passes through fair admission by access token
 * (api/fair-admission.ts) or the per-address limit on failed authentications; these had no limit
 * at all (an outside probe, stop 51 of 2026-12-07, LATENCY: reflection answered ~1,000 requests
 * of 73 KB a second to one client), so one address sending them as fast as it could took the
 * event loop every other caller shares.
 *
 * Each client address (an IPv4 address, an IPv6 /64 and its /48: auth/address-rate-limiter.ts)
 * may make CREDENTIAL_FREE_CALLS_PER_SECOND of them a second, in bursts of ten seconds' worth
 * (a load balancer's and Kubernetes' probes are a few a second). Past it, the call is answered
 * RESOURCE_EXHAUSTED (RATE_LIMITED, RetryInfo) before grpc-js reads its request, and the
 * connection is not read from for a second (request-rate-per-address.ts holdSession): answering
 * the flood would cost what serving it costs. A reflection stream counts each request message
 * too, and one past the rate ends the stream the same way. Per process, like the publication
 * port's rate: it protects the event loop that serves the calls.
 */
import type { Http2Session } from "node:http2";
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { toServiceError } from "../api/errors";
import { AddressRateLimiter } from "../auth/address-rate-limiter";
import { CertmintError } from "../errors";
import { holdSession, RATE_HOLD_SECONDS } from "./request-rate-per-address";

/** Calls (and reflection requests) one client address may make a second without a credential. */
export const CREDENTIAL_FREE_CALLS_PER_SECOND = 100;
const BURST_SECONDS = 10;

const CREDENTIAL_FREE_SERVICES = [
  "/grpc.health.v1.Health/",
  "/grpc.reflection.v1.ServerReflection/",
  "/grpc.reflection.v1alpha.ServerReflection/",
];

/** Whether the method at `path` is served without a credential. */
export function isCredentialFree(path: string): boolean {
  return CREDENTIAL_FREE_SERVICES.some((service) => path.startsWith(service));
}

export interface StatusLike {
  code?: number;
  details?: string;
  metadata?: Metadata | null;
}

/** The rate of credential-free calls per client address, for one process. */
export class CredentialFreeCalls {
  readonly #limiter: AddressRateLimiter;
  #warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly logger: Logger,
    private readonly perSecond = CREDENTIAL_FREE_CALLS_PER_SECOND,
  ) {
    this.#limiter = new AddressRateLimiter(perSecond, BURST_SECONDS * perSecond);
  }

  /**
   * Counts one call or reflection request of `peer` ("1.2.3.4:5000"); undefined when it may be
   * served, otherwise the refusal to answer it with (and `session`, when given, is held).
   */
  refusal(peer: string, session?: Http2Session): StatusLike | undefined {
    const wait = this.#limiter.take(peer);
    if (wait === 0) return undefined;
    if (session) holdSession(session);
    if (performance.now() - this.#warnedAt >= 60_000) {
      this.#warnedAt = performance.now();
      this.logger.warn(
        { peer, callsPerSecond: this.perSecond },
        "a client address is past its rate of Health and reflection calls: refused, its connection held",
      );
    }
    const e = toServiceError(
      new CertmintError(
        "resource_exhausted",
        "RATE_LIMITED",
        `this client address made more than ${this.perSecond} Health or reflection calls a second; retry in ${RATE_HOLD_SECONDS} s`,
        { retryAfterSeconds: Math.max(RATE_HOLD_SECONDS, Math.ceil(wait)) },
      ),
    );
    return { code: e.code, details: e.details, metadata: e.metadata ?? null };
  }
}
