/**
 * Server-driven renewal of a certificate that ends with its CA (a TRUNCATE profile cut it to the
 * CA's notAfter): no successor could end later, so the renewer records a failed attempt
 * (RENEWAL_WOULD_NOT_EXTEND, a RENEWAL_FAILED event, retried with backoff) and signs nothing.
 * Until stop 40 of 2026-12-05 it renewed it, cut to the same end, whose renewal time had then
 * passed too: a new certificate and key every tick until the CA expired (an outside probe: 57
 * successors of one certificate in the CA's last minute). The clock is the test's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  attrRequest,
  call,
  createProfileRows,
  DAY,
  issue,
  seconds,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

describe("server-driven renewal when the CA ends first", () => {
  let h: TestCertmint;
  const clock = new MovableClock();
  let caNotAfter = 0;

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_RENEWAL_TICK_MS: "50", CERTMINT_RENEWAL_RETRY_SECONDS: "3600" },
      { now: clock.now },
    );
    const root = await call(
      h.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "short",
        subject: { commonName: "Short-lived Root" },
        ttl: seconds(2 * DAY),
      }),
    );
    caNotAfter = root.certificateAuthority!.notAfter!.getTime();
    const { profileId } = await createProfileRows(h, {
      slug: "cut",
      caId: root.certificateAuthority!.id,
      validityOverflow: "TRUNCATE",
    });
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 3600 }, 10 * DAY);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("records RENEWAL_WOULD_NOT_EXTEND and signs nothing", async () => {
    const issued = await issue(
      h,
      attrRequest("cut", { cn: "cut.example.com", dns: ["cut.example.com"] }),
    );
    const id = issued.certificate!.certificateId;
    expect(issued.certificate!.notAfter!.getTime()).toBe(caNotAfter);
    // Past its renewal time (an hour before the CA's end), before the end.
    clock.advance((caNotAfter - Date.now()) / 1000 - 1800);
    await waitFor("the renewer's attempt", async () => {
      const [row] = await h.db.query<{ renewal_state: string | null }>(
        "select renewal_state from certificate where id = $1",
        [id],
      );
      return row?.renewal_state === "FAILED";
    });
    const [row] = await h.db.query<{
      error: { reason?: string } | null;
      renewed_by_id: string | null;
    }>("select renewal_error as error, renewed_by_id from certificate where id = $1", [id]);
    expect(row!.error?.reason).toBe("RENEWAL_WOULD_NOT_EXTEND");
    expect(row!.renewed_by_id).toBeNull();
    const [n] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate where renewed_from_id = $1",
      [id],
    );
    expect(Number(n!.n)).toBe(0);
    const events = await h.db.query<{ type: string }>(
      "select type from certificate_event where certificate_id = $1 and type = 'RENEWAL_FAILED'",
      [id],
    );
    expect(events).toHaveLength(1);
  });
});
