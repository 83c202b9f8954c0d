/**
 * Who may renew whose certificate (issue 10.3). The attack: on a profile that stores generated
 * keys, issuer B renews issuer A's certificate by its serial (serials are public) with
 * key_source REUSE, then repeats the request_id; the repeat used to return A's private key,
 * and A could no longer renew. Now a certificate's owner (the token that holds its key) or an
 * admin renews it, or any issuer of the profile when the profile shares renewal; and a private
 * key goes only to its owner, whoever renews.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCertificateProfileRequest,
  PrivateKeyRetention,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  getCert,
  ISSUED,
  makeCsr,
  RenewalKeySource,
  Role,
  renewRequest,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

const PERMISSION_DENIED = 7;
const { NEW, REUSE, CSR } = {
  NEW: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
  REUSE: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
  CSR: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
};

describe("renewal ownership", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let alice: { id: string; clients: CertmintClients };
  let bob: { id: string; clients: CertmintClients };
  let adminId: string;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, {
      slug: "keep",
      caId: root.id,
      privateKeyRetention: "STORE_ENCRYPTED",
    });
    // A profile that shares renewal, made through the API (the setting round-trips).
    const shared = await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "shared",
          certificatePolicy: "keep-policy",
          issuer: { $case: "certificateAuthority", value: "root" },
          privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
          renewal: { allowSharedRenewal: true },
        },
      }),
    );
    expect(shared.certificateProfile!.renewal!.allowSharedRenewal).toBe(true);
    alice = await createToken(h, "alice", Role.ROLE_ISSUER, ["keep", "shared"]);
    bob = await createToken(h, "bob", Role.ROLE_ISSUER, ["keep", "shared"]);
    const [admin] = await h.db.query<{ id: string }>(
      "select id from access_token where creator_id is null and role = 'ADMIN'",
    );
    adminId = admin!.id;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** A certificate with a generated key, issued by `who`. */
  async function issuedBy(who: CertmintClients, profile: string, name: string) {
    const res = await call(
      who.certificates,
      "issueCertificate",
      attrRequest(profile, { cn: name, dns: [name] }),
    );
    expect(res.status).toBe(ISSUED);
    return { cert: res.certificate!, keyPem: res.privateKeyPem, name };
  }
  const renewAs = (who: CertmintClients, req: Parameters<typeof renewRequest>[0]) =>
    call(who.certificates, "renewCertificate", renewRequest(req));
  const ownerOf = async (certificateId: string) =>
    (await getCert(h, certificateId)).ownerAccessTokenId;
  const matches = (certPem: string, keyPem: string) =>
    new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  /** Every table a renewal writes, but the audit trail (refusals are audited). */
  const snapshot = async () => ({
    certificates: await countRows(h, "certificate"),
    requests: await countRows(h, "certificate_request"),
    renewed: await countRows(h, "certificate", "renewed_by_id is not null"),
  });

  it("the attack: B renews A's certificate by serial with REUSE and replays it; refused, A still renews", async () => {
    const a = await issuedBy(alice.clients, "keep", "alice.example.com");
    expect(await ownerOf(a.cert.certificateId)).toBe(alice.id);
    const before = await snapshot();

    const steal = { certificateId: a.cert.serialNumber, keySource: REUSE, requestId: "steal" };
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await rpcError(renewAs(bob.clients, steal));
      expect(err.code).toBe(PERMISSION_DENIED);
      expect(err.reason).toBe("CERTIFICATE_NOT_OWNED");
      expect(err.message).not.toContain("PRIVATE KEY");
    }
    // The variants: by id, a NEW key, a CSR with the same identity, with and without request_id.
    const { csrPem } = makeCsr(tmp, `/CN=${a.name}`, [`DNS:${a.name}`]);
    for (const variant of [
      { certificateId: a.cert.certificateId, keySource: REUSE },
      { certificateId: a.cert.serialNumber, keySource: NEW, requestId: "steal-new" },
      { certificateId: a.cert.certificateId, keySource: CSR, csrPem, requestId: "steal-csr" },
    ]) {
      const err = await rpcError(renewAs(bob.clients, variant));
      expect({ code: err.code, reason: err.reason }).toEqual({
        code: PERMISSION_DENIED,
        reason: "CERTIFICATE_NOT_OWNED",
      });
    }
    expect(await snapshot()).toEqual(before);
    // Each refusal is audited with bob as the actor.
    expect(
      await h.db.query(
        "select count(*)::int as n from audit_record where actor_id = $1 and error_reason = 'CERTIFICATE_NOT_OWNED'",
        [bob.id],
      ),
    ).toEqual([{ n: 5 }]);

    // A renews as before (the certificate was not marked renewed), and its replay returns A's
    // own stored key, matching the new certificate.
    const mine = { certificateId: a.cert.certificateId, keySource: REUSE, requestId: "mine" };
    const renewed = await renewAs(alice.clients, mine);
    expect(renewed.status).toBe(ISSUED);
    const again = await renewAs(alice.clients, mine);
    expect(again.certificate!.certificateId).toBe(renewed.certificate!.certificateId);
    expect(again.privateKeyPem).toBe(a.keyPem);
    expect(matches(renewed.certificate!.certificatePem, again.privateKeyPem)).toBe(true);
    expect(await ownerOf(renewed.certificate!.certificateId)).toBe(alice.id);
  });

  it("an admin may renew anyone's certificate but never receives a key it does not own", async () => {
    const a = await issuedBy(alice.clients, "keep", "alice-admin.example.com");
    const req = { certificateId: a.cert.certificateId, keySource: REUSE, requestId: "admin-reuse" };
    const renewed = await call(h.certificates, "renewCertificate", renewRequest(req));
    expect(renewed.status).toBe(ISSUED);
    expect(renewed.privateKeyPem).toBe("");
    const replay = await call(h.certificates, "renewCertificate", renewRequest(req));
    expect(replay.certificate!.certificateId).toBe(renewed.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe("");
    // The successor certifies A's key, so it stays A's (with the key stored for it), and A
    // renews the successor and gets its key back.
    const successor = renewed.certificate!.certificateId;
    expect(await ownerOf(successor)).toBe(alice.id);
    const [row] = await h.db.query<{ kept: boolean }>(
      "select sealed_private_key is not null as kept from certificate where id = $1",
      [successor],
    );
    expect(row!.kept).toBe(true);
    const next = { certificateId: successor, keySource: REUSE, requestId: "after-admin" };
    await renewAs(alice.clients, next);
    expect((await renewAs(alice.clients, next)).privateKeyPem).toBe(a.keyPem);

    // An admin renewal with a NEW key hands the admin that new key: the successor is the admin's.
    const b = await issuedBy(alice.clients, "keep", "alice-admin-new.example.com");
    const fresh = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({ certificateId: b.cert.certificateId, keySource: NEW }),
    );
    expect(matches(fresh.certificate!.certificatePem, fresh.privateKeyPem)).toBe(true);
    expect(fresh.privateKeyPem).not.toBe(b.keyPem);
    expect(await ownerOf(fresh.certificate!.certificateId)).toBe(adminId);
  });

  it("shared renewal: any issuer of the profile renews, the stored key still goes to its owner only", async () => {
    const a = await issuedBy(alice.clients, "shared", "alice-shared.example.com");
    const req = { certificateId: a.cert.serialNumber, keySource: REUSE, requestId: "bob-reuse" };
    const renewed = await renewAs(bob.clients, req);
    expect(renewed.status).toBe(ISSUED);
    expect(renewed.privateKeyPem).toBe("");
    const replay = await renewAs(bob.clients, req);
    expect(replay.certificate!.certificateId).toBe(renewed.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe("");
    expect(await ownerOf(renewed.certificate!.certificateId)).toBe(alice.id);

    // B renews the successor with a NEW key: B holds that key, so B owns the next one, and A
    // (sharing renewal) renewing it with REUSE does not get B's key.
    const mine = await renewAs(bob.clients, {
      certificateId: renewed.certificate!.certificateId,
      keySource: NEW,
      requestId: "bob-new",
    });
    expect(matches(mine.certificate!.certificatePem, mine.privateKeyPem)).toBe(true);
    expect(await ownerOf(mine.certificate!.certificateId)).toBe(bob.id);
    const byAlice = {
      certificateId: mine.certificate!.certificateId,
      keySource: REUSE,
      requestId: "a",
    };
    await renewAs(alice.clients, byAlice);
    expect((await renewAs(alice.clients, byAlice)).privateKeyPem).toBe("");

    // Sharing switched off: B may no longer renew A's certificates.
    const updated = await call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug: "shared", renewal: { allowSharedRenewal: false } },
        updateMask: ["renewal.allow_shared_renewal"],
      }),
    );
    expect(updated.certificateProfile!.renewal!.allowSharedRenewal).toBe(false);
    const other = await issuedBy(alice.clients, "shared", "alice-unshared.example.com");
    const err = await rpcError(
      renewAs(bob.clients, { certificateId: other.cert.certificateId, keySource: NEW }),
    );
    expect(err.reason).toBe("CERTIFICATE_NOT_OWNED");
    expect(err.code).toBe(PERMISSION_DENIED);
  });
});
