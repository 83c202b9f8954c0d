import { Duplex } from "node:stream";
import { PanicScanner } from "./embedded-panic";
import type { EmbeddedPlace } from "./embedded-place";
import type { EmbeddedEngine } from "./embedded-thread";

/**
 * The embedded database's only door: node-postgres connections made inside this process,
 * whose bytes go straight into PGlite's wire-protocol entry point (`execProtocolRawStream`), on
 * PGlite's own thread (embedded-thread.ts).
 * Nothing listens on a port or a socket file, so no other process, of any user, can reach
 * the database (issue 10 item 2: pglite-socket on a loopback port had no authentication).
 *
 * Why this and not the alternatives:
 *  - a Unix socket in the 0700 data directory (pglite-socket 0.2.17 takes a `path`) leaves a
 *    door whose lock is a directory mode: any process of our uid, a data directory someone
 *    loosened, a stale socket file after SIGKILL, and the 108-byte sun_path limit on deep
 *    data directories;
 *  - a proxy checking a password is more code in front of the same open port;
 *  - PGlite's own node-postgres adapter emits parsed messages in batches and shares one
 *    connection object per config; node-postgres's own Connection over this stream is the
 *    code path every real PostgreSQL connection takes, prepared statements included.
 * node-postgres documents the `stream` option (a factory of Duplex streams) for exactly this.
 *
 * PGlite is a single PostgreSQL session. A real server gives each connection a fresh
 * session; here the next connection would inherit whatever the last one left: named prepared
 * statements (issue 11: `prepared statement "certmint_hot_1" already exists` after the pool
 * closed its idle connection), session settings, temporary tables, advisory locks, LISTENs,
 * an open or aborted transaction of a connection that died mid-way, an extended-protocol
 * error still skipping messages until Sync. So connections take turns (the next one starts
 * when the previous one has closed) and each starts on a reset session: Sync, ROLLBACK of any
 * open transaction block, DISCARD ALL (PostgreSQL docs, DISCARD: "equivalent to a fresh
 * session" for everything but the transaction).
 */
export class EmbeddedSessions {
  /** Resolves when the connection that holds the session (if any) has closed. */
  private free: Promise<void> = Promise.resolve();
  private opened = 0;
  /** Set once PostgreSQL reported a PANIC: PGlite is never called again (embedded-panic.ts). */
  private failure?: EmbeddedDatabaseFailed;

  constructor(
    private readonly db: EmbeddedEngine,
    private readonly events: {
      opened?(session: number): void;
      closed?(session: number): void;
      /** The embedded database stopped for good (a PANIC); the process must restart. */
      failed?(err: Error): void;
    } = {},
    /** Where its files were opened; each answer waits for them to be there still. */
    private readonly place?: EmbeddedPlace,
  ) {}

  /** Why the embedded database stopped, if it did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Records why the database stopped for good (the first reason: a PANIC, or its files gone
   * from where they were opened) and tells the owner; returns the error calls get.
   */
  fail(why: string): Error {
    if (!this.failure) {
      this.failure = new EmbeddedDatabaseFailed(why);
      this.events.failed?.(this.failure);
    }
    return this.failure;
  }

  /** Why the database's files are no longer where they were opened (embedded-place.ts). */
  placeChanged(): string | undefined {
    return this.place?.changed();
  }

  /** How many connections have been opened so far (the session number of the latest). */
  get sessionsOpened(): number {
    return this.opened;
  }

  /** A new connection; node-postgres calls it for each client (its `stream` option). */
  connect(): Duplex {
    return new EmbeddedConnection(this.db, () => this.takeTurn(), this);
  }

  /**
   * Waits until the connection before has closed, resets the session, and returns what to
   * call when this connection closes. The turn is taken when the client connects, not when
   * node-postgres creates the stream, so a client that never connects blocks nobody.
   */
  private async takeTurn(): Promise<() => void> {
    if (this.failure) throw this.failure;
    const previous = this.free;
    let release!: () => void;
    this.free = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      if (this.failure) throw this.failure;
      await this.db.reset();
    } catch (err) {
      release();
      throw err;
    }
    const session = ++this.opened;
    this.events.opened?.(session);
    return () => {
      this.events.closed?.(session);
      release();
    };
  }
}

/**
 * What every call gets once the embedded database stopped for good: after a PANIC, or with its
 * files gone from where they were opened (embedded-place.ts). Its code is PostgreSQL's
 * crash_shutdown (57P02), what a real server's sessions get when it restarts after one: an
 * outage (UNAVAILABLE, database-outage.ts), never INTERNAL.
 */
export class EmbeddedDatabaseFailed extends Error {
  readonly code = "57P02";
  constructor(readonly why: string) {
    super(`the embedded database stopped: ${why}; certmint stops, and must be started again`);
    this.name = "EmbeddedDatabaseFailed";
  }
}

/** The reason of a PANIC (embedded-panic.ts) for EmbeddedDatabaseFailed. */
const afterPanic = (panic: string) =>
  `a PostgreSQL PANIC (${panic}); every commit before it is on disk`;

/** The StartupMessage protocol version 3.0, SSLRequest and GSSENCRequest codes (PostgreSQL docs 55.7). */
const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * One connection: a Duplex that node-postgres's Connection drives like a net.Socket. Each
 * complete protocol message is executed in turn; the answer bytes are pushed to the reader.
 */
class EmbeddedConnection extends Duplex {
  private pending: Buffer = Buffer.alloc(0);
  private started = false;
  private attached?: Promise<void>;
  /** Hands the session on; set once this connection's turn has come. */
  private release?: () => void;
  private finished = false;
  private readonly panics = new PanicScanner();

  constructor(
    private readonly db: EmbeddedEngine,
    private readonly attach: () => Promise<() => void>,
    private readonly sessions: Pick<EmbeddedSessions, "failed" | "fail" | "placeChanged">,
  ) {
    super();
  }

  /** net.Socket#connect: waits for the session, resets it, then emits "connect". */
  connect(): this {
    this.attached = this.attach().then(
      (release) => {
        if (this.finished) release();
        else {
          this.release = release;
          this.emit("connect");
        }
      },
      (err: Error) => {
        this.destroy(err);
      },
    );
    return this;
  }

  // The net.Socket options node-postgres sets: meaningless in process.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  override _read(): void {
    // Answers are pushed as PGlite produces them.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.drainMessages().then(() => done(), done);
  }

  /** The client ended (after its Terminate message): hand the session on. */
  override _final(done: (err?: Error) => void): void {
    this.close();
    this.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.close();
    done(err);
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    // Before its turn came, the turn is handed on as soon as it comes (connect, above).
    this.release?.();
  }

  /**
   * Executes every complete message in the buffer, in order: those after the start-up as one
   * batch on PGlite's thread (one round trip for node-postgres's Parse, Bind, Execute, Sync).
   */
  private async drainMessages(): Promise<void> {
    await this.attached;
    const batch: Buffer[] = [];
    for (;;) {
      // A closed connection's leftovers never reach the next connection's session.
      if (this.finished) return;
      const length = this.nextMessageLength();
      if (length === undefined || this.pending.length < length) break;
      const message = this.pending.subarray(0, length);
      this.pending = this.pending.subarray(length);
      if (!this.started) {
        this.started = true;
        const code = message.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          // Nothing to encrypt in process: "N", and the client sends its StartupMessage.
          this.started = false;
          this.push(Buffer.from("N"));
          continue;
        }
        if (code !== PROTOCOL_3) throw new Error(`unsupported startup code ${code}`);
      }
      batch.push(message);
    }
    if (batch.length === 0) return;
    // After a PANIC, a call into PGlite never returns (embedded-panic.ts).
    const failed = this.sessions.failed;
    if (failed) throw failed;
    let answer: Buffer;
    try {
      answer = await this.db.exec(batch);
    } catch (err) {
      // The thread stopped meanwhile: the reason calls get is the database's (an outage).
      throw this.sessions.failed ?? err;
    }
    this.panics.feed(answer);
    if (this.panics.panic !== undefined) {
      this.answer([answer]);
      throw this.sessions.fail(afterPanic(this.panics.panic));
    }
    // A commit into files no longer where they were opened is not acknowledged: the answer
    // is dropped and the connection fails (embedded-place.ts).
    const moved = this.sessions.placeChanged();
    if (moved !== undefined) throw this.sessions.fail(moved);
    this.answer([answer]);
  }

  private answer(chunks: Buffer[]): void {
    if (this.finished) return;
    for (const chunk of chunks) this.push(chunk);
  }

  /** StartupMessage: Int32 length first; every later message: a type byte, then Int32 length. */
  private nextMessageLength(): number | undefined {
    if (!this.started) return this.pending.length >= 8 ? this.pending.readInt32BE(0) : undefined;
    return this.pending.length >= 5 ? 1 + this.pending.readInt32BE(1) : undefined;
  }
}
