/**
 * The messages of the limits kept for the whole server with CERTMINT_PROCESSES above 1, between
 * a worker (server/shared-limits-client.ts) and the supervisor that holds them
 * (server/shared-limits-authority.ts), over the cluster's IPC channel.
 */
export const LIMIT_REQUEST = "certmint:limit";
export const LIMIT_ANSWER = "certmint:limit-answer";

/** A rate limit by identity (RateLimiter) or by client address (AddressRateLimiter). */
export type RateLimitKind = "identity" | "address";

export type LimitRequest =
  | {
      type: typeof LIMIT_REQUEST;
      op: "define";
      name: string;
      kind: RateLimitKind;
      perSecond: number;
      burst: number;
    }
  /** Up to `want` calls of `key`'s budget for the worker's lease; answered with a RateAnswer. */
  | { type: typeof LIMIT_REQUEST; op: "take"; id: number; name: string; key: string; want: number }
  /** Whether `key` could take one now, without taking it; answered with a RateAnswer. */
  | { type: typeof LIMIT_REQUEST; op: "peek"; id: number; name: string; key: string }
  /** Calls given back: the unused rest of a lease, or calls whose work was not done. */
  | { type: typeof LIMIT_REQUEST; op: "refund"; name: string; key: string; count: number }
  /** One place of `key` if fewer than `cap` are held in all workers; answered with a PlaceAnswer. */
  | { type: typeof LIMIT_REQUEST; op: "hold"; id: number; name: string; key: string; cap: number }
  | { type: typeof LIMIT_REQUEST; op: "release"; name: string; key: string };

export interface RateAnswer {
  type: typeof LIMIT_ANSWER;
  id: number;
  granted: number;
  waitSeconds: number;
}

export interface PlaceAnswer {
  type: typeof LIMIT_ANSWER;
  id: number;
  /** Whether the place was taken; otherwise `held` are held already. */
  taken: boolean;
  held: number;
}

export type LimitAnswer = RateAnswer | PlaceAnswer;

export function isLimitRequest(message: unknown): message is LimitRequest {
  return (message as LimitRequest | undefined)?.type === LIMIT_REQUEST;
}

export function isLimitAnswer(message: unknown): message is LimitAnswer {
  return (message as LimitAnswer | undefined)?.type === LIMIT_ANSWER;
}
