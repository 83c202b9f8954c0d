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

/** The setting that caps the list queries of every caller running at once (per process). */
export const LIST_QUERIES_SETTING = "CERTMINT_LIST_QUERIES";

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
 *
 * `maxRunning` caps the places of every caller together (CERTMINT_LIST_QUERIES). A place is held
 * while a page is in memory and becoming its answer (the query, then what its answer reads
 * besides: ListCertificates' renewal statuses), and a page of 1,000 certificates with their
 * PEMs is some 10 MB of heap. With the per-token cap alone, callers of many tokens held a page
 * each: 64 full pages asked at once by 32 auditor tokens took a server started with
 * --max-old-space-size=160 out of memory (V8 fatal error, the process gone: bench/memory/probe.ts,
 * 2026-12-04); the pool bounded the queries running, not the pages read and waiting for a
 * connection for their renewal statuses. A list with a place of its token waits for one of the
 * process's outside the calls at work too, first come first served; every token has at most
 * `perCaller` lists waiting there, so no token's lists can starve another's.
 */
export class ListQueryGate {
  private readonly callers = new Map<string, CallerLists>();
  /** Process places taken, and the lists (holding a place of their token) waiting for one. */
  private processRunning = 0;
  private readonly processWaiting: Waiter[] = [];

  constructor(
    private readonly perCaller: number,
    private readonly queuedPerCaller: number,
    private readonly maxRunning = Number.POSITIVE_INFINITY,
  ) {}

  /** List queries running now, of every caller (for tests and metrics). */
  get running(): number {
    // A list holding a place of its token and waiting for the process's is waiting, not running.
    let n = 0;
    for (const c of this.callers.values()) n += c.running;
    return n - this.processWaiting.length;
  }

  /** List calls waiting for a place now, of every caller (their token's, or the process's). */
  get waiting(): number {
    let n = this.processWaiting.length;
    for (const c of this.callers.values()) n += c.waiting.length;
    return n;
  }

  /** Runs `read` in one of the caller's places, waiting for one first if they are all taken. */
  async run<T>(
    call: Pick<Call, "actor" | "signal" | "whileOutside" | "checkAnswerable">,
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
      if (this.processRunning < this.maxRunning) {
        this.processRunning++;
      } else {
        const turn = this.waitForProcessPlace(call);
        await (call.whileOutside ? call.whileOutside(turn) : turn);
      }
    } catch (err) {
      this.release(id, lists);
      throw err;
    }
    try {
      // Its turn may have come long after it was sent: a caller that meanwhile left answers
      // unread past its budget would have this one refused after the work, so it is refused
      // now, before a page is read for nobody (bench/memory/probe.ts: lists never read by 5
      // tokens held the places of the process, and everyone else's pages came 4 times slower).
      call.checkAnswerable?.();
      return await read();
    } finally {
      this.releaseProcessPlace();
      this.release(id, lists);
    }
  }

  /** Resolves when a process place is handed to this call (processRunning already counts it). */
  private waitForProcessPlace(call: Pick<Call, "signal">): Promise<void> {
    return this.queueUp(this.processWaiting, call.signal);
  }

  /** A process place freed: it goes to the first list waiting for one, or the count drops. */
  private releaseProcessPlace(): void {
    const next = this.processWaiting.shift();
    if (next) next.start();
    else this.processRunning--;
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
    return this.queueUp(lists.waiting, call.signal);
  }

  /** Waits in `queue` until started; leaves it if the caller stops waiting first. */
  private queueUp(queue: Waiter[], signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const abandon = () => {
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
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
      queue.push(waiter);
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
  call: Pick<Call, "actor" | "signal" | "whileOutside" | "checkAnswerable">,
  read: () => Promise<T>,
): Promise<T> {
  return gate ? gate.run(call, read) : read();
}
