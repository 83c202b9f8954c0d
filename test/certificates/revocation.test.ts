/**
 * RevokeCertificate and the CRL: a revoked certificate's serial and reason appear in its CA's
 * next CRL (read and verified by openssl); revoking again changes nothing; REMOVE_FROM_CRL is
 * refused; a DISABLED CA issues nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CertificateAuthorityStatus,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { clockPast } from "../support/wait";
import {
  attrRequest,
  CertificateStatus,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  csrRequest,
  decodeStatus,
  FAILED,
  getCert,
  issue,
  KeyAlgorithm,
  makeCsr,
  openssl,
  opensslOk,
  RenewalKeySource,
  RevocationReason,
  renewRequest,
  requestStatus,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

describe("revocation and the CRL", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const revoke = (certificate: string, reason: RevocationReason) =>
    call(h.certificates, "revokeCertificate", { certificate, reason }).then((r) => r.certificate!);
  const newCert = async (name: string) =>
    (await issue(h, attrRequest("web", { cn: name, dns: [name] }))).certificate!;
  const crlText = async () => {
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: root.id,
      encoding: 0,
      knownCrlNumber: "",
    });
    const file = tmp.file("crl.pem", crl.crlPem);
    const verified = openssl([
      "crl",
      "-in",
      file,
      "-CAfile",
      tmp.file("ca.pem", root.certificatePem),
      "-verify",
      "-noout",
    ]);
    return {
      text: opensslOk(["crl", "-in", file, "-noout", "-text"]),
      verifyOutput: verified.stdout + verified.stderr,
    };
  };

  it("revokes with KEY_COMPROMISE; the next CRL lists the serial and reason and verifies", async () => {
    const cert = await newCert("revoked.example.com");
    const bystander = await newCert("fine.example.com");
    const sent = Date.now();
    const revoked = await revoke(
      cert.certificateId,
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    );
    const answered = Date.now();
    expect(revoked.id).toBe(cert.certificateId);
    expect(revoked.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(revoked.revocationReason).toBe(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    expect(revoked.revokeTime).toBeInstanceOf(Date);
    // Taken while the call ran (the server shares this machine's clock).
    expect(revoked.revokeTime!.getTime()).toBeGreaterThanOrEqual(sent);
    expect(revoked.revokeTime!.getTime()).toBeLessThanOrEqual(answered);
    const got = await getCert(h, cert.certificateId);
    expect(got.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(got.revokeTime!.getTime()).toBe(revoked.revokeTime!.getTime());

    const { text, verifyOutput } = await crlText();
    expect(verifyOutput).toMatch(/verify OK/);
    const upper = cert.serialNumber.toUpperCase();
    expect(text).toContain(`Serial Number: ${upper}`);
    const entry = text.slice(text.indexOf(`Serial Number: ${upper}`)).split("Serial Number:")[1]!;
    expect(entry).toMatch(/Key Compromise/);
    expect(text).not.toContain(bystander.serialNumber.toUpperCase());
  });

  // Found by an outside probe (2026-12-05): a key compromise revoked only the certificate named,
  // and its predecessor with the same key stayed ACTIVE (and a client credential over mTLS).
  it("KEY_COMPROMISE revokes every certificate of the lineage with that key, and no other", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=kc.example.com", ["DNS:kc.example.com"]);
    const first = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const reuse = (certificateId: string) =>
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId, keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE }),
      ).then((r) => r.certificate!);
    const second = await reuse(first.certificateId);
    const third = await reuse(second.certificateId);
    // A renewal with a new key ends the key's part of the lineage.
    const fresh = (
      await call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: third.certificateId,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      )
    ).certificate!;
    const bystander = await newCert("bystander.example.com");

    const res = await revoke(
      second.certificateId,
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    );
    expect(res.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    const rows = await h.db.query<{ id: string; revocation_reason: string | null }>(
      "select id, revocation_reason from certificate where id = any($1)",
      [[first, second, third, fresh, bystander].map((c) => c.certificateId)],
    );
    const reason = Object.fromEntries(rows.map((r) => [r.id, r.revocation_reason]));
    expect(reason).toEqual({
      [first.certificateId]: "KEY_COMPROMISE",
      [second.certificateId]: "KEY_COMPROMISE",
      [third.certificateId]: "KEY_COMPROMISE",
      [fresh.certificateId]: null,
      [bystander.certificateId]: null,
    });
    // Each has its audit record, and the CA's next CRL lists the three serials.
    for (const c of [first, second, third]) {
      expect(
        await countRows(
          h,
          "audit_record",
          `resource_id = '${c.certificateId}' and method like '%RevokeCertificate'`,
        ),
      ).toBe(1);
    }
    const { text, verifyOutput } = await crlText();
    expect(verifyOutput).toContain("verify OK");
    for (const c of [first, second, third]) {
      expect(text).toContain(`Serial Number: ${c.serialNumber.toUpperCase()}`);
    }
    expect(text).not.toContain(`Serial Number: ${fresh.serialNumber.toUpperCase()}`);
  });

  it("revoking a revoked certificate changes nothing", async () => {
    const cert = await newCert("twice.example.com");
    const first = await revoke(
      cert.certificateId,
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    );
    // A second revocation that overwrote the time would now write a later one.
    await clockPast(first.revokeTime!);
    const second = await revoke(cert.serialNumber, RevocationReason.REVOCATION_REASON_SUPERSEDED);
    expect(second.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(second.revokeTime!.getTime()).toBe(first.revokeTime!.getTime());
    expect(second.revocationReason).toBe(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    const [row] = await h.db.query(
      "select revoked_at, revocation_reason from certificate where id = $1",
      [cert.certificateId],
    );
    expect((row!.revoked_at as Date).getTime()).toBe(first.revokeTime!.getTime());
    expect(row!.revocation_reason).toBe("KEY_COMPROMISE");
  });

  // Left open until 2026-12-05 (third stop): a certificate revoked as superseded and then
  // reported compromised kept "superseded" on the CRL, so relying parties never learned that
  // its key was compromised (Boulder updates the reason the same way).
  it("a later KEY_COMPROMISE gives a revoked certificate that reason, at its first time", async () => {
    const cert = await newCert("upgrade.example.com");
    const first = await revoke(cert.certificateId, RevocationReason.REVOCATION_REASON_SUPERSEDED);
    await clockPast(first.revokeTime!);
    const crlBefore = await crlText();
    const upper = cert.serialNumber.toUpperCase();
    const entryOf = (text: string) =>
      text.slice(text.indexOf(`Serial Number: ${upper}`)).split("Serial Number:")[1]!;
    expect(entryOf(crlBefore.text)).toMatch(/Superseded/);
    const audited = await countRows(h, "audit_record");

    const second = await revoke(
      cert.serialNumber,
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    );
    expect(second.revocationReason).toBe(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    expect(second.revokeTime!.getTime()).toBe(first.revokeTime!.getTime());
    const [row] = await h.db.query(
      "select revoked_at, revocation_reason, spki_sha256 from certificate where id = $1",
      [cert.certificateId],
    );
    expect((row!.revoked_at as Date).getTime()).toBe(first.revokeTime!.getTime());
    expect(row!.revocation_reason).toBe("KEY_COMPROMISE");
    const [blocked] = await h.db.query(
      "select count(*)::int as n from blocked_key where spki_sha256 = $1",
      [row!.spki_sha256],
    );
    expect(blocked!.n).toBe(1);
    expect(await countRows(h, "audit_record")).toBe(audited + 1);

    // The CRL is signed again at once (not at the end of its cache period) with the new reason.
    const crlAfter = await crlText();
    expect(crlAfter.verifyOutput).toMatch(/verify OK/);
    expect(entryOf(crlAfter.text)).toMatch(/Key Compromise/);
    expect(entryOf(crlAfter.text)).not.toMatch(/Superseded/);

    // Any other reason later still changes nothing.
    const third = await revoke(
      cert.certificateId,
      RevocationReason.REVOCATION_REASON_AFFILIATION_CHANGED,
    );
    expect(third.revocationReason).toBe(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
  });

  it("revokes by serial number written with colons in upper case", async () => {
    const cert = await newCert("colons.example.com");
    const colons = cert.serialNumber.toUpperCase().match(/../g)!.join(":");
    const revoked = await revoke(colons, RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION);
    expect(revoked.id).toBe(cert.certificateId);
    expect(revoked.revocationReason).toBe(
      RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    );
    expect((await crlText()).text).toMatch(/Cessation Of Operation/);
  });

  it.each([
    ["REMOVE_FROM_CRL", RevocationReason.REVOCATION_REASON_REMOVE_FROM_CRL],
    // For attribute certificates only (RFC 5280 5.3.1); accepted until 2026-12-05.
    ["AA_COMPROMISE", RevocationReason.REVOCATION_REASON_AA_COMPROMISE],
  ])("refuses %s and leaves the certificate ACTIVE", async (name, reason) => {
    const cert = await newCert(`${name.toLowerCase().replaceAll("_", "-")}.example.com`);
    const err = await rpcError(revoke(cert.certificateId, reason));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("REVOCATION_REASON_INVALID");
    expect(err.violations.map((v) => v.field)).toEqual(["reason"]);
    const got = await getCert(h, cert.certificateId);
    expect(got.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
    expect(got.revokeTime).toBeUndefined();
    const [row] = await h.db.query("select revoked_at from certificate where id = $1", [
      cert.certificateId,
    ]);
    expect(row!.revoked_at).toBeNull();
  });

  it("answers NOT_FOUND for an unknown certificate and INVALID_ARGUMENT for garbage", async () => {
    const unknown = await rpcError(
      revoke("00000000-0000-4000-8000-000000000000", RevocationReason.REVOCATION_REASON_SUPERSEDED),
    );
    expect(unknown.code).toBe(Code.NOT_FOUND);
    expect(unknown.reason).toBe("CERTIFICATE_NOT_FOUND");
    const garbage = await rpcError(
      revoke("not a certificate", RevocationReason.REVOCATION_REASON_SUPERSEDED),
    );
    expect(garbage.code).toBe(Code.INVALID_ARGUMENT);
  });

  it("a DISABLED CA issues nothing (CA_DISABLED) and records the refusal", async () => {
    const off = await createRoot(h, "off");
    await createProfileRows(h, { caId: off.id, slug: "off-web" });
    await call(
      h.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: {
          id: off.id,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
        },
        updateMask: ["status"],
      }),
    );
    const before = await rowCounts(h);
    const err = await rpcError(
      issue(h, attrRequest("off-web", { cn: "off.example.com", dns: ["off.example.com"] })),
    );
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_DISABLED");
    expect(err.preconditions.map((p) => p.type)).toEqual(["CA_STATUS"]);
    const after = await rowCounts(h);
    expect(after.certificates).toBe(before.certificates);
    expect(after.requests).toBe(before.requests + 1);
    const st = await requestStatus(h, err.metadata.certificate_request_id!);
    expect(st.certificateRequest!.status).toBe(FAILED);
    expect(decodeStatus(st.certificateRequest!.error).reason).toBe("CA_DISABLED");

    // The disabled CA still publishes its CRL.
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: off.id,
      encoding: 0,
      knownCrlNumber: "",
    });
    expect(crl.crlPem).toContain("BEGIN X509 CRL");
  });
});
