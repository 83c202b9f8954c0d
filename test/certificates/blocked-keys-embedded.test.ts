/**
 * Blocked keys on the database users run first (`make run`: the compiled server on the
 * embedded PGlite, no DATABASE_URL): the store's trigger, its advisory locks and the backfilled
 * column work there as on PostgreSQL. The same CSR twice; one revoked for key compromise
 * revokes both; the key is refused afterwards.
 */
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificateProfile } from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  IssueCertificateRequest,
  ListCertificateRequestsRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { createTlsServerPolicy, opensslCsr } from "../support/fixtures";
import { type CertmintClients, call, decodeError, makeClients } from "../support/harness";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";

describe("blocked keys on the embedded database", { timeout: 2 * START_LIMIT_MS }, () => {
  let server: ServerProcess;
  let c: CertmintClients;

  beforeAll(async () => {
    server = await startServerProcess({ DATABASE_URL: "" });
    c = makeClients(server.address, server.adminToken());
    await call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: "Embedded Root" },
      }),
    );
    await createTlsServerPolicy(c, "web-policy", 30 * 86_400);
    await call(c.profiles, "createCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web",
        certificatePolicy: "web-policy",
        issuer: { $case: "certificateAuthority", value: "root" },
      }),
    });
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    for (const client of Object.values(c ?? {})) (client as Client).close();
    await server?.stop();
  });

  it("revokes every certificate of a compromised key and refuses the key afterwards", async () => {
    const { csrPem } = opensslCsr("/CN=kc.example.com", ["DNS:kc.example.com"]);
    const issue = () =>
      call(
        c.certificates,
        "issueCertificate",
        IssueCertificateRequest.fromPartial({
          certificateProfile: "web",
          source: { $case: "csrPem", value: csrPem },
        }),
      );
    const first = (await issue()).certificate!;
    const second = (await issue()).certificate!;
    await call(c.certificates, "revokeCertificate", {
      certificate: first.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const again = await call(c.certificates, "getCertificate", {
      certificate: second.certificateId,
    });
    expect(again.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    const refused = await issue().then(
      () => undefined,
      (err: unknown) => decodeError(err),
    );
    expect(refused?.reason).toBe("KEY_BLOCKED");
    // The refusal is a FAILED request, in the list of requests not issued, with why.
    const failed = await call(
      c.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({
        status: CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_FAILED,
      }),
    );
    expect(failed.certificateRequests).toHaveLength(1);
    expect(failed.certificateRequests[0]!.error?.message).toContain("revoked for key compromise");
    // The server keeps serving.
    const other = opensslCsr("/CN=ok.example.com", ["DNS:ok.example.com"]);
    const ok = await call(
      c.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "web",
        source: { $case: "csrPem", value: other.csrPem },
      }),
    );
    expect(ok.certificate!.certificatePem).toContain("BEGIN CERTIFICATE");
  });
});
