import type { Logger } from "pino";
import { type Limits, localLimits } from "../auth/limits";
import type { AcmeConfig, ConnectionLimits } from "../config";
import type { IssuanceDeps } from "../issuance/deps";
import { type AcmeRepository, NONCE_LIFETIME_MS } from "../issuance/repositories";
import type { AcmeContext } from "./context";
import { startAcmeServer } from "./http/server";
import {
  ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT,
  ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS,
} from "./limits";
import { DEFAULT_HTTP01_LIMITS } from "./validation/http01";
import { QUEUE_PER_PLACE, ValidationSlots, WAIT_PER_TIMEOUT } from "./validation/slots";
import { parseNetworks, ValidationTargets } from "./validation/targets";

/**
 * The ACME rate limits (RFC 8555 6.6), apart so that tests can build them as the server does.
 * Per client address: an IPv4 address, or an IPv6 /64 and (IPV6_RANGE_MULTIPLE times it) its /48.
 */
export function acmeLimiters(
  config: Pick<AcmeConfig, "rateLimit" | "newAccountsPerAddressPerHour">,
  clock?: () => number,
  limits: Limits = localLimits(clock),
): Pick<
  AcmeContext,
  "rateLimiter" | "addressLimiter" | "newAccountLimiter" | "newAuthorizationLimiter" | "readLimiter"
> {
  const { perSecond, burst } = config.rateLimit;
  const perHour = config.newAccountsPerAddressPerHour;
  return {
    rateLimiter: limits.rate("acme-account-requests", perSecond, burst),
    // Polling an order or authorization (POST-as-GET) is cheap and frequent (a client with many
    // orders in progress polls each): a budget of its own, as generous as an address's.
    readLimiter: limits.rate("acme-account-reads", 10 * perSecond, 10 * burst),
    addressLimiter: limits.addressRate("acme-address-requests", 10 * perSecond, 10 * burst),
    // N per hour on average, N at once (an idle address: then one every 3600/N s). Exact: a
    // budget of ten would be spread over the workers' leases.
    newAccountLimiter: limits.addressRate("acme-new-accounts", perHour / 3600, perHour, {
      exact: true,
    }),
    newAuthorizationLimiter: limits.rate(
      "acme-new-authorizations",
      ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT / ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS,
      ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT,
      { exact: true },
    ),
  };
}

export { ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT, ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS };

export interface RunningAcme {
  readonly port: number;
  /** Validations connecting out now, and queued for a place (validation/slots.ts). */
  validationCounts(): { running: number; queued: number };
  close(): Promise<void>;
}

/**
 * Starts ACME (RFC 8555) on its own listener, once the database and the issuance use cases are
 * ready. Spent and expired nonces are swept every nonce lifetime.
 */
export async function startAcme(
  config: AcmeConfig,
  deps: IssuanceDeps,
  logger: Logger,
  limits: ConnectionLimits,
  rateLimits: Limits = localLimits(),
): Promise<RunningAcme> {
  const store = deps.store;
  const ctx: AcmeContext = {
    store,
    deps,
    targets: new ValidationTargets(
      config.validationNetworks === undefined
        ? undefined
        : parseNetworks(config.validationNetworks).list,
      config.dnsResolvers,
      config.validationTimeoutMs,
    ),
    http01: {
      ...DEFAULT_HTTP01_LIMITS,
      port: config.http01Port,
      timeoutMs: config.validationTimeoutMs,
    },
    tlsAlpn01Port: config.tlsAlpn01Port,
    ...acmeLimiters(config, undefined, rateLimits),
    logger,
    ...(config.baseUrl === undefined ? {} : { baseUrl: config.baseUrl }),
    validationSlots: new ValidationSlots(
      config.maxValidations,
      QUEUE_PER_PLACE * config.maxValidations,
      WAIT_PER_TIMEOUT * config.validationTimeoutMs,
    ),
    validations: new Set(),
  };
  const server = await startAcmeServer(config.listen, config.tls, ctx, limits);
  let closing = false;
  const sweep = setInterval(() => {
    store.acme
      .sweepNonces(deps.now())
      .catch((err: unknown) => logger.warn({ err }, "ACME: sweeping nonces failed"));
    sweepOrders(store.acme, deps.now, () => closing).catch((err: unknown) =>
      logger.warn({ err }, "ACME: sweeping expired orders failed"),
    );
  }, NONCE_LIFETIME_MS);
  sweep.unref();
  logger.info({ port: server.port, tls: config.tls !== undefined }, "serving ACME");
  return {
    port: server.port,
    validationCounts: () => ctx.validationSlots.counts(),
    async close() {
      closing = true;
      clearInterval(sweep);
      await server.close();
    },
  };
}

/** Orders deleted per statement of the sweep (sweepOrders). */
const ORDER_SWEEP_BATCH = 1_000;

/**
 * Deletes the orders that never led to a certificate, ORDER_RETENTION_MS after they expired
 * (with their authorizations and challenges), a batch at a time until none is left or the
 * listener closes: what accounts leave behind does not grow for good.
 */
export async function sweepOrders(
  acme: Pick<AcmeRepository, "sweepOrders">,
  now: () => Date,
  closing: () => boolean,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await acme.sweepOrders(now(), ORDER_SWEEP_BATCH);
    total += deleted;
    if (deleted < ORDER_SWEEP_BATCH || closing()) return total;
  }
}
