import type { Worker } from "node:cluster";
import { AddressRateLimiter } from "../auth/address-rate-limiter";
import { RateLimiter } from "../auth/rate-limiter";
import {
  isLimitRequest,
  LIMIT_ANSWER,
  type LimitAnswer,
  type LimitRequest,
} from "./shared-limits-protocol";

/**
 * The supervisor's side of the limits that hold for the whole server (CERTMINT_PROCESSES > 1):
 * the authoritative token buckets of every rate limit by identity or address, and the places
 * held per key (open watches per token). Workers lease calls from the buckets in small chunks
 * and hold places through it (server/shared-limits-client.ts), so a caller that spreads its
 * calls over connections, which the supervisor hands to different workers, still meets the
 * configured limit once, not once per worker.
 *
 * Its work per message is a map lookup and a little arithmetic on the supervisor's event loop,
 * which otherwise only accepts connections and sums /metrics. A place held by a worker that
 * exits is released (its watches ended with it); calls leased by it are lost, which errs on the
 * side of the limit.
 */
export class SharedLimitsAuthority {
  private readonly rates = new Map<string, RateLimiter | AddressRateLimiter>();
  /** Places held, by limit name, then key, then worker id. */
  private readonly places = new Map<string, Map<string, Map<number, number>>>();

  /** `clock`: the buckets' (tests). */
  constructor(private readonly clock?: () => number) {}

  /** Answers `worker`'s limit requests, and releases its places when it exits. */
  attach(worker: Worker): void {
    worker.on("message", (message: unknown) => {
      if (!isLimitRequest(message)) return;
      let answer: LimitAnswer | undefined;
      try {
        answer = this.handle(worker.id, message);
      } catch {
        // A malformed request: unanswered, the worker's wait runs out and it limits on its own
        // (shared-limits-client.ts). Never the supervisor's end.
        return;
      }
      // A worker that exited meanwhile is gone with its question.
      if (answer && worker.isConnected()) worker.send(answer, () => undefined);
    });
    worker.on("exit", () => this.workerExited(worker.id));
  }

  /** One request of worker `workerId`: its answer, if it asks for one. */
  handle(workerId: number, request: LimitRequest): LimitAnswer | undefined {
    switch (request.op) {
      case "define": {
        // Every worker defines the same limits from the same configuration: the first wins.
        if (!this.rates.has(request.name)) {
          this.rates.set(
            request.name,
            request.kind === "address"
              ? new AddressRateLimiter(request.perSecond, request.burst, this.clock)
              : new RateLimiter(request.perSecond, request.burst, this.clock),
          );
        }
        return undefined;
      }
      case "take": {
        const grant = this.rate(request.name).takeUpTo(request.key, request.want);
        return { type: LIMIT_ANSWER, id: request.id, ...grant };
      }
      case "peek": {
        const waitSeconds = this.rate(request.name).peek(request.key);
        return { type: LIMIT_ANSWER, id: request.id, granted: 0, waitSeconds };
      }
      case "refund":
        this.rate(request.name).refund(request.key, request.count);
        return undefined;
      case "hold":
        return { type: LIMIT_ANSWER, id: request.id, ...this.hold(workerId, request) };
      case "release":
        this.release(workerId, request.name, request.key);
        return undefined;
    }
  }

  private rate(name: string): RateLimiter | AddressRateLimiter {
    const limiter = this.rates.get(name);
    // A worker defines a limit before its first use, over the same ordered channel.
    if (!limiter) throw new Error(`shared limit ${name} was used before it was defined`);
    return limiter;
  }

  private hold(
    workerId: number,
    request: { name: string; key: string; cap: number },
  ): { taken: boolean; held: number } {
    let byKey = this.places.get(request.name);
    if (!byKey) {
      byKey = new Map();
      this.places.set(request.name, byKey);
    }
    let byWorker = byKey.get(request.key);
    let held = 0;
    for (const n of byWorker?.values() ?? []) held += n;
    if (held >= request.cap) return { taken: false, held };
    if (!byWorker) {
      byWorker = new Map();
      byKey.set(request.key, byWorker);
    }
    byWorker.set(workerId, (byWorker.get(workerId) ?? 0) + 1);
    return { taken: true, held: held + 1 };
  }

  private release(workerId: number, name: string, key: string): void {
    const byKey = this.places.get(name);
    const byWorker = byKey?.get(key);
    const n = byWorker?.get(workerId);
    if (!byKey || !byWorker || n === undefined) return;
    if (n > 1) byWorker.set(workerId, n - 1);
    else byWorker.delete(workerId);
    if (byWorker.size === 0) byKey.delete(key);
  }

  /** A worker is gone, and so are its watches: its places are free again. */
  workerExited(workerId: number): void {
    for (const byKey of this.places.values()) {
      for (const [key, byWorker] of byKey) {
        byWorker.delete(workerId);
        if (byWorker.size === 0) byKey.delete(key);
      }
    }
  }
}
