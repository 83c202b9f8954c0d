import type { CertificateEventRepository, EventSubscription } from "../repositories";
import type { CertificateWatch } from "./watch";

/** Old events deleted per round, at most. */
const PRUNE_BATCH = 1000;

/**
 * Keeps events flowing to this replica's watchers: every `pollMs` it runs a sequencer round
 * (CertificateEventRepository.sequence), at once again while rounds leave work behind (a round
 * numbers and prunes a bounded batch: one round per second capped both at 1,000 events per
 * second, below what one server issues, so a backlog grew without end and watchers fell ever
 * further behind; issue 14, found by bench/scale), and wakes the watchers when it numbered events or
 * another replica was numbering them; where replicas share a database (PostgreSQL) it also
 * subscribes to the rounds of the others (LISTEN/NOTIFY), so their events arrive at once. The
 * embedded database lives in this process alone: its rounds wake its watchers directly.
 */
export class EventPump {
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> = Promise.resolve();
  private subscription?: EventSubscription;
  private stopped = false;

  constructor(
    private readonly deps: {
      store: {
        events: Pick<CertificateEventRepository, "sequence" | "pruneOlderThan" | "subscribe">;
      };
    },
    private readonly watch: Pick<CertificateWatch, "wake">,
    private readonly options: {
      pollMs: number;
      /** Events older than this are deleted. */
      retentionSeconds: number;
      onError(err: unknown): void;
    },
  ) {}

  start(): void {
    const { onError } = this.options;
    this.subscription = this.deps.store.events.subscribe(() => this.watch.wake(), onError);
    const loop = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((err: unknown) => {
          onError(err);
          return false; // after a failure, wait a period before trying again
        })
        .then((more) => {
          if (this.stopped) return;
          // More waiting: the next round at once (after the I/O already queued), else a period.
          this.timer = setTimeout(loop, more ? 0 : this.options.pollMs);
          this.timer.unref();
        });
    };
    loop();
  }

  /**
   * One sequencer round; wakes the watchers when there may be new events. Then deletes a
   * batch of events past their retention (any replica may; the statement is idempotent).
   * True when either left work for another round.
   */
  async round(): Promise<boolean> {
    const { events } = this.deps.store;
    const result = await events.sequence();
    if (result === "busy" || result.highest > 0) this.watch.wake();
    // Aged by the database's clock, not this server's: an event's created_at is the database's
    // (clock_timestamp()), and with this server's clock minutes ahead of it (another host) a
    // cutoff taken here deleted events as soon as they were numbered, before a watcher read them.
    const pruned = await events.pruneOlderThan(this.options.retentionSeconds, PRUNE_BATCH);
    return (result !== "busy" && result.more) || pruned >= PRUNE_BATCH;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running.catch(() => undefined);
    await this.subscription?.close();
  }
}
