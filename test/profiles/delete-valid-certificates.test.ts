/**
 * A profile whose certificates are still valid is not deleted without force: deleted, it could
 * renew none of them (by their clients or by the server), and every service on automatic
 * renewal would go down as its certificate expired. Until stop 41 of 2026-12-06 it went at one
 * command (an outside probe). Expired, revoked and renewed certificates do not count.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  call,
  countRows,
  createProfileRows,
  createRoot,
  renewRequest,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";

describe("deleting a profile with valid certificates", () => {
  let h: TestCertmint;
  let rootId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    rootId = (await createRoot(h, "root")).id;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const issueOn = async (profile: string, cn: string) =>
    (await call(h.certificates, "issueCertificate", attrRequest(profile, { cn, dns: [cn] })))
      .certificate!;
  const remove = (profile: string, force: boolean) =>
    call(h.profiles, "deleteCertificateProfile", { certificateProfile: profile, etag: "", force });
  const revoke = (id: string) =>
    call(h.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });

  it("is refused with the count of valid ones; goes once none is left", async () => {
    await createProfileRows(h, { caId: rootId, slug: "live" });
    const a = await issueOn("live", "a.example.com");
    const b = await issueOn("live", "b.example.com");
    const c = await issueOn("live", "c.example.com");
    await revoke(b.certificateId);
    const renewed = (
      await call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: c.certificateId }),
      )
    ).certificate!;

    // a and c's successor are valid; b is revoked, c renewed.
    const err = await rpcError(remove("live", false));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("PROFILE_HAS_CERTIFICATES");
    expect(err.metadata.valid_certificates).toBe("2");
    expect(err.message).toContain("--force");
    expect(await countRows(h, "certificate_profile", "slug = 'live'")).toBe(1);

    // a revoked, c's successor expired: nothing valid is left.
    await revoke(a.certificateId);
    await h.db.query(
      "update certificate set not_before = now() - interval '2 hours', not_after = now() - interval '1 hour' where id = $1",
      [renewed.certificateId],
    );
    await remove("live", false);
    expect(await countRows(h, "certificate_profile", "slug = 'live'")).toBe(0);
    // Its certificates are kept.
    expect(await countRows(h, "certificate", `id = '${a.certificateId}'`)).toBe(1);
  });

  it("goes with force, its valid certificates kept", async () => {
    await createProfileRows(h, { caId: rootId, slug: "forced" });
    const d = await issueOn("forced", "d.example.com");
    await remove("forced", true);
    expect(await countRows(h, "certificate_profile", "slug = 'forced'")).toBe(0);
    expect(await countRows(h, "certificate", `id = '${d.certificateId}'`)).toBe(1);
  });
});
