import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import type { Actor, Call } from "../../src/issuance/call";
import { CertificateWatch, type WatchDeps, type WatchEvent } from "../../src/issuance/events/watch";
import type { EventFilter, EventRead, StoredEvent } from "../../src/issuance/repositories";
import { createStore } from "../../src/store/store";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  KeyAlgorithm,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;
const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";

/**
 * An in-memory feed answering as the repository does (numbered events, a read window of
 * `scan` events, or the page itself without a filter), counting what each read looks at.
 */
class FakeFeed {
  readonly events: StoredEvent[] = [];
  /** Positions each read looked at (the window it went through). */
  readonly looked: number[] = [];

  add(profileIds: string[]): void {
    for (const profileId of profileIds) {
      this.events.push({
        position: this.events.length + 1,
        type: "EXPIRING",
        certificateId: `00000000-0000-4000-8000-${String(this.events.length).padStart(12, "0")}`,
        profileId,
        previousCertificateId: null,
        error: null,
        createdAt: new Date(0),
      });
    }
  }

  async readAfter(
    after: number,
    filter: EventFilter,
    limit: number,
    scan: number,
  ): Promise<EventRead> {
    const matches = (e: StoredEvent) =>
      !filter.profileIds || filter.profileIds.includes(e.profileId ?? "");
    const all = !filter.profileIds && !filter.lineage;
    const window = this.events.slice(after, after + (all ? limit : scan));
    const head = this.events.length;
    const events: StoredEvent[] = [];
    let through = after;
    for (const e of window) {
      through = e.position;
      if (matches(e)) events.push(e);
      if (events.length >= limit) break;
    }
    this.looked.push(through - after);
    const more = events.length >= limit || window.length === (all ? limit : scan);
    return { events, through: more ? through : Math.max(after, head), more };
  }

  async headPosition(): Promise<number> {
    return this.events.length;
  }

  async horizonPosition(): Promise<number> {
    return 0;
  }
}

/** A CertificateWatch on a fake feed whose events name no stored certificate. */
function watchOn(feed: FakeFeed): CertificateWatch {
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
  // Keepalive 0: after every read the watch sends a KEEPALIVE with its position, so each
  // message pulled below is one read, and the cursor shows where the watch stands.
  return new CertificateWatch(deps, { keepaliveMs: 0 });
}

/** An issuer token on profile A, watching all it may see (a scoped watch: filter profileIds). */
const issuerOfA: Call = {
  actor: { id: "issuer", slug: "issuer", role: "ISSUER", profileIds: [A] } satisfies Actor,
  method: "/certmint.v1.CertificateService/WatchCertificates",
  traceId: "",
  peer: "test",
};

/** Pulls messages until one is a KEEPALIVE at `position` or later (at most `pulls`). */
async function pullThrough(
  stream: AsyncGenerator<WatchEvent>,
  position: number,
  pulls: number,
): Promise<{ events: WatchEvent[]; keepalives: number[]; reached: boolean }> {
  const events: WatchEvent[] = [];
  const keepalives: number[] = [];
  for (let i = 0; i < pulls; i++) {
    const next = await stream.next();
    if (next.done) break;
    if (next.value.type !== "KEEPALIVE") {
      events.push(next.value);
      continue;
    }
    keepalives.push(Number(next.value.cursor));
    if (Number(next.value.cursor) >= position) return { events, keepalives, reached: true };
  }
  return { events, keepalives, reached: false };
}

describe("CertificateWatch on a busy feed (fake repository)", () => {
  it("an idle watch looks at each other profile's event once, at most 10,000 per read, then at none", async () => {
    const feed = new FakeFeed();
    const watch = watchOn(feed);
    const stream = await watch.open(issuerOfA, { kind: "ALL" }, "");
    try {
      expect((await pullThrough(stream, 0, 1)).reached).toBe(true);
      feed.looked.length = 0;

      feed.add(Array(25_000).fill(B));
      watch.wake();
      const caughtUp = await pullThrough(stream, 25_000, 10);
      expect(caughtUp.reached).toBe(true);
      expect(caughtUp.events).toEqual([]);
      // Each read went through the next part of the backlog, none of it twice.
      expect(feed.looked.reduce((a, b) => a + b, 0)).toBe(25_000);
      expect(Math.max(...feed.looked)).toBeLessThanOrEqual(10_000);

      // Idle again: more wakes and keepalives look at no event (they used to read all 25,000).
      feed.looked.length = 0;
      for (let i = 0; i < 5; i++) watch.wake();
      const idle = await pullThrough(stream, Number.MAX_SAFE_INTEGER, 5);
      expect(idle.keepalives).toEqual([25_000, 25_000, 25_000, 25_000, 25_000]);
      expect(feed.looked).toEqual([0, 0, 0, 0, 0]);
    } finally {
      await stream.return(undefined);
      watch.stop();
    }
  });

  it("misses no event among more others than one read looks through, also after a reconnect with a KEEPALIVE's cursor", async () => {
    const feed = new FakeFeed();
    const watch = watchOn(feed);
    const first = await watch.open(issuerOfA, { kind: "ALL" }, "");
    try {
      const profiles: string[] = Array(30_000).fill(B);
      // Around read boundaries (the first window ends at 10,000), and a run longer than a page.
      for (const i of [0, 9_998, 9_999, 10_000, 10_001, 20_000, 29_998, 29_999]) profiles[i] = A;
      for (let i = 15_000; i < 15_150; i++) profiles[i] = A;
      feed.add(profiles);
      const expected = feed.events.filter((e) => e.profileId === A).map((e) => e.position);
      watch.wake();
      const all = await pullThrough(first, 30_000, 1_000);
      expect(all.reached).toBe(true);
      expect(all.events.map((e) => Number(e.cursor))).toEqual(expected);

      // A keepalive cursor from the middle of the backlog, as a client would have kept it.
      const cursor = all.keepalives.find((k) => k > 12_000 && k < 29_000)!;
      expect(cursor).toBeDefined();
      const again = await watch.open(issuerOfA, { kind: "ALL" }, String(cursor));
      try {
        const resumed = await pullThrough(again, 30_000, 1_000);
        expect(resumed.reached).toBe(true);
        expect(resumed.events.map((e) => Number(e.cursor))).toEqual(
          expected.filter((p) => p > cursor),
        );
      } finally {
        await again.return(undefined);
      }
    } finally {
      await first.return(undefined);
      watch.stop();
    }
  });
});

describe("WatchCertificates on a busy server: an idle watch's cursor moves past others' events", () => {
  let h: TestCertmint;
  let alpha: string;
  let beta: string;
  const watches: Watch[] = [];
  const watch = (req: Partial<WatchCertificatesRequest>) => {
    const w = new Watch(h, req);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "100",
      CERTMINT_WATCH_POLL_MS: "20",
    });
    const root = await createRoot(h, "root");
    alpha = (await createProfileRows(h, { slug: "alpha", caId: root.id })).profileId;
    beta = (await createProfileRows(h, { slug: "beta", caId: root.id })).profileId;
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  /**
   * Inserts `n` events in one transaction (as the certificate triggers write them), those at
   * the indexes `onAlpha` on alpha, the others on beta; waits until all are numbered and
   * returns the highest position.
   */
  const insertEvents = async (n: number, onAlpha: number[]): Promise<number> => {
    const rows = await h.db.query<{ id: string }>(
      `insert into certificate_event (type, certificate_id, profile_id)
         select 'EXPIRING', gen_random_uuid(), case when i = any($2::int[]) then $3::uuid else $4::uuid end
           from generate_series(0, $1::int - 1) i order by i returning id`,
      [n, onAlpha, alpha, beta],
    );
    const ids = rows.map((r) => r.id);
    let highest = 0;
    await waitFor(`${n} events numbered`, async () => {
      const [row] = await h.db.query<{ unnumbered: string; highest: string | null }>(
        `select count(*) filter (where position is null) as unnumbered, max(position) as highest
           from certificate_event where id = any($1::bigint[])`,
        [ids],
      );
      highest = Number(row!.highest);
      return Number(row!.unnumbered) === 0;
    });
    return highest;
  };

  const alphaPositions = async (): Promise<number[]> =>
    (
      await h.db.query<{ position: string }>(
        "select position from certificate_event where profile_id = $1 order by position",
        [alpha],
      )
    ).map((r) => Number(r.position));

  it("an idle profile watch's KEEPALIVE cursor passes 25,000 events of another profile", async () => {
    const w = watch({ scope: { $case: "certificateProfile", value: "alpha" } });
    await waitFor("the watch open", () => w.open);
    const last = await insertEvents(25_000, []);
    // Before, the cursor stayed where the watch started: each wake read all 25,000 again.
    await waitFor(
      "a KEEPALIVE past the other profile's events",
      () => w.keepaliveAtOrPast(last) !== undefined || w.error !== undefined,
    );
    expect(w.error).toBeUndefined();
    expect(w.eventCursors()).toEqual([]);
  });

  it("every alpha event among more beta events than one read looks through arrives, in order, once; a reconnect with a KEEPALIVE's cursor gets the later ones", async () => {
    const before = new Set(await alphaPositions());
    const w = watch({ scope: { $case: "certificateProfile", value: "alpha" } });
    await waitFor("the watch open", () => w.open);

    // Each batch ends with beta events: the cursor must move past them without a match.
    const first = await insertEvents(12_000, [0, 5_000, 10_000, 11_000]);
    await waitFor(
      "the watch caught up with the first batch",
      () => w.keepaliveAtOrPast(first) !== undefined,
    );
    const cursor = w.keepaliveAtOrPast(first)!;

    // After the cursor: a run longer than a page, events far apart, and a real issuance.
    const run = Array.from({ length: 150 }, (_, i) => 3_000 + i);
    await insertEvents(12_000, [1, ...run, 11_000]);
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("alpha", {
        cn: "idle.example.com",
        dns: ["idle.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const last = await insertEvents(15_000, [7_000]);

    const expected = (await alphaPositions()).filter((p) => !before.has(p));
    expect(expected).toHaveLength(4 + 152 + 1 + 1);
    await waitFor("the watch caught up", () => w.keepaliveAtOrPast(last) !== undefined);
    expect(w.error).toBeUndefined();
    expect(w.eventCursors()).toEqual(expected);
    expect(
      w.events.find((e) => e.certificate?.id === issued.certificate!.certificateId)?.type,
    ).toBe(T.CERTIFICATE_EVENT_TYPE_ISSUED);

    const resumed = watch({
      scope: { $case: "certificateProfile", value: "alpha" },
      afterCursor: String(cursor),
    });
    await waitFor(
      "the reconnected watch caught up",
      () => resumed.keepaliveAtOrPast(last) !== undefined || resumed.error !== undefined,
    );
    expect(resumed.error).toBeUndefined();
    expect(resumed.eventCursors()).toEqual(expected.filter((p) => p > cursor));
    expect(resumed.eventCursors()).toHaveLength(152 + 1 + 1);
  });

  it("a read's bound stays below the numbers of a sequencer round not yet committed", async () => {
    const events = createStore(h.running.database.orm).events;
    await insertEvents(1, []);
    const round = new Client({ connectionString: h.db.url });
    await round.connect();
    try {
      // A round as `sequence` runs one, stopped before its commit: the sequencer's advisory
      // lock (SEQUENCER_LOCK, "cert" "evnt"; the pump's rounds are "busy" meanwhile), an event
      // numbered from the sequence.
      await round.query("begin");
      await round.query(
        "select pg_advisory_xact_lock($1::int4, $2::int4)",
        [0x63657274, 0x65766e74],
      );
      const [visible] = (
        await round.query<{ head: string }>(`select max(position) as head from certificate_event`)
      ).rows;
      const head = Number(visible!.head);
      const [inFlight] = (
        await round.query<{ position: string }>(
          `insert into certificate_event (type, certificate_id, profile_id, position)
             values ('EXPIRING', gen_random_uuid(), $1, nextval('certificate_event_position_seq'))
           returning position`,
          [alpha],
        )
      ).rows;
      const numbered = Number(inFlight!.position);
      expect(numbered).toBeGreaterThan(head);

      for (const filter of [{}, { profileIds: [alpha] }]) {
        const read = await events.readAfter(head - 1, filter, 100, 10_000);
        // Not the sequence's value: the highest position committed.
        expect(read.through).toBe(head);
        expect(read.more).toBe(false);
        expect(read.events.map((e) => e.position)).toEqual("profileIds" in filter ? [] : [head]);
      }

      await round.query("commit");
      const next = await events.readAfter(head, { profileIds: [alpha] }, 100, 10_000);
      expect(next.events.map((e) => e.position)).toEqual([numbered]);
      expect(next.through).toBe(numbered);
    } finally {
      await round.end();
    }
  });
});
