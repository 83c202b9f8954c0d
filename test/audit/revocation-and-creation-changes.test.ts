/**
 * Audit records say what a revocation, an EAB key's creation and a CA's creation did
 * (AuditRecord.changes), read over gRPC (ListAuditRecords) and in PostgreSQL:
 *  - RevokeCertificate: `revoked_at` and `revocation_reason` before and after, for the
 *    certificate named and for each certificate a key compromise revoked with it, which also
 *    names the certificate whose key compromise caused it (`key_compromise_certificate_id`); a
 *    hold made final shows CERTIFICATE_HOLD -> the new reason. Until stop 43 of 2026-12-06
 *    these records carried no change at all (an outside probe).
 *  - CreateAcmeExternalAccountKey: the key id it created (`external_account_key_id`), never
 *    the HMAC key.
 *  - CreateIntermediateCertificateAuthority: the CA's `name_constraints`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditRecord, FieldChange } from "../../gen/ts/certmint/v1/audit_service";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  makeCsr,
  TempDir,
} from "../certificates/helpers";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";

const REVOKE = "/certmint.v1.CertificateService/RevokeCertificate";

let h: TestCertmint;
const tmp = new TempDir();
beforeAll(async () => {
  h = await startTestCertmint();
  const root = await createRoot(h, "arc-root");
  await createProfileRows(h, { caId: root.id, slug: "arc-web" });
});
afterAll(async () => {
  await h?.stop();
  tmp.remove();
});

/** The records of `method` on `resourceId`, over gRPC, oldest first. */
async function recordsOf(method: string, resourceId: string): Promise<AuditRecord[]> {
  const res = await call(h.audit, "listAuditRecords", {
    pageSize: 100,
    pageToken: "",
    actor: "",
    method,
    resourceType: "",
    resourceId,
    startTime: undefined,
    endTime: undefined,
    failuresOnly: false,
  });
  return [...res.auditRecords].sort(
    (a, b) => (a.createTime?.getTime() ?? 0) - (b.createTime?.getTime() ?? 0),
  );
}

async function storedChanges(recordId: string): Promise<unknown> {
  const [row] = await h.db.query<{ changes: unknown }>(
    "select changes from audit_record where id = $1",
    [recordId],
  );
  return row!.changes;
}

const byField = (changes: FieldChange[]) =>
  Object.fromEntries(changes.map((c) => [c.field, { before: c.before, after: c.after }]));

const revoke = (certificate: string, reason: RevocationReason) =>
  call(h.certificates, "revokeCertificate", { certificate, reason }).then((r) => r.certificate!);
const certRow = async (id: string) =>
  (
    await h.db.query<{ revoked_at: Date; revocation_reason: string }>(
      "select revoked_at, revocation_reason from certificate where id = $1",
      [id],
    )
  )[0]!;

describe("a certificate revocation's record", () => {
  it("says the reason and time before and after; a hold made final is told apart from the hold", async () => {
    const cert = (
      await issue(h, attrRequest("arc-web", { cn: "a.example.com", dns: ["a.example.com"] }))
    ).certificate!;
    await revoke(cert.certificateId, RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD);
    const heldAt = (await certRow(cert.certificateId)).revoked_at.toISOString();
    await revoke(cert.certificateId, RevocationReason.REVOCATION_REASON_SUPERSEDED);
    // Revoked again for a reason that changes nothing: a record without changes.
    await revoke(cert.certificateId, RevocationReason.REVOCATION_REASON_AFFILIATION_CHANGED);

    const [hold, final, again] = await recordsOf(REVOKE, cert.certificateId);
    expect(byField(hold!.changes)).toEqual({
      revoked_at: { before: null, after: heldAt },
      revocation_reason: { before: null, after: "CERTIFICATE_HOLD" },
    });
    // The hold made final: same time, the reason changed.
    expect(byField(final!.changes)).toEqual({
      revocation_reason: { before: "CERTIFICATE_HOLD", after: "SUPERSEDED" },
    });
    expect(again!.changes).toEqual([]);
    await expect(storedChanges(final!.id)).resolves.toEqual([
      { field: "revocation_reason", before: "CERTIFICATE_HOLD", after: "SUPERSEDED" },
    ]);
  });

  it("a key compromise: the named certificate's record and each cascaded one's, naming the cause", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=k.example.com", ["DNS:k.example.com"]);
    const named = (await issue(h, csrRequest("arc-web", csrPem))).certificate!;
    const held = (await issue(h, csrRequest("arc-web", csrPem))).certificate!;
    const valid = (await issue(h, csrRequest("arc-web", csrPem))).certificate!;
    await revoke(held.certificateId, RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD);
    const heldAt = (await certRow(held.certificateId)).revoked_at.toISOString();
    await revoke(named.certificateId, RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    const at = (await certRow(named.certificateId)).revoked_at.toISOString();

    const [namedRecord] = await recordsOf(REVOKE, named.certificateId);
    expect(byField(namedRecord!.changes)).toEqual({
      revoked_at: { before: null, after: at },
      revocation_reason: { before: null, after: "KEY_COMPROMISE" },
    });
    const validRecords = await recordsOf(REVOKE, valid.certificateId);
    expect(validRecords).toHaveLength(1);
    expect(byField(validRecords[0]!.changes)).toEqual({
      revoked_at: { before: null, after: at },
      revocation_reason: { before: null, after: "KEY_COMPROMISE" },
      key_compromise_certificate_id: { before: undefined, after: named.certificateId },
    });
    // The hold made final by its key's compromise: told apart from the hold, and its cause.
    const [, cascade] = await recordsOf(REVOKE, held.certificateId);
    expect(byField(cascade!.changes)).toEqual({
      revocation_reason: { before: "CERTIFICATE_HOLD", after: "KEY_COMPROMISE" },
      key_compromise_certificate_id: { before: undefined, after: named.certificateId },
    });
    expect((await certRow(held.certificateId)).revoked_at.toISOString()).toBe(heldAt);
  });
});

describe("creation records", () => {
  it("CreateAcmeExternalAccountKey names the key id it created, never the HMAC key", async () => {
    const { profileId, slug } = await createProfileRows(h, { slug: "arc-acme" });
    await h.db.query("update certificate_profile set enrollment_method = 'ACME' where id = $1", [
      profileId,
    ]);
    const key = await call(h.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: slug,
    });
    expect(key.keyId).not.toBe("");
    const [record] = await recordsOf(
      "/certmint.v1.CertificateProfileService/CreateAcmeExternalAccountKey",
      profileId,
    );
    expect(record!.changes).toEqual([{ field: "external_account_key_id", after: key.keyId }]);
    const stored = JSON.stringify(await storedChanges(record!.id));
    expect(stored).toContain(key.keyId);
    expect(stored).not.toContain(key.hmacKey);
  });

  it("CreateIntermediateCertificateAuthority records the name constraints", async () => {
    const ca = (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "arc-nc",
          parentCertificateAuthority: "arc-root",
          subject: { commonName: "arc-nc CA" },
          nameConstraints: {
            permitted: { dnsNames: ["example.com"], ipRanges: ["10.0.0.0/8"] },
            excluded: { dnsNames: ["bad.example.com"] },
          },
        }),
      )
    ).certificateAuthority!;
    const [record] = await recordsOf(
      "/certmint.v1.CertificateAuthorityService/CreateIntermediateCertificateAuthority",
      ca.id,
    );
    const nc = byField(record!.changes).name_constraints;
    expect(nc?.before).toBeUndefined();
    expect(nc?.after).toMatchObject({
      permitted: { dns: ["example.com"], ip: ["10.0.0.0/8"] },
      excluded: { dns: ["bad.example.com"] },
    });
    // Still the settings only: no PEM, no key.
    const stored = JSON.stringify(await storedChanges(record!.id));
    expect(stored).not.toContain("BEGIN");
    expect(stored).toContain("bad.example.com");
  });
});
