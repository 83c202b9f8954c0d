/**
 * Authorizations (one per identifier of a new order, each with its challenges: rows kept for
 * good) an account may create: this many at once, then this many per
 * ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS (Let's Encrypt: 300 orders of up to 100 names per
 * account per 3 hours). Without it one account could store 4,000 rows a second (10 orders of
 * 100 identifiers) for as long as it liked.
 */
export const ACME_NEW_AUTHORIZATIONS_PER_ACCOUNT = 1000;
export const ACME_NEW_AUTHORIZATIONS_WINDOW_SECONDS = 3 * 3600;
