import type { Logger } from "pino";
import { RateLimiter } from "../auth/rate-limiter";
import type { AcmeConfig, ConnectionLimits } from "../config";
import type { IssuanceDeps } from "../issuance/deps";
import { NONCE_LIFETIME_MS } from "../issuance/repositories";
import type { AcmeContext } from "./context";
import { startAcmeServer } from "./http/server";
import { DEFAULT_HTTP01_LIMITS } from "./validation/http01";
import { parseNetworks, ValidationTargets } from "./validation/targets";

export interface RunningAcme {
  readonly port: number;
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
    rateLimiter: new RateLimiter(config.rateLimit.perSecond, config.rateLimit.burst),
    addressLimiter: new RateLimiter(10 * config.rateLimit.perSecond, 10 * config.rateLimit.burst),
    // N per hour on average, N at once (an idle address: then one every 3600/N s).
    newAccountLimiter: new RateLimiter(
      config.newAccountsPerAddressPerHour / 3600,
      config.newAccountsPerAddressPerHour,
    ),
    logger,
    validations: new Set(),
  };
  const server = await startAcmeServer(config.listen, config.tls, ctx, limits);
  const sweep = setInterval(() => {
    store.acme
      .sweepNonces(deps.now())
      .catch((err: unknown) => logger.warn({ err }, "ACME: sweeping nonces failed"));
  }, NONCE_LIFETIME_MS);
  sweep.unref();
  logger.info({ port: server.port, tls: config.tls !== undefined }, "serving ACME");
  return {
    port: server.port,
    async close() {
      clearInterval(sweep);
      await server.close();
    },
  };
}
