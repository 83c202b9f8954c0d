/**
 * The server-driven renewer's request_ids (`certmint-auto-renewal:<certificate>:<attempt>`) are
 * its own: a caller may replay one the renewer recorded in its name, never record one first.
 * Until stop 60 of 2026-12-08 an owner could plant the id of the renewer's next attempt (an
 * outside probe, F3): the renewer's attempt then failed REQUEST_ID_REUSED and the certificate's
 * renewal state went FAILED.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRenewalState } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  getCert,
  ISSUED,
  issue,
  renewRequest,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";
import { autoRenew, MovableClock } from "./helpers";

describe("request_ids reserved for server-driven renewals", () => {
  let h: TestCertmint;
  const clock = new MovableClock();

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_RENEWAL_TICK_MS: "50", CERTMINT_RENEWAL_RETRY_SECONDS: "300" },
      { now: clock.now },
    );
    const rootId = (await createRoot(h, "reserved-root")).id;
    const { profileId } = await createProfileRows(h, { slug: "reserved", caId: rootId });
    await autoRenew(h.db, profileId, { renewBeforeSeconds: 60 }, 120);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const requestsNamed = (requestId: string) =>
    countRows(h, "certificate_request", `request_id = '${requestId}'`);

  it("an owner cannot plant the renewer's next request_id; it replays the one the renewer used", async () => {
    const first = await issue(
      h,
      attrRequest("reserved", { cn: "planted.example.com", dns: ["planted.example.com"] }),
    );
    expect(first.status).toBe(ISSUED);
    const id = first.certificate!.certificateId;
    const renewersId = `certmint-auto-renewal:${id}:0`;

    // The owner (the same token the certificate was issued to) tries to record it first: as a
    // renewal, as a dry run, and as an issuance. Each is refused on the field, with nothing
    // recorded.
    const renewal = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: id, requestId: renewersId }),
      ),
    );
    expect(renewal.code).toBe(Code.INVALID_ARGUMENT);
    expect(renewal.reason).toBe("REQUEST_ID_RESERVED");
    expect(renewal.violations.map((v) => v.field)).toEqual(["request_id"]);
    expect(renewal.message).toContain("choose another request_id");
    const dryRun = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: id, requestId: renewersId, validateOnly: true }),
      ),
    );
    expect(dryRun.reason).toBe("REQUEST_ID_RESERVED");
    const issuance = await rpcError(
      issue(h, {
        ...attrRequest("reserved", { cn: "other.example.com", dns: ["other.example.com"] }),
        requestId: "certmint-auto-renewal:anything",
      }),
    );
    expect(issuance.code).toBe(Code.INVALID_ARGUMENT);
    expect(issuance.reason).toBe("REQUEST_ID_RESERVED");
    expect(await requestsNamed(renewersId)).toBe(0);
    expect(await requestsNamed("certmint-auto-renewal:anything")).toBe(0);
    expect(await countRows(h, "certificate", `renewed_from_id = '${id}'`)).toBe(0);

    // The renewer's attempt 0 is not disturbed: it renews the certificate.
    clock.advance(65);
    await waitFor(
      "the server to renew the certificate",
      async () =>
        (await getCert(h, id)).renewalState ===
        CertificateRenewalState.CERTIFICATE_RENEWAL_STATE_RENEWED,
    );
    const [successor] = await h.db.query<{ id: string }>(
      "select id from certificate where renewed_from_id = $1",
      [id],
    );
    expect(successor).toBeDefined();

    // Now the owner's call with that request_id is a replay of the renewer's request: the same
    // successor, nothing more stored.
    const replayed = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({ certificateId: id, requestId: renewersId }),
    );
    expect(replayed.certificate!.certificateId).toBe(successor!.id);
    expect(await requestsNamed(renewersId)).toBe(1);
    expect(await countRows(h, "certificate", `renewed_from_id = '${id}'`)).toBe(1);
  });
});
