import type { StoredError } from "./certificate-requests";
import type { LineagePlace } from "./certificates";

/** What happened to a certificate (proto CertificateEventType). */
export type CertificateEventType =
  | "ISSUED"
  | "RENEWED"
  | "REVOKED"
  | "RENEWAL_FAILED"
  | "EXPIRING"
  | "HOLD_RELEASED";

/** One numbered certificate event; `position` is its cursor. */
export interface StoredEvent {
  position: number;
  type: CertificateEventType;
  certificateId: string;
  profileId: string | null;
  previousCertificateId: string | null;
  error: StoredError | null;
  createdAt: Date;
}

/** Which events a watcher receives (besides what its token may see). */
export interface EventFilter {
  /** Only these profiles (a profile watch, or a profile-scoped token). */
  profileIds?: readonly string[];
  /**
   * Only the certificates of this lineage from this place on (a lineage watch: the certificate
   * watched and its successors, not its predecessors), and renewals of them.
   */
  lineage?: LineagePlace;
}

/** A subscription to the sequencer rounds of other replicas. */
export interface EventSubscription {
  close(): Promise<void>;
}

/** What one sequencer round did. */
export interface SequencerRound {
  /** The highest position it assigned; 0 when there was nothing to number. */
  highest: number;
  /** It numbered a full batch: more events may be waiting for the next round. */
  more: boolean;
}

/** One bounded read of the feed (CertificateEventRepository.readAfter). */
export interface EventRead {
  /** The events numbered after the position read from, as the filter allows, in order. */
  events: StoredEvent[];
  /**
   * How far the read got, matched or not: no event with a position at or below it (and above
   * the position read from) that the filter allows is missing from `events`, now or later (the
   * sequencer never makes a lower position visible after a higher one). A reader continues
   * from here, also when nothing matched; at least the position read from.
   */
  through: number;
  /** It stopped at a bound (`limit` events or `scan` positions): read on from `through` now. */
  more: boolean;
}

/**
 * The certificate event feed behind WatchCertificates. Events are written without a position
 * by the transactions that cause them (triggers on certificate, the renewer); `sequence`
 * numbers the committed ones in the order they became visible, so a reader that has read up
 * to position P has seen every event that will ever get a position <= P.
 */
export interface CertificateEventRepository {
  /**
   * Events numbered after `after` as the filter allows, in order: at most `limit` of them,
   * among at most the next `scan` numbered events, so a read costs at most `scan` index
   * entries however few events match (a watch on a quiet profile of a busy server).
   */
  readAfter(after: number, filter: EventFilter, limit: number, scan: number): Promise<EventRead>;
  /**
   * The events of readAfter with `scan` = `limit`: fewer than `limit` does not mean none are
   * left. Without a filter, the next `limit` events.
   */
  eventsAfter(after: number, filter: EventFilter, limit: number): Promise<StoredEvent[]>;
  /** The highest position assigned so far (0: none): where a watch without a cursor starts. */
  headPosition(): Promise<number>;
  /** The highest position deleted for age: cursors below it cannot be resumed from. */
  horizonPosition(): Promise<number>;
  /**
   * Deletes numbered events older than `ageSeconds` by the database's clock (their created_at
   * is the database's), at most `limit`; returns how many.
   */
  pruneOlderThan(ageSeconds: number, limit: number): Promise<number>;
  /**
   * One sequencer round (one at a time across replicas): returns the highest position
   * assigned (0 when there was nothing to do) and whether it left events unnumbered (a round
   * numbers a bounded batch), or "busy" when another replica's round was running. Tells the
   * other replicas' subscriptions when it numbered events.
   */
  sequence(): Promise<SequencerRound | "busy">;
  /**
   * Calls `onNotify` whenever another replica's round numbered events (and once after each
   * (re)connection), `onError` for a lost connection; undefined where there are no other
   * replicas (the embedded database lives in this process alone).
   */
  subscribe(onNotify: () => void, onError: (err: unknown) => void): EventSubscription | undefined;
}
