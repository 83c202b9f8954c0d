/**
 * How long after an approval claimed a request (PENDING, serial reserved) another approval may
 * take it over. A claim younger than this is an approval under way: the claiming call plans,
 * may generate an RSA key, and then takes the request's lock to sign, so a free lock alone does
 * not tell a claim in progress from one whose call is gone.
 */
export const CLAIM_TAKEOVER_AFTER_MS = 120_000;
