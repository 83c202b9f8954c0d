/**
 * Probe 51 (IDENTITY): stop 49's sub-CA probe (test/probe49/api/mtls-sub-ca.test.ts) with the one
 * change an operator makes to bind the sub-CA's own workloads: the sub-CA certmint issued to
 * team-a goes into CERTMINT_TLS_CLIENT_CA_FILE beside the root (README "Client certificate
 * bindings": "put an outside issuing intermediate in that bundle beside its root"), and a team-a
 * token is bound to a SPIFFE ID under team-a's namespace by the sub-CA's SHA-256. An admin token is
 * bound to spiffe://prod.example/ns/batch/sa/job under the root. team-a's profile allows it
 * spiffe://prod.example/ns/team-a/* only; its sub-CA's name constraints can only say "host
 * prod.example". README: "an issuer whose policy allows a bound identity's name ... cannot mint
 * itself that token's credential, an admin's included". A leaf team-a's sub-CA signs for the
 * admin's SPIFFE ID must still authenticate as no one.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  GetAccessTokenRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CaCertificateRule,
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateStatus,
  IssueCertificateRequest,
  RevokeCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyUsage, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { opensslCsr } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";
import { type MtlsClients, mtlsClients } from "../../support/mtls-server";
import { opensslOk, TempDir } from "../../support/openssl";
import { type ServerProcess, startServerProcess } from "../../support/server-process";
import { makeCa, makeLeaf } from "../../tls/pki";

const BATCH_JOB = "spiffe://prod.example/ns/batch/sa/job";
const TEAM_A_WEB = "spiffe://prod.example/ns/team-a/sa/web";

describe("probe51 identity: a certmint-issued sub-CA in the client CA bundle", () => {
  const dir = new TempDir();
  let live: LiveCertmint;
  let mtls: ServerProcess;
  let clients: MtlsClients;
  let rootPem: string;
  let subCa: { certPem: string; keyFile: string; id: string };

  beforeAll(async () => {
    live = await startLive();
    const a = live.admin;
    const root = await call(
      a.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "prod-root",
        subject: { commonName: "Prod Root" },
        maxPathLength: 2,
      }),
    );
    rootPem = root.certificateAuthority!.certificatePem;
    await call(
      a.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
        certificatePolicy: {
          slug: "team-a-sub-ca",
          basicConstraints: {
            ca: CaCertificateRule.CA_CERTIFICATE_RULE_REQUIRED,
            maxPathLength: 0,
          },
          sanRules: { uri: { allowed: ["spiffe://prod.example/ns/team-a/*"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    await call(
      a.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "team-a-sub-ca",
          certificatePolicy: "team-a-sub-ca",
          defaults: { ttl: { seconds: String(30 * 86_400), nanos: 0 } },
          issuer: { $case: "certificateAuthority", value: "prod-root" },
        },
      }),
    );
    // The admin identity the attacker wants.
    await call(
      a.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "batch-admin",
          role: Role.ROLE_ADMIN,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: BATCH_JOB,
            certificateAuthority: "prod-root",
          },
        },
      }),
    );
    const teamA = await token(live, "team-a", Role.ROLE_ISSUER, ["team-a-sub-ca"]);
    // The issuer's sub-CA, from its own key.
    const subRequest = opensslCsr("/CN=team-a issuing", []);
    const keyFile = dir.file("sub.key", subRequest.keyPem);
    const issued = await call(
      teamA.clients.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "team-a-sub-ca",
        source: { $case: "csrPem", value: subRequest.csrPem },
        keyUsages: [
          KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE,
          KeyUsage.KEY_USAGE_KEY_CERT_SIGN,
          KeyUsage.KEY_USAGE_CRL_SIGN,
        ],
        caCertificate: {},
      }),
    );
    subCa = {
      certPem: issued.certificate!.certificatePem,
      keyFile,
      id: issued.certificate!.certificateId,
    };
    // team-a's workload token, bound under its own sub-CA (named by its certificate's SHA-256).
    await call(
      a.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "team-a-web",
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
            value: TEAM_A_WEB,
            issuerCertificateSha256: new X509Certificate(subCa.certPem).fingerprint256,
          },
        },
      }),
    );
    // A second server on the same database, requiring client certificates from prod-root.
    const serverCa = makeCa(dir, "probe49 server CA");
    const leaf = makeLeaf(dir, serverCa, "certmint", "server");
    mtls = await startServerProcess({
      DATABASE_URL: live.db.url,
      CERTMINT_DATA_DIR: live.server.dataDir,
      CERTMINT_KEK: live.kek,
      CERTMINT_TLS_CERT_FILE: leaf.certFile,
      CERTMINT_TLS_KEY_FILE: leaf.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: dir.file("client-cas.pem", rootPem + subCa.certPem),
      CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
      CERTMINT_LOG_FORMAT: "json",
    });
    clients = mtlsClients(serverCa);
  });
  afterAll(async () => {
    clients?.closeAll();
    await mtls?.stop();
    await live?.stop();
    dir.remove();
  });

  /** A clientAuth leaf for `uri`, signed by the sub-CA's key outside certmint. */
  function selfMadeLeaf(uri: string): { certPem: string; keyPem: string } {
    const leafRequest = opensslCsr("/CN=job", []);
    const csr = dir.file("leaf.csr", leafRequest.csrPem);
    const ext = dir.file(
      "leaf-ext.cnf",
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:${uri}\n`,
    );
    const certPem = opensslOk([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      dir.file("sub.pem", subCa.certPem),
      "-CAkey",
      subCa.keyFile,
      "-CAcreateserial",
      "-days",
      "5",
      "-extfile",
      ext,
    ]);
    return { certPem, keyPem: leafRequest.keyPem };
  }

  it("the sub-CA is a CA certificate under prod-root constrained to the host prod.example only", () => {
    const sub = new X509Certificate(subCa.certPem);
    expect(sub.ca).toBe(true);
    expect(sub.verify(new X509Certificate(rootPem).publicKey)).toBe(true);
    const text = opensslOk(["x509", "-noout", "-text"], subCa.certPem);
    expect(text).toMatch(/Name Constraints: critical/);
  });

  it("team-a's own workload, from its sub-CA, authenticates as its binding (the bundle is in use)", async () => {
    const leaf = selfMadeLeaf(TEAM_A_WEB);
    const over = clients.at(mtls.address, {
      certPem: leaf.certPem + subCa.certPem,
      keyPem: leaf.keyPem,
    });
    const listed = await call(
      over.accessTokens,
      "getAccessToken",
      GetAccessTokenRequest.fromPartial({ accessToken: "team-a-web" }),
    );
    expect(listed.accessToken!.slug).toBe("team-a-web");
  });

  it("its own leaf for the admin's SPIFFE ID, with the sub-CA in the bundle, authenticates as no one, and writes nothing", async () => {
    const leaf = selfMadeLeaf(BATCH_JOB);
    // The TLS client presents the leaf and the sub-CA (the chain TLS verifies).
    const over = clients.at(mtls.address, {
      certPem: leaf.certPem + subCa.certPem,
      keyPem: leaf.keyPem,
    });
    const before = await live.count("access_token");
    const err = await expectRpcError(
      call(
        over.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "stolen-admin", role: Role.ROLE_ADMIN },
        }),
      ),
    );
    expect(err.code).toBe(status.UNAUTHENTICATED);
    expect(err.reason).toBe("CLIENT_CERTIFICATE_NOT_BOUND");
    expect(await live.count("access_token")).toBe(before);
    expect(await live.count("access_token", "slug = 'stolen-admin'")).toBe(0);
  });

  it("once certmint revokes the sub-CA's certificate, what the sub-CA signed authenticates as no one", async () => {
    const revoked = await call(
      live.admin.certificates,
      "revokeCertificate",
      RevokeCertificateRequest.fromPartial({
        certificate: subCa.id,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    expect(revoked.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    // A leaf made after the revocation (nothing of it cached), for team-a's own bound identity.
    const leaf = selfMadeLeaf(TEAM_A_WEB);
    const over = clients.at(mtls.address, {
      certPem: leaf.certPem + subCa.certPem,
      keyPem: leaf.keyPem,
    });
    const outcome = await call(
      over.accessTokens,
      "getAccessToken",
      GetAccessTokenRequest.fromPartial({ accessToken: "team-a-web" }),
    ).then(
      () => ({ code: status.OK, reason: "" }),
      async (err) => {
        const e = await expectRpcError(Promise.reject(err));
        return { code: e.code, reason: e.reason ?? "" };
      },
    );
    // README: a client certificate with a CA on its issuing path that certmint revoked is
    // refused (CLIENT_CERTIFICATE_ISSUER_REVOKED); the sub-CA is one certmint issued and revoked.
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ code: status.UNAUTHENTICATED });
  });
});
