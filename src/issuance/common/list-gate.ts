import { CertmintError } from "../../errors";
import type { Call } from "../call";

/** A list call of one caller waiting for one of its places. */
interface Waiter {
  readonly start: () => void;
}

/** One caller's list queries: how many run, and who waits, first come first served. */
interface CallerLists {
  running: number;
  readonly waiting: Waiter[];
}

/**
 * Lists one token may have waiting for a place: past it, RESOURCE_EXHAUSTED. A waiting list holds
 * no place among the calls at work, so this, not CERTMINT_CALLS_QUEUED_PER_TOKEN, bounds them.
 */
export const LIST_QUERIES_QUEUED_PER_TOKEN = 100;

/** The setting that caps one caller's list queries running at once. */
export const LIST_QUERIES_PER_TOKEN_SETTING = "CERTMINT_LIST_QUERIES_PER_TOKEN";

/**
 * How many list queries (ListCertificates, ListAuditRecords pages) one access token runs at once.
 *
 * Each such query holds a pooled database connection for as long as it runs, up to
 * CERTMINT_LIST_QUERY_TIMEOUT_MS (list-bound.ts) when no index serves its filter. The time bound
 * limits how long one holds a connection, not how many: one token sending ten wide lists at
 * once held all ten of the default pool for seconds, and every other token's calls (fairly
 * admitted, src/api/fair-admission.ts) then waited for a connection behind them. Here a token's
 * list queries past `perCaller` wait for one of its own to end, outside the calls at work
 * (Call.whileOutside: a waiting list holds no place), so one token holds at most `perCaller`
 * connections for lists and the rest of the pool serves everyone else.
 *
 * Past `queuedPerCaller` waiting lists a token's next list is refused (RESOURCE_EXHAUSTED,
 * LIST_QUERIES_QUEUED, RetryInfo) rather than held in memory; a waiting list whose caller stops
 * waiting (cancel, deadline) leaves its queue. Per process on purpose: what it protects is the
 * process's own database pool, so each worker of CERTMINT_PROCESSES gates its own (a token's
 * lists spread over workers hold at most `perCaller` connections of each pool); what one token
 * may consume over time is bounded by its rate limit, which holds for the whole server.
 */
export class ListQueryGate {
  private readonly callers = new Map<string, CallerLists>();

  constructor(
    private readonly perCaller: number,
    private readonly queuedPerCaller: number,
  ) {}

  /** List queries running now, of every caller (for tests and metrics). */
  get running(): number {
    let n = 0;
    for (const c of this.callers.values()) n += c.running;
    return n;
  }

  /** List calls waiting for a place now, of every caller. */
  get waiting(): number {
    let n = 0;
    for (const c of this.callers.values()) n += c.waiting.length;
    return n;
  }

  /** Runs `read` in one of the caller's places, waiting for one first if they are all taken. */
  async run<T>(
    call: Pick<Call, "actor" | "signal" | "whileOutside">,
    read: () => Promise<T>,
  ): Promise<T> {
    const id = call.actor.id;
    let lists = this.callers.get(id);
    if (!lists) {
      lists = { running: 0, waiting: [] };
      this.callers.set(id, lists);
    }
    if (lists.running < this.perCaller) {
      lists.running++;
    } else {
      const turn = this.waitForTurn(lists, call);
      await (call.whileOutside ? call.whileOutside(turn) : turn);
    }
    try {
      return await read();
    } finally {
      this.release(id, lists);
    }
  }

  /** Resolves when a place of `lists` is handed to this call (its `running` already counts it). */
  private waitForTurn(lists: CallerLists, call: Pick<Call, "actor" | "signal">): Promise<void> {
    if (lists.waiting.length >= this.queuedPerCaller) {
      throw new CertmintError(
        "resource_exhausted",
        "LIST_QUERIES_QUEUED",
        `access token "${call.actor.slug}" already runs ${lists.running} list queries (${LIST_QUERIES_PER_TOKEN_SETTING}) with ${lists.waiting.length} more waiting; wait for their answers before sending more lists`,
        {
          retryAfterSeconds: 1,
          metadata: {
            setting: LIST_QUERIES_PER_TOKEN_SETTING,
            running: String(lists.running),
            queued: String(lists.waiting.length),
          },
        },
      );
    }
    const signal = call.signal;
    return new Promise<void>((resolve, reject) => {
      const abandon = () => {
        const at = lists.waiting.indexOf(waiter);
        if (at >= 0) lists.waiting.splice(at, 1);
        reject(
          new CertmintError(
            "deadline_exceeded",
            "CALL_CANCELLED",
            "the caller stopped waiting (cancel or deadline) while the list waited for its turn",
          ),
        );
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener("abort", abandon);
          resolve();
        },
      };
      if (signal?.aborted) return abandon();
      lists.waiting.push(waiter);
      signal?.addEventListener("abort", abandon, { once: true });
    });
  }

  /** A place freed: it goes to the caller's next waiting list, or the count drops. */
  private release(id: string, lists: CallerLists): void {
    const next = lists.waiting.shift();
    if (next) {
      next.start();
      return;
    }
    lists.running--;
    if (lists.running === 0) this.callers.delete(id);
  }
}

/** What certmint_list_queries shows: zeros without a gate. */
export function listQueryCounts(gate: ListQueryGate | undefined): {
  running: number;
  waiting: number;
} {
  return { running: gate?.running ?? 0, waiting: gate?.waiting ?? 0 };
}

/** `read` within the gate when there is one (PostgreSQL), as it is otherwise. */
export function throughListGate<T>(
  gate: ListQueryGate | undefined,
  call: Pick<Call, "actor" | "signal" | "whileOutside">,
  read: () => Promise<T>,
): Promise<T> {
  return gate ? gate.run(call, read) : read();
}
