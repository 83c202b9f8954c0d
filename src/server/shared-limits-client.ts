import type { Logger } from "pino";
import { AddressRateLimiter } from "../auth/address-rate-limiter";
import type { Limits, SharedLimitOptions } from "../auth/limits";
import { type RateLimit, RateLimiter } from "../auth/rate-limiter";
import { type HeldPlaces, LocalPlaces } from "../issuance/common/held-places";
import {
  isLimitAnswer,
  LIMIT_REQUEST,
  type LimitAnswer,
  type LimitRequest,
  type PlaceAnswer,
  type RateAnswer,
  type RateLimitKind,
} from "./shared-limits-protocol";

/**
 * The most calls of one identity's budget a worker leases at once. A lease of `chunk` calls
 * costs one IPC round trip (measured 22 us p50, 80-120 us p99 on 2 idle cores: a sequential
 * ping-pong over the cluster channel), so at 16 the per-call cost is a map lookup, and a burst
 * cannot be stranded in one worker for more than 16 calls of it.
 */
export const LEASE_CHUNK_MAX = 16;
/** A lease unused this long goes back to the supervisor, where every worker can take from it. */
export const LEASE_IDLE_MS = 500;
/**
 * How long a worker waits for the supervisor's answer. Past it (a supervisor stalled, or gone:
 * then the worker is ending too) the worker limits on its own for ALONE_MS.
 */
export const ANSWER_TIMEOUT_MS = 3_000;
export const ALONE_MS = 10_000;
/** Leases (and remembered refusals) one limit keeps per worker: the memory bound. */
const MAX_LEASES = 100_000;

/** The IPC channel to the supervisor (process.send in a cluster worker); tests give another. */
export interface LimitChannel {
  send(request: LimitRequest): void;
  onAnswer(listener: (answer: LimitAnswer) => void): void;
  onDisconnect(listener: () => void): void;
  connected(): boolean;
}

function processChannel(): LimitChannel {
  return {
    send: (request) => process.send?.(request),
    onAnswer: (listener) =>
      process.on("message", (message: unknown) => {
        if (isLimitAnswer(message)) listener(message);
      }),
    onDisconnect: (listener) => process.on("disconnect", listener),
    connected: () => process.connected === true,
  };
}

/**
 * A worker's side of the limits kept for the whole server (CERTMINT_PROCESSES > 1; the
 * supervisor's side: shared-limits-authority.ts).
 *
 * Rates are leased: the first call of an identity asks the supervisor for a chunk of its budget
 * (up to LEASE_CHUNK_MAX calls, a quarter of the burst shared among the workers), and the next
 * calls take from that lease without leaving the process; a lease unused for LEASE_IDLE_MS goes
 * back. A refusal is remembered until the supervisor said a call would fit again (at most 1/rate
 * seconds, when one call has refilled), so a flood past its limit costs no IPC. Calls leased are taken from the supervisor's bucket before they are
 * used, so the calls accepted in all workers together never exceed the configured limit (burst +
 * rate x time); what a lease costs is the other way: up to N x chunk calls of an identity's budget
 * may sit unused in other workers' leases for up to LEASE_IDLE_MS while a worker refuses it.
 * Limits marked `exact` lease one call at a time (a round trip per decision).
 *
 * Fail-safe: while the supervisor does not answer within ANSWER_TIMEOUT_MS, or the channel to
 * it is gone (the worker is then stopping: cluster workers exit with their supervisor), each
 * worker limits on its own to 1/N of the rate and burst (at least one call), so the server as a
 * whole stays within the limit (plus what was already leased) rather than refusing every call or
 * granting N times it. It asks the supervisor again after ALONE_MS.
 */
export class SharedLimitsClient implements Limits {
  private next = 0;
  private readonly waiting = new Map<number, (answer: LimitAnswer | undefined) => void>();
  private aloneUntil = Number.NEGATIVE_INFINITY;
  private readonly rates: LeasedRateLimit[] = [];

  constructor(
    readonly processes: number,
    private readonly logger?: Logger,
    private readonly channel: LimitChannel = processChannel(),
    readonly clock: () => number = () => performance.now(),
  ) {
    channel.onAnswer((answer) => {
      const resolve = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      resolve?.(answer);
    });
    channel.onDisconnect(() => {
      for (const resolve of this.waiting.values()) resolve(undefined);
      this.waiting.clear();
    });
  }

  rate(name: string, perSecond: number, burst: number, options?: SharedLimitOptions): RateLimit {
    return this.track(new LeasedRateLimit(this, name, "identity", perSecond, burst, options));
  }

  addressRate(
    name: string,
    perSecond: number,
    burst: number,
    options?: SharedLimitOptions,
  ): RateLimit {
    return this.track(new LeasedRateLimit(this, name, "address", perSecond, burst, options));
  }

  /** Stops the leases' sweeps (tests; a worker's end stops them anyway). */
  close(): void {
    for (const rate of this.rates) rate.close();
  }

  private track(rate: LeasedRateLimit): LeasedRateLimit {
    this.rates.push(rate);
    return rate;
  }

  places(name: string): HeldPlaces {
    return new SharedPlaces(this, name);
  }

  /** Whether this worker limits on its own now (the supervisor did not answer, or is gone). */
  get alone(): boolean {
    return !this.channel.connected() || this.clock() < this.aloneUntil;
  }

  send(request: LimitRequest): void {
    if (!this.channel.connected()) return;
    try {
      this.channel.send(request);
    } catch {
      // The channel closed under it: the worker is stopping.
    }
  }

  /** The supervisor's answer, or undefined when it gives none in time (then `alone`). */
  ask<A extends LimitAnswer>(request: DistributiveOmit<LimitRequest & { id: number }, "id">) {
    if (this.alone) return Promise.resolve(undefined);
    const id = this.next++;
    return new Promise<A | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.goAlone();
        resolve(undefined);
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer as A | undefined);
      });
      this.send({ ...request, id } as LimitRequest);
    });
  }

  private goAlone(): void {
    const warn = this.clock() >= this.aloneUntil;
    this.aloneUntil = this.clock() + ALONE_MS;
    if (warn) {
      this.logger?.warn(
        { timeoutMs: ANSWER_TIMEOUT_MS, aloneMs: ALONE_MS, processes: this.processes },
        "the supervisor did not answer a question about a limit in time: this worker limits callers on its own to 1/N of each limit meanwhile",
      );
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One identity's calls leased from the supervisor, or the refusal it answered. */
interface Lease {
  tokens: number;
  /** Until when (clock ms) the supervisor's last answer was a refusal. */
  refusedUntil: number;
  usedAt: number;
}

/** A rate limit (RateLimiter or AddressRateLimiter) kept by the supervisor, leased in chunks. */
class LeasedRateLimit implements RateLimit {
  private readonly leases = new Map<string, Lease>();
  /** The request for a lease in flight per identity: its other calls wait for it. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly chunk: number;
  /** 1/N of the limit, for while the supervisor does not answer. */
  private readonly fallback: RateLimiter | AddressRateLimiter;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly client: SharedLimitsClient,
    private readonly name: string,
    kind: RateLimitKind,
    private readonly perSecond: number,
    burst: number,
    options: SharedLimitOptions = {},
  ) {
    const n = client.processes;
    this.chunk = options.exact
      ? 1
      : Math.max(1, Math.min(LEASE_CHUNK_MAX, Math.floor(burst / (4 * n))));
    const own = [perSecond / n, Math.max(1, Math.floor(burst / n))] as const;
    this.fallback =
      kind === "address"
        ? new AddressRateLimiter(...own, client.clock)
        : new RateLimiter(...own, client.clock);
    client.send({ type: LIMIT_REQUEST, op: "define", name, kind, perSecond, burst });
  }

  take(identity: string): number | Promise<number> {
    if (this.perSecond <= 0) return 0;
    const known = this.fromLease(identity);
    if (known !== undefined) return known;
    if (this.client.alone) return this.fallback.take(identity);
    return this.takeLeased(identity);
  }

  peek(identity: string): number | Promise<number> {
    if (this.perSecond <= 0) return 0;
    const lease = this.leases.get(identity);
    const now = this.client.clock();
    if (lease && lease.tokens >= 1) return 0;
    if (lease && lease.refusedUntil > now) return (lease.refusedUntil - now) / 1000;
    if (this.client.alone) return this.fallback.peek(identity);
    return this.client
      .ask<RateAnswer>({ type: LIMIT_REQUEST, op: "peek", name: this.name, key: identity })
      .then((answer) => answer?.waitSeconds ?? this.fallback.peek(identity));
  }

  refund(identity: string): void {
    if (this.perSecond <= 0) return;
    const lease = this.leases.get(identity);
    if (lease && this.chunk > 1) {
      // Back into the lease: used next, or returned with it once idle.
      lease.tokens += 1;
      lease.refusedUntil = 0;
    } else if (this.client.alone) {
      this.fallback.refund(identity);
    } else {
      // An exact limit holds nothing here: straight back to the supervisor, and the next call
      // asks again rather than trusting a refusal the refund may have ended.
      if (lease) lease.refusedUntil = 0;
      this.giveBack(identity, 1);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** 0 from the lease, the wait of a remembered refusal, or undefined: ask the supervisor. */
  private fromLease(identity: string): number | undefined {
    const lease = this.leases.get(identity);
    if (!lease) return undefined;
    const now = this.client.clock();
    if (lease.tokens >= 1) {
      lease.tokens -= 1;
      lease.usedAt = now;
      return 0;
    }
    if (lease.refusedUntil > now) return (lease.refusedUntil - now) / 1000;
    return undefined;
  }

  private async takeLeased(identity: string): Promise<number> {
    // Each round either leases calls (of which another waiting call may take the last), learns
    // a refusal, or finds the supervisor silent: one request per identity in flight at a time.
    for (;;) {
      const inFlight = this.pending.get(identity);
      if (inFlight) {
        await inFlight;
      } else {
        const request = this.lease(identity);
        this.pending.set(identity, request);
        try {
          await request;
        } finally {
          this.pending.delete(identity);
        }
      }
      const known = this.fromLease(identity);
      if (known !== undefined) return known;
      if (this.client.alone) return this.fallback.take(identity);
    }
  }

  private async lease(identity: string): Promise<void> {
    const answer = await this.client.ask<RateAnswer>({
      type: LIMIT_REQUEST,
      op: "take",
      name: this.name,
      key: identity,
      want: this.chunk,
    });
    if (!answer) return;
    const now = this.client.clock();
    const lease = this.leaseOf(identity, now);
    if (answer.granted >= 1) {
      lease.tokens += answer.granted;
      lease.refusedUntil = 0;
      lease.usedAt = now;
    } else {
      lease.refusedUntil = now + answer.waitSeconds * 1000;
    }
  }

  private leaseOf(identity: string, now: number): Lease {
    let lease = this.leases.get(identity);
    if (lease) return lease;
    if (this.leases.size >= MAX_LEASES) this.sweep(now);
    if (this.leases.size >= MAX_LEASES) {
      // Still full of leases in use: the oldest goes back (a remembered refusal is only
      // forgotten, and the next call asks again).
      const [oldest, held] = this.leases.entries().next().value as [string, Lease];
      this.leases.delete(oldest);
      if (held.tokens >= 1) this.giveBack(oldest, Math.floor(held.tokens));
    }
    lease = { tokens: 0, refusedUntil: 0, usedAt: now };
    this.leases.set(identity, lease);
    this.sweeper ??= setInterval(() => this.sweep(this.client.clock()), LEASE_IDLE_MS).unref();
    return lease;
  }

  /** Gives idle leases back and forgets refusals that ran out. */
  private sweep(now: number): void {
    for (const [identity, lease] of this.leases) {
      if (this.pending.has(identity)) continue;
      if (lease.tokens >= 1) {
        if (now - lease.usedAt < LEASE_IDLE_MS) continue;
        this.giveBack(identity, Math.floor(lease.tokens));
        this.leases.delete(identity);
      } else if (lease.refusedUntil <= now) {
        this.leases.delete(identity);
      }
    }
    if (this.leases.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private giveBack(identity: string, count: number): void {
    // Alone, what the supervisor leased is simply not returned: the limit errs on its side.
    if (this.client.alone) return;
    this.client.send({ type: LIMIT_REQUEST, op: "refund", name: this.name, key: identity, count });
  }
}

/**
 * Places held for the whole server (open watches per token): every take asks the supervisor (a
 * watch is opened once and held for long; a round trip is nothing beside it). Alone, a worker
 * allows each key 1/N of the cap (at least one) among the places it holds itself.
 */
class SharedPlaces implements HeldPlaces {
  /** This worker's places, whoever counted them. */
  private readonly own = new LocalPlaces();
  /** Of those, the ones the supervisor counted (released there too), by key. */
  private readonly counted = new Map<string, number>();

  constructor(
    private readonly client: SharedLimitsClient,
    private readonly name: string,
  ) {}

  take(key: string, cap: number): number | undefined | Promise<number | undefined> {
    if (this.client.alone) return this.takeAlone(key, cap);
    return this.client
      .ask<PlaceAnswer>({ type: LIMIT_REQUEST, op: "hold", name: this.name, key, cap })
      .then((answer) => {
        if (!answer) return this.takeAlone(key, cap);
        if (!answer.taken) return answer.held;
        this.own.take(key, Number.POSITIVE_INFINITY);
        this.counted.set(key, (this.counted.get(key) ?? 0) + 1);
        return undefined;
      });
  }

  release(key: string): void {
    this.own.release(key);
    const counted = this.counted.get(key) ?? 0;
    if (counted === 0) return;
    if (counted > 1) this.counted.set(key, counted - 1);
    else this.counted.delete(key);
    this.client.send({ type: LIMIT_REQUEST, op: "release", name: this.name, key });
  }

  private takeAlone(key: string, cap: number): number | undefined {
    return this.own.take(key, Math.max(1, Math.floor(cap / this.client.processes)));
  }
}
