import type { IssuanceDeps } from "../deps";
import type { CertificateEventRepository, EventSubscription } from "../repositories";
import type { CertificateWatch } from "./watch";

/** Old events deleted per round, at most. */
const PRUNE_BATCH = 1000;

/**
 * Keeps events flowing to this replica's watchers: every `pollMs` it runs a sequencer round
 * (CertificateEventRepository.sequence) and wakes the watchers when it numbered events or
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
    private readonly deps: Pick<IssuanceDeps, "now"> & {
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
        .catch((err: unknown) => onError(err))
        .finally(() => {
          if (this.stopped) return;
          this.timer = setTimeout(loop, this.options.pollMs);
          this.timer.unref();
        });
    };
    loop();
  }

  /**
   * One sequencer round; wakes the watchers when there may be new events. Then deletes a
   * batch of events past their retention (any replica may; the statement is idempotent).
   */
  async round(): Promise<void> {
    const { events } = this.deps.store;
    const result = await events.sequence();
    if (result === "busy" || result > 0) this.watch.wake();
    const cutoff = new Date(this.deps.now().getTime() - this.options.retentionSeconds * 1000);
    await events.pruneOlderThan(cutoff, PRUNE_BATCH);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running.catch(() => undefined);
    await this.subscription?.close();
  }
}
