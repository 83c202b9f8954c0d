import { Worker } from "node:worker_threads";
import { type ParsedCsr, parseCsr, parseCsrWith } from "./csr";
import { importAndVerify, type SignatureOutcome, type SignatureTask } from "./csr-signature";

/**
 * Where request CSRs are parsed (parseCsr): all on the calling thread, or with OpenSSL's part
 * (the key's import and the signature check, csr-signature.ts) on worker threads. Parsing a
 * P-256 CSR costs ~0.25 ms of CPU, ~0.2 of it OpenSSL's: at 64 clients a quarter of the event
 * loop's time per issuance (bench/profile), while the second core sat ~20% idle. A thread
 * takes that off the event loop for ~0.02 ms of messaging, and lets a call's check run while
 * its database read is in flight (issue.ts). The DER walk stays on the calling thread, so a
 * thread loads node:crypto only: ~15 MiB of RSS (its V8 isolate), not a second server. Where
 * no core is spare it costs more than it saves (config.ts has the figures): off by default.
 */
export interface CsrParser {
  /** parseCsr's result, or its CertmintError, for a PEM CSR under the default size bound. */
  parse(pem: string): Promise<ParsedCsr>;
  /** Whether the costly part runs off the calling thread (worth starting early). */
  readonly offThread: boolean;
  close(): Promise<void>;
}

/** Parses on the calling thread: CERTMINT_CSR_WORKERS=0, the default. */
export const inlineCsrParser: CsrParser = {
  offThread: false,
  parse: (pem) => {
    try {
      return Promise.resolve(parseCsr(pem));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  close: () => Promise.resolve(),
};

/**
 * Beyond this many checks waiting on one thread a call checks on its own: the threads are
 * behind, and the event loop would otherwise wait for them with work it could do itself.
 */
const MAX_PENDING_PER_THREAD = 64;

/**
 * A few worker threads checking CSR signatures, started at the first CSR. A thread that fails
 * or exits loses no call: what it held is checked on the calling thread, and the next CSR
 * starts a new one. The KeyObject crosses threads by structured clone (Node's crypto docs); a
 * CSR holds no secret.
 */
export class CsrWorkers implements CsrParser {
  readonly offThread = true;
  readonly #threads: CsrThread[] = [];
  #closed = false;
  #onThreads = 0;
  #inline = 0;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error("CsrWorkers needs at least 1 thread");
  }

  parse(pem: string): Promise<ParsedCsr> {
    return parseCsrWith(pem, (task) => this.#check(task));
  }

  /** Signatures checked on the threads, and on the calling thread (closed, behind, or lost). */
  get counts(): { onThreads: number; inline: number } {
    return { onThreads: this.#onThreads, inline: this.#inline };
  }

  /**
   * Ends the threads as a crash would: what they hold is checked on the calling thread, and
   * the next CSR starts new ones.
   */
  async restartThreads(): Promise<void> {
    await Promise.all(this.#threads.splice(0).map((t) => t.close()));
  }

  #check(task: SignatureTask): Promise<SignatureOutcome> {
    const thread = this.#closed ? undefined : this.#leastBusy();
    if (!thread || thread.pending >= MAX_PENDING_PER_THREAD)
      return Promise.resolve(this.#here(task));
    this.#onThreads++;
    return thread.check(task, (t) => this.#here(t));
  }

  #here(task: SignatureTask): SignatureOutcome {
    this.#inline++;
    return importAndVerify(task);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#threads.splice(0).map((t) => t.close()));
  }

  #leastBusy(): CsrThread {
    for (let i = this.#threads.length - 1; i >= 0; i--) {
      if (!this.#threads[i]!.alive) this.#threads.splice(i, 1);
    }
    let best: CsrThread | undefined;
    for (const t of this.#threads) if (!best || t.pending < best.pending) best = t;
    if (best && (best.pending === 0 || this.#threads.length >= this.size)) return best;
    const started = new CsrThread();
    this.#threads.push(started);
    return started;
  }
}

/**
 * The thread's code, evaluated (no file of its own to find in dist/ or src/): it requires
 * csr-signature beside this file, through tsx when that is TypeScript (tests).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
if (workerData.module.endsWith(".ts")) require("tsx/cjs");
const { importAndVerify } = require(workerData.module);
parentPort.on("message", ({ id, task }) => {
  parentPort.postMessage({ id, outcome: importAndVerify(task) });
});
`;

/**
 * A check allocates a few KB and keeps none of it: a small young generation holds it, and the
 * thread adds a few MiB to the process's RSS.
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 };

const SIGNATURE_MODULE = __filename.replace(/csr-workers\.(ts|js)$/, "csr-signature.$1");

class CsrThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<
    number,
    {
      task: SignatureTask;
      resolve(outcome: SignatureOutcome): void;
      here(task: SignatureTask): SignatureOutcome;
    }
  >();
  #nextId = 0;
  alive = true;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: SIGNATURE_MODULE },
      resourceLimits: WORKER_HEAP,
    });
    this.#worker.on("message", ({ id, outcome }: { id: number; outcome: SignatureOutcome }) => {
      const waiting = this.#waiting.get(id);
      if (!waiting) return;
      this.#waiting.delete(id);
      // Busy, the thread keeps the process alive; idle, it holds nothing open.
      if (this.#waiting.size === 0) this.#worker.unref();
      waiting.resolve(outcome);
    });
    const lost = () => {
      this.alive = false;
      // Whatever the thread held is checked here: a lost thread costs time, never a call.
      const held = [...this.#waiting.values()];
      this.#waiting.clear();
      for (const w of held) w.resolve(w.here(w.task));
    };
    this.#worker.on("error", lost);
    this.#worker.on("exit", lost);
    this.#worker.unref();
  }

  get pending(): number {
    return this.#waiting.size;
  }

  /** The thread's check of `task`; `here` checks it on the calling thread if the thread is lost. */
  check(
    task: SignatureTask,
    here: (task: SignatureTask) => SignatureOutcome,
  ): Promise<SignatureOutcome> {
    return new Promise((resolve) => {
      const id = this.#nextId++;
      this.#waiting.set(id, { task, resolve, here });
      if (this.#waiting.size === 1) this.#worker.ref();
      this.#worker.postMessage({ id, task: exactCopies(task) });
    });
  }

  close(): Promise<number> {
    this.alive = false;
    return this.#worker.terminate();
  }
}

/**
 * The task with its byte arrays copied to buffers of their own size: a structured clone
 * copies a view's whole ArrayBuffer, and Node's small Buffers are views into a shared 8 KiB
 * pool (measured over 19,200 CSRs through one thread: the process's RSS grew 64 MiB with the
 * views as they were, 50 with exact copies, 28 parsing inline).
 */
function exactCopies(task: SignatureTask): SignatureTask {
  return {
    key: task.key instanceof Uint8Array ? new Uint8Array(task.key) : task.key,
    hash: task.hash,
    data: new Uint8Array(task.data),
    signature: task.signature && new Uint8Array(task.signature),
  };
}
