import type { Logger } from "pino";
import type { RateLimit } from "../auth/rate-limiter";
import type { IssuanceDeps } from "../issuance/deps";
import type { Store } from "../issuance/repositories";
import type { Http01Limits } from "./validation/http01";
import type { ValidationSlots } from "./validation/slots";
import type { ValidationTargets } from "./validation/targets";

/** What every ACME handler may use, built once at start-up (src/acme/http/server.ts). */
export interface AcmeContext {
  /** The app's store (deps.store): the ACME repository, and the others for lookups. */
  readonly store: Store;
  readonly deps: IssuanceDeps;
  readonly targets: ValidationTargets;
  readonly http01: Http01Limits;
  /** The port tls-alpn-01 connects to (RFC 8737 3: 443; tests use another). */
  readonly tlsAlpn01Port: number;
  /**
   * Requests per account (and per key for newAccount), RFC 8555 6.6 rateLimited. These four are
   * what one client may consume, so with CERTMINT_PROCESSES above 1 they are kept for the whole
   * server (auth/limits.ts): a client spreading its requests over connections gets them once.
   */
  readonly rateLimiter: RateLimit;
  /**
   * Requests per client address (IPv4 address, IPv6 /64, and its /48 at 16 times) that cost a
   * write before any key is known: new nonces and every POST. Ten times the account rate.
   */
  readonly addressLimiter: RateLimit;
  /**
   * Accounts created without External Account Binding, per client address (as addressLimiter):
   * a row that costs its client no credential (CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR).
   */
  readonly newAccountLimiter: RateLimit;
  /**
   * Authorizations (identifiers of new orders) per account (index.ts
   * ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT): each is a row, with its challenges, kept for good.
   */
  readonly newAuthorizationLimiter: RateLimit;
  /**
   * POST-as-GET reads of an account's resources (orders, authorizations, certificates, its
   * orders list; RFC 8555 6.3), per account, ten times the account rate: clients poll these
   * while orders are processed, and until 2026-12-04 only addressLimiter bounded them, so an
   * account polling from many addresses had no bound of its own.
   */
  readonly readLimiter: RateLimit;
  readonly logger: Logger;
  /**
   * CERTMINT_ACME_BASE_URL (scheme, host and port, no path): every ACME URL is built from it,
   * never from the request's Host. Absent: from the request's scheme and Host.
   */
  readonly baseUrl?: string;
  /**
   * Validations connecting out at once, and those queued for a place
   * (CERTMINT_ACME_MAX_VALIDATIONS, validation/slots.ts).
   */
  readonly validationSlots: ValidationSlots;
  /** Validations running now, so shutdown can wait for them. */
  readonly validations: Set<Promise<void>>;
}

/** The profile an ACME URL names (/acme/<slug>/...), with what ACME needs of it. */
export interface AcmeProfile {
  id: string;
  slug: string;
  /** An account needs an External Account Binding key of this profile (RFC 8555 7.3.4). */
  requireExternalAccountBinding: boolean;
  /** renewal.renewBeforeDays, for ARI windows (RFC 9773); 0: a third of the lifetime. */
  renewBeforeDays: number;
}

/**
 * The URLs of one profile's ACME resources, under CERTMINT_ACME_BASE_URL or else the request's
 * scheme and Host (http/server.ts originOf).
 */
export class AcmeUrls {
  constructor(readonly base: string) {}
  directory = () => `${this.base}/directory`;
  newNonce = () => `${this.base}/new-nonce`;
  newAccount = () => `${this.base}/new-account`;
  newOrder = () => `${this.base}/new-order`;
  revokeCert = () => `${this.base}/revoke-cert`;
  keyChange = () => `${this.base}/key-change`;
  renewalInfo = () => `${this.base}/renewal-info`;
  accountPrefix = () => `${this.base}/account/`;
  account = (id: string) => `${this.base}/account/${id}`;
  orders = (accountId: string) => `${this.base}/account/${accountId}/orders`;
  order = (id: string) => `${this.base}/order/${id}`;
  finalize = (id: string) => `${this.base}/order/${id}/finalize`;
  authz = (id: string) => `${this.base}/authz/${id}`;
  challenge = (id: string) => `${this.base}/chall/${id}`;
  certificate = (id: string) => `${this.base}/cert/${id}`;
}
