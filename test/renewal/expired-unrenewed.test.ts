/**
 * A certificate of an auto_renew profile that expires before anything renewed it (certmint, or
 * its database, down through its renewal time and its end): the renewer, which renews only
 * valid certificates, marks it FAILED (EXPIRED_BEFORE_RENEWAL) and sends one RENEWAL_FAILED
 * event, so watchers learn the lineage stopped. Until stop 40 of 2026-12-05 it stayed IDLE with
 * no event (an outside probe paused the server past both times). The clock jumps past both at
 * once, as it does for a server that was down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  getCert,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

describe("a certificate that expired before its renewal", () => {
  let h: TestCertmint;
  const clock = new MovableClock();

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_RENEWAL_TICK_MS: "50" }, { now: clock.now });
    const root = await createRoot(h, "root");
    const { profileId } = await createProfileRows(h, { slug: "auto", caId: root.id });
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 60 }, 120);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is marked FAILED with one RENEWAL_FAILED event, not renewed, and stays renewable by hand", async () => {
    const issued = await issue(
      h,
      attrRequest("auto", { cn: "gap.example.com", dns: ["gap.example.com"] }),
    );
    const id = issued.certificate!.certificateId;
    clock.advance(600);
    await waitFor("the renewer to note the expired certificate", async () => {
      const [row] = await h.db.query<{ renewal_state: string | null }>(
        "select renewal_state from certificate where id = $1",
        [id],
      );
      return row?.renewal_state === "FAILED";
    });
    const events = await h.db.query<{ type: string; error: { reason?: string } | null }>(
      "select type, error from certificate_event where certificate_id = $1 order by id",
      [id],
    );
    expect(events.filter((e) => e.type === "RENEWAL_FAILED")).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ reason: "EXPIRED_BEFORE_RENEWAL" }),
      }),
    ]);
    const cert = await getCert(h, id);
    expect(cert.renewalState).toBe(CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_FAILED);
    expect(cert.renewedByCertificateId).toBe("");
    // Later ticks do not tell it again: a second certificate noted after it proves they ran.
    const second = await issue(
      h,
      attrRequest("auto", { cn: "gap2.example.com", dns: ["gap2.example.com"] }),
    );
    const secondId = second.certificate!.certificateId;
    clock.advance(600);
    await waitFor("the renewer to note the second certificate", async () => {
      const [row] = await h.db.query<{ renewal_state: string | null }>(
        "select renewal_state from certificate where id = $1",
        [secondId],
      );
      return row?.renewal_state === "FAILED";
    });
    const [again] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate_event where certificate_id = $1 and type = 'RENEWAL_FAILED'",
      [id],
    );
    expect(Number(again!.n)).toBe(1);
  });
});
