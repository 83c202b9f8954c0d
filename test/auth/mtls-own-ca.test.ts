/**
 * certmint's own CA as the mTLS client CA (issue 6: "certmint's own CAs among them"): a client
 * certificate certmint issued authenticates as the access token bound to its identity, and
 * stops authenticating the moment certmint revokes it, or revokes a CA above it (TLS checks the
 * chain's signatures and dates, not revocation).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { presetSpec } from "../../src/issuance/policy-engine";
import { createIntermediate } from "../ca/helpers";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";
import { until } from "../support/wait";

describe("a client certificate from certmint's own CA", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let tls: MtlsServer;
  let client: { certPem: string; keyPem: string; serial: string };

  const over = (cert?: ClientCert, token?: string) => tls.over(cert, token);
  const list = (c: CertmintClients) =>
    call(c.authorities, "listCertificateAuthorities", { pageSize: 0, pageToken: "", status: 0 });

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "clients-root");
    const spec = presetSpec("TLS_CLIENT");
    // "batch-job" as a CN is a (single-label) DNS name: the DNS rules must allow it (issue 17).
    spec.sans.dns = { allowed: ["**.example.com", "batch-job"], denied: [], required: false };
    spec.subject.COMMON_NAME = { allowed: ["*"], denied: [], required: false };
    await createProfileRows(h, { slug: "clients", caId: root.id, spec });
    // Bound first, then issued: an admin's certificate counts only for a binding made before it.
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "batch-job",
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
            value: "batch-job.example.com",
            certificateAuthority: "clients-root",
          },
        },
      }),
    );
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("clients", { cn: "batch-job", dns: ["batch-job.example.com"] }),
    );
    client = {
      certPem: issued.certificate!.certificatePem,
      keyPem: issued.privateKeyPem,
      serial: issued.certificate!.serialNumber,
    };
    // A second server on the same database and data dir, with TLS and certmint's root as the
    // only client CA.
    tls = await startMtlsServer(h, dir, root.certificatePem);
  });
  afterAll(async () => {
    await tls?.stop();
    await h?.stop();
    dir.remove();
  });

  // A hold is the one reversible revocation (ReleaseCertificateHold, since stop 42 of
  // 2026-12-06): put on hold and released through the other server process, the certificate is
  // refused and then accepted again by this one, as each process hears of the change.
  it("is refused while on hold and authenticates again once the hold is released", async () => {
    expect((await list(over(client))).certificateAuthorities).toHaveLength(1);
    await call(h.certificates, "revokeCertificate", {
      certificate: client.serial,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    await until("the mTLS server to refuse the held certificate", async () => {
      try {
        await list(over(client));
        return false;
      } catch (err) {
        expect(decodeError(err)).toMatchObject({
          code: status.UNAUTHENTICATED,
          reason: "CLIENT_CERTIFICATE_REVOKED",
        });
        return true;
      }
    });
    await call(h.certificates, "releaseCertificateHold", { certificate: client.serial });
    await until("the mTLS server to accept the released certificate", async () => {
      try {
        await list(over(client));
        return true;
      } catch (err) {
        expect(decodeError(err).reason).toBe("CLIENT_CERTIFICATE_REVOKED");
        return false;
      }
    });
  });

  it("authenticates as its binding, then is refused once certmint revokes it", async () => {
    const ok = await list(over(client));
    expect(ok.certificateAuthorities.map((c) => c.slug)).toEqual(["clients-root"]);
    // An auditor binding: reads only.
    const denied = await expectRpcError(
      call(over(client).certificates, "revokeCertificate", {
        certificate: client.serial,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    expect(denied).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });

    // The admin revokes it through the same server: the very next call is refused.
    await call(over(client, h.adminToken).certificates, "revokeCertificate", {
      certificate: client.serial,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const err = await expectRpcError(list(over(client)));
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_REVOKED",
    });
    // A bearer token on the same connection still works: the token, not the certificate, is
    // the credential then.
    const admin = await list(over(client, h.adminToken));
    expect(admin.certificateAuthorities).toHaveLength(1);
  });
});

describe("a client certificate under an intermediate that certmint revokes", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let tls: MtlsServer;
  let client: ClientCert;

  const over = (cert: ClientCert, token?: string) => tls.over(cert, token);
  const list = (c: CertmintClients) =>
    call(c.authorities, "listCertificateAuthorities", { pageSize: 0, pageToken: "", status: 0 });

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "org-root");
    const intermediate = await createIntermediate(h, "team-ca", "org-root");
    const spec = presetSpec("TLS_CLIENT");
    spec.sans.dns = { allowed: ["**.example.com"], denied: [], required: false };
    await createProfileRows(h, { slug: "team-clients", caId: intermediate.id, spec });
    // Bound first, then issued: an admin's certificate counts only for a binding made before it.
    // The binding names the root: the certificate's issuing path runs through the intermediate.
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: "deployer",
          role: Role.ROLE_AUDITOR,
          clientCertificateBinding: {
            identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_DNS_SAN,
            value: "deployer.example.com",
            certificateAuthority: "org-root",
          },
        },
      }),
    );
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("team-clients", { dns: ["deployer.example.com"] }),
    );
    client = { certPem: issued.certificate!.certificatePem, keyPem: issued.privateKeyPem };
    tls = await startMtlsServer(h, dir, `${root.certificatePem}\n${intermediate.certificatePem}`);
  });
  afterAll(async () => {
    await tls?.stop();
    await h?.stop();
    dir.remove();
  });

  it("authenticates until the intermediate is revoked, then as no one", async () => {
    const ok = await list(over(client));
    expect(ok.certificateAuthorities.map((c) => c.slug).sort()).toEqual(["org-root", "team-ca"]);

    await call(over(client, h.adminToken).authorities, "revokeCertificateAuthority", {
      certificateAuthority: "team-ca",
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    // TLS still accepts the chain (the CA file has not changed); certmint refuses the identity.
    const err = await expectRpcError(list(over(client)));
    expect(err).toMatchObject({
      code: status.UNAUTHENTICATED,
      reason: "CLIENT_CERTIFICATE_ISSUER_REVOKED",
    });
    // The leaf itself was never revoked: the refusal comes from its issuer.
    const rows = await h.db.query<{ revoked_at: Date | null }>(
      "select c.revoked_at from certificate c join certificate_authority a on a.id = c.ca_id where a.slug = 'team-ca'",
    );
    expect(rows.map((r) => r.revoked_at)).toEqual([null]);
  });
});
