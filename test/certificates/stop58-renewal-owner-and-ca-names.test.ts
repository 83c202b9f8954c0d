/**
 * Two findings of an outside probe of stop 58 (2026-12-07):
 * - a REUSE renewal of a certificate whose owner token was revoked, by a sharing issuer or an
 *   admin, certified the revoked holder's key again (its successor owned by that token), which
 *   certmint's own renewal refuses (OWNER_REVOKED): now refused the same way, nothing written;
 *   NEW still renews it, owned by the caller;
 * - a CA certificate issued through a profile could carry the name of a CA above its issuer
 *   (the root's): now a POLICY_VIOLATION SUBJECT_IS_ISSUER, as the issuer's own name was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCertificateProfileRequest,
  PrivateKeyRetention,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { type PolicySpec, presetSpec } from "../../src/issuance/policy-engine";
import { createIntermediate } from "../ca/helpers";
import { buildCsr } from "../support/der-csr";
import type { CertmintClients } from "../support/harness";
import {
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  getCert,
  ISSUED,
  issue,
  issueRequest,
  makeCsr,
  RenewalKeySource,
  Role,
  renewRequest,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

const DAY = 86_400;
const { NEW, REUSE } = {
  NEW: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
  REUSE: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
};

function subCaSpec(): PolicySpec {
  const spec = presetSpec("INTERMEDIATE_CA");
  spec.basicConstraints = { ca: "ALLOWED", maxPathLength: 0 };
  spec.keyUsages = {
    allowed: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    required: ["DIGITAL_SIGNATURE"],
    denied: [],
  };
  spec.subject = { COMMON_NAME: { allowed: ["*"], denied: [], required: true } };
  spec.sans = { dns: { allowed: ["**.team-a.example.com"], denied: [], required: false } };
  spec.maxTtlSeconds = 30 * DAY;
  return spec;
}

describe("stop 58: REUSE for a revoked owner, and CA names of the path", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let owner: { id: string; clients: CertmintClients };
  let sharer: { id: string; clients: CertmintClients };

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "r58"); // CN "r58 CA"
    await createProfileRows(h, { slug: "keep58", caId: root.id });
    await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "shared58",
          certificatePolicy: "keep58-policy",
          issuer: { $case: "certificateAuthority", value: "r58" },
          privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_RETURN_ONCE,
          renewal: { allowSharedRenewal: true },
        },
      }),
    );
    owner = await createToken(h, "owner58", Role.ROLE_ISSUER, ["shared58"]);
    sharer = await createToken(h, "sharer58", Role.ROLE_ISSUER, ["shared58"]);
    const issuing = await createIntermediate(h, "i58", "r58", { maxPathLength: 1 });
    await createProfileRows(h, { slug: "subca58", caId: issuing.id, spec: subCaSpec() });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const snapshot = async () => ({
    certificates: await countRows(h, "certificate"),
    requests: await countRows(h, "certificate_request"),
    renewed: await countRows(h, "certificate", "renewed_by_id is not null"),
  });

  it("refuses REUSE of a certificate whose owner token was revoked, by a sharing issuer or an admin; NEW renews it as the caller's", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=svc.owner58.example.com", ["DNS:svc.owner58.example.com"]);
    const issued = await call(owner.clients.certificates, "issueCertificate", {
      ...csrRequest("shared58", csrPem),
    });
    expect(issued.status).toBe(ISSUED);
    const certificateId = issued.certificate!.certificateId;
    // While the owner stands, the sharing issuer renews it with its key.
    const kept = await call(
      sharer.clients.certificates,
      "renewCertificate",
      renewRequest({ certificateId, keySource: REUSE }),
    );
    expect(kept.status).toBe(ISSUED);
    const current = kept.certificate!.certificateId;

    await call(h.accessTokens, "revokeAccessToken", {
      accessToken: owner.id,
      revokeCreatedTokens: false,
    });
    for (const who of [sharer.clients, undefined]) {
      const before = await snapshot();
      const renew = renewRequest({ certificateId: current, keySource: REUSE });
      const err = await rpcError(
        who
          ? call(who.certificates, "renewCertificate", renew)
          : call(h.certificates, "renewCertificate", renew),
      );
      expect(err.code).toBe(Code.FAILED_PRECONDITION);
      expect(err.reason).toBe("OWNER_REVOKED");
      expect(err.message).toContain('"owner58"');
      expect(err.message).toContain("RENEWAL_KEY_SOURCE_NEW");
      expect(err.preconditions[0]).toMatchObject({
        type: "OWNER_STATUS",
        subject: "access_tokens/owner58",
      });
      expect(await snapshot()).toEqual(before);
    }
    // A new key is the caller's: renewed, and owned by the sharing issuer.
    const fresh = await call(
      sharer.clients.certificates,
      "renewCertificate",
      renewRequest({ certificateId: current, keySource: NEW }),
    );
    expect(fresh.status).toBe(ISSUED);
    expect(fresh.privateKeyPem).toContain("PRIVATE KEY");
    expect((await getCert(h, fresh.certificate!.certificateId)).ownerAccessTokenId).toBe(sharer.id);
  });

  it("refuses a CA certificate named as a CA above its issuer, writing no certificate", async () => {
    const ask = (cn: string) =>
      issueRequest({
        certificateProfile: "subca58",
        source: { $case: "csrPem", value: buildCsr({ subject: [["CN", cn]] }).csrPem },
        caCertificate: { maxPathLength: 0 },
      });
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, ask("r58 CA")));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(err.violations.map((v) => v.reason)).toContain("SUBJECT_IS_ISSUER");
    expect(err.message).toContain("above the issuing CA");
    expect((await rowCounts(h)).certificates).toBe(before.certificates);
    // Another name is signed.
    const ok = await issue(h, ask("Team A CA"));
    expect(ok.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
  });
});
