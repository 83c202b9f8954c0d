/**
 * Stop 49: server-driven renewal's outcomes on /metrics (`certmint_automatic_renewals_total` by
 * result), what an operator alerts on when renewals fail. Until stop 49 of 2026-12-06 failures
 * showed per certificate only (GetCertificate, RENEWAL_FAILED events), and the expiry gauge's
 * 7- and 30-day windows say nothing of certificates that live for hours (an outside probe).
 * PostgreSQL, in-process, with a clock the test moves; the counts are read from the endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  ISSUED,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { parseExposition } from "../metrics/prometheus";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

const COUNTER = "certmint_automatic_renewals_total";

describe("automatic renewal outcomes on /metrics", () => {
  let h: TestCertmint;
  const clock = new MovableClock();

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_RENEWAL_TICK_MS: "50",
        CERTMINT_RENEWAL_RETRY_SECONDS: "300",
        CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
      },
      { now: clock.now },
    );
    const root = await createRoot(h, "metrics-auto-root");
    const { profileId } = await createProfileRows(h, { slug: "auto", caId: root.id });
    // TTL 2 minutes, renewed 1 minute before notAfter.
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 60 }, 120);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const counts = async (): Promise<Record<string, number>> => {
    const res = await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const out: Record<string, number> = {};
    for (const s of parseExposition(await res.text()).samples) {
      if (s.name === COUNTER) out[s.labels.result!] = s.value;
    }
    return out;
  };

  const stateOf = async (id: string) =>
    (
      await h.db.query<{ renewal_state: string | null; renewed_by_id: string | null }>(
        "select renewal_state, renewed_by_id from certificate where id = $1",
        [id],
      )
    )[0];

  it("counts a renewal RENEWED, and a certificate that expired unrenewed EXPIRED_BEFORE_RENEWAL", async () => {
    const renewed = await issue(
      h,
      attrRequest("auto", { cn: "counted.example.com", dns: ["counted.example.com"] }),
    );
    expect(renewed.status).toBe(ISSUED);
    const renewedId = renewed.certificate!.certificateId;
    clock.advance(65);
    await waitFor(
      "the certificate renewed",
      async () => (await stateOf(renewedId))?.renewed_by_id != null,
    );
    await waitFor("the RENEWED count", async () => ((await counts()).RENEWED ?? 0) >= 1);
    expect((await counts()).RENEWED).toBe(1);

    // One more, then past its renewal time and its end at once (a server that was down).
    const gap = await issue(
      h,
      attrRequest("auto", { cn: "gap-counted.example.com", dns: ["gap-counted.example.com"] }),
    );
    const gapId = gap.certificate!.certificateId;
    clock.advance(600);
    await waitFor(
      "the expired certificate noted",
      async () => (await stateOf(gapId))?.renewal_state === "FAILED",
    );
    await waitFor(
      "the EXPIRED_BEFORE_RENEWAL count",
      async () => ((await counts()).EXPIRED_BEFORE_RENEWAL ?? 0) >= 1,
    );
    // The renewed certificate's successor expired in the same jump: the counts are what the
    // rows say, however many that made.
    const [rows] = await h.db.query<{ renewed: string; expired: string }>(
      `select (select count(*) from certificate where renewed_by_id is not null) as renewed,
              (select count(*) from certificate_event where type = 'RENEWAL_FAILED'
                  and error->>'reason' = 'EXPIRED_BEFORE_RENEWAL') as expired`,
    );
    await waitFor(
      "the counts to catch up with the rows",
      async () => ((await counts()).EXPIRED_BEFORE_RENEWAL ?? 0) >= Number(rows!.expired),
    );
    const after = await counts();
    expect(Number(rows!.expired)).toBeGreaterThanOrEqual(1);
    expect(after.EXPIRED_BEFORE_RENEWAL).toBe(Number(rows!.expired));
    expect(after.RENEWED).toBe(Number(rows!.renewed));
  });
});
