/**
 * A hold is made final only with an explicit reason: RevokeCertificate without one (UNSPECIFIED,
 * the proto's default and `certmint cert revoke`'s) on a certificate on hold is
 * FAILED_PRECONDITION REVOCATION_REASON_REQUIRED and changes nothing (its row, its CA's
 * revocation count, no event, the refusal recorded), so a careless retry cannot end a hold for
 * good; the hold can still be released, or made final with a reason. Until stop 43 of
 * 2026-12-06 it made the hold final (reason unspecified) silently (an outside probe).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { cliSession, ok, runCli } from "../cli/cli";
import { expectRpcError } from "../support/harness";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const HOLD = RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD;
const UNSPECIFIED = RevocationReason.REVOCATION_REASON_UNSPECIFIED;

describe("making a hold final needs a reason", () => {
  let h: TestCertmint;
  let caId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    caId = (await createRoot(h, "hrr-root")).id;
    await createProfileRows(h, { caId, slug: "hrr-web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const newCert = async (name: string) =>
    (await issue(h, attrRequest("hrr-web", { cn: name, dns: [name] }))).certificate!;
  const revoke = (certificate: string, reason: RevocationReason) =>
    call(h.certificates, "revokeCertificate", { certificate, reason }).then((r) => r.certificate!);
  const row = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null; revocation_reason: string | null }>(
        "select revoked_at, revocation_reason from certificate where id = $1",
        [id],
      )
    )[0]!;
  const revocationCount = async () =>
    (
      await h.db.query<{ n: string }>(
        "select revocation_count as n from certificate_authority where id = $1",
        [caId],
      )
    )[0]!.n;

  it("UNSPECIFIED on a held certificate is refused, nothing changes; the hold can still be released", async () => {
    const cert = await newCert("held.example.com");
    await revoke(cert.certificateId, HOLD);
    const before = await row(cert.certificateId);
    const count = await revocationCount();

    // Twice: a retry is refused the same way.
    for (let i = 0; i < 2; i++) {
      const err = await expectRpcError(revoke(cert.certificateId, UNSPECIFIED));
      expect(err.code).toBe(9); // FAILED_PRECONDITION
      expect(err.reason).toBe("REVOCATION_REASON_REQUIRED");
      expect(err.message).toContain("KEY_COMPROMISE");
      expect(err.message).toContain("ReleaseCertificateHold");
      expect(err.preconditions).toEqual([
        {
          type: "CERTIFICATE_STATE",
          subject: `certificates/${cert.certificateId}`,
          description: "revoked (CERTIFICATE_HOLD)",
        },
      ]);
    }
    expect(await row(cert.certificateId)).toEqual(before);
    expect(before.revocation_reason).toBe("CERTIFICATE_HOLD");
    expect(await revocationCount()).toBe(count);
    const records = await h.db.query<{ status_code: number; error_reason: string }>(
      `select status_code, error_reason from audit_record
        where resource_id = $1 and method = '/certmint.v1.CertificateService/RevokeCertificate'
        order by created_at`,
      [cert.certificateId],
    );
    expect(records).toEqual([
      { status_code: 0, error_reason: "" },
      { status_code: 9, error_reason: "REVOCATION_REASON_REQUIRED" },
      { status_code: 9, error_reason: "REVOCATION_REASON_REQUIRED" },
    ]);
    const [events] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate_event where type = 'REVOKED' and certificate_id = $1",
      [cert.certificateId],
    );
    expect(events!.n).toBe("1");

    const released = await call(h.certificates, "releaseCertificateHold", {
      certificate: cert.certificateId,
    });
    expect(released.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
  });

  it("an explicit reason still makes the hold final; UNSPECIFIED on a valid certificate still revokes it", async () => {
    const held = await newCert("final.example.com");
    await revoke(held.certificateId, HOLD);
    const final = await revoke(held.certificateId, RevocationReason.REVOCATION_REASON_SUPERSEDED);
    expect(final.revocationReason).toBe(RevocationReason.REVOCATION_REASON_SUPERSEDED);
    expect((await row(held.certificateId)).revocation_reason).toBe("SUPERSEDED");

    const valid = await newCert("plain.example.com");
    const revoked = await revoke(valid.certificateId, UNSPECIFIED);
    expect(revoked.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect((await row(valid.certificateId)).revocation_reason).toBe("UNSPECIFIED");
  });

  it("certmint cert revoke without --reason refuses a held certificate; its help says so", async () => {
    const cert = await newCert("cli-held.example.com");
    const cli = cliSession(h.address, h.dataDir);
    try {
      ok(await cli.run(["cert", "revoke", cert.certificateId, "--reason", "certificate-hold"]));
      const bare = await cli.run(["cert", "revoke", cert.certificateId]);
      expect(bare.code).not.toBe(0);
      expect(bare.stderr).toContain("REVOCATION_REASON_REQUIRED");
      expect((await row(cert.certificateId)).revocation_reason).toBe("CERTIFICATE_HOLD");
      const final = ok(
        await cli.run(["cert", "revoke", cert.certificateId, "--reason", "key-compromise"]),
      );
      expect(final.stdout).toMatch(/^status: +revoked$/m);
      expect((await row(cert.certificateId)).revocation_reason).toBe("KEY_COMPROMISE");
    } finally {
      cli.remove();
    }
    const help = await runCli(["cert", "revoke", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, " ")).toContain(
      "a certificate on hold is revoked for good only with an explicit reason",
    );
  });
});
