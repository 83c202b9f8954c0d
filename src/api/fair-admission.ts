import { CertmintError } from "../errors";

/** How many calls do their work at once, and how many one access token may have waiting. */
export interface AdmissionLimits {
  /** Calls past authentication doing their work at once (CERTMINT_CALLS_IN_PROGRESS). */
  readonly inProgress: number;
  /** Calls one access token may have waiting for their turn (CERTMINT_CALLS_QUEUED_PER_TOKEN). */
  readonly queuedPerToken: number;
}

interface Waiter {
  readonly admit: () => void;
}

/**
 * Fair admission of calls to their work, by access token.
 *
 * Without it every stage of a call (the pool's connections, the shared statements of group
 * commit, the event loop) serves calls first come, first served, so a token with 500 calls in
 * flight put each call of another token behind its 500: bench/fairness measured a lone
 * client's p50 14x and its p99 38x its value alone. Here at most `inProgress` calls do their
 * work at once; the others wait in one queue per token, and a freed place goes to the tokens in
 * turn (round robin), so another token's call waits for one turn, not for the flood. Group
 * commit still gets its batches: `inProgress` calls share statements and commits as before.
 *
 * A call admitted at once (fewer than `inProgress` at work and nobody waiting) costs a counter;
 * past `queuedPerToken` waiting calls a token's next call is refused (RESOURCE_EXHAUSTED,
 * CALLS_QUEUED) instead of holding its request in memory. A waiting call whose caller stops
 * waiting (cancel, deadline) leaves its queue. Per process on purpose, unlike the rate limits
 * (auth/limits.ts): what it shares out is the process's own (its event loop, its database pool,
 * its memory for waiting requests), so with CERTMINT_PROCESSES above 1 each worker admits its
 * own calls. A token spreading calls over workers gains no more than it would from a replica;
 * what it may consume is bounded by its rate limit, which holds for the whole server.
 */
export class FairAdmission {
  private running = 0;
  private waiting = 0;
  /** Tokens with waiting calls, in the order of their turns (a Map keeps insertion order). */
  private readonly turns = new Map<string, Waiter[]>();
  /** Calls coming back from a wait outside (whileOutside): admitted before any new call. */
  private readonly resuming: Array<() => void> = [];

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly onRefused?: () => void,
  ) {}

  /** Calls doing their work now. */
  get inProgress(): number {
    return this.running;
  }

  /** Calls waiting for their turn (certmint_calls_waiting). */
  get queued(): number {
    return this.waiting + this.resuming.length;
  }

  /**
   * Admits a call of `token`: undefined when admitted at once, else a promise that settles on
   * its turn, or rejects if its caller stops waiting first (`abandoned`, read only then). Each
   * admitted call must `leave()` exactly once.
   */
  enter(
    token: { id: string; slug: string },
    abandoned: () => AbortSignal,
  ): Promise<void> | undefined {
    if (this.waiting === 0 && this.resuming.length === 0 && this.running < this.limits.inProgress) {
      this.running++;
      return undefined;
    }
    const queue = this.turns.get(token.id) ?? [];
    if (queue.length >= this.limits.queuedPerToken) {
      this.onRefused?.();
      throw new CertmintError(
        "resource_exhausted",
        "CALLS_QUEUED",
        `access token "${token.slug}" already has ${queue.length} calls waiting for their turn (CERTMINT_CALLS_QUEUED_PER_TOKEN); wait for answers before sending more`,
        {
          retryAfterSeconds: 1,
          metadata: { access_token: token.slug, queued: String(queue.length) },
        },
      );
    }
    const signal = abandoned();
    if (signal.aborted) throw callAbandoned();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i < 0) return;
        queue.splice(i, 1);
        this.waiting--;
        if (queue.length === 0) this.turns.delete(token.id);
        reject(callAbandoned());
      };
      const waiter: Waiter = {
        admit: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
      this.waiting++;
      if (queue.length === 1) this.turns.set(token.id, queue);
    });
  }

  /** The call's work is done (answered, or failed): its place goes to the next in turn. */
  leave(): void {
    this.running--;
    this.admitNext();
  }

  /**
   * Runs a wait that is not the call's own work (a key queued at the key generator, which has
   * its own fair queue) outside the count, so calls waiting there do not hold places that CSR
   * calls need; the call then comes back ahead of every new call.
   */
  async whileOutside<T>(wait: Promise<T>): Promise<T> {
    this.leave();
    try {
      return await wait;
    } finally {
      if (this.running < this.limits.inProgress && this.resuming.length === 0) this.running++;
      else await new Promise<void>((resolve) => this.resuming.push(resolve));
    }
  }

  private admitNext(): void {
    while (this.running < this.limits.inProgress) {
      const resume = this.resuming.shift();
      if (resume) {
        this.running++;
        resume();
        continue;
      }
      const next = this.turns.entries().next();
      if (next.done) return;
      const [token, queue] = next.value;
      const waiter = queue.shift()!;
      this.waiting--;
      // Its turn is taken: to the back of the line if it has more waiting.
      this.turns.delete(token);
      if (queue.length > 0) this.turns.set(token, queue);
      this.running++;
      waiter.admit();
    }
  }
}

function callAbandoned(): CertmintError {
  return new CertmintError(
    "deadline_exceeded",
    "CALL_CANCELLED",
    "the caller stopped waiting (cancel or deadline) before the call's turn came",
  );
}
