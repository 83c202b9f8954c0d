/**
 * Stop-49 outside probe: the embedded default (`make run`) at its own defaults, idle longer than
 * its database pool's idle timeout (30 s, CERTMINT_DATABASE_IDLE_TIMEOUT_MS), then every kind of
 * call (graceful stops: drain.test.ts).
 *
 * The last review found the embedded default broken after 30 s idle, and no test saw it: the
 * existing test (test/server/embedded-lifecycle.test.ts) shortens the idle timeout to 300 ms and
 * slows the server's own background work, so it never ran the configuration users run. Here
 * nothing is shortened: the test waits real time, once (35 s after the last call; the only
 * duration this file waits for, and the point of the test).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  ListAccessTokensRequest,
  Role,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../../gen/ts/certmint/v1/audit_service";
import { ListCertificateAuthoritiesRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { ListCertificatePoliciesRequest } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { ListCertificateProfilesRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  ListCertificateRequestsRequest,
  ListCertificatesRequest,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { openssl, TempDir } from "../../support/openssl";
import { checkHealth, type ServerProcess, START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import {
  closeClients,
  createIssuingProfile,
  csrIssueRequest,
  generatedKeyRequest,
  publicationPort,
  startEmbedded,
} from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;
/** Past the pool's default idle timeout (30 s) with a margin. */
const IDLE_MS = 35_000;

describe("probe49 EMB: idle past the pool's timeouts at the defaults", {
  timeout: START_LIMIT_MS + 2 * IDLE_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe49-idle-"));
  const dataDir = join(base, "data");
  const tmp = new TempDir();
  let server: ServerProcess;
  let c: CertmintClients;
  let rootPem = "";
  let issuingPem = "";
  let issuingId = "";
  let firstCertificateId = "";
  let lastCall = 0;

  const issue = (name: string, requestId: string) =>
    call(c.certificates, "issueCertificate", generatedKeyRequest("web", requestId, name));
  const verify = (pem: string) => {
    const out = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      tmp.file("root.pem", rootPem),
      "-untrusted",
      tmp.file("issuing.pem", issuingPem),
      tmp.file("leaf.pem", pem),
    ]);
    expect(out.stdout + out.stderr).toMatch(/leaf\.pem: OK/);
  };

  beforeAll(async () => {
    // Defaults but the publication port (off by default) and debug logging (to see sessions).
    server = await startEmbedded(dataDir, {
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
      CERTMINT_LOG_LEVEL: "debug",
    });
    c = makeClients(server.address, server.adminToken());
    const { root, issuing } = await createIssuingProfile(c);
    rootPem = root.certificatePem;
    issuingPem = issuing.certificatePem;
    issuingId = issuing.id;
    const first = await issue("first.example.com", "idle-first");
    firstCertificateId = first.certificate!.certificateId;
    lastCall = Date.now();
  }, START_LIMIT_MS);
  afterAll(async () => {
    closeClients(c);
    await server?.stop("SIGKILL");
    tmp.remove();
    rmSync(base, { recursive: true, force: true });
  });

  it(`serves every kind of call after ${IDLE_MS / 1000} s idle (real time, the defaults' idle timeouts)`, async () => {
    // The one wait for a duration in this file: idleness itself is what is probed.
    await new Promise((r) => setTimeout(r, Math.max(0, lastCall + IDLE_MS - Date.now())));

    // A write first: the first statement after the idle gap is an issuance.
    const after = await issue("after-idle.example.com", "idle-after");
    expect(after.status).toBe(ISSUED);
    verify(after.certificate!.certificatePem);
    expect(await checkHealth(server.address)).toBe("SERVING");

    const { csrPem } = opensslCsr("/", ["DNS:csr-after-idle.example.com"]);
    const fromCsr = await call(
      c.certificates,
      "issueCertificate",
      csrIssueRequest("web", "idle-csr", csrPem),
    );
    expect(fromCsr.status).toBe(ISSUED);
    const renewed = await call(
      c.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: fromCsr.certificate!.certificateId,
        requestId: "idle-renew",
      }),
    );
    expect(renewed.status).toBe(ISSUED);
    verify(renewed.certificate!.certificatePem);
    const status = await call(c.certificates, "getRequestStatus", {
      certificateRequestId: after.certificateRequestId,
    });
    expect(status.certificate!.certificateId).toBe(after.certificate!.certificateId);
    await call(c.certificates, "revokeCertificate", {
      certificate: firstCertificateId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const got = await call(c.certificates, "getCertificate", { certificate: firstCertificateId });
    expect(got.certificate!.revocationReason).toBe(RevocationReason.REVOCATION_REASON_SUPERSEDED);
    const certs = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 50 }),
    );
    expect(certs.certificates).toHaveLength(4);
    const requests = await call(
      c.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({ pageSize: 50 }),
    );
    expect(requests.certificateRequests.every((r) => r.status === ISSUED)).toBe(true);
    const cas = await call(
      c.authorities,
      "listCertificateAuthorities",
      ListCertificateAuthoritiesRequest.fromPartial({}),
    );
    expect(cas.certificateAuthorities).toHaveLength(2);
    const policies = await call(
      c.policies,
      "listCertificatePolicies",
      ListCertificatePoliciesRequest.fromPartial({}),
    );
    expect(policies.certificatePolicies.map((p) => p.slug)).toContain("web-tls");
    const profiles = await call(
      c.profiles,
      "listCertificateProfiles",
      ListCertificateProfilesRequest.fromPartial({}),
    );
    expect(profiles.certificateProfiles.map((p) => p.slug)).toEqual(["web"]);
    const token = await call(
      c.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "idle-issuer", role: Role.ROLE_ISSUER, certificateProfiles: ["web"] },
        requestId: "idle-token",
      }),
    );
    expect(token.secret).toMatch(/^certmint_/);
    const tokens = await call(
      c.accessTokens,
      "listAccessTokens",
      ListAccessTokensRequest.fromPartial({}),
    );
    expect(tokens.accessTokens.map((t) => t.slug)).toContain("idle-issuer");
    const audit = await call(c.audit, "listAuditRecords", ListAuditRecordsRequest.fromPartial({}));
    expect(audit.auditRecords.length).toBeGreaterThan(0);

    const crl = await call(c.authorities, "getCertificateRevocationList", {
      certificateAuthority: "issuing",
      encoding: 0,
      knownCrlNumber: "",
    });
    const crlText = openssl(["crl", "-in", tmp.file("crl.pem", crl.crlPem), "-noout", "-text"]);
    expect(crlText.stdout).toContain(got.certificate!.serialNumber.toUpperCase());
    const http = await fetch(`http://127.0.0.1:${publicationPort(server)}/crl/${issuingId}.crl`);
    expect(http.status).toBe(200);
    const ocsp = openssl([
      "ocsp",
      "-issuer",
      tmp.file("issuing.pem", issuingPem),
      "-cert",
      tmp.file("revoked.pem", got.certificate!.certificatePem),
      "-url",
      `http://127.0.0.1:${publicationPort(server)}/ocsp`,
      "-CAfile",
      tmp.file("root.pem", rootPem),
      "-no_nonce",
    ]);
    expect(ocsp.stdout + ocsp.stderr).toMatch(/revoked\.pem: revoked/);

    const watch = new WatchStream(c, {});
    await waitFor("the watch stream to open", () => watch.open);
    watch.cancel();
    expect(await checkHealth(server.address)).toBe("SERVING");
  });
});
