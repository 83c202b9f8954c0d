import { peerAddressKey } from "../../auth/address-keys";
import { RateLimiter } from "../../auth/rate-limiter";
import {
  CertmintError,
  failedPrecondition,
  invalidField,
  isCertmintError,
  STARTING_OR_STOPPING_RETRY_SECONDS,
} from "../../errors";
import { exportPrivateKeyPem } from "../../signer";
import { auditRecordOf, SUCCESS } from "../audit/record";
import { type RenewalStatus, renewalStatuses } from "../auto-renewal/status";
import { type Actor, type Call, PROFILE_SCOPED_ROLES, requireProfileAccess } from "../call";
import { keyHandOutBlocked } from "../certificates/held-keys";
import { certificateKeyAad, requestKeyAad } from "../certificates/keys";
import { type HeldPlaces, LocalPlaces } from "../common/held-places";
import { ListQueryGate } from "../common/list-gate";
import { resolveRef } from "../common/refs";
import { DEFAULT_GENERATED_KEY_REPLAY_SECONDS, type IssuanceDeps } from "../deps";
import { findCertificateFor } from "../profiles/access";
import {
  type AuditRepository,
  type CaRepository,
  type Certificate,
  type CertificateEventRepository,
  type CertificateEventType,
  type CertificateRepository,
  type CertificateRequest,
  type CertificateView,
  certificateView,
  type EventFilter,
  type LineagePlace,
  type ProfileRepository,
  type RenewalRepository,
  type RequestRepository,
  type StoredError,
  type StoredEvent,
} from "../repositories";

/**
 * What a watch reads: events, the certificates they name with their requests, the keyring;
 * and the audit trail it writes a record to for each private key it hands out.
 */
export type WatchDeps = Pick<IssuanceDeps, "keyring" | "now" | "generatedKeyReplaySeconds"> & {
  store: {
    /** An approved request's key is handed out with its audit record in one transaction. */
    transaction<T>(
      fn: (tx: {
        audit: Pick<AuditRepository, "insert">;
        requests: Pick<RequestRepository, "handOutApprovedKey">;
      }) => Promise<T>,
    ): Promise<T>;
    audit: Pick<AuditRepository, "insert">;
    events: Pick<CertificateEventRepository, "readAfter" | "headPosition" | "horizonPosition">;
    certificates: Pick<
      CertificateRepository,
      | "findById"
      | "findByIds"
      | "findBySerial"
      | "newestSuccessorOf"
      | "lineagePlace"
      | "isKeyBlocked"
    >;
    requests: Pick<RequestRepository, "findByIds">;
    renewals: Pick<RenewalRepository, "renewalsOf">;
    profiles: Pick<ProfileRepository, "find">;
    cas: Pick<CaRepository, "findBySerial">;
  };
};

/** What a watch names (proto WatchCertificatesRequest.scope). */
export type WatchTarget =
  | { kind: "ALL" }
  | { kind: "LINEAGE"; certificate: string }
  | { kind: "PROFILE"; profile: string };

/** One message of a watch. */
export interface WatchEvent {
  cursor: string;
  type: CertificateEventType | "KEEPALIVE" | "CURRENT";
  time: Date;
  certificate?: CertificateView;
  renewal?: RenewalStatus;
  previousCertificateId?: string;
  /** PKCS#8 PEM of a key certmint generated, to the certificate's owner only. */
  privateKeyPem?: string;
  error?: StoredError;
}

export interface WatchSettings {
  keepaliveMs: number;
  /**
   * Streams one access token may have open at once (CERTMINT_WATCH_STREAMS_PER_TOKEN); past it
   * a new watch is RESOURCE_EXHAUSTED. Undefined: no cap.
   */
  streamsPerToken?: number;
  /**
   * Where the streams per token are counted: this process (the default), or the whole server
   * (auth/limits.ts). A cap on what one token holds at once, so it holds for the whole server;
   * the reads below protect this process's database pool and stay per process.
   */
  places?: HeldPlaces;
  /**
   * Reads (events, then their certificates) of one token's watches running at once; the
   * others wait for one of them. Undefined: no gate. The database work of its key hand-outs
   * (the blocked-key check, the audit record) takes the same places.
   */
  readsPerToken?: number;
  /**
   * Private keys one token's watches are handed per second on average, per process
   * (CERTMINT_WATCH_KEYS_PER_TOKEN_PER_SECOND), in bursts of up to keysBurstPerToken
   * (CERTMINT_WATCH_KEYS_BURST_PER_TOKEN). Past it the token's next key waits (its stream sends
   * nothing meanwhile) until the budget has one again. Undefined: the defaults; 0: no budget.
   */
  keysPerTokenPerSecond?: number;
  keysBurstPerToken?: number;
  /** The budget's clock (milliseconds, monotonic); tests move it. */
  clock?: () => number;
}

/**
 * A token's key hand-outs a second, and their burst (see WatchSettings). One hand-out is an
 * audit record, a blocked-key read and an unseal; one issuer token's 100 streams, each handed
 * every key again from cursor 1, made ~560 of them a second and another caller's GetCertificate
 * 40 times slower (an outside probe, 2026-12-06). 50 a second is more than one token's own
 * issuance with generated keys needs on a single stream (each issuance hands its key out once
 * per token, below), and a renewal wave of hundreds of keys is taken in one burst.
 */
export const WATCH_KEYS_PER_TOKEN_PER_SECOND = 50;
export const WATCH_KEYS_BURST_PER_TOKEN = 500;

/** The setting of the key hand-out budget (WatchSettings.keysPerTokenPerSecond). */
export const WATCH_KEYS_PER_TOKEN_SETTING = "CERTMINT_WATCH_KEYS_PER_TOKEN_PER_SECOND";

/**
 * Reads of one token's watches running at once: as for lists (CERTMINT_LIST_QUERIES_PER_TOKEN),
 * two of the default pool's ten connections, so a token's watches catching up from old cursors
 * (each a different read, not shared) leave the rest of the pool to everyone else. Per process
 * on purpose: the pool it protects is the process's own.
 */
export const WATCH_READS_PER_TOKEN = 2;

/** The setting that caps one token's open watches. */
export const WATCH_STREAMS_PER_TOKEN_SETTING = "CERTMINT_WATCH_STREAMS_PER_TOKEN";

/** Events read per query. */
const PAGE = 100;

/**
 * Numbered events one query looks through, at most, for the PAGE that match: a watch on a
 * quiet profile behind a week of other profiles' events (a reconnect) reads them in steps of
 * this many, each a bounded index range, instead of in one query.
 */
const SCAN = 10_000;

/** A key a certificate has for its owner, and how to open it (keyFor). */
interface OwnersKey {
  certificateId: string;
  spkiSha256: string | null;
  open: OwnersKeyOpener;
}

/**
 * How a key is opened (keyFor): `open` unseals a key the watch may hand out as it is (kept
 * with the certificate, or held for replays until a time not yet past); `approvedRequestId`
 * names the request whose approval signed it, whose key waits for its requester's first
 * hand-out to start its replay window (certificates/approved-key.ts).
 */
interface OwnersKeyOpener {
  open: () => string;
  approvedRequestId?: string;
}

/** An event before it is sent, and the key it carries to this watcher, if any (handOut). */
interface HydratedEvent {
  event: WatchEvent;
  /** The event as this watcher's token gets it, with the key (shared by its streams). */
  handOut?: (call: Call) => Promise<WatchEvent>;
}

/**
 * What the watches that joined one read of certificates share (hydrate): the rows, the events
 * made of them, and per token the keys handed out and the events carrying them, so that the
 * streams of one token reading an event together cost one hand-out, not one each.
 */
interface SharedCertificates {
  rows: Map<string, { certificate: Certificate; request: CertificateRequest | null }>;
  statuses: Map<string, RenewalStatus>;
  made: Map<number, WatchEvent>;
  /** By token and certificate: the key opened once its record is written (undefined: blocked). */
  keys: Map<string, Promise<string | undefined>>;
  /** By token and position: the event with the token's key, one object for its streams. */
  owned: Map<string, WatchEvent>;
}

/** A lineage watch: the certificate named, and where it stands in its lineage. */
interface WatchedLineage {
  start: string;
  place: LineagePlace;
}

/**
 * Whether a numbered event is the issuance of this certificate (ISSUED for a lineage's first,
 * RENEWED for a successor): what a lineage watch already sent as CURRENT, when the event was
 * numbered only after the position CURRENT carried.
 */
function issuanceOf(event: StoredEvent, certificateId: string): boolean {
  return (
    (event.type === "ISSUED" || event.type === "RENEWED") && event.certificateId === certificateId
  );
}

/** A cursor: the decimal position of an event (feed.ts). */
function parseCursor(cursor: string): number | undefined {
  if (cursor === "") return undefined;
  if (!/^\d{1,15}$/.test(cursor)) {
    throw invalidField(
      "CURSOR_INVALID",
      "after_cursor must be a cursor a watch sent",
      "after_cursor",
      "not a cursor of this server",
    );
  }
  return Number(cursor);
}

/** A stream's client left while its next key waited (keyTurn, or the token's read places). */
const callCancelled = () =>
  new CertmintError(
    "deadline_exceeded",
    "CALL_CANCELLED",
    "the caller stopped waiting (cancel or deadline) while the watch waited to hand out a key",
  );

/** Whether `err` is a call's own cancellation (keyTurn, or ListQueryGate's queue). */
const isCallCancelled = (err: unknown): boolean =>
  isCertmintError(err) && err.reason === "CALL_CANCELLED";

export const serverStopping = () =>
  new CertmintError(
    "unavailable",
    "SERVER_STOPPING",
    "certmint is stopping; reconnect (to another replica) with the last cursor",
    { retryAfterSeconds: STARTING_OR_STOPPING_RETRY_SECONDS },
  );

/**
 * WatchCertificates: the events of certificate_event after a cursor, as the watcher may see
 * them, then every new one as it is numbered (sequencer.ts), with KEEPALIVEs on idle streams.
 * A watcher is woken by `wake()` (the sequencer numbered events: on this replica directly, on
 * others through NOTIFY) and otherwise looks again every keepalive.
 */
export class CertificateWatch {
  private generation = 0;
  private streams = 0;
  private readonly waiters = new Set<() => void>();
  private readonly stopping = new AbortController();
  /**
   * Open streams by access token id (admitStream): in this process, or with CERTMINT_PROCESSES
   * above 1 counted by the supervisor for the whole server (WatchSettings.places).
   */
  private readonly places: HeldPlaces;
  /** Reads in flight by what they read: a watch asking for the same joins it (shared). */
  private readonly readsInFlight = new Map<string, Promise<unknown>>();
  private readonly readGate?: ListQueryGate;
  /** Each token's key hand-outs (WatchSettings.keysPerTokenPerSecond); none when off. */
  private readonly keyBudget?: RateLimiter;
  /** Streams whose next key waits for their token's budget (keysWaiting). */
  private waitingForKeys = 0;
  /** Key hand-outs made: audit records written and keys opened (tests). */
  private handOuts = 0;

  constructor(
    private readonly deps: WatchDeps,
    private readonly settings: WatchSettings,
  ) {
    this.places = settings.places ?? new LocalPlaces();
    if (settings.readsPerToken !== undefined) {
      // Each stream waits for at most one read at a time, so a queue as long as the stream cap
      // is never refused: a token's watches wait for its own reads, never fail for them.
      this.readGate = new ListQueryGate(
        settings.readsPerToken,
        settings.streamsPerToken ?? Number.MAX_SAFE_INTEGER,
      );
    }
    const rate = settings.keysPerTokenPerSecond ?? WATCH_KEYS_PER_TOKEN_PER_SECOND;
    if (rate > 0) {
      this.keyBudget = new RateLimiter(
        rate,
        settings.keysBurstPerToken ?? WATCH_KEYS_BURST_PER_TOKEN,
        settings.clock,
      );
    }
  }

  /** Streams whose next key waits for their token's key budget now. */
  get keysWaiting(): number {
    return this.waitingForKeys;
  }

  /** Keys handed out by this process's watches: one per audit record and unseal. */
  get keysHandedOut(): number {
    return this.handOuts;
  }

  /**
   * Takes a place for one stream of this token, or refuses it (RESOURCE_EXHAUSTED) when the
   * token already has streamsPerToken open. Returns what gives the place back (once). Each
   * open watch costs a read of every round of new events it may see and the CPU of each event
   * it is sent: 2,000 watches of one token held another token's issuance at 0 per second
   * (bench/fairness/watch-flood.ts), which the cap and the shared, gated reads below prevent.
   */
  admitStream(actor: Pick<Actor, "id" | "slug">): (() => void) | Promise<() => void> {
    const cap = this.settings.streamsPerToken;
    if (cap === undefined) return () => undefined;
    const held = this.places.take(actor.id, cap);
    if (held instanceof Promise) return held.then((h) => this.placeOrRefusal(actor, h));
    return this.placeOrRefusal(actor, held);
  }

  /** What gives a place back (once), or the refusal when `held` places were held already. */
  private placeOrRefusal(actor: Pick<Actor, "id" | "slug">, held: number | undefined): () => void {
    if (held !== undefined) {
      throw new CertmintError(
        "resource_exhausted",
        "WATCH_STREAMS_EXHAUSTED",
        `access token "${actor.slug}" already has ${held} watches open (${WATCH_STREAMS_PER_TOKEN_SETTING}); close one, or watch a whole profile with one stream instead of its certificates one by one`,
        {
          retryAfterSeconds: 1,
          metadata: { setting: WATCH_STREAMS_PER_TOKEN_SETTING, open: String(held) },
        },
      );
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.places.release(actor.id);
    };
  }

  /**
   * `read` for this watch, shared by every watch that asks for the same `key` while it runs, and
   * run in one of the reading token's places (readsPerToken). A round of new events wakes every
   * watch at once, and the watches caught up with the same filter then ask for the same events
   * and certificates: one query answers them all. The rows are read-only snapshots (positions
   * below `through` never change, readAfter), and keys are handed out per token, once for the
   * token's streams that share the read (hydrate, sharedHandOut, keyFor). The read does not
   * take the first asker's cancellation: another watch may be waiting for it.
   */
  private shared<T>(actor: Actor, key: string, read: () => Promise<T>): Promise<T> {
    const running = this.readsInFlight.get(key);
    if (running) return running as Promise<T>;
    const gated = this.readGate ? this.readGate.run({ actor }, read) : read();
    const promise = gated.finally(() => this.readsInFlight.delete(key));
    this.readsInFlight.set(key, promise);
    return promise;
  }

  /** New events may be there: every waiting stream looks. */
  wake(): void {
    this.generation++;
    for (const w of [...this.waiters]) w();
  }

  /** Streams reading events now: opened and not yet ended (certmint_watch_streams). */
  get openStreams(): number {
    return this.streams;
  }

  /** Ends every stream (with UNAVAILABLE SERVER_STOPPING): the server is stopping. */
  stop(): void {
    this.stopping.abort();
    this.wake();
  }

  /**
   * Checks a watch before its stream starts (NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT
   * reach the caller as its status) and returns its events, as the call's actor may see them.
   */
  async open(call: Call, target: WatchTarget, afterCursor: string) {
    const { store } = this.deps;
    const { actor } = call;
    const after = parseCursor(afterCursor);
    const scoped = PROFILE_SCOPED_ROLES.includes(actor.role);
    const filter: EventFilter = scoped ? { profileIds: actor.profileIds } : {};
    let lineage: WatchedLineage | undefined;
    if (target.kind === "PROFILE") {
      const profile = await resolveRef(
        target.profile,
        "certificate profile",
        "certificate_profile",
        (k) => store.profiles.find(k),
      ).catch((err: unknown) => {
        // A profile-scoped token learns nothing of profiles not its own, not even whether one
        // exists: a missing profile is refused as one it is not granted (as IssueCertificate).
        if (isCertmintError(err) && err.kind === "not_found") {
          requireProfileAccess(call, { id: null }, target.profile);
        }
        throw err;
      });
      requireProfileAccess(call, profile, target.profile);
      filter.profileIds = [profile.id];
    } else if (target.kind === "LINEAGE") {
      // Another profile's certificate is NOT_FOUND, as a missing one (profiles/access.ts); a
      // profile named by the caller is PERMISSION_DENIED above (the caller knows it exists).
      const start = await findCertificateFor(store, call, target.certificate, "certificate_id");
      lineage = { start: start.id, place: await store.certificates.lineagePlace(start.id) };
    }
    if (after !== undefined && after < (await store.events.horizonPosition())) {
      throw failedPrecondition(
        "CURSOR_EXPIRED",
        "the events after this cursor were deleted (CERTMINT_WATCH_RETENTION_SECONDS); read the current certificate (GetCurrentCertificate) and watch again without a cursor",
      );
    }
    const head = await store.events.headPosition();
    // A cursor no watch sent (ahead of the newest event) would wait, silently, until the feed
    // reached it, and every event before that would be lost to this watch.
    if (after !== undefined && after > head) {
      throw invalidField(
        "CURSOR_INVALID",
        // Without the newest position: it counts every profile's events (second API probe,
        // 2026-12-05), more than this caller may learn of the others'.
        `after_cursor ${after} is ahead of the newest event: it is not a cursor a watch of this server sent; watch from the last cursor you received, or without one`,
        "after_cursor",
        "ahead of the newest event",
      );
    }
    const from = after ?? head;
    return this.counted(this.events(call, filter, lineage, from, after === undefined));
  }

  /** A stream's events, counted in openStreams from its first read until it ends. */
  private async *counted(events: AsyncGenerator<WatchEvent>): AsyncGenerator<WatchEvent> {
    this.streams++;
    try {
      yield* events;
    } finally {
      this.streams--;
    }
  }

  private async *events(
    call: Call,
    filter: EventFilter,
    lineage: WatchedLineage | undefined,
    from: number,
    sendCurrent: boolean,
  ): AsyncGenerator<WatchEvent> {
    const { store } = this.deps;
    const { actor, signal: gone } = call;
    let position = from;
    // The certificate this stream sent as CURRENT, until its own ISSUED or RENEWED event has
    // gone by (skipped below): one per certificate, written in the transaction that stored it.
    let sentAsCurrent: string | undefined;
    if (lineage && sendCurrent) {
      const newest = await store.certificates.newestSuccessorOf(lineage.start);
      const [current] = await this.hydrate(actor, [
        {
          position,
          type: "CURRENT",
          certificateId: newest,
          profileId: null,
          previousCertificateId: null,
          error: null,
          createdAt: this.deps.now(),
        },
      ]);
      if (current) {
        sentAsCurrent = newest;
        yield await this.handOut(call, current);
      }
    }
    if (sendCurrent && sentAsCurrent === undefined) {
      // A watch started without a cursor gets one at once: a KEEPALIVE at the position it
      // starts from. Until stop 43 of 2026-12-06 its first cursor came with its first event or
      // KEEPALIVE (CERTMINT_WATCH_KEEPALIVE_MS, 30 s), and a stream ended before that (a
      // restart: "reconnect with the last cursor") had none to resume from: the certificates
      // issued while the server stopped never reached it (an outside probe;
      // test/renewal/watch-start-cursor.test.ts). A lineage watch's CURRENT carries this cursor.
      yield { cursor: String(position), type: "KEEPALIVE", time: this.deps.now() };
    }
    // A duration, so the monotonic clock: with Date.now() (until 2026-12-04) a wall clock stepped
    // back 10 minutes (NTP, a VM resumed) sent no KEEPALIVE for 10 minutes, and clients and
    // proxies that close a silent stream did (test/issuance/watch-clock-step.unit.test.ts).
    let lastSent = performance.now();
    for (;;) {
      if (this.stopping.signal.aborted) throw serverStopping();
      // The client went away (cancelled, or its connection closed): nothing more to read.
      if (gone?.aborted) return;
      const seen = this.generation;
      // A lineage's events are chosen by its id and the watched certificate's depth in it, so
      // successors made after the watch started are in without the watch holding any id.
      const readFilter = lineage ? { ...filter, lineage: lineage.place } : filter;
      const read = await this.shared(actor, JSON.stringify(["events", position, readFilter]), () =>
        store.events.readAfter(position, readFilter, PAGE, SCAN),
      );
      if (read.events.length > 0) {
        const hydrated = await this.hydrate(actor, read.events);
        for (const [i, stored] of read.events.entries()) {
          if (sentAsCurrent !== undefined && issuanceOf(stored, sentAsCurrent)) {
            // The certificate sent as CURRENT, committed before this stream started but
            // numbered after the position CURRENT carried (the sequencer numbers events after
            // their commit): it was sent, with its key, once already. In its place a KEEPALIVE
            // at its cursor, so a reconnect with the last cursor received starts past it too.
            // Until stop 40 of 2026-12-05 the stream sent it again, key included (CURRENT, then
            // ISSUED; test/renewal/watch-current-once.test.ts).
            sentAsCurrent = undefined;
            position = stored.position;
            yield { cursor: String(position), type: "KEEPALIVE", time: this.deps.now() };
            continue;
          }
          const event = await this.handOut(call, hydrated[i]!);
          position = Number(event.cursor);
          yield event;
        }
        lastSent = performance.now();
      }
      // Past the events that did not match too, so the next read (every sequencer round, every
      // keepalive) starts where this one ended instead of re-reading every event of other
      // profiles since this watch's last match. Safe: no event can appear later at or below
      // `through` (readAfter, sequence in src/store/repositories/certificate-events.ts). A
      // KEEPALIVE's cursor is this position, so a reconnect with it misses nothing either.
      position = Math.max(position, read.through);
      // Also while reading through a backlog that matches nothing: the client sees the stream
      // is alive, and its cursor moves on.
      if (performance.now() - lastSent >= this.settings.keepaliveMs) {
        yield { cursor: String(position), type: "KEEPALIVE", time: this.deps.now() };
        lastSent = performance.now();
      }
      if (read.more) continue;
      const idle = this.settings.keepaliveMs - (performance.now() - lastSent);
      await this.waitForWake(seen, idle, gone);
    }
  }

  /**
   * Resolves when woken after generation `seen` (at once if already), after `ms`, or when the
   * client is gone.
   */
  private waitForWake(seen: number, ms: number, gone?: AbortSignal): Promise<void> {
    if (this.generation !== seen || this.stopping.signal.aborted || gone?.aborted) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        gone?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      // A stream whose client left ends now, not at its next keepalive (up to
      // CERTMINT_WATCH_KEEPALIVE_MS later).
      gone?.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * An event as it is sent: with its private key, when it has one for this watcher's token.
   * The key is handed out once per event and token to the streams of that token that read the
   * event together (sharedHandOut), not once per stream: until stop 44 of 2026-12-06 each of
   * an issuer's 100 streams wrote its own audit record, read the blocked keys and unsealed the
   * key for every issuance, and another caller's GetCertificate went from 3-5 ms to 150-170 ms
   * (an outside probe; test/watch/key-hand-outs.unit.test.ts).
   */
  private async handOut(call: Call, hydrated: HydratedEvent): Promise<WatchEvent> {
    return hydrated.handOut ? hydrated.handOut(call) : hydrated.event;
  }

  /**
   * The event with this token's key, shared by the token's streams from one client address that
   * joined the same read (`shared`): the first opens the key (openKey: one audit record, one blocked-key read, one
   * unseal) and every stream of the token gets the same event object, whose message the API
   * layer builds and encodes once (watch-certificates.ts watchMessageOf). Never across tokens:
   * the maps are keyed by the token, and the key goes to the certificate's owner only (keyFor).
   * A CURRENT is a stream's own (its position): it gets its own copy, with the shared key.
   */
  private async sharedHandOut(
    call: Call,
    shared: SharedCertificates,
    e: { position: number; type: CertificateEventType | "CURRENT" },
    event: WatchEvent,
    key: OwnersKey,
  ): Promise<WatchEvent> {
    // Per token AND client address (peerAddressKey: the IPv4 address, the IPv6 /64): a stolen
    // token reading from a second host gets an audit record of its own, naming that host (a
    // review of stop 44 of 2026-12-06); one host's many streams still share one.
    const keyId = `${call.actor.id} ${peerAddressKey(call.peer)} ${key.certificateId}`;
    let pem: string | undefined;
    for (;;) {
      let opening = shared.keys.get(keyId);
      const mine = opening === undefined;
      if (opening === undefined) {
        opening = this.openKey(call, key);
        const made = opening;
        shared.keys.set(keyId, made);
        // A hand-out that failed is not kept: a stream reading the event later tries again.
        made.catch(() => {
          if (shared.keys.get(keyId) === made) shared.keys.delete(keyId);
        });
      }
      try {
        pem = await opening;
        break;
      } catch (err) {
        // The stream that opened it left (its client cancelled) before its turn: that ends its
        // stream, not this one; this one hands the key out itself.
        if (!mine && isCallCancelled(err) && !call.signal?.aborted) continue;
        throw err;
      }
    }
    if (pem === undefined) return event;
    if (e.type === "CURRENT") return { ...event, privateKeyPem: pem };
    const ownedId = `${call.actor.id} ${peerAddressKey(call.peer)} ${e.position}`;
    let owned = shared.owned.get(ownedId);
    if (!owned) {
      owned = { ...event, privateKeyPem: pem };
      shared.owned.set(ownedId, owned);
    }
    return owned;
  }

  /**
   * One hand-out of a key to a token: once the token's key budget allows it (keyTurn), in one
   * of the token's read places (readsPerToken), the blocked-key check and the audit record
   * (actor: the watcher; resource: the certificate; the method, trace id and peer of the stream
   * that opened it; never the key), then the key opened. One record per key handed to a token
   * (its streams that read the event together share it), none for other events. Fail closed:
   * if the record cannot be written, the key is not opened and the event not sent; the error
   * ends the streams waiting for it (mapped as any error is, by the API layer), and a reconnect
   * from the last cursor received gets that event again. A record may outlive a send that did
   * not happen (the clients left, or the stream's credential was refused, after it was
   * written), never the reverse. Undefined: the key is blocked as compromised
   * (certificates/held-keys.ts keyHandOutBlocked), whichever certificate it is on.
   */
  private async openKey(call: Call, key: OwnersKey): Promise<string | undefined> {
    await this.keyTurn(call);
    const work = async () => {
      if (await keyHandOutBlocked(this.deps, key.spkiSha256)) return undefined;
      const record = auditRecordOf(
        call,
        { type: "certificate", id: key.certificateId },
        SUCCESS,
        this.deps.now(),
      );
      const { approvedRequestId } = key.open;
      if (approvedRequestId !== undefined) {
        if (!(await this.startApprovedHold(approvedRequestId, record))) return undefined;
      } else {
        await this.deps.store.audit.insert(record);
      }
      this.handOuts++;
      return key.open.open();
    };
    return this.readGate ? this.readGate.run(call, work) : work();
  }

  /**
   * The first hand-out of a key an approval signed, as GetRequestStatus makes it
   * (certificates/approved-key.ts): starts the key's replay window
   * (CERTMINT_GENERATED_KEY_REPLAY_SECONDS; with none, takes the key off the request), with the
   * watch's audit record, in one transaction (fail closed: no record, no key). Later hand-outs
   * within the window, by the watch, GetRequestStatus or a replay, return the same key. False
   * when the key is no longer held (its window ended, or a hand-out with no window took it).
   * Until stop 44 of 2026-12-06 a watch never handed such a key out, so the owner's watch got
   * an approved server-driven renewal's RENEWED event without its new key, and the README's
   * sidecar (certmint cert watch --out-dir) stopped with a wrong explanation (an outside probe).
   */
  private async startApprovedHold(
    requestId: string,
    record: ReturnType<typeof auditRecordOf>,
  ): Promise<boolean> {
    const now = this.deps.now();
    const seconds = this.deps.generatedKeyReplaySeconds ?? DEFAULT_GENERATED_KEY_REPLAY_SECONDS;
    const until = seconds > 0 ? new Date(now.getTime() + seconds * 1000) : null;
    return this.deps.store.transaction(async (tx) => {
      const taken = await tx.requests.handOutApprovedKey(requestId, until, now);
      if (!taken) return false;
      await tx.audit.insert(record);
      return true;
    });
  }

  /**
   * Waits until the token's key budget (WatchSettings.keysPerTokenPerSecond) has a key for this
   * hand-out, and takes it. A stream waiting here sends nothing and holds no place of the pool;
   * its client sees the keys come at the budget's pace, in order, none lost. So a token's
   * streams resumed again and again from an old cursor (every key still held handed out anew
   * each time) cost everyone else at most the budget's hand-outs a second, not ~560 (an outside
   * probe, 2026-12-06). Ends with the stream: UNAVAILABLE when the server stops, CALL_CANCELLED
   * when its client left.
   */
  private async keyTurn(call: Call): Promise<void> {
    const budget = this.keyBudget;
    if (!budget) return;
    for (;;) {
      if (this.stopping.signal.aborted) throw serverStopping();
      if (call.signal?.aborted) throw callCancelled();
      const wait = budget.take(call.actor.id);
      if (wait === 0) return;
      this.waitingForKeys++;
      try {
        await this.pause(Math.ceil(wait * 1000), call.signal);
      } finally {
        this.waitingForKeys--;
      }
    }
  }

  /** Resolves after `ms`, or at once when the server stops or the client is gone. */
  private pause(ms: number, gone?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const signals = [this.stopping.signal, gone].filter((s) => s !== undefined);
      const done = () => {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const s of signals) s.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * Events with their certificates and renewal status; for the owner, how its token gets the
   * event with its key (sharedHandOut; opened only after its audit record).
   *
   * Every watch that joined the same read of certificates gets the same WatchEvent object for
   * a numbered event (read-only: never changed after it is made), so the API layer builds and
   * encodes its message once for all of them (watch-certificates.ts): a round of new events
   * woke every watch, and each built and encoded its own copy of each event, the cost that
   * grew with the number of streams (bench/fairness/watch-flood.ts). Which events a watch gets
   * is still its own read's (its filter); the object holds nothing caller-specific: a key is
   * added to a copy made for the owner's token (sharedHandOut). CURRENT (a watch's own
   * position) is never shared.
   */
  private async hydrate(
    actor: Actor,
    events: Array<Omit<StoredEvent, "type"> & { type: CertificateEventType | "CURRENT" }>,
  ): Promise<HydratedEvent[]> {
    const ids = events.map((e) => e.certificateId);
    const shared = await this.shared(
      actor,
      JSON.stringify(["certificates", ids]),
      async (): Promise<SharedCertificates> => {
        const rows = await this.certificatesOf(ids);
        const certificates = [...rows.values()].map((r) => r.certificate);
        const statuses = await renewalStatuses(this.deps, certificates);
        return { rows, statuses, made: new Map(), keys: new Map(), owned: new Map() };
      },
    );
    const { rows, statuses, made } = shared;
    return events.map((e) => {
      const row = rows.get(e.certificateId);
      const withKey = e.type === "ISSUED" || e.type === "RENEWED" || e.type === "CURRENT";
      const open = row && withKey ? this.keyFor(actor, row.certificate, row.request) : undefined;
      const held = e.type === "CURRENT" ? undefined : made.get(e.position);
      const event = held ?? this.eventOf(e, row?.certificate, statuses, made);
      if (!row || !open) return { event };
      const key: OwnersKey = {
        certificateId: row.certificate.id,
        spkiSha256: row.certificate.spkiSha256,
        open,
      };
      return { event, handOut: (call: Call) => this.sharedHandOut(call, shared, e, event, key) };
    });
  }
  /** A stored event as a watch sends it (without a key); kept in `made` unless CURRENT. */
  private eventOf(
    e: Omit<StoredEvent, "type"> & { type: CertificateEventType | "CURRENT" },
    certificate: Certificate | undefined,
    statuses: Map<string, RenewalStatus>,
    made: Map<number, WatchEvent>,
  ): WatchEvent {
    const event: WatchEvent = {
      cursor: String(e.position),
      type: e.type,
      time: e.createdAt,
      certificate: certificate && certificateView(certificate),
      renewal: certificate ? statuses.get(certificate.id) : undefined,
      previousCertificateId: e.previousCertificateId ?? undefined,
      error: e.error ?? undefined,
    };
    if (e.type !== "CURRENT") made.set(e.position, event);
    return event;
  }

  /** The certificates events name, with the requests that made them, by id. */
  private async certificatesOf(
    ids: readonly string[],
  ): Promise<Map<string, { certificate: Certificate; request: CertificateRequest | null }>> {
    const out = new Map<string, { certificate: Certificate; request: CertificateRequest | null }>();
    if (ids.length === 0) return out;
    const { store } = this.deps;
    const certs = await store.certificates.findByIds(ids);
    const requests = await store.requests.findByIds(certs.map((c) => c.certificateRequestId));
    const byRequest = new Map(requests.map((r) => [r.id, r]));
    for (const c of certs) {
      out.set(c.id, { certificate: c, request: byRequest.get(c.certificateRequestId) ?? null });
    }
    return out;
  }

  /**
   * The private key of a certificate for its owner, as a replay of its request would return it
   * (outcome.ts): the key the profile keeps (STORE_ENCRYPTED), or the generated key held on the
   * request until its time runs out (an automatic renewal holds it for
   * CERTMINT_RENEWAL_KEY_HOLD_SECONDS). Nobody else ever gets it. Returns how to open it
   * (openKey opens it once its audit record is written), or undefined when there is none for
   * this actor.
   */
  private keyFor(
    actor: Actor,
    cert: Certificate,
    request: CertificateRequest | null,
  ): OwnersKeyOpener | undefined {
    if (actor.id !== cert.owner || request?.caller !== cert.owner) return undefined;
    const { keyring } = this.deps;
    const sealedOnCert = cert.sealedPrivateKey;
    if (sealedOnCert) {
      return {
        open: () => exportPrivateKeyPem(keyring.openWith(certificateKeyAad(cert.id), sealedOnCert)),
      };
    }
    const sealedOnRequest = request.sealedPrivateKey;
    if (!sealedOnRequest) return undefined;
    const open = () =>
      exportPrivateKeyPem(keyring.openWith(requestKeyAad(request.id), sealedOnRequest));
    if (request.keyHeldUntil === null) {
      // Signed by an approval (a server-driven renewal's included), held for its requester,
      // who owns the certificate: its window starts with this hand-out (startApprovedHold).
      return { open, approvedRequestId: request.id };
    }
    return request.keyHeldUntil > this.deps.now() ? { open } : undefined;
  }
}
