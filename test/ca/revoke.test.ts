/**
 * RevokeCertificateAuthority (issue 10.8): a compromised intermediate is revoked with an
 * RFC 5280 reason; its parent's CRL lists it, so `openssl verify -crl_check_all` refuses its
 * leaves; it and every CA below it are disabled for good (no more issuance, their own CRLs
 * still served); the revocation is audited. Roots and external intermediates are refused, and
 * nothing is written then.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpdateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import {
  ACTIVE,
  CA_EXTENSIONS,
  createIntermediate,
  createRoot,
  DISABLED,
  openssl,
  opensslOk,
  opensslRoot,
  opensslSign,
  subject,
  TempDir,
} from "./helpers";

const FAILED_PRECONDITION = 9;
const INVALID_ARGUMENT = 3;

describe("revoking an intermediate CA", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const crlPem = async (ca: string) =>
    (
      await call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: ca,
        encoding: 0,
        knownCrlNumber: "",
      })
    ).crlPem;
  const revokeCa = (ca: string, reason = RevocationReason.REVOCATION_REASON_KEY_COMPROMISE) =>
    call(h.authorities, "revokeCertificateAuthority", { certificateAuthority: ca, reason });
  const caRows = () =>
    h.db.query(
      "select id, status, revoked_at, revocation_reason, version from certificate_authority order by id",
    );
  const auditOf = (id: string) =>
    h.db.query<{ method: string; status_code: number; error_reason: string }>(
      "select method, status_code, error_reason from audit_record where resource_id = $1 and method like '%RevokeCertificateAuthority' order by created_at",
      [id],
    );
  /** openssl verify of a leaf with both CRLs (root's and intermediate's) checked all the way up. */
  const verifyWithCrls = (
    rootPem: string,
    intermediatePem: string,
    leafPem: string,
    crls: string[],
  ) =>
    openssl([
      "verify",
      "-crl_check_all",
      "-CAfile",
      tmp.file("root.pem", rootPem),
      "-untrusted",
      tmp.file("intermediate.pem", intermediatePem),
      "-CRLfile",
      tmp.file("crls.pem", crls.join("")),
      tmp.file("leaf.pem", leafPem),
    ]);

  it("lists it on its parent's CRL, refuses its leaves under -crl_check_all, disables it and what is below it", async () => {
    const root = await createRoot(h, "r1-root", { maxPathLength: 2 });
    const issuing = await createIntermediate(h, "r1-issuing", "r1-root");
    await createIntermediate(h, "r1-below", "r1-issuing");
    await createProfileRows(h, { slug: "r1-web", caId: issuing.id });
    const leaf = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("r1-web", { cn: "leaf.example.com", dns: ["leaf.example.com"] }),
    );
    const leafPem = leaf.certificate!.certificatePem;

    // Before: the whole chain verifies with both CRLs checked.
    const good = verifyWithCrls(root.certificatePem, issuing.certificatePem, leafPem, [
      await crlPem("r1-root"),
      await crlPem("r1-issuing"),
    ]);
    expect(good.code, good.stderr + good.stdout).toBe(0);

    const res = await revokeCa("r1-issuing");
    const ca = res.certificateAuthority!;
    expect(ca.status).toBe(DISABLED);
    expect(ca.revokeTime).toBeInstanceOf(Date);
    expect(ca.revocationReason).toBe(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);

    // The parent's CRL lists the intermediate's serial with its reason (RFC 5280 5.3.1).
    const rootCrl = await crlPem("r1-root");
    const text = opensslOk(["crl", "-noout", "-text"], rootCrl);
    expect(text.replace(/:/g, "").toLowerCase()).toContain(issuing.serialNumber);
    expect(text).toContain("Key Compromise");
    // The revoked CA's own CRL is still served, signed by it.
    const ownCrl = await crlPem("r1-issuing");
    expect(
      opensslOk(
        ["crl", "-noout", "-CAfile", tmp.file("issuing.pem", issuing.certificatePem)],
        ownCrl,
      ),
    ).toBe("");

    // A relying party that checks CRLs all the way up now refuses the leaf.
    const bad = verifyWithCrls(root.certificatePem, issuing.certificatePem, leafPem, [
      rootCrl,
      ownCrl,
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain("certificate revoked");

    // Disabled, and so is the CA below it.
    const rows = await h.db.query<{ slug: string; status: string; revoked: boolean }>(
      "select slug, status, revoked_at is not null as revoked from certificate_authority where slug like 'r1-%' order by slug",
    );
    expect(rows).toEqual([
      { slug: "r1-below", status: "DISABLED", revoked: false },
      { slug: "r1-issuing", status: "DISABLED", revoked: true },
      { slug: "r1-root", status: "ACTIVE", revoked: false },
    ]);

    // It issues nothing more, and nothing below it does.
    const refused = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        attrRequest("r1-web", { cn: "after.example.com", dns: ["after.example.com"] }),
      ),
    );
    expect(refused.code).toBe(FAILED_PRECONDITION);
    expect(refused.reason).toBe("CA_REVOKED");
    const child = await expectRpcError(
      call(h.authorities, "createIntermediateCertificateAuthority", {
        slug: "r1-child",
        description: "",
        parentCertificateAuthority: "r1-issuing",
        subject: subject("Child"),
        keyAlgorithm: 0,
        signatureAlgorithm: 0,
      }),
    );
    expect(child.code).toBe(FAILED_PRECONDITION);
    expect(child.reason).toBe("CA_REVOKED");

    // Audited: one success record of the revocation.
    expect(await auditOf(issuing.id)).toEqual([
      {
        method: "/certmint.v1.CertificateAuthorityService/RevokeCertificateAuthority",
        status_code: 0,
        error_reason: "",
      },
    ]);
  });

  it("is final: neither the revoked CA nor one below it can be enabled again", async () => {
    await createRoot(h, "r2-root");
    const issuing = await createIntermediate(h, "r2-issuing", "r2-root");
    const below = await createIntermediate(h, "r2-below", "r2-issuing");
    await revokeCa("r2-issuing", RevocationReason.REVOCATION_REASON_CA_COMPROMISE);
    const before = await caRows();
    for (const ca of [issuing, below]) {
      const err = await expectRpcError(
        call(
          h.authorities,
          "updateCertificateAuthority",
          UpdateCertificateAuthorityRequest.fromPartial({
            certificateAuthority: { id: ca.id, status: ACTIVE },
            updateMask: ["status"],
          }),
        ),
      );
      expect(err.code).toBe(FAILED_PRECONDITION);
      expect(err.reason).toBe("CA_REVOKED");
      expect(err.preconditions[0]!.subject).toBe("certificate_authorities/r2-issuing");
    }
    expect(await caRows()).toEqual(before);
    // Revoking again changes nothing: the first time and reason stand.
    const again = await revokeCa("r2-issuing", RevocationReason.REVOCATION_REASON_SUPERSEDED);
    expect(again.certificateAuthority!.revocationReason).toBe(
      RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
    );
    expect(await caRows()).toEqual(before);
    // A compromise recorded stands, even against the other kind.
    const kc = await revokeCa("r2-issuing", RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    expect(kc.certificateAuthority!.revocationReason).toBe(
      RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
    );
  });

  // The probe of 2026-12-05 (third stop): a later key compromise was a no-op on a revoked CA.
  it("raises a revoked CA's reason to keyCompromise at its first time, and its parent's CRL says so", async () => {
    const root = await createRoot(h, "r5-root");
    const ca = await createIntermediate(h, "r5-issuing", "r5-root");
    const first = await revokeCa("r5-issuing", RevocationReason.REVOCATION_REASON_SUPERSEDED);
    const entry = async () => {
      const text = opensslOk(["crl", "-noout", "-text"], await crlPem(root.id));
      const serial = new X509Certificate(ca.certificatePem).serialNumber;
      return text.slice(text.indexOf(`Serial Number: ${serial}`)).split("Serial Number:")[1]!;
    };
    expect(await entry()).toMatch(/Superseded/);
    const raised = await revokeCa("r5-issuing", RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    expect(raised.certificateAuthority!.revocationReason).toBe(
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    );
    expect(raised.certificateAuthority!.revokeTime!.getTime()).toBe(
      first.certificateAuthority!.revokeTime!.getTime(),
    );
    expect(await entry()).toMatch(/Key Compromise/);
  });

  it("refuses a root, an external intermediate and REMOVE_FROM_CRL, writing nothing", async () => {
    await createRoot(h, "r3-root");
    const ext = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
      slug: "r3-external",
      description: "",
      subject: subject("External"),
      keyAlgorithm: 0,
      signatureAlgorithm: 0,
    });
    const outside = opensslRoot(tmp);
    await call(h.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "r3-external",
      certificatePem: opensslSign(tmp, ext.csrPem, outside, CA_EXTENSIONS),
      certificateChainPem: [outside.pem],
    });
    await createIntermediate(h, "r3-issuing", "r3-root");
    const before = await caRows();
    const crlBefore = await h.db.query("select id, revocation_count from certificate_authority");

    const root = await expectRpcError(revokeCa("r3-root"));
    expect({ code: root.code, reason: root.reason }).toEqual({
      code: FAILED_PRECONDITION,
      reason: "CA_IS_ROOT",
    });
    const external = await expectRpcError(revokeCa("r3-external"));
    expect({ code: external.code, reason: external.reason }).toEqual({
      code: FAILED_PRECONDITION,
      reason: "CA_PARENT_EXTERNAL",
    });
    const reason = await expectRpcError(
      revokeCa("r3-issuing", RevocationReason.REVOCATION_REASON_REMOVE_FROM_CRL),
    );
    expect({ code: reason.code, reason: reason.reason }).toEqual({
      code: INVALID_ARGUMENT,
      reason: "REVOCATION_REASON_INVALID",
    });
    // A hold is temporary (RFC 5280 5.3.1); a CA's revocation is final (a probe, 2026-12-05).
    const hold = await expectRpcError(
      revokeCa("r3-issuing", RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD),
    );
    expect({ code: hold.code, reason: hold.reason }).toEqual({
      code: INVALID_ARGUMENT,
      reason: "REVOCATION_REASON_INVALID",
    });
    expect(hold.message).toContain("final");
    const unknown = await expectRpcError(revokeCa("no-such-ca"));
    expect(unknown.code).toBe(5);
    expect(await caRows()).toEqual(before);
    expect(await h.db.query("select id, revocation_count from certificate_authority")).toEqual(
      crlBefore,
    );
  });

  it("RevokeCertificate names the RPC for a CA's serial instead of NOT_FOUND", async () => {
    await createRoot(h, "r4-root");
    const issuing = await createIntermediate(h, "r4-issuing", "r4-root");
    const serial = new X509Certificate(issuing.certificatePem).serialNumber;
    const err = await expectRpcError(
      call(h.certificates, "revokeCertificate", {
        certificate: serial,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    expect(err.code).toBe(INVALID_ARGUMENT);
    expect(err.reason).toBe("CERTIFICATE_IS_CERTIFICATE_AUTHORITY");
    expect(err.message).toContain("RevokeCertificateAuthority");
    const [row] = await h.db.query<{ revoked_at: Date | null }>(
      "select revoked_at from certificate_authority where id = $1",
      [issuing.id],
    );
    expect(row!.revoked_at).toBeNull();
  });
});
