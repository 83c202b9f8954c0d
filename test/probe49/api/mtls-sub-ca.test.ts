/**
 * Stop 49, helper API: which identity an mTLS client certificate really proves, on the compiled
 * server. An admin token is bound to the URI SAN spiffe://prod.example/ns/batch/sa/job under
 * certmint's root. An issuer whose profile may issue sub-CAs for spiffe://prod.example/ns/team-a/*
 * only gets one: its name constraints can only say "host prod.example" (RFC 5280 4.2.1.10 has no
 * path subtrees; the README says so), so a leaf it signs itself for the admin's SPIFFE ID passes
 * the TLS handshake. That leaf is no certificate certmint issued (no owner to check): it must
 * still authenticate as no one, and nothing it asks for may be written.
 */
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CaCertificateRule,
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyUsage } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";
import { type MtlsClients, mtlsClients } from "../../support/mtls-server";
import { opensslOk, TempDir } from "../../support/openssl";
import { type ServerProcess, startServerProcess } from "../../support/server-process";
import { makeCa, makeLeaf } from "../../tls/pki";
import { type LiveCertmint, Role, startLive, token } from "./live";

const BATCH_JOB = "spiffe://prod.example/ns/batch/sa/job";

describe("probe49 API: a sub-CA's self-made leaf for the admin's SPIFFE ID over mTLS", () => {
  const dir = new TempDir();
  let live: LiveCertmint;
  let mtls: ServerProcess;
  let clients: MtlsClients;
  let rootPem: string;
  let subCa: { certPem: string; keyFile: string };

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
    subCa = { certPem: issued.certificate!.certificatePem, keyFile };
    // A second server on the same database, requiring client certificates from prod-root.
    const serverCa = makeCa(dir, "probe49 server CA");
    const leaf = makeLeaf(dir, serverCa, "certmint", "server");
    mtls = await startServerProcess({
      DATABASE_URL: live.db.url,
      CERTMINT_DATA_DIR: live.server.dataDir,
      CERTMINT_KEK: live.kek,
      CERTMINT_TLS_CERT_FILE: leaf.certFile,
      CERTMINT_TLS_KEY_FILE: leaf.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: dir.file("client-cas.pem", rootPem),
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

  it("its own leaf for the admin's SPIFFE ID passes TLS but authenticates as no one, and writes nothing", async () => {
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
});
