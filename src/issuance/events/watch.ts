import type { EntityManager } from "@mikro-orm/postgresql";
import { CertmintError, failedPrecondition, invalidArgument } from "../../errors";
import { exportPrivateKeyPem } from "../../signer";
import type { CertificateRequestRow, CertificateRow } from "../../store/entities";
import { CertificateProfileEntity } from "../../store/entities";
import { type RenewalStatus, renewalStatusOf } from "../auto-renewal/status";
import { type Actor, PROFILE_SCOPED_ROLES, requireProfileAccess } from "../call-scope";
import { findCertificate } from "../certificates/revoke";
import { certificateKeyAad, requestKeyAad } from "../certificates/sign-and-store";
import type { StoredError } from "../certificates/types";
import { findByRef } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { requireProfileAccessById } from "../profiles/access";
import {
  type CertificateEventType,
  certificatesOf,
  type EventFilter,
  eventsAfter,
  headPosition,
  horizonPosition,
  type StoredEvent,
} from "./feed";
import { lineageFrom, newestOf } from "./lineage";

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
  certificate?: CertificateRow;
  renewal?: RenewalStatus;
  previousCertificateId?: string;
  /** PKCS#8 PEM of a key certmint generated, to the certificate's owner only. */
  privateKeyPem?: string;
  error?: StoredError;
}

export interface WatchSettings {
  keepaliveMs: number;
}

/** Events read per query. */
const PAGE = 100;

/** A cursor: the decimal position of an event (feed.ts). */
function parseCursor(cursor: string): number | undefined {
  if (cursor === "") return undefined;
  if (!/^\d{1,15}$/.test(cursor)) {
    throw invalidArgument("CURSOR_INVALID", "after_cursor must be a cursor a watch sent", {
      violations: [
        {
          field: "after_cursor",
          description: "not a cursor of this server",
          reason: "CURSOR_INVALID",
        },
      ],
    });
  }
  return Number(cursor);
}

export const serverStopping = () =>
  new CertmintError(
    "unavailable",
    "SERVER_STOPPING",
    "certmint is stopping; reconnect (to another replica) with the last cursor",
  );

/**
 * WatchCertificates: the events of certificate_event after a cursor, as the watcher may see
 * them, then every new one as it is numbered (sequencer.ts), with KEEPALIVEs on idle streams.
 * A watcher is woken by `wake()` (the sequencer numbered events: on this replica directly, on
 * others through NOTIFY) and otherwise looks again every keepalive.
 */
export class CertificateWatch {
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: IssuanceDeps,
    private readonly settings: WatchSettings,
  ) {}

  /** New events may be there: every waiting stream looks. */
  wake(): void {
    this.generation++;
    for (const w of [...this.waiters]) w();
  }

  /** Ends every stream (with UNAVAILABLE SERVER_STOPPING): the server is stopping. */
  stop(): void {
    this.stopping.abort();
    this.wake();
  }

  /**
   * Checks a watch before its stream starts (NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT
   * reach the caller as its status) and returns its events. Per-profile checks read the call
   * scope, so this runs inside it.
   */
  async open(actor: Actor, target: WatchTarget, afterCursor: string) {
    const em = this.deps.orm.em.fork();
    const after = parseCursor(afterCursor);
    const scoped = PROFILE_SCOPED_ROLES.includes(actor.role);
    const filter: EventFilter = scoped ? { profileIds: actor.profileIds } : {};
    let lineage: Set<string> | undefined;
    if (target.kind === "PROFILE") {
      const profile = await findByRef(
        em,
        CertificateProfileEntity,
        target.profile,
        "certificate profile",
        "certificate_profile",
      );
      requireProfileAccess(profile);
      filter.profileIds = [profile.id];
    } else if (target.kind === "LINEAGE") {
      const start = await findCertificate(em, target.certificate, "certificate_id");
      await requireProfileAccessById(em, start.profileId ?? null);
      lineage = new Set(await lineageFrom(em, start.id));
    }
    if (after !== undefined && after < (await horizonPosition(em))) {
      throw failedPrecondition(
        "CURSOR_EXPIRED",
        "the events after this cursor were deleted (CERTMINT_WATCH_RETENTION_SECONDS); read the current certificate (GetCurrentCertificate) and watch again without a cursor",
      );
    }
    const from = after ?? (await headPosition(em));
    return this.events(actor, filter, lineage, from, after === undefined);
  }

  private async *events(
    actor: Actor,
    filter: EventFilter,
    lineage: Set<string> | undefined,
    from: number,
    sendCurrent: boolean,
  ): AsyncGenerator<WatchEvent> {
    const em = this.deps.orm.em.fork();
    let position = from;
    if (lineage && sendCurrent) {
      const newest = await newestOf(em, [...lineage][0]!);
      const [event] = await this.hydrate(em, actor, [
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
      if (event) yield event;
    }
    let lastSent = Date.now();
    for (;;) {
      if (this.stopping.signal.aborted) throw serverStopping();
      const seen = this.generation;
      const events = await eventsAfter(
        em.fork(),
        position,
        lineage ? { ...filter, certificateIds: [...lineage] } : filter,
        PAGE,
      );
      if (events.length > 0) {
        // A renewal adds its successor to a lineage: later events of the batch were chosen
        // without it, so the rest is read again from there.
        let cut = events.length;
        if (lineage) {
          const grows = events.findIndex(
            (e) => e.type === "RENEWED" && !lineage.has(e.certificateId),
          );
          if (grows >= 0) {
            cut = grows + 1;
            lineage.add(events[grows]!.certificateId);
          }
        }
        for (const event of await this.hydrate(em.fork(), actor, events.slice(0, cut))) {
          position = Number(event.cursor);
          yield event;
        }
        position = Math.max(position, events[cut - 1]!.position);
        lastSent = Date.now();
        continue;
      }
      const idle = this.settings.keepaliveMs - (Date.now() - lastSent);
      if (idle <= 0) {
        yield { cursor: String(position), type: "KEEPALIVE", time: this.deps.now() };
        lastSent = Date.now();
        continue;
      }
      await this.waitForWake(seen, idle);
    }
  }

  /** Resolves when woken after generation `seen` (at once if already), or after `ms`. */
  private waitForWake(seen: number, ms: number): Promise<void> {
    if (this.generation !== seen || this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Events with their certificates, renewal status and (to the owner) generated keys. */
  private async hydrate(
    em: EntityManager,
    actor: Actor,
    events: Array<Omit<StoredEvent, "type"> & { type: CertificateEventType | "CURRENT" }>,
  ): Promise<WatchEvent[]> {
    const rows = await certificatesOf(
      em,
      events.map((e) => e.certificateId),
    );
    const statuses = await renewalStatusOf(
      em,
      [...rows.values()].map((r) => r.certificate),
      this.deps.now(),
    );
    return events.map((e) => {
      const row = rows.get(e.certificateId);
      const withKey = e.type === "ISSUED" || e.type === "RENEWED" || e.type === "CURRENT";
      return {
        cursor: String(e.position),
        type: e.type,
        time: e.createdAt,
        certificate: row?.certificate,
        renewal: row ? statuses.get(row.certificate.id) : undefined,
        previousCertificateId: e.previousCertificateId ?? undefined,
        privateKeyPem:
          row && withKey ? this.keyFor(actor, row.certificate, row.request) : undefined,
        error: e.error ?? undefined,
      };
    });
  }

  /**
   * The private key of a certificate for its owner, as a replay of its request would return it
   * (outcome.ts): the key the profile keeps (STORE_ENCRYPTED), or the generated key held on the
   * request until its time runs out (an automatic renewal holds it for
   * CERTMINT_RENEWAL_KEY_HOLD_SECONDS). Nobody else ever gets it.
   */
  private keyFor(
    actor: Actor,
    cert: CertificateRow,
    request: CertificateRequestRow | null,
  ): string | undefined {
    if (actor.id !== cert.owner || request?.caller !== cert.owner) return undefined;
    if (cert.sealedPrivateKey) {
      return exportPrivateKeyPem(
        this.deps.keyring.openWith(certificateKeyAad(cert.id), cert.sealedPrivateKey),
      );
    }
    if (
      request.sealedPrivateKey &&
      request.keyHeldUntil &&
      request.keyHeldUntil > this.deps.now()
    ) {
      return exportPrivateKeyPem(
        this.deps.keyring.openWith(requestKeyAad(request.id), request.sealedPrivateKey),
      );
    }
    return undefined;
  }
}
