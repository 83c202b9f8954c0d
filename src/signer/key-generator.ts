/**
 * Key generation for the server (issue 10 item 4). EC and Ed25519 keys take microseconds on
 * the libuv pool; RSA keys take 150 ms to seconds of CPU each, so they go through a pool of
 * low-priority worker threads (rsa-keygen-worker.ts) with a queue per caller in front:
 *
 *  - fair: a free thread takes the next key of the caller served least recently (callers new to
 *    the pool first, in arrival order), so one caller's burst delays another caller's key by at
 *    most the generations already running, not by the whole burst;
 *  - bounded: a caller with `queuePerCaller` keys already waiting is refused at once
 *    (RESOURCE_EXHAUSTED with a retry delay) instead of queueing without end. Per process on
 *    purpose: the queue is this process's memory in front of its own threads, and keys waiting
 *    in another worker of CERTMINT_PROCESSES wait for that worker's threads;
 *  - cancellable: a key whose caller stopped waiting (the request's AbortSignal: cancel or
 *    deadline) is dropped before it is generated. A generation already running cannot be
 *    interrupted (OpenSSL does not return to JavaScript until it is done); its caller is
 *    answered at once and the key is thrown away when it arrives, the thread busy until then.
 *
 * piscina would give the threads and cancellation, but its queue is FIFO and the fair queue
 * has to sit in front of it anyway; the threads left to manage are a handful of lines here.
 */
import { CertmintError, STARTING_OR_STOPPING_RETRY_SECONDS } from "../errors";
import { RSA_KEY_BITS } from "../model/keys";
import type { KeyAlgorithm } from "../model/pki";
import { generateKeyPair, type KeyPair } from "./keys";
import { RsaKeygenWorker } from "./rsa-keygen-worker";

/** Generates one RSA key pair of `bits` (the default runs it on a worker thread). */
export type GenerateRsa = (bits: number) => Promise<KeyPair>;

export interface KeyGeneratorOptions {
  /** RSA generations at once: worker threads. */
  workers: number;
  /** RSA keys one caller may have waiting (not started) before it is refused. */
  queuePerCaller: number;
  /** Runs one generation; default: a low-priority worker thread per slot. Tests pass their own. */
  generateRsa?: GenerateRsa;
  /** Told how long each RSA key waited for a thread before its generation started (metrics). */
  onWaited?: (seconds: number, bits: number) => void;
  /** Told when a thread could not be started (its error names the cause, e.g. EMFILE): logs. */
  onThreadFailed?: (err: Error) => void;
}

export interface KeyRequest {
  /** Whose queue the key waits in: the access token (or other identity) that asked for it. */
  caller: string;
  /** Aborted when nobody waits for the key any more; a waiting key is then dropped. */
  signal?: AbortSignal;
  /**
   * false: never refused for a full queue. For keys nobody sends in bursts: an approval signing
   * for its requester, a replay taking over an orphaned request, a CA's key.
   */
  bounded?: boolean;
}

/** Counters since start-up, and the state now (for tests and operators). */
export interface KeyGenerationStats {
  workers: number;
  /** RSA generations running now, and keys waiting for a thread. */
  running: number;
  waiting: number;
  /** RSA keys generated (handed out or, for a caller gone meanwhile, thrown away). */
  generated: number;
  /** Keys dropped unmade because their caller stopped waiting. */
  dropped: number;
  /** Requests refused because the caller's queue was full. */
  refused: number;
}

interface Job {
  bits: number;
  /** performance.now() when it joined its caller's queue. */
  queuedAt: number;
  caller: CallerQueue;
  settle(result: KeyPair | Error): void;
  settled: boolean;
}

interface CallerQueue {
  readonly id: string;
  readonly waiting: Job[];
  running: number;
  /** The dispatch count when this caller was last served; -1: never. */
  lastServed: number;
}

/** Seconds one generation takes, until measured: a starting point for retry delays. */
const FIRST_ESTIMATE_MS: Record<number, number> = { 2048: 200, 3072: 700, 4096: 2000 };

export class KeyGenerator {
  private readonly callers = new Map<string, CallerQueue>();
  private readonly threads: RsaKeygenWorker[] = [];
  private readonly idle: RsaKeygenWorker[] = [];
  private readonly estimateMs = new Map<number, number>();
  private readonly counts = { generated: 0, dropped: 0, refused: 0 };
  private running = 0;
  private dispatched = 0;
  private closed = false;

  constructor(private readonly options: KeyGeneratorOptions) {}

  /** A new key pair; RSA through the fair, bounded pool (see the module comment). */
  async generate(alg: KeyAlgorithm, request: KeyRequest): Promise<KeyPair> {
    switch (alg) {
      case "RSA_2048":
      case "RSA_3072":
      case "RSA_4096":
        return this.generateRsa(RSA_KEY_BITS[alg], request);
      default:
        return generateKeyPair(alg);
    }
  }

  stats(): KeyGenerationStats {
    let waiting = 0;
    for (const q of this.callers.values()) waiting += q.waiting.length;
    return { workers: this.options.workers, running: this.running, waiting, ...this.counts };
  }

  /** Refuses the keys still waiting (UNAVAILABLE) and stops the threads. */
  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.callers.values()) {
      for (const job of q.waiting.splice(0)) job.settle(stopping());
    }
    await Promise.all(this.threads.splice(0).map((t) => t.close()));
    this.idle.length = 0;
  }

  private generateRsa(bits: number, request: KeyRequest): Promise<KeyPair> {
    const { signal } = request;
    if (this.closed) return Promise.reject(stopping());
    if (signal?.aborted) {
      this.counts.dropped++;
      return Promise.reject(abandoned());
    }
    const caller = this.callerQueue(request.caller);
    if (request.bounded !== false && caller.waiting.length >= this.options.queuePerCaller) {
      this.counts.refused++;
      this.forgetIfDone(caller);
      return Promise.reject(this.queueFull(bits));
    }
    return new Promise<KeyPair>((resolve, reject) => {
      const onAbort = () => {
        const at = caller.waiting.indexOf(job);
        if (at >= 0) {
          // Still waiting: dropped before any work was spent on it.
          caller.waiting.splice(at, 1);
          this.counts.dropped++;
          this.forgetIfDone(caller);
        }
        // Waiting or running, the caller is answered now; a running key is thrown away later.
        job.settle(abandoned());
      };
      const job: Job = {
        bits,
        queuedAt: performance.now(),
        caller,
        settled: false,
        settle: (result) => {
          if (job.settled) return;
          job.settled = true;
          signal?.removeEventListener("abort", onAbort);
          if (result instanceof Error) reject(result);
          else resolve(result);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      caller.waiting.push(job);
      this.dispatch();
    });
  }

  private callerQueue(id: string): CallerQueue {
    let q = this.callers.get(id);
    if (!q) {
      q = { id, waiting: [], running: 0, lastServed: -1 };
      this.callers.set(id, q);
    }
    return q;
  }

  /** A caller with nothing waiting or running is forgotten: it comes back as new. */
  private forgetIfDone(q: CallerQueue): void {
    if (q.waiting.length === 0 && q.running === 0) this.callers.delete(q.id);
  }

  /** Starts waiting keys while threads are free, least recently served caller first. */
  private dispatch(): void {
    while (!this.closed && this.running < this.options.workers) {
      let next: CallerQueue | undefined;
      // Map order is arrival order, so among callers never served the first to come wins.
      for (const q of this.callers.values()) {
        if (q.waiting.length > 0 && (!next || q.lastServed < next.lastServed)) next = q;
      }
      if (!next) return;
      const job = next.waiting.shift()!;
      this.options.onWaited?.((performance.now() - job.queuedAt) / 1000, job.bits);
      next.lastServed = this.dispatched++;
      next.running++;
      this.running++;
      void this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    // A duration: the monotonic clock (a wall clock step taught it hours, or less than nothing).
    const started = performance.now();
    let result: KeyPair | Error;
    try {
      result = await this.runOnThread(job.bits);
      this.counts.generated++;
      this.learn(job.bits, performance.now() - started);
    } catch (err) {
      // A thread stopped by close() ends its key with the shutdown, not as a failure.
      result = this.closed ? stopping() : err instanceof Error ? err : new Error(String(err));
      if (!this.closed && threadNotStarted(result)) {
        this.options.onThreadFailed?.(result);
        result = threadUnavailable();
      }
    }
    this.running--;
    job.caller.running--;
    this.forgetIfDone(job.caller);
    job.settle(result);
    this.dispatch();
  }

  private async runOnThread(bits: number): Promise<KeyPair> {
    if (this.options.generateRsa) return this.options.generateRsa(bits);
    // dispatch() keeps running <= workers, so there is an idle thread or room for one.
    let thread = this.idle.pop();
    while (thread && !thread.alive) thread = this.idle.pop();
    if (!thread) {
      thread = new RsaKeygenWorker();
      this.threads.push(thread);
    }
    try {
      return await thread.run(bits);
    } finally {
      if (thread.alive && !this.closed) this.idle.push(thread);
      else if (this.threads.includes(thread)) this.threads.splice(this.threads.indexOf(thread), 1);
    }
  }

  /** Moving average of generation time per key size (they vary a lot: primes are random). */
  private learn(bits: number, ms: number): void {
    const previous = this.estimateMs.get(bits);
    this.estimateMs.set(bits, previous === undefined ? ms : 0.8 * previous + 0.2 * ms);
  }

  /**
   * RESOURCE_EXHAUSTED with a retry delay: the caller's next place frees when one of its keys
   * starts, about once every (callers with keys in the pool / threads) generations.
   */
  private queueFull(bits: number): CertmintError {
    const perKeyMs = this.estimateMs.get(bits) ?? FIRST_ESTIMATE_MS[bits] ?? 1000;
    const share = Math.max(1, this.callers.size) / this.options.workers;
    const retryAfterSeconds = Math.min(60, Math.max(1, Math.ceil((perKeyMs * share) / 1000)));
    return new CertmintError(
      "resource_exhausted",
      "KEY_GENERATION_QUEUE_FULL",
      `this caller already has ${this.options.queuePerCaller} RSA keys waiting to be generated; retry after the RetryInfo delay, or send a CSR`,
      { retryAfterSeconds, metadata: { queue_per_caller: String(this.options.queuePerCaller) } },
    );
  }
}

const abandoned = () =>
  new CertmintError(
    "deadline_exceeded",
    "DEADLINE_EXCEEDED",
    "the call's deadline passed (or the caller cancelled) before its key was generated; nothing was written",
  );

/**
 * A worker thread Node could not start: its event loop needs file descriptors and memory, so a
 * process at its file-descriptor limit gets "Worker initialization failure: EMFILE". The next
 * key starts another thread; this one's caller may retry (it answered INTERNAL, with a stack
 * in the log, until test/probe/fd-limit.test.ts).
 */
function threadNotStarted(err: Error): boolean {
  return (err as { code?: unknown }).code === "ERR_WORKER_INIT_FAILED";
}

const threadUnavailable = () =>
  new CertmintError(
    "unavailable",
    "KEY_GENERATION_UNAVAILABLE",
    "certmint could not start a thread to generate the RSA key right now (the server is short of file descriptors or memory; its log says which); retry shortly, or send a CSR",
    { retryAfterSeconds: 1 },
  );

const stopping = () =>
  new CertmintError("unavailable", "SERVER_STOPPING", "certmint is stopping; retry shortly", {
    retryAfterSeconds: STARTING_OR_STOPPING_RETRY_SECONDS,
  });
