import type { Metadata } from "@grpc/grpc-js";
import { type CertmintError, isCertmintError, unauthenticated } from "../errors";
import type { Actor } from "../issuance/call";
import type { PeerIdentity } from "./peer-identity";

/** What a check of a stream's credential gives: who it is, and until when (ms since the epoch). */
export interface CheckedCredential {
  actor: Actor;
  /** The token's expiry, or its client certificate's notAfter if that comes first. */
  validUntil: number;
}

/** setTimeout's longest delay (2^31 - 1 ms, some 24.8 days): a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** One open stream held to its credential. */
interface Held {
  readonly actor: Actor;
  readonly end: (err: CertmintError) => void;
  readonly group: Group;
}

/**
 * The open streams of one credential (one cache key of the authenticator: a bearer secret's
 * hash, or a client certificate's fingerprint): checked together, one check for all of them.
 */
interface Group {
  readonly key: string;
  readonly metadata: Metadata;
  readonly peer: PeerIdentity | undefined;
  readonly streams: Set<Held>;
  /** At the credential's expiry, or a retry after a check that could not be made. */
  timer?: NodeJS.Timeout;
  checking: boolean;
  /** Another change came while a check was under way: check again once it is done. */
  again: boolean;
}

/** The stream's credential now authenticates as another token (a binding made again). */
export function credentialChanged(actor: Actor): CertmintError {
  return unauthenticated(
    "CREDENTIAL_CHANGED",
    `the credential of this watch no longer authenticates as access token "${actor.slug}"; watch again`,
  );
}

/**
 * The open streams (WatchCertificates) of this process by credential, so that a stream ends
 * with UNAUTHENTICATED as soon as this process learns that its credential is no longer in
 * force, rather than at its next message's check (a KEEPALIVE, CERTMINT_WATCH_KEEPALIVE_MS,
 * 30 s by default: until stop 47 of 2026-12-06 an idle stream of a revoked token stayed open,
 * holding one of its token's places, until then; an outside probe, F4).
 *
 * Cheap by construction: a change touches only the streams of the credential it names (a map
 * by token id, a map by credential key), and a change that names no open stream here costs
 * nothing. The streams of a credential it names are checked once for all of them, through the
 * authenticator's own path (its cache was just evicted, so one lookup): the stream ends with
 * exactly the refusal a unary call would get (TOKEN_REVOKED "access token ... was revoked at
 * ...", CLIENT_CERTIFICATE_REVOKED, ...), and a change that is not a revocation (a
 * "certificate-revoked" announcement also says a hold was released) ends nothing.
 */
export class OpenStreams {
  private readonly groups = new Map<string, Group>();
  private readonly byToken = new Map<string, Set<Held>>();

  constructor(
    /** The credential's check, without the caller's failure limit (the server asks, not a client). */
    private readonly check: (
      metadata: Metadata,
      peer: PeerIdentity | undefined,
    ) => Promise<CheckedCredential>,
    private readonly now: () => Date,
    /** After a check that could not be made (the database unavailable): when to try again. */
    private readonly retryMs: number,
  ) {}

  /**
   * Holds a stream, authenticated as `actor` by the credential under `key`, to that
   * credential: `end` is called (once) when it is no longer in force. Returns what lets go.
   * Checked once now (from the cache, normally): a revocation that came between the stream's
   * authentication and this call ends it too.
   */
  hold(
    key: string,
    metadata: Metadata,
    peer: PeerIdentity | undefined,
    actor: Actor,
    end: (err: CertmintError) => void,
  ): () => void {
    let group = this.groups.get(key);
    if (!group) {
      group = { key, metadata, peer, streams: new Set(), checking: false, again: false };
      this.groups.set(key, group);
    }
    let ended = false;
    const held: Held = {
      actor,
      group,
      end: (err) => {
        if (ended) return;
        ended = true;
        this.release(held);
        end(err);
      },
    };
    group.streams.add(held);
    let mine = this.byToken.get(actor.id);
    if (!mine) {
      mine = new Set();
      this.byToken.set(actor.id, mine);
    }
    mine.add(held);
    void this.recheck(group);
    return () => {
      ended = true;
      this.release(held);
    };
  }

  /** A token was revoked: its streams, by bearer secret or by a client certificate bound to it. */
  tokenRevoked(tokenId: string): void {
    const mine = this.byToken.get(tokenId);
    if (!mine) return;
    for (const group of new Set([...mine].map((h) => h.group))) void this.recheck(group);
  }

  /** A certificate's revocation status changed: the streams authenticated by it, if any. */
  certificateChanged(fingerprintSha256: string): void {
    const group = this.groups.get(`c:${fingerprintSha256}`);
    if (group) void this.recheck(group);
  }

  /** A CA was revoked: every stream authenticated by a client certificate (a rare change). */
  certificatesChanged(): void {
    for (const group of this.groups.values()) {
      if (group.key.startsWith("c:")) void this.recheck(group);
    }
  }

  /** Changes may have been missed (the listener reconnected): every stream, against the database. */
  all(): void {
    for (const group of this.groups.values()) void this.recheck(group);
  }

  private release(held: Held): void {
    const { group } = held;
    group.streams.delete(held);
    if (group.streams.size === 0 && this.groups.get(group.key) === group) {
      clearTimeout(group.timer);
      this.groups.delete(group.key);
    }
    const mine = this.byToken.get(held.actor.id);
    if (mine) {
      mine.delete(held);
      if (mine.size === 0) this.byToken.delete(held.actor.id);
    }
  }

  /** Checks a credential for all its streams; one check at a time per credential. */
  private async recheck(group: Group): Promise<void> {
    if (group.checking) {
      group.again = true;
      return;
    }
    group.checking = true;
    try {
      do {
        group.again = false;
        clearTimeout(group.timer);
        group.timer = undefined;
        let checked: CheckedCredential | undefined;
        let refused: CertmintError | undefined;
        try {
          checked = await this.check(group.metadata, group.peer);
        } catch (err) {
          if (isCertmintError(err) && err.kind === "unauthenticated") refused = err;
        }
        if (group.streams.size === 0) return;
        if (refused) {
          for (const held of [...group.streams]) held.end(refused);
        } else if (checked) {
          for (const held of [...group.streams]) {
            if (held.actor.id !== checked.actor.id) held.end(credentialChanged(held.actor));
          }
          // Ends at its expiry (TOKEN_EXPIRED, or CLIENT_CERTIFICATE_EXPIRED), checked then.
          if (group.streams.size > 0) {
            const left = checked.validUntil - this.now().getTime();
            this.arm(group, Number.isFinite(left) ? Math.max(1, left) : this.retryMs);
          }
        } else {
          // Not checked (the database unavailable): the streams go on, each message still
          // checked; this check is made again, so a revocation heard meanwhile is applied.
          this.arm(group, this.retryMs);
        }
      } while (group.again && group.streams.size > 0);
    } finally {
      group.checking = false;
    }
  }

  private arm(group: Group, delayMs: number): void {
    clearTimeout(group.timer);
    group.timer = setTimeout(() => void this.recheck(group), Math.min(delayMs, MAX_TIMER_MS));
    group.timer.unref();
  }
}
