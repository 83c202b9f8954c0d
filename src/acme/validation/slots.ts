/**
 * The validations that may connect out at once (CERTMINT_ACME_MAX_VALIDATIONS), process-wide.
 *
 * Each http-01 or tls-alpn-01 validation holds an outbound socket (a file descriptor) for up to
 * CERTMINT_ACME_VALIDATION_TIMEOUT_MS, and a dns-01 one a resolver query; before this cap only
 * the per-account rates bounded them, so many accounts, or one account's many authorizations
 * at once, aimed at targets that accept and never answer, held as many sockets as they liked
 * (server/fd-budget.ts: past `ulimit -n` the process fails whatever opens a descriptor next).
 *
 * Boulder does not let its front end open validation connections itself: the RA hands each
 * validation to the VA, a separate service, over gRPC (ra/ra.go PerformValidation), and when
 * that call fails records the challenge invalid with serverInternal ("Could not communicate
 * with VA"). certmint runs the VA in-process, so its bound is here, with these outcomes:
 *  - a place is reserved when the client POSTs the challenge (RFC 8555 7.5.1), before it is
 *    started: with every place and every queue place taken, the challenge is accepted
 *    (processing) with no start time and started by a later poll once a place is free
 *    (handlers/authorizations.ts; until stop 53 of 2026-12-07 the POST was refused 503
 *    rateLimited, which lego and certbot never retry);
 *  - a queued validation that gets no place within its wait is recorded invalid with
 *    serverInternal (run.ts), as Boulder records a VA that did not answer in time.
 * The queue is bounded (QUEUE_PER_PLACE places per running place), so what waits costs a
 * closure each, and a waiter's wait (WAIT_PER_TIMEOUT validation timeouts) ends well before the
 * poll that would think it stalled runs it again (handlers/authorizations.ts).
 *
 * Places are shared between accounts: one account runs at most a quarter of the places at once
 * and holds at most a quarter of the queue places (each at least one), and a freed place goes to
 * the first queued validation whose account runs fewer than its share. Until stop 51 of
 * 2026-12-07 the queue was FIFO whatever the accounts, so one free account whose hosts accept
 * connections and never answer held every place and queue place, and every other account's
 * challenge was 503 rateLimited for as long as it kept them full (an outside probe, LATENCY F4).
 */

/** Queued validations allowed per running one. */
export const QUEUE_PER_PLACE = 4;

/**
 * A queued validation waits at most this many validation timeouts: with QUEUE_PER_PLACE
 * validations ahead of it per place, each ending within its timeout, it gets one in time.
 */
export const WAIT_PER_TIMEOUT = QUEUE_PER_PLACE + 1;

/**
 * What a queued validation's wait came to: a place ("run"), none within its wait ("late": also
 * when it was released while queued), or none because the listener is closing ("closing").
 */
export type SlotOutcome = "run" | "late" | "closing";

/** A place reserved for one validation: running now, or queued for a place. */
export interface ValidationSlot {
  /** Resolves once the validation may connect out ("run"), or will not. */
  readonly ready: Promise<SlotOutcome>;
  /** Frees the place (running) or leaves the queue (queued); idempotent. */
  release(): void;
}

/** One reserved place; the queue holds these while they wait. */
class Slot implements ValidationSlot {
  readonly ready: Promise<SlotOutcome>;
  state: "running" | "queued" | "done";
  timer?: NodeJS.Timeout;
  private grant!: (outcome: SlotOutcome) => void;

  constructor(
    private readonly slots: ValidationSlots,
    readonly account: string,
    running: boolean,
  ) {
    this.state = running ? "running" : "queued";
    this.ready = new Promise<SlotOutcome>((resolve) => {
      this.grant = resolve;
    });
    if (running) this.grant("run");
  }

  /** Called by the slots: a place is this queued slot's now ("run"), or it will have none. */
  settle(outcome: SlotOutcome): void {
    clearTimeout(this.timer);
    this.state = outcome === "run" ? "running" : "done";
    this.grant(outcome);
  }

  release(): void {
    if (this.state === "running") {
      this.state = "done";
      this.slots.free(this);
    } else if (this.state === "queued") {
      this.slots.leave(this);
    }
  }
}

export class ValidationSlots {
  private running = 0;
  private readonly queue: Slot[] = [];
  /** Running validations by account. */
  private readonly runningBy = new Map<string, number>();
  /** Queued validations by account. */
  private readonly queuedBy = new Map<string, number>();
  /** Places one account may run at once. */
  readonly runningShare: number;
  /** Queue places one account may hold. */
  readonly queuedShare: number;

  constructor(
    /** Validations connecting out at once. */
    readonly max: number,
    /** Validations waiting for a place, at most. */
    readonly maxQueued: number,
    /** How long a queued validation waits for a place. */
    readonly maxWaitMs: number,
  ) {
    this.runningShare = Math.max(1, Math.floor(max / 4));
    this.queuedShare = Math.max(1, Math.floor(maxQueued / 4));
  }

  /** Running and queued validations now (the certmint_acme_validations gauge). */
  counts(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  /**
   * A place for a validation of `account`, running or queued, taken synchronously (so
   * concurrent POSTs cannot all pass a check and then overfill the queue); undefined when every
   * place and queue place is taken, or the account holds its share of both.
   */
  reserve(account: string): ValidationSlot | undefined {
    if (this.running < this.max && this.countOf(this.runningBy, account) < this.runningShare) {
      this.running++;
      this.add(this.runningBy, account, 1);
      return new Slot(this, account, true);
    }
    if (
      this.queue.length >= this.maxQueued ||
      this.countOf(this.queuedBy, account) >= this.queuedShare
    ) {
      return undefined;
    }
    const slot = new Slot(this, account, false);
    slot.timer = setTimeout(() => this.leave(slot, "late"), this.maxWaitMs);
    this.queue.push(slot);
    this.add(this.queuedBy, account, 1);
    return slot;
  }

  /**
   * A running place ended: the first queued validation whose account runs fewer than its share
   * takes it, else it is free.
   */
  free(ended: Slot): void {
    this.add(this.runningBy, ended.account, -1);
    const at = this.queue.findIndex(
      (slot) => this.countOf(this.runningBy, slot.account) < this.runningShare,
    );
    if (at < 0) {
      this.running--;
      return;
    }
    const [next] = this.queue.splice(at, 1) as [Slot];
    this.add(this.queuedBy, next.account, -1);
    this.add(this.runningBy, next.account, 1);
    next.settle("run");
  }

  /** A queued slot leaves the queue without a place (its wait ran out, or it was released). */
  leave(slot: Slot, outcome: SlotOutcome = "late"): void {
    const at = this.queue.indexOf(slot);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.add(this.queuedBy, slot.account, -1);
    }
    slot.settle(outcome);
  }

  private countOf(counts: Map<string, number>, account: string): number {
    return counts.get(account) ?? 0;
  }

  private add(counts: Map<string, number>, account: string, n: number): void {
    const next = this.countOf(counts, account) + n;
    if (next === 0) counts.delete(account);
    else counts.set(account, next);
  }

  /**
   * The listener is closing: the queued validations will not run here. Shutdown waits for the
   * running ones (their timeout bounds them), not for a queue that could hold it up to
   * WAIT_PER_TIMEOUT validation timeouts; the queued challenges stay "processing", as after a
   * stop mid-validation, and a later poll runs them again (handlers/authorizations.ts).
   */
  close(): void {
    for (const slot of this.queue.splice(0)) {
      this.add(this.queuedBy, slot.account, -1);
      slot.settle("closing");
    }
  }
}
