import type { Logger } from "pino";
import { databaseOutage } from "../database-outage";
import type { DatabaseClockReading, StalledCommits } from "../store/database";

/**
 * Keeps the health status in step with the database (issue 11): a probe (`select 1`) every
 * interval; when it fails, does not answer within the timeout, finds certmint's commits
 * waiting longer than that for a synchronous standby, or names a key-encryption key other
 * than this server's (kekCause), the database counts as
 * unreachable (load balancers and clients see NOT_SERVING within about one interval), and as
 * reachable again at the first probe that succeeds. Calls are not refused meanwhile: each
 * tries the database itself and, failing, answers UNAVAILABLE (src/api/errors.ts). On
 * PostgreSQL the check (store/database.ts, ping) runs on a connection of its own and, when
 * it gets no answer within 3 s, cuts every connection of the process to the database: a
 * network that stalls closes none, and calls would otherwise wait on them forever.
 */
export class DatabaseProbe {
  private timer: NodeJS.Timeout | undefined;
  private reachable = true;
  private probing = false;

  constructor(
    /** The check, given how long it may take (the database's ping cuts a stalled network then). */
    private readonly check: (timeoutMs: number) => Promise<DatabaseClockReading | undefined>,
    private readonly options: {
      intervalMs: number;
      /** Told on every change: true when the database answers again. */
      onChange: (reachable: boolean) => void;
      /** Told each answer's reading of the database's clock, when the check gives one. */
      onClock?: (reading: DatabaseClockReading) => void;
      /** This server's KEK id, compared with the one the database names (kekCause). */
      kekId?: Buffer;
      logger: Logger;
    },
  ) {}

  /** How long a probe may take before the database counts as unreachable. */
  get timeoutMs(): number {
    return Math.max(3000, 3 * this.options.intervalMs);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs);
    // The probe never keeps the process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let failure: string | undefined;
    let kekStale = false;
    try {
      const reading = await withTimeout(this.check(this.timeoutMs), this.timeoutMs);
      if (reading) this.options.onClock?.(reading);
      if (reading?.stalledCommits) failure = stalledCause(reading.stalledCommits);
      const stale = kekCause(this.options.kekId, reading?.kekId);
      if (stale) {
        failure = failure ? `${failure}; ${stale}` : stale;
        kekStale = true;
      }
    } catch (err) {
      failure = err === TIMED_OUT ? "no answer in time" : (databaseOutage(err) ?? "probe failed");
    } finally {
      this.probing = false;
    }
    const reachable = failure === undefined;
    if (reachable === this.reachable || this.timer === undefined) return;
    this.reachable = reachable;
    if (reachable) {
      this.options.logger.info("database reachable again: health SERVING");
    } else if (kekStale) {
      this.options.logger.error(
        { cause: failure },
        "key-encryption key rotated while this server ran: health NOT_SERVING",
      );
    } else {
      this.options.logger.warn({ cause: failure }, "database unreachable: health NOT_SERVING");
    }
    // A commit that does not complete is an outage though the database answers: writes hang
    // until their deadlines (store/database.ts, StalledCommits).
    this.options.onChange(reachable);
  }
}

const TIMED_OUT = Symbol("timed out");

/**
 * Why a server whose KEK is not the one the database names may not serve: a KEK rotation
 * committed while it ran (one the rotation's look for running servers missed: README "Rotating
 * the key-encryption key"). Its KEK opens none of the keys re-sealed under the new one, the
 * store refuses every key it seals (KEK_ROTATED), and the values it derives from the KEK (page
 * tokens, External Account Binding keys, request-id tokens) are not the other servers'; only a
 * restart with the new KEK file mends it. A database that names no KEK yet (older builds) or
 * whose name could not be read without waiting (a rotation in progress) says nothing.
 */
function kekCause(own: Buffer | undefined, named: Buffer | null | undefined): string | undefined {
  if (!own || !named || own.equals(named)) return undefined;
  return `the database names key-encryption key ${named.toString("hex")}, this server holds ${own.toString("hex")}: a KEK rotation committed while it ran; restart it with the new CERTMINT_KEK_FILE`;
}

/** The log's cause for commits that do not complete, in words an operator can act on. */
function stalledCause(stalled: StalledCommits): string {
  return `${stalled.count} commit(s) waiting for a synchronous standby to confirm them (synchronous_standby_names names a standby that is not connected?), the longest for ${Math.round(stalled.seconds)} s or more`;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      // After that turn's poll phase (setImmediate): a timer that fires late, the event loop
      // held up past it, must not beat an answer already waiting in the socket
      // (store/database.ts, ProbeConnection, does the same).
      timer = setTimeout(() => setImmediate(() => reject(TIMED_OUT)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
