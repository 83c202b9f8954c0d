/**
 * Clocks that step (review of 2026-12): NTP steps a server's wall clock by minutes in either
 * direction, a VM resumes behind, and PostgreSQL's clock (another host) disagrees with the
 * server's. The server runs in process with its wall clock (`now`, the seam every use case
 * reads) moved by the test; durations run on the monotonic clock, as they should. The tests of
 * call deadlines move Date.now() itself too (vi.spyOn), by which grpc-js dates a deadline.
 */
import { connect } from "node:http2";
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { IssueCertificateResponse } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { createProfileRows, createRoot } from "../support/fixtures";
import { gatedRsa } from "../support/gated-keygen";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { crlFields, opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

describe("clock steps", () => {
  let h: TestCertmint | undefined;
  const clients: Client[] = [];
  /** The server's wall clock: the system's, moved by `offsetMs`. */
  const clock = { offsetMs: 0 };
  const now = () => new Date(Date.now() + clock.offsetMs);
  afterEach(async () => {
    vi.restoreAllMocks();
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
    // NTP steps it back: the next CRL (a higher cRLNumber, it may list a new revocation) keeps
    // the thisUpdate of the one held (until 2026-12-04 it was earlier), so the two share their
    // Last-Modified, and the date validates neither.
    clock.offsetMs = 0;
    const res = await fetch(url, { headers: { "if-modified-since": lastModified } });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).not.toBe(held.headers.get("etag"));
    expect(res.headers.get("last-modified")).toBe(lastModified);
    await res.arrayBuffer();
  });

  it("after the wall clock steps back, a CA's next CRL has a higher number and a thisUpdate no earlier than the last", async () => {
    const tmp = new TempDir();
    try {
      // The clock ran 10 minutes ahead when the CA's CRL was signed.
      clock.offsetMs = 10 * 60_000;
      h = await startTestCertmint({ CERTMINT_CRL_VALIDITY_SECONDS: "3600" }, { now });
      const root = await createRoot(h, "back-root");
      const { slug } = await createProfileRows(h, { slug: "back-web", caId: root.id });
      const { certificate } = await call(
        h.certificates,
        "issueCertificate",
        generatedKeyRequest(slug, "back.example.com"),
      );
      const before = crlFields(tmp, (await getCrl(root.id)).crlPem);
      // NTP steps it back; a revocation makes the next fetch sign a new CRL.
      clock.offsetMs = 0;
      await call(h.certificates, "revokeCertificate", {
        certificate: certificate!.certificateId,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      });
      const crl = await getCrl(root.id);
      const after = crlFields(tmp, crl.crlPem);
      // Read from the CRL as openssl parses it, not from the response's fields.
      expect(after.number).toBeGreaterThan(before.number);
      // Until 2026-12-04 it was 10 minutes earlier: relying parties that keep the newest CRL
      // by thisUpdate kept the one without the revocation.
      expect(after.last.getTime()).toBeGreaterThanOrEqual(before.last.getTime());
      expect(after.next.getTime() - after.last.getTime()).toBe(3_600_000);
      const text = opensslOk(["crl", "-noout", "-text", "-in", tmp.file("t.crl", crl.crlPem)]);
      expect(text).toContain(`Serial Number: ${certificate!.serialNumber.toUpperCase()}`);
    } finally {
      tmp.remove();
    }
  });

  it("two CRLs of a CA signed in one second share a Last-Modified that then validates neither; the next second's does", async () => {
    const port = await unusedPort();
    // A wall clock that stands still: every CRL below is signed in its second, whatever the
    // machine's speed, until the test moves it.
    const at = { ms: Math.floor(Date.now() / 1000) * 1000 };
    // A cache period no test run reaches: a CRL is signed again only after a revocation.
    h = await startTestCertmint(
      { CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`, CERTMINT_CRL_CACHE_SECONDS: "86400" },
      { now: () => new Date(at.ms) },
    );
    const root = await createRoot(h, "second-root");
    const { slug } = await createProfileRows(h, { slug: "second-web", caId: root.id });
    const url = `http://127.0.0.1:${port}/crl/${root.id}.crl`;
    const revokeOne = async (name: string) => {
      const { certificate } = await call(
        h!.certificates,
        "issueCertificate",
        generatedKeyRequest(slug, name),
      );
      await call(h!.certificates, "revokeCertificate", {
        certificate: certificate!.certificateId,
        reason: RevocationReason.REVOCATION_REASON_UNSPECIFIED,
      });
    };
    const fetchCrl = async (headers: Record<string, string> = {}) => {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      return res;
    };
    const held = await fetchCrl();
    const lastModified = held.headers.get("last-modified")!;
    // The CRL is cached: its own date validates it.
    expect((await fetchCrl({ "if-modified-since": lastModified })).status).toBe(304);
    // A revocation in the same second: the next CRL has the same thisUpdate.
    await revokeOne("same-second.example.com");
    const next = await fetchCrl({ "if-modified-since": lastModified });
    expect(next.status).toBe(200);
    expect(next.headers.get("etag")).not.toBe(held.headers.get("etag"));
    expect(next.headers.get("last-modified")).toBe(lastModified);
    // Its date names two CRLs: a fetcher holding either gets the full answer by date, and a
    // 304 by its entity tag (the cRLNumber).
    expect((await fetchCrl({ "if-modified-since": lastModified })).status).toBe(200);
    expect((await fetchCrl({ "if-none-match": next.headers.get("etag")! })).status).toBe(304);
    // A CRL signed in a later second has a date of its own again.
    at.ms += 1000;
    await revokeOne("next-second.example.com");
    const later = await fetchCrl();
    expect(later.status).toBe(200);
    const laterModified = later.headers.get("last-modified")!;
    expect(new Date(laterModified).getTime()).toBe(at.ms);
    expect((await fetchCrl({ "if-modified-since": laterModified })).status).toBe(304);
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

  it("a call's deadline is a duration: the wall clock stepped forward an hour during the call does not end it", async () => {
    // The whole wall clock of this process: Date.now() (grpc-js dates the deadline by it as
    // the call arrives) and the server's `now`, which reads it.
    const realNow = Date.now.bind(Date);
    let stepMs = 0;
    vi.spyOn(Date, "now").mockImplementation(() => realNow() + stepMs);
    const gate = gatedRsa();
    h = await startTestCertmint(
      {},
      { now: () => new Date(Date.now()), generateRsa: gate.generateRsa },
    );
    const root = await createRoot(h, "deadline-root");
    const { slug } = await createProfileRows(h, { slug: "deadline-web", caId: root.id });
    const request = generatedKeyRequest(slug, "deadline.example.com", {
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    });
    // Seconds of deadline (enough for a busy machine), far less than the step; the key is held
    // until the step.
    const issued = new Promise<IssueCertificateResponse>((resolve, reject) =>
      h!.certificates.issueCertificate(
        request,
        new Metadata(),
        { deadline: Date.now() + 30_000 },
        (err: ServiceError | null, res: IssueCertificateResponse) =>
          err ? reject(err) : resolve(res),
      ),
    );
    await waitFor("the call's key generation", () => gate.started.length === 1);
    // NTP corrects a clock that ran an hour behind while the call waits for its key. Until
    // 2026-12-04 the call was then refused DEADLINE_EXCEEDED before signing: its deadline, a
    // wall-clock time, was an hour past by the new clock.
    stepMs = 3_600_000;
    gate.started[0]!.release();
    const res = await issued;
    expect(res.certificate?.serialNumber).toBeTruthy();
  });

  it("a call's deadline is taken as its headers arrive: the wall clock stepped forward while its request arrives does not refuse it", async () => {
    const realNow = Date.now.bind(Date);
    let stepMs = 0;
    vi.spyOn(Date, "now").mockImplementation(() => realNow() + stepMs);
    h = await startTestCertmint({}, { now: () => new Date(Date.now()) });
    const session = connect(`http://${h.address}`);
    session.on("error", () => undefined);
    try {
      await new Promise((resolve) => session.once("connect", resolve));
      const stream = session.request({
        ":method": "POST",
        ":path": "/certmint.v1.CertificateAuthorityService/ListCertificateAuthorities",
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${h.adminToken}`,
        "grpc-timeout": "30S",
      });
      stream.on("error", () => undefined);
      // The call's status: in the trailers, or in the headers of a trailers-only answer.
      const ended = new Promise<Record<string, unknown>>((resolve) => {
        stream.once("response", (r) => {
          if (r["grpc-status"] !== undefined) resolve(r);
        });
        stream.once("trailers", (t) => resolve(t));
      });
      stream.resume();
      // A message of two bytes (page_size 10), all but its last byte sent.
      const message = Buffer.from([0, 0, 0, 0, 2, 0x08, 0x0a]);
      stream.write(message.subarray(0, 6));
      // The server reads frames in order: once it answers a PING sent after the headers,
      // grpc-js has taken the call, and dated its deadline by the wall clock then.
      await new Promise<void>((resolve, reject) =>
        session.ping((err) => (err ? reject(err) : resolve())),
      );
      // NTP steps the clock forward an hour before the rest of the request arrives. Until
      // 2026-12-04 the deadline was converted when the handler started, once the whole message
      // had arrived: by the stepped clock it had passed an hour ago, and the call was refused
      // at once (DEADLINE_EXCEEDED).
      stepMs = 3_600_000;
      stream.end(message.subarray(6));
      const status = await ended;
      expect(status["grpc-status"], String(status["grpc-message"])).toBe("0");
    } finally {
      session.destroy();
    }
  });
});
