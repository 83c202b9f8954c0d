import { EVENTS_CHANNEL, type Listener, listen } from "../../store/notifications";
import type { IssuanceDeps } from "../deps";
import { pruneEvents } from "./feed";
import { sequenceEvents } from "./sequencer";

/** Old events deleted per round, at most. */
const PRUNE_BATCH = 1000;

import type { CertificateWatch } from "./watch";

/**
 * Keeps events flowing to this replica's watchers: every `pollMs` it runs a sequencer round
 * (sequencer.ts) and wakes the watchers when it numbered events or another replica was
 * numbering them; on PostgreSQL it also LISTENs for the rounds of other replicas, so their
 * events arrive at once. The embedded database lives in this process alone: its rounds wake
 * its watchers directly.
 */
export class EventPump {
  private timer?: NodeJS.Timeout;
  private running: Promise<unknown> = Promise.resolve();
  private listener?: Listener;
  private stopped = false;

  constructor(
    private readonly deps: IssuanceDeps,
    private readonly watch: CertificateWatch,
    private readonly options: {
      pollMs: number;
      /** A real PostgreSQL (LISTEN/NOTIFY); absent on the embedded database. */
      databaseUrl?: string;
      /** Events older than this are deleted. */
      retentionSeconds: number;
      onError(err: unknown): void;
    },
  ) {}

  start(): void {
    const { databaseUrl, onError } = this.options;
    if (databaseUrl) {
      this.listener = listen(databaseUrl, EVENTS_CHANNEL, () => this.watch.wake(), onError);
    }
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
    const em = this.deps.orm.em.fork();
    const result = await sequenceEvents(em, !!this.options.databaseUrl);
    if (result === "busy" || result > 0) this.watch.wake();
    const cutoff = new Date(this.deps.now().getTime() - this.options.retentionSeconds * 1000);
    await pruneEvents(em, cutoff, PRUNE_BATCH);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running.catch(() => undefined);
    await this.listener?.close();
  }
}
