import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Actor, Call } from "../../src/issuance/call";
import { CertificateWatch, type WatchDeps, type WatchEvent } from "../../src/issuance/events/watch";
import type {
  Certificate,
  CertificateRequest,
  EventFilter,
  EventRead,
  StoredEvent,
} from "../../src/issuance/repositories";
import { waitFor } from "../support/wait";

const A = "00000000-0000-4000-8000-00000000000a";

/**
 * A feed whose reads wait until the test lets them go, counting how many were asked for and
 * how many run at once: what the database would see.
 */
class HeldFeed {
  readonly events: StoredEvent[] = [];
  reads = 0;
  running = 0;
  mostAtOnce = 0;
  private readonly held: Array<() => void> = [];

  constructor(count: number) {
    for (let i = 1; i <= count; i++) {
      this.events.push({
        position: i,
        type: "EXPIRING",
        certificateId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        profileId: A,
        previousCertificateId: null,
        error: null,
        createdAt: new Date(0),
      });
    }
  }

  async readAfter(after: number, _filter: EventFilter, limit: number): Promise<EventRead> {
    this.reads++;
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    await new Promise<void>((resolve) => this.held.push(resolve));
    this.running--;
    const events = this.events.slice(after, after + limit);
    const through = events.at(-1)?.position ?? after;
    return { events, through: Math.max(through, after), more: false };
  }

  /** Lets every read waiting now go on. */
  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  get waiting(): number {
    return this.held.length;
  }

  async headPosition(): Promise<number> {
    return this.events.length;
  }

  async horizonPosition(): Promise<number> {
    return 0;
  }
}

function watchOn(feed: HeldFeed, readsPerToken?: number): CertificateWatch {
  const none = async () => [];
  const deps = {
    now: () => new Date(),
    keyring: {} as WatchDeps["keyring"],
    store: {
      events: feed,
      certificates: { findByIds: none },
      requests: { findByIds: none },
      renewals: { renewalsOf: async () => new Map() },
    },
  } as unknown as WatchDeps;
  return new CertificateWatch(deps, { keepaliveMs: 0, streamsPerToken: 1000, readsPerToken });
}

const issuer = (id: string): Call => ({
  actor: { id, slug: id, role: "ISSUER", profileIds: [A] } satisfies Actor,
  method: "/certmint.v1.CertificateService/WatchCertificates",
  traceId: "",
  peer: "test",
});

describe("CertificateWatch reads (fake feed)", () => {
  it("watches asking for the same events at once share one read", async () => {
    const feed = new HeldFeed(5);
    const watch = watchOn(feed, 2);
    const streams = await Promise.all(
      Array.from({ length: 50 }, () => watch.open(issuer("t1"), { kind: "ALL" }, "0")),
    );
    const firsts = streams.map((s) => s.next());
    await waitFor("the read asked for", () => feed.waiting > 0);
    expect(feed.reads).toBe(1);
    feed.release();
    const got = (await Promise.all(firsts)).map((r) => r.value as WatchEvent);
    // Each watch got the first event from the one read: one object for all of them (it holds
    // no key), whose message the API layer builds and encodes once (watch-certificates.ts).
    expect(got.map((e) => e.cursor)).toEqual(Array(50).fill("1"));
    expect(new Set(got).size).toBe(1);
    expect(got[0]!.privateKeyPem).toBeUndefined();
    expect(feed.reads).toBe(1);
    for (const s of streams) await s.return(undefined);
  });

  it("the owner's key goes to the owner's watch alone, not to the event other watches share", async () => {
    const feed = new HeldFeed(1);
    const certificateId = feed.events[0]!.certificateId;
    feed.events[0]!.type = "ISSUED";
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const certificate = {
      id: certificateId,
      owner: "t1",
      certificateRequestId: "r1",
      sealedPrivateKey: new Uint8Array([1]),
      renewedById: null,
    } as unknown as Certificate;
    const request = { id: "r1", caller: "t1", sealedPrivateKey: null } as CertificateRequest;
    const audited: string[] = [];
    const deps = {
      now: () => new Date(),
      keyring: { openWith: () => privateKey },
      store: {
        events: feed,
        audit: { insert: async () => void audited.push("key") },
        certificates: { findByIds: async () => [certificate] },
        requests: { findByIds: async () => [request] },
        renewals: { renewalsOf: async () => new Map() },
      },
    } as unknown as WatchDeps;
    const watch = new CertificateWatch(deps, { keepaliveMs: 60_000, streamsPerToken: 10 });
    const owner = await watch.open(issuer("t1"), { kind: "ALL" }, "0");
    const other = await watch.open(issuer("t2"), { kind: "ALL" }, "0");
    const firsts = [owner.next(), other.next()];
    await waitFor("the read asked for", () => feed.waiting > 0);
    feed.release();
    // The owner's event first: whatever its key did, the other watch's event comes after.
    const own = (await firsts[0]!).value as WatchEvent;
    const theirs = (await firsts[1]!).value as WatchEvent;
    expect(feed.reads).toBe(1);
    expect(own.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(audited).toEqual(["key"]);
    expect(theirs.certificate?.id).toBe(certificateId);
    expect(theirs.privateKeyPem).toBeUndefined();
    expect(theirs).not.toBe(own);
    for (const s of [owner, other]) await s.return(undefined);
  });

  it("one token's different reads run two at a time; another token's do not wait for them", async () => {
    const feed = new HeldFeed(20);
    const watch = watchOn(feed, 2);
    // Ten watches of t1 at ten different cursors: ten different reads.
    const mine = await Promise.all(
      Array.from({ length: 10 }, (_, i) => watch.open(issuer("t1"), { kind: "ALL" }, String(i))),
    );
    const pending = mine.map((s) => s.next());
    await waitFor("two of t1's reads running", () => feed.running === 2);
    expect(feed.reads).toBe(2);

    const theirs = await watch.open(issuer("t2"), { kind: "ALL" }, "15");
    const their = theirs.next();
    await waitFor("t2's read running beside them", () => feed.running === 3);
    expect(feed.mostAtOnce).toBe(3);

    // Let each round go until every watch has its first event; t1 never has more than two.
    const done = Promise.all([...pending, their]);
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    await waitFor("every first event", () => {
      feed.release();
      return finished;
    });
    const cursors = (await done).map((r) => (r.value as WatchEvent).cursor);
    expect(cursors).toEqual([...Array.from({ length: 10 }, (_, i) => String(i + 1)), "16"]);
    expect(feed.reads).toBe(11);
    expect(feed.mostAtOnce).toBe(3);
    for (const s of [...mine, theirs]) await s.return(undefined);
  });

  it("without a gate, different reads all run at once", async () => {
    const feed = new HeldFeed(10);
    const watch = watchOn(feed, undefined);
    const streams = await Promise.all(
      Array.from({ length: 6 }, (_, i) => watch.open(issuer("t1"), { kind: "ALL" }, String(i))),
    );
    const pending = streams.map((s) => s.next());
    await waitFor("six reads running", () => feed.running === 6);
    feed.release();
    await Promise.all(pending);
    for (const s of streams) await s.return(undefined);
  });
});
