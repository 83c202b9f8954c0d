/**
 * Clocks that step (review of 2026-12): NTP steps a server's wall clock by minutes in either
 * direction, a VM resumes behind, and PostgreSQL's clock (another host) disagrees with the
 * server's. The server runs in process with its wall clock (`now`, the seam every use case
 * reads) moved by the test; durations run on the monotonic clock, as they should.
 */
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

describe("clock steps", () => {
  let h: TestCertmint | undefined;
  const clients: Client[] = [];
  /** The server's wall clock: the system's, moved by `offsetMs`. */
  const clock = { offsetMs: 0 };
  const now = () => new Date(Date.now() + clock.offsetMs);
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end();
    await h?.stop();
    h = undefined;
    clock.offsetMs = 0;
  });

  const getCrl = (caId: string) =>
    call(h!.authorities, "getCertificateRevocationList", {
      certificateAuthority: caId,
      encoding: 0,
      knownCrlNumber: "",
    });

  it("a cached CRL is not served past its nextUpdate once the wall clock steps forward", async () => {
    // A cache period far longer than the step (it runs on the monotonic clock), a CRL
    // validity shorter than it.
    h = await startTestCertmint(
      { CERTMINT_CRL_CACHE_SECONDS: "86400", CERTMINT_CRL_VALIDITY_SECONDS: "600" },
      { now },
    );
    const ca = (await createRoot(h, "step-root")).id;
    const first = await getCrl(ca);
    expect((await getCrl(ca)).crlNumber).toBe(first.crlNumber);
    // NTP corrects a clock that ran an hour behind: the cached CRL's nextUpdate (10 minutes
    // after its thisUpdate) is now past, and relying parties would refuse it as expired.
    clock.offsetMs = 3_600_000;
    const next = await getCrl(ca);
    expect(BigInt(next.crlNumber)).toBeGreaterThan(BigInt(first.crlNumber));
    expect(next.nextUpdate!.getTime()).toBeGreaterThan(now().getTime());
  });

  it("after the wall clock steps back, a fetcher holding the CRL signed before the step gets the newer one, not 304", async () => {
    const port = await unusedPort();
    // The clock ran 10 minutes ahead; every fetch signs a CRL (period 0), as the first fetch
    // after a revocation does.
    clock.offsetMs = 10 * 60_000;
    h = await startTestCertmint(
      { CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`, CERTMINT_CRL_CACHE_SECONDS: "0" },
      { now },
    );
    const url = `http://127.0.0.1:${port}/crl/${(await createRoot(h, "step-back-root")).id}.crl`;
    const held = await fetch(url);
    expect(held.status).toBe(200);
    const lastModified = held.headers.get("last-modified")!;
    await held.arrayBuffer();
    // NTP steps it back: the next CRL (a higher cRLNumber, it may list a new revocation) has an
    // earlier thisUpdate than the one held.
    clock.offsetMs = 0;
    const res = await fetch(url, { headers: { "if-modified-since": lastModified } });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).not.toBe(held.headers.get("etag"));
    expect(new Date(res.headers.get("last-modified")!).getTime()).toBeLessThan(
      new Date(lastModified).getTime(),
    );
    await res.arrayBuffer();
  });

  it("events are aged by PostgreSQL's clock: a server clock ahead of it does not delete them unread", async () => {
    // The server's clock 10 minutes ahead of PostgreSQL's, the shortest retention allowed.
    clock.offsetMs = 10 * 60_000;
    h = await startTestCertmint(
      { CERTMINT_WATCH_RETENTION_SECONDS: "60", CERTMINT_WATCH_POLL_MS: "20" },
      { now },
    );
    const session = new Client({ connectionString: h.db.url });
    await session.connect();
    clients.push(session);
    // Written as the database's triggers write them: created_at is the database's clock.
    const insertEvent = () =>
      session
        .query<{ id: string }>(
          `insert into certificate_event (type, certificate_id) values ('EXPIRING', gen_random_uuid()) returning id`,
        )
        .then((r) => r.rows[0]!.id);
    const row = (id: string) =>
      session
        .query<{ position: string | null }>(
          "select position from certificate_event where id = $1",
          [id],
        )
        .then((r) => r.rows[0]);
    // Numbered (or, as before the fix, numbered and deleted in the same round).
    const handled = async (id: string) => {
      const r = await row(id);
      return r === undefined || r.position !== null;
    };
    const first = await insertEvent();
    await waitFor("the event numbered", () => handled(first));
    // Rounds run one after another, each numbering then pruning: once a later event is
    // numbered, the round that numbered the first has pruned too.
    const second = await insertEvent();
    await waitFor("a later round", () => handled(second));
    expect(await row(first)).toBeDefined();
    const [horizon] = (
      await session.query<{ position: string }>(
        `select position from certificate_event_horizon where id = 1`,
      )
    ).rows;
    expect(Number(horizon?.position ?? 0)).toBe(0);
  });

  it("a server clock minutes off PostgreSQL's shows in a gauge and one warning, and one line when it agrees again", async () => {
    clock.offsetMs = 5 * 60_000; // this server runs 5 minutes ahead of the database
    h = await startTestCertmint(
      { CERTMINT_METRICS_LISTEN: "127.0.0.1:0", CERTMINT_DATABASE_PROBE_INTERVAL_MS: "50" },
      { now },
    );
    const base = `http://127.0.0.1:${h.running.metricsPort}`;
    const skew = async () =>
      sampleValue(
        parseExposition(await (await fetch(`${base}/metrics`)).text()),
        "certmint_database_clock_skew_seconds",
      );
    const warnings = () =>
      h!.logs.filter((l) => String(l.msg).startsWith("this server's clock is ahead of"));
    // The first probe's reading: the gauge reads 0 until one (an unlabelled gauge has a value).
    await waitFor("the warning", () => warnings().length > 0);
    expect(warnings()[0]).toMatchObject({ level: 40 });
    // Database minus server: 5 minutes behind this server, to within a probe's round trip.
    expect(Math.abs((await skew())! + 300)).toBeLessThan(5);
    // Later probes (each reading differs by its round trip) warn no more.
    for (let i = 0; i < 3; i++) {
      const seen = await skew();
      await waitFor("another probe", async () => (await skew()) !== seen);
    }
    expect(warnings()).toHaveLength(1);
    clock.offsetMs = 0;
    await waitFor("the clocks agree again", async () => Math.abs((await skew())!) < 5);
    await waitFor("the line saying so", () =>
      h!.logs.some((l) => l.msg === "this server's clock agrees with the database's again"),
    );
    expect(warnings()).toHaveLength(1);
  });
});
