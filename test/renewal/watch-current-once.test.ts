/**
 * A watch of a certificate's lineage opened right after the certificate was stored, before the
 * sequencer numbered its event, sends it once: as CURRENT (with its key, to the owner), and not
 * again as ISSUED (or RENEWED) when the event is numbered; a KEEPALIVE at that event's cursor
 * goes in its place, so a reconnect with the last cursor received starts past it. Until stop 40
 * of 2026-12-05 the stream sent it twice, key included both times (an outside probe, F8).
 *
 * Held deterministically: the test's own session holds the sequencer's advisory lock, so a
 * certificate is committed with its event unnumbered while the watches open, then lets go.
 * Profile watches (no CURRENT) and a stream resumed from CURRENT's cursor get the event once.
 * On PostgreSQL, in-process.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  RenewalKeySource,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  KeyAlgorithm,
  Role,
  renewRequest,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;
const METHOD = "/certmint.v1.CertificateService/WatchCertificates";

/** The sequencer's advisory lock (src/store/repositories/certificate-events.ts SEQUENCER_LOCK). */
const SEQUENCER_LOCK = [0x63657274, 0x65766e74] as const;

describe("WatchCertificates: the certificate sent as CURRENT is not sent again", () => {
  let h: TestCertmint;
  let issuer: { id: string; clients: CertmintClients };
  let holder: Client;
  const watches: Watch[] = [];
  const watch = (req: Partial<WatchCertificatesRequest>) => {
    const w = new Watch(issuer.clients, req);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "60000",
      CERTMINT_WATCH_POLL_MS: "20",
    });
    const root = await createRoot(h, "root");
    // Keys kept with the certificate: every CURRENT, ISSUED and RENEWED event carries it to
    // the owner.
    const { profileId } = await createProfileRows(h, {
      slug: "kept",
      caId: root.id,
      privateKeyRetention: "STORE_ENCRYPTED",
    });
    issuer = await createToken(h, "kept-issuer", Role.ROLE_ISSUER, [profileId]);
    holder = new Client({ connectionString: h.db.url });
    await holder.connect();
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await holder?.end();
    await h?.stop();
  });

  /** Holds the sequencer back: events are written and committed, and not numbered. */
  const holdSequencer = async () => {
    await holder.query("begin");
    await holder.query("select pg_advisory_xact_lock($1::int4, $2::int4)", [...SEQUENCER_LOCK]);
  };
  const releaseSequencer = () => holder.query("commit");

  /** The event of a certificate's issuance: its type and position (null: not numbered yet). */
  const issuanceEvent = async (certificateId: string) => {
    const rows = await h.db.query<{ type: string; position: string | null }>(
      `select type, position from certificate_event
        where certificate_id = $1 and type in ('ISSUED', 'RENEWED')`,
      [certificateId],
    );
    expect(rows).toHaveLength(1);
    return { type: rows[0]!.type, position: rows[0]!.position };
  };
  const numbered = async (certificateId: string) => {
    let position = 0;
    await waitFor(`the event of ${certificateId} numbered`, async () => {
      const p = (await issuanceEvent(certificateId)).position;
      position = Number(p);
      return p !== null;
    });
    return position;
  };
  /** Waits until `w` has read through `position`: it sent a message at that cursor or past. */
  const readThrough = (w: Watch, position: number, what: string) =>
    waitFor(`${what} to read through ${position}`, () =>
      w.events.some((e) => Number(e.cursor) >= position),
    );
  const handoutsOf = async (certificateId: string) =>
    (
      await call(h.audit, "listAuditRecords", {
        pageSize: 1000,
        pageToken: "",
        actor: "",
        method: METHOD,
        resourceType: "",
        resourceId: "",
        failuresOnly: false,
      })
    ).auditRecords.filter((r) => r.resourceId === certificateId && r.actor === issuer.id);
  const withKey = (w: Watch, id: string) =>
    w.events.filter((e) => e.certificate?.id === id && e.privateKeyPem !== "");

  let issuedId = "";
  let afterCurrent = 0;

  it("a watch opened before the issuance's event is numbered gets the certificate once, as CURRENT", async () => {
    await holdSequencer();
    let lineage: Watch;
    let profile: Watch;
    let current: Watch["events"][number];
    try {
      const issued = await call(
        issuer.clients.certificates,
        "issueCertificate",
        attrRequest("kept", {
          cn: "once.example.com",
          dns: ["once.example.com"],
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      );
      issuedId = issued.certificate!.certificateId;
      // Committed, not numbered: the state a watch opened at once after IssueCertificate finds.
      expect(await issuanceEvent(issuedId)).toEqual({ type: "ISSUED", position: null });

      lineage = watch({ scope: { $case: "certificateId", value: issuedId } });
      profile = watch({ scope: { $case: "certificateProfile", value: "kept" } });
      await waitFor("the CURRENT event", () => lineage.events.length > 0);
      await waitFor("the profile watch open", () => profile.open);
      current = lineage.events[0]!;
      expect(current.type).toBe(T.CERTIFICATE_EVENT_TYPE_CURRENT);
      expect(current.certificate!.id).toBe(issuedId);
      expect(current.privateKeyPem).toContain("BEGIN PRIVATE KEY");
      expect(await issuanceEvent(issuedId)).toEqual({ type: "ISSUED", position: null });
    } finally {
      await releaseSequencer();
    }
    const position = await numbered(issuedId);
    expect(position).toBeGreaterThan(Number(current.cursor));
    afterCurrent = Number(current.cursor);

    await readThrough(lineage, position, "the lineage watch");
    await waitFor("the profile watch's ISSUED", () =>
      profile.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(issuedId),
    );
    // Once: CURRENT, then in place of its ISSUED event a KEEPALIVE at that event's cursor.
    expect(lineage.seen()).toEqual([[T.CERTIFICATE_EVENT_TYPE_CURRENT, issuedId]]);
    expect(lineage.of(T.CERTIFICATE_EVENT_TYPE_ISSUED)).toEqual([]);
    expect(lineage.keepaliveAtOrPast(position)).toBe(position);
    expect(withKey(lineage, issuedId)).toHaveLength(1);
    // A profile watch has no CURRENT: the ISSUED event, with the key, once.
    expect(profile.seen()).toEqual([[T.CERTIFICATE_EVENT_TYPE_ISSUED, issuedId]]);
    expect(withKey(profile, issuedId)).toHaveLength(1);
    // One handout recorded per key sent: the lineage watch's CURRENT and the profile watch's.
    expect(await handoutsOf(issuedId)).toHaveLength(2);
  });

  it("resumes after CURRENT's cursor with the event, and after the KEEPALIVE's without it", async () => {
    const lineage = watches[0]!;
    const keepalive = lineage.keepaliveAtOrPast(afterCurrent + 1);
    expect(keepalive).toBeDefined();
    // From CURRENT's cursor: every later event once, this certificate's ISSUED among them.
    const fromCurrent = watch({
      scope: { $case: "certificateId", value: issuedId },
      afterCursor: String(afterCurrent),
    });
    // From the last cursor the first stream sent: nothing of it again.
    const fromKeepalive = watch({
      scope: { $case: "certificateId", value: issuedId },
      afterCursor: String(keepalive),
    });
    await waitFor("the resumed watch's ISSUED", () => fromCurrent.events.length > 0);
    await waitFor("the other resumed watch open", () => fromKeepalive.open);

    // A renewal: both resumed streams and the first one get its RENEWED event, once.
    const renewed = await call(
      issuer.clients.certificates,
      "renewCertificate",
      renewRequest({
        certificateId: issuedId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );
    const successorId = renewed.certificate!.certificateId;
    const position = await numbered(successorId);
    for (const [w, what] of [
      [lineage, "the first watch"],
      [fromCurrent, "the watch resumed from CURRENT"],
      [fromKeepalive, "the watch resumed from the KEEPALIVE"],
    ] as const) {
      await readThrough(w, position, what);
    }
    expect(fromCurrent.seen()).toEqual([
      [T.CERTIFICATE_EVENT_TYPE_ISSUED, issuedId],
      [T.CERTIFICATE_EVENT_TYPE_RENEWED, successorId],
    ]);
    expect(fromKeepalive.seen()).toEqual([[T.CERTIFICATE_EVENT_TYPE_RENEWED, successorId]]);
    expect(lineage.seen()).toEqual([
      [T.CERTIFICATE_EVENT_TYPE_CURRENT, issuedId],
      [T.CERTIFICATE_EVENT_TYPE_RENEWED, successorId],
    ]);
    expect(withKey(lineage, successorId)).toHaveLength(1);
  });

  it("a watch opened before a renewal's event is numbered gets the successor once, as CURRENT", async () => {
    const start = await call(
      issuer.clients.certificates,
      "issueCertificate",
      attrRequest("kept", {
        cn: "renewed-once.example.com",
        dns: ["renewed-once.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const startId = start.certificate!.certificateId;
    await numbered(startId);
    await holdSequencer();
    let lineage: Watch;
    let successorId = "";
    try {
      const renewed = await call(
        issuer.clients.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: startId,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
        }),
      );
      successorId = renewed.certificate!.certificateId;
      expect(await issuanceEvent(successorId)).toEqual({ type: "RENEWED", position: null });
      // A watch of the first certificate: its lineage's newest is the successor.
      lineage = watch({ scope: { $case: "certificateId", value: startId } });
      await waitFor("the CURRENT event", () => lineage.events.length > 0);
      expect(lineage.seen()).toEqual([[T.CERTIFICATE_EVENT_TYPE_CURRENT, successorId]]);
    } finally {
      await releaseSequencer();
    }
    const position = await numbered(successorId);
    await readThrough(lineage, position, "the lineage watch");
    expect(lineage.seen()).toEqual([[T.CERTIFICATE_EVENT_TYPE_CURRENT, successorId]]);
    expect(lineage.keepaliveAtOrPast(position)).toBe(position);
    expect(withKey(lineage, successorId)).toHaveLength(1);
  });
});
