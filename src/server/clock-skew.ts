import type { Logger } from "pino";
import type { DatabaseClockReading } from "../store/database";

/**
 * Past this, the server's clock and PostgreSQL's disagree enough to say so. certmint backdates
 * a certificate's notBefore by a minute for relying parties' clocks (README, "How issuance
 * works"); a server clock off by a sizeable part of that issues certificates that are not yet
 * valid (or expire early) by everyone else's clock. The database is the one clock all replicas
 * share, so a replica whose clock is off shows here, while replicas compared with each other
 * would not say which one is wrong.
 */
export const CLOCK_SKEW_WARN_MS = 10_000;

/**
 * The database's clock against this server's, from each health probe's answer (the probe reads
 * clock_timestamp() in its round trip). `skewMs` is database minus server: positive when this
 * server's clock is behind. The server's time of the reading is taken as the middle of the
 * round trip, so a reading is good to half the round trip (`uncertaintyMs`), and only a skew
 * beyond CLOCK_SKEW_WARN_MS by more than that counts. One warning when it goes beyond, one
 * line when it comes back (a clock stays wrong for minutes; a line per probe would be noise);
 * the gauge certmint_database_clock_skew_seconds reads the last value.
 */
export class DatabaseClockSkew {
  private last?: { skewMs: number; uncertaintyMs: number };
  private beyond = false;

  constructor(
    private readonly logger: Logger,
    /** This server's wall clock (the one certificates are dated by). */
    private readonly now: () => Date,
    private readonly warnMs = CLOCK_SKEW_WARN_MS,
  ) {}

  /** Database minus server in seconds, from the last reading; undefined before the first. */
  get skewSeconds(): number | undefined {
    return this.last && this.last.skewMs / 1000;
  }

  note(reading: DatabaseClockReading): void {
    if (!Number.isFinite(reading.databaseMs)) return;
    const serverMs = this.now().getTime() - reading.roundTripMs / 2;
    const skewMs = reading.databaseMs - serverMs;
    const uncertaintyMs = reading.roundTripMs / 2;
    this.last = { skewMs, uncertaintyMs };
    const beyond = Math.abs(skewMs) - uncertaintyMs > this.warnMs;
    if (beyond === this.beyond) return;
    this.beyond = beyond;
    const fields = {
      skewSeconds: Math.round(skewMs) / 1000,
      uncertaintySeconds: Math.round(uncertaintyMs) / 1000,
    };
    if (beyond) {
      this.logger.warn(
        fields,
        `this server's clock is ${skewMs > 0 ? "behind" : "ahead of"} the database's by more than ${this.warnMs / 1000} s: certificates are dated by this server's clock; check its time synchronisation (NTP)`,
      );
    } else {
      this.logger.info(fields, "this server's clock agrees with the database's again");
    }
  }
}
