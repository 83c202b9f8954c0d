/**
 * A watch started without a cursor holds one from its first message: a KEEPALIVE at the position
 * it starts from (a lineage watch: its CURRENT). Until stop 43 of 2026-12-06 a profile or global
 * watch got its first cursor with its first event or its first KEEPALIVE
 * (CERTMINT_WATCH_KEEPALIVE_MS, 30 s by default); a stream ended before then (a server restart,
 * whose message says "reconnect with the last cursor") had nothing to resume from, and the
 * certificates issued meanwhile never reached it (an outside probe). Here the keepalive period is
 * ten minutes, so only the start's KEEPALIVE can give the cursor the test waits for.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateEventType } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;

describe("a watch without a cursor", () => {
  let h: TestCertmint;
  const watches: Watch[] = [];
  const watch = (req: ConstructorParameters<typeof Watch>[1]) => {
    const w = new Watch(h.clientsAs(h.adminToken), req);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_WATCH_KEEPALIVE_MS: "600000",
      CERTMINT_WATCH_POLL_MS: "50",
    });
    const ca = await createRoot(h);
    await createProfileRows(h, { caId: ca.id });
  }, 60_000);
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  it.each([
    ["of a profile", { scope: { $case: "certificateProfile" as const, value: "web" } }],
    ["of everything the token sees", {}],
  ])(
    "%s gets a KEEPALIVE with its starting cursor first, and resumes from it after a gap with every certificate issued meanwhile",
    async (_what, scope) => {
      // Issued, and its event numbered, before the watch: the watch's cursor lies past it, so a
      // resume does not send it (a cursor of "0" would).
      const before = (await issue(h, attrRequest("web", { cn: "before.example.com" }))).certificate!
        .certificateId;
      await waitFor("its event to be numbered", async () => {
        const rows = await h.db.query<{ n: string }>(
          `select count(*) as n from certificate_event where certificate_id = $1 and "position" is not null`,
          [before],
        );
        return rows[0]!.n === "1";
      });
      const first = watch(scope);
      await waitFor("the watch's first message", () => first.events.length > 0);
      const [start] = first.events;
      expect(start!.type).toBe(T.CERTIFICATE_EVENT_TYPE_KEEPALIVE);
      expect(start!.certificate).toBeUndefined();
      expect(start!.cursor).toMatch(/^\d+$/);
      first.cancel();

      // Issued while no stream is open (as during a restart).
      const ids: string[] = [];
      for (const cn of ["gap-1.example.com", "gap-2.example.com", "gap-3.example.com"]) {
        ids.push((await issue(h, attrRequest("web", { cn }))).certificate!.certificateId);
      }

      const resumed = watch({ ...scope, afterCursor: start!.cursor });
      await waitFor("the gap's certificates", () =>
        ids.every((id) => resumed.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(id)),
      );
      const delivered = resumed.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED);
      for (const id of ids) expect(delivered.filter((d) => d === id)).toHaveLength(1);
      expect(delivered).not.toContain(before);
      resumed.cancel();
    },
  );

  it("of one certificate starts with its CURRENT, as before (no KEEPALIVE ahead of it)", async () => {
    const id = (await issue(h, attrRequest("web", { cn: "lineage.example.com" }))).certificate!
      .certificateId;
    const w = watch({ scope: { $case: "certificateId", value: id } });
    await waitFor("the CURRENT", () => w.events.length > 0);
    expect(w.events[0]!.type).toBe(T.CERTIFICATE_EVENT_TYPE_CURRENT);
    expect(w.events[0]!.certificate?.id).toBe(id);
    w.cancel();
  });
});
