import { Worker } from "node:worker_threads";

/**
 * The embedded database (PGlite) on a thread of its own. PGlite runs PostgreSQL in WebAssembly,
 * synchronously: on the event loop, every statement held the whole server for as long as it
 * ran. Until stop 60 of 2026-12-08 one auditor's list queries on a large embedded inventory
 * stalled every other call, health checks included, for 0.5-0.95 s each (an outside probe,
 * stop 59). Here the event loop only hands protocol bytes to the thread and gets the answer
 * back, and a long statement costs the other calls their turn at the one session, not the
 * process (and the second core does the database's work).
 *
 * What crosses: the complete protocol messages a connection has written, as one batch, and the
 * answer bytes of all of them. The thread runs them in order and stops at a PANIC (after which
 * a call into PGlite never returns: embedded-panic.ts); the wire layer (embedded-wire.ts) scans
 * the answer for it as before. A thread that stops for any other reason fails every call in
 * flight and every later one, and the wire layer stops the database for good, as after a PANIC.
 */
export interface EmbeddedEngine {
  /** Runs complete protocol messages in order; the answer bytes of all of them. */
  exec(messages: Buffer[]): Promise<Buffer>;
  /** Returns the session to the state of a new one (embedded-wire.ts resetSession). */
  reset(): Promise<void>;
}

/** What PGlite threw while it started, as it crossed from the thread. */
export interface StartFailure {
  error: unknown;
  /** What PGlite printed meanwhile (its console on the thread is kept, not printed). */
  lines: string[];
}

type Reply =
  | { op: "ready" }
  | { op: "failed"; error: SentError; lines: string[] }
  | { op: "done"; id: number; answer?: Uint8Array; error?: SentError };

interface SentError {
  isError: boolean;
  message: string;
  name?: string;
  errno?: number;
  code?: string;
}

/** The error the thread sent, as close to PGlite's as a copy can be (pgliteStartError reads errno). */
function received(sent: SentError): unknown {
  if (!sent.isError) return { errno: sent.errno, message: sent.message };
  const err = new Error(sent.message);
  if (sent.name) err.name = sent.name;
  return Object.assign(err, {
    ...(sent.errno !== undefined ? { errno: sent.errno } : {}),
    ...(sent.code !== undefined ? { code: sent.code } : {}),
  });
}

export class PGliteThread implements EmbeddedEngine {
  private nextId = 0;
  private readonly inFlight = new Map<
    number,
    { resolve: (answer: Buffer) => void; reject: (err: Error) => void }
  >();
  /** Why the thread stopped, once it did. */
  private stopped?: Error;

  private constructor(
    private readonly worker: Worker,
    private readonly onStopped: (why: string) => void,
  ) {
    worker.on("message", (reply: Reply) => {
      if (reply.op !== "done") return;
      const waiting = this.inFlight.get(reply.id);
      if (!waiting) return;
      this.inFlight.delete(reply.id);
      if (reply.error) waiting.reject(received(reply.error) as Error);
      else
        waiting.resolve(
          reply.answer
            ? Buffer.from(reply.answer.buffer, reply.answer.byteOffset, reply.answer.byteLength)
            : Buffer.alloc(0),
        );
    });
    const stop = (why: string) => {
      if (this.stopped) return;
      this.stopped = new Error(`the embedded database's thread stopped: ${why}`);
      for (const waiting of this.inFlight.values()) waiting.reject(this.stopped);
      this.inFlight.clear();
      this.onStopped(why);
    };
    worker.on("error", (err) => stop(err.message));
    worker.on("exit", (code) => stop(`it exited (code ${code})`));
  }

  /**
   * Starts PGlite on `pgDir` on a new thread. Rejects with a StartFailure when PGlite could not
   * start (the thread is gone then). `onStopped`: the thread stopped while in use.
   */
  static open(
    pgDir: string,
    postgresqlconf: string,
    onStopped: (why: string) => void,
  ): Promise<PGliteThread> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(THREAD_SOURCE, {
        eval: true,
        workerData: {
          pgDir,
          postgresqlconf,
          pglite: require.resolve("@electric-sql/pglite"),
          pgTrgm: require.resolve("@electric-sql/pglite/contrib/pg_trgm"),
        },
      });
      const starting = (reply: Reply) => {
        if (reply.op === "ready") {
          settle();
          resolve(new PGliteThread(worker, onStopped));
        } else if (reply.op === "failed") {
          settle();
          void worker.terminate();
          reject({ error: received(reply.error), lines: reply.lines } satisfies StartFailure);
        }
      };
      const died = (err: Error | number) => {
        settle();
        reject({
          error: typeof err === "number" ? new Error(`PGlite's thread exited (code ${err})`) : err,
          lines: [],
        } satisfies StartFailure);
      };
      const settle = () => {
        worker.off("message", starting);
        worker.off("error", died);
        worker.off("exit", died);
      };
      worker.on("message", starting);
      worker.once("error", died);
      worker.once("exit", died);
    });
  }

  exec(messages: Buffer[]): Promise<Buffer> {
    return this.send("exec", messages);
  }

  async reset(): Promise<void> {
    await this.send("reset");
  }

  /** Closes the database (a checkpoint), then ends the thread. */
  async close(): Promise<void> {
    try {
      if (!this.stopped) await this.send("close");
    } finally {
      await this.terminate();
    }
  }

  /** Ends the thread at once: after a PANIC, a call into PGlite never returns. */
  async terminate(): Promise<void> {
    this.stopped ??= new Error("the embedded database was stopped");
    await this.worker.terminate();
  }

  private send(op: "exec" | "reset" | "close", messages?: Buffer[]): Promise<Buffer> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = ++this.nextId;
    return new Promise<Buffer>((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      this.worker.postMessage({ op, id, messages });
    });
  }
}

/**
 * The thread's code, evaluated: PGlite's CommonJS build, by the paths this process resolved.
 * Requests are run one at a time, in the order they came (one PostgreSQL session). While PGlite
 * starts, its console is kept (its last lines go with a failure, as embedded-postgres.ts
 * silenceConsole did on the main thread); afterwards it prints again.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { format } = require("node:util");
const lines = [];
let starting = true;
for (const name of ["log", "info", "warn", "error", "debug", "trace"]) {
  const original = console[name];
  console[name] = (...args) => {
    if (!starting) return original.apply(console, args);
    if (lines.length === 20) lines.shift();
    lines.push(format(...args).slice(0, 500));
  };
}
const sent = (err) => ({
  isError: err instanceof Error,
  message: err instanceof Error ? err.message : String(err && err.message !== undefined ? err.message : err),
  name: err instanceof Error ? err.name : undefined,
  errno: err && typeof err.errno === "number" ? err.errno : undefined,
  code: err && typeof err.code === "string" ? err.code : undefined,
});
// An ErrorResponse ('E') whose non-localized severity ('V') is PANIC, in whole messages.
const panicked = (bytes) => {
  for (let at = 0; at + 5 <= bytes.length; at += 1 + bytes.readInt32BE(at + 1)) {
    if (bytes[at] !== 0x45) continue;
    const end = at + 1 + bytes.readInt32BE(at + 1);
    for (let i = at + 5; i < end && bytes[i] !== 0; ) {
      const zero = bytes.indexOf(0, i + 1);
      if (bytes[i] === 0x56 && bytes.toString("utf8", i + 1, zero) === "PANIC") return true;
      i = zero + 1;
    }
  }
  return false;
};
let db;
let halted = false;
const run = async (message) => {
  const chunks = [];
  await db.execProtocolRawStream(message, { onRawData: (d) => chunks.push(Buffer.from(d)) });
  return Buffer.concat(chunks);
};
const simpleQuery = (sql) => {
  const text = Buffer.from(sql + "\\0", "utf8");
  const header = Buffer.alloc(5);
  header.write("Q", 0, "ascii");
  header.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([header, text]);
};
const checked = (answer) => {
  for (let at = 0; at + 5 <= answer.length; at += 1 + answer.readInt32BE(at + 1)) {
    if (answer[at] !== 0x45) continue;
    const end = at + 1 + answer.readInt32BE(at + 1);
    let text = "unknown error";
    for (let i = at + 5; i < end && answer[i] !== 0; ) {
      const zero = answer.indexOf(0, i + 1);
      if (answer[i] === 0x4d) text = answer.toString("utf8", i + 1, zero);
      i = zero + 1;
    }
    throw new Error("resetting the embedded database session failed: " + text);
  }
};
const ops = {
  async exec(messages) {
    const answers = [];
    for (const message of messages) {
      if (halted) break;
      const answer = await run(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
      answers.push(answer);
      if (panicked(answer)) halted = true;
    }
    return Buffer.concat(answers);
  },
  async reset() {
    // Sync ends an extended-protocol batch that failed and is skipping messages until Sync.
    checked(await run(new Uint8Array([0x53, 0, 0, 0, 4])));
    if (db.isInTransaction()) checked(await run(simpleQuery("ROLLBACK")));
    checked(await run(simpleQuery("DISCARD ALL")));
    if (db.isInTransaction()) throw new Error("the embedded database session could not be reset");
  },
  async close() {
    await db.close();
  },
};
let queue = Promise.resolve();
parentPort.on("message", ({ op, id, messages }) => {
  queue = queue.then(async () => {
    if (halted && op !== "close") {
      parentPort.postMessage({ op: "done", id, error: sent(new Error("the embedded database stopped after a PANIC")) });
      return;
    }
    try {
      // close takes PGlite's lock itself.
      const answer = op === "close" ? await ops.close() : await db.runExclusive(() => ops[op](messages));
      if (answer && answer.length > 0) {
        const copy = new Uint8Array(answer);
        parentPort.postMessage({ op: "done", id, answer: copy }, [copy.buffer]);
      } else parentPort.postMessage({ op: "done", id });
    } catch (err) {
      parentPort.postMessage({ op: "done", id, error: sent(err) });
    }
  });
});
const { PGlite } = require(workerData.pglite);
const { pg_trgm } = require(workerData.pgTrgm);
PGlite.create(workerData.pgDir, { extensions: { pg_trgm }, postgresqlconf: workerData.postgresqlconf }).then(
  (created) => {
    db = created;
    starting = false;
    parentPort.postMessage({ op: "ready" });
  },
  (err) => parentPort.postMessage({ op: "failed", error: sent(err), lines }),
);
`;
