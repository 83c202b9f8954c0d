/**
 * A repeated request_id (a replay: the same answer, nothing issued) is audited like any mutating
 * call, and its record names the certificate request it answered. Until stop 60 of 2026-12-08
 * that record named no resource (an outside probe): audit rows of IssueCertificate outnumbered
 * certificates, and a replay could not be tied to the certificate it returned.
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

describe("the audit record of a replay", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
    const rootId = (await createRoot(h, "replay-audit-root")).id;
    await createProfileRows(h, { slug: "replay-audit", caId: rootId });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("names the certificate request the replay answered", async () => {
    const request = {
      ...attrRequest("replay-audit", { cn: "replay.example.com", dns: ["replay.example.com"] }),
      requestId: "stop60-replay-audit",
    };
    const first = await issue(h, request);
    expect(first.status).toBe(ISSUED);
    const again = await issue(h, request);
    expect(again.certificate!.certificateId).toBe(first.certificate!.certificateId);

    const records = await h.db.query<{ resource_type: string; resource_id: string }>(
      `select resource_type, resource_id from audit_record
        where method = '/certmint.v1.CertificateService/IssueCertificate' and status_code = 0
        order by created_at`,
    );
    expect(records).toHaveLength(2);
    for (const r of records) {
      expect(r).toEqual({
        resource_type: "certificate_request",
        resource_id: first.certificateRequestId,
      });
    }
  });
});
