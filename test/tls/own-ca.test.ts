import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  GetCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { TempDir } from "../support/openssl";
import { tlsHealthCheck } from "./pki";
import { type LoggedCertmint, startLogged } from "./server";

/**
 * certmint's own CAs as the trust of its mTLS: a plaintext certmint on loopback issues the
 * server and client certificates; the exported CA certificates become the client CA bundle of
 * a TLS certmint that requires client certificates.
 */
describe("mTLS with certificates issued by certmint's own CAs", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let mtls: LoggedCertmint;
  let rootPem: string;
  let client: { certPem: string; keyPem: string; serial: string };
  let server: { certPem: string; keyPem: string; chainPem: string[] };

  async function policyAndProfile(
    slug: string,
    preset: CertificatePolicyPreset,
    sanRules: Record<string, { allowed: string[] }>,
  ) {
    await call(
      h.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset,
        certificatePolicy: { slug, sanRules, subjectRules: { commonName: { allowed: ["*"] } } },
      }),
    );
    await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug,
          certificatePolicy: slug,
          issuer: { $case: "certificateAuthority", value: "issuing" },
        },
      }),
    );
  }

  async function issue(profile: string, commonName: string, sans: Record<string, string[]>) {
    const res = await call(
      h.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: {
            subject: { commonName },
            subjectAlternativeNames: sans,
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const cert = res.certificate!;
    return {
      certPem: cert.certificatePem,
      chainPem: cert.certificateChainPem,
      keyPem: res.privateKeyPem,
      serial: cert.serialNumber,
    };
  }

  async function caPem(slug: string): Promise<string> {
    const res = await call(
      h.authorities,
      "getCertificateAuthority",
      GetCertificateAuthorityRequest.fromPartial({ certificateAuthority: slug }),
    );
    return res.certificateAuthority!.certificatePem;
  }

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "root");
    await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "issuing",
        parentCertificateAuthority: "root",
        subject: { commonName: "Issuing CA" },
      }),
    );
    await policyAndProfile(
      "grpc-server",
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      {
        ip: { allowed: ["127.0.0.1"] },
      },
    );
    await policyAndProfile(
      "grpc-client",
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
      {
        uri: { allowed: ["spiffe://prod.example/ns/payments/*"] },
      },
    );
    server = await issue("grpc-server", "certmint server", { ipAddresses: ["127.0.0.1"] });
    client = await issue("grpc-client", "payments api", {
      uris: ["spiffe://prod.example/ns/payments/sa/api"],
    });
    rootPem = await caPem("root");

    // Server: leaf then its chain up to (not including) the root. Client CAs: the exported
    // root and issuing CA (OpenSSL verifies up to a self-signed root, so the root is needed).
    const certFile = join(dir.path, "server.pem");
    const keyFile = join(dir.path, "server.key");
    const clientCaFile = join(dir.path, "client-cas.pem");
    writeFileSync(certFile, [server.certPem, server.chainPem[0]].join(""));
    writeFileSync(keyFile, server.keyPem, { mode: 0o600 });
    writeFileSync(clientCaFile, [rootPem, await caPem("issuing")].join(""));
    mtls = await startLogged(h.db.url, {
      CERTMINT_DATA_DIR: h.dataDir,
      CERTMINT_TLS_CERT_FILE: certFile,
      CERTMINT_TLS_KEY_FILE: keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: clientCaFile,
      CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
      // Health checks are logged at debug (src/server/call-logging.ts); the test reads them.
      CERTMINT_LOG_LEVEL: "debug",
    });
  });
  afterAll(async () => {
    await mtls?.running.shutdown();
    await h?.stop();
    dir.remove();
  });

  it("accepts the certmint-issued client certificate and logs its SPIFFE ID", async () => {
    expect(await tlsHealthCheck(mtls.port, rootPem, client)).toBe("SERVING");
    const line = mtls.logs.find((l) => l.msg === "call");
    expect(line).toMatchObject({
      peer: {
        cn: "payments api",
        uris: ["spiffe://prod.example/ns/payments/sa/api"],
        serial: client.serial,
      },
    });
  });

  it("refuses a certificate from the same CAs without the clientAuth purpose (TLS server preset)", async () => {
    await expect(tlsHealthCheck(mtls.port, rootPem, server)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });
  });

  it("logs the exported CAs as the client CAs", () => {
    expect(mtls.logs.find((l) => l.msg === "TLS enabled")).toMatchObject({
      subject: "CN=certmint server",
      clientCas: ["CN=root CA", "CN=Issuing CA"],
      chainLength: 2,
    });
  });
});
