/**
 * Client certificates as credentials (mTLS): a certificate verified against
 * CERTMINT_TLS_CLIENT_CA_FILE authenticates as the access token whose binding it matches (the
 * named identity type and value, from the named CA), with that token's role and profiles;
 * anything else is refused. The PKI is made with openssl (test/tls/pki.ts); the bindings name
 * the client CA by its certificate's SHA-256 (an outside CA). test/auth/mtls-escalation.test.ts
 * covers the binding rules with certmint's own CAs.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createProfileRows } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";
import { type Issued, makeCa, makeLeaf } from "../tls/pki";

const SPIFFE = "spiffe://test.example/ns";
const PAYMENTS = `${SPIFFE}/payments/sa/api`;

describe("client certificate identity (mTLS)", () => {
  const dir = new TempDir();
  /** Optional client certificates (CLIENT_CA_FILE, not required). */
  let h: TestCertmint;
  /** The same database behind a server that requires a client certificate. */
  let strict: MtlsServer;
  let serverCa: Issued;
  let clientCa: Issued;
  let rogueCa: Issued;
  let payments: Issued; // URI SAN PAYMENTS: bound to an ISSUER of profile "web"
  let auditBot: Issued; // CN only: bound (by CN) to an AUDITOR
  let stranger: Issued; // an unbound URI SAN, and PAYMENTS (a URI binding) as its CN
  let temp: Issued; // bound, then revoked
  let rogue: Issued; // PAYMENTS' names, from a CA certmint does not trust
  const ids: Record<string, string> = {};

  /** Clients of `address` over TLS, presenting `cert` (if any) and sending `token` (if any). */
  const clients = (address: string, cert?: Issued, token?: string): CertmintClients =>
    strict.clientsAt(address, cert, token);
  const as = (cert?: Issued, token?: string) => clients(h.address, cert, token);
  const admin = () => as(undefined, h.adminToken);

  const issue = (c: CertmintClients, profile: string, name: string) =>
    call(c.certificates, "issueCertificate", generatedKeyRequest(profile, name));
  const listCertificates = (c: CertmintClients) =>
    call(c.certificates, "listCertificates", {
      pageSize: 0,
      pageToken: "",
      certificateProfile: "",
      certificateAuthority: "",
      status: 0,
      expiresBefore: undefined,
      nameContains: "",
      view: 0,
    });
  const createRootAs = (c: CertmintClients, slug: string) =>
    call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug,
        subject: { commonName: slug },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
  const auditRows = (where: string, params: unknown[]) =>
    h.db.query<{
      actor_id: string;
      actor_slug: string;
      method: string;
      status_code: number;
      error_reason: string;
      resource_type: string;
      resource_id: string;
    }>(
      `select actor_id, actor_slug, method, status_code, error_reason, resource_type, resource_id
         from audit_record where ${where} order by created_at, id`,
      params,
    );

  async function bind(
    slug: string,
    identity: { type: "URI_SAN" | "COMMON_NAME"; value: string },
    role: Role,
    profiles: string[] = [],
  ) {
    const res = await call(
      admin().accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug,
          role,
          certificateProfiles: profiles,
          clientCertificateBinding: {
            identityType:
              ClientCertificateIdentityType[`CLIENT_CERTIFICATE_IDENTITY_TYPE_${identity.type}`],
            value: identity.value,
            issuerCertificateSha256: clientCa.fingerprint,
          },
        },
      }),
    );
    expect(res.secret).toBe("");
    ids[slug] = res.accessToken!.id;
  }

  beforeAll(async () => {
    serverCa = makeCa(dir, "certmint server CA");
    clientCa = makeCa(dir, "certmint client CA");
    rogueCa = makeCa(dir, "rogue CA");
    const server = makeLeaf(dir, serverCa, "certmint", "server");
    payments = makeLeaf(dir, clientCa, "payments-api", "client", [`URI:${PAYMENTS}`]);
    auditBot = makeLeaf(dir, clientCa, "audit-bot", "client");
    // openssl -subj takes '/' inside a value escaped.
    stranger = makeLeaf(dir, clientCa, PAYMENTS.replaceAll("/", "\\/"), "client", [
      `URI:${SPIFFE}/x/sa/stranger`,
    ]);
    temp = makeLeaf(dir, clientCa, "temp", "client", [`URI:${SPIFFE}/x/sa/temp`]);
    rogue = makeLeaf(dir, rogueCa, "payments-api", "client", [`URI:${PAYMENTS}`]);
    const tls = {
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: clientCa.certFile,
    };
    h = await startTestCertmint(tls);
    strict = await startMtlsServer(h, dir, clientCa.certPem, {
      server: { ca: serverCa, leaf: server },
    });

    await createRootAs(admin(), "root");
    const [root] = await h.db.query<{ id: string }>(
      "select id from certificate_authority where slug = 'root'",
    );
    await createProfileRows(h, { caId: root!.id, slug: "web" });
    await createProfileRows(h, { caId: root!.id, slug: "other" });
    await bind("payments-issuer", { type: "URI_SAN", value: PAYMENTS }, Role.ROLE_ISSUER, ["web"]);
    await bind("audit-bot", { type: "COMMON_NAME", value: "audit-bot" }, Role.ROLE_AUDITOR);
    await bind("temp", { type: "URI_SAN", value: `${SPIFFE}/x/sa/temp` }, Role.ROLE_AUDITOR);
  });
  afterAll(async () => {
    await strict?.stop();
    await h?.stop();
    dir.remove();
  });

  describe("(a) a certificate from a CA that is not configured", () => {
    it("is refused at the handshake (UNAVAILABLE) when client certificates are required", async () => {
      const strictAddress = `127.0.0.1:${strict.port}`;
      // Even with a valid bearer token: the connection never gets that far.
      for (const c of [
        clients(strictAddress, rogue),
        clients(strictAddress, rogue, h.adminToken),
        clients(strictAddress, undefined, h.adminToken),
      ]) {
        const err = await expectRpcError(listCertificates(c));
        expect(err.code).toBe(status.UNAVAILABLE);
      }
      // A certificate from the configured CA gets through, and is its identity.
      const ok = await listCertificates(clients(strictAddress, auditBot));
      expect(ok.certificates).toBeDefined();
    });

    it("is no credential (UNAUTHENTICATED) when client certificates are optional, even with a bound identity's names", async () => {
      const before = await auditRows("true", []);
      const c = as(rogue);
      const err = await expectRpcError(listCertificates(c));
      expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: "CREDENTIALS_MISSING" });
      const err2 = await expectRpcError(issue(c, "web", "rogue.example.com"));
      expect(err2).toMatchObject({ code: status.UNAUTHENTICATED, reason: "CREDENTIALS_MISSING" });
      // UNAUTHENTICATED calls have no actor: nothing is recorded.
      expect(await auditRows("true", [])).toEqual(before);
    });
  });

  describe("(b) a verified certificate bound to an access token", () => {
    it("authenticates with no bearer token, as the bound ISSUER (URI SAN identity): issues, and the audit actor is the binding", async () => {
      const c = as(payments);
      const res = await issue(c, "web", "pay.example.com");
      expect(res.certificate!.certificatePem).toContain("BEGIN CERTIFICATE");

      const records = await auditRows("method = $1 and resource_id = $2", [
        "/certmint.v1.CertificateService/IssueCertificate",
        res.certificateRequestId,
      ]);
      expect(records).toEqual([
        expect.objectContaining({
          actor_id: ids["payments-issuer"],
          actor_slug: "payments-issuer",
          status_code: 0,
        }),
      ]);
      const [request] = await h.db.query<{ caller: string }>(
        "select caller from certificate_request where id = $1",
        [res.certificateRequestId],
      );
      expect(request!.caller).toBe(ids["payments-issuer"]);
    });

    it("the ISSUER binding's limits apply: other profiles and admin RPCs are PERMISSION_DENIED", async () => {
      const c = as(payments);
      expect(await expectRpcError(issue(c, "other", "pay.example.com"))).toMatchObject({
        code: status.PERMISSION_DENIED,
        reason: "PROFILE_NOT_GRANTED",
      });
      expect(await expectRpcError(listCertificates(c))).toMatchObject({
        code: status.PERMISSION_DENIED,
        reason: "ROLE_NOT_ALLOWED",
      });
      const refused = await auditRows("actor_id = $1 and status_code <> 0", [
        ids["payments-issuer"],
      ]);
      expect(refused).toEqual([
        expect.objectContaining({
          method: "/certmint.v1.CertificateService/IssueCertificate",
          status_code: status.PERMISSION_DENIED,
          error_reason: "PROFILE_NOT_GRANTED",
        }),
      ]);
    });

    it("an AUDITOR bound by subject CN may list but is PERMISSION_DENIED on create, recorded as that binding", async () => {
      const c = as(auditBot);
      const list = await listCertificates(c);
      expect(list.certificates.length).toBeGreaterThan(0);
      const err = await expectRpcError(createRootAs(c, "audited-root"));
      expect(err).toMatchObject({ code: status.PERMISSION_DENIED, reason: "ROLE_NOT_ALLOWED" });
      expect(
        await h.db.query("select 1 from certificate_authority where slug = 'audited-root'"),
      ).toEqual([]);
      expect(await auditRows("actor_id = $1", [ids["audit-bot"]])).toEqual([
        expect.objectContaining({
          actor_slug: "audit-bot",
          method: "/certmint.v1.CertificateAuthorityService/CreateRootCertificateAuthority",
          status_code: status.PERMISSION_DENIED,
          error_reason: "ROLE_NOT_ALLOWED",
        }),
      ]);
    });

    it("a bearer token wins over the certificate", async () => {
      const [admin] = await h.db.query<{ id: string }>(
        "select id from access_token where role = 'ADMIN' and creator_id is null",
      );
      const method = "/certmint.v1.CertificateAuthorityService/CreateRootCertificateAuthority";
      const before = await auditRows("method = $1", [method]);
      await createRootAs(as(auditBot, h.adminToken), "bearer-root");
      const after = await auditRows("method = $1", [method]);
      expect(after.slice(0, before.length)).toEqual(before);
      expect(after.slice(before.length)).toEqual([
        expect.objectContaining({ actor_id: admin!.id, status_code: 0 }),
      ]);
    });

    it("is accepted by the server that requires client certificates too", async () => {
      const c = clients(`127.0.0.1:${strict.port}`, payments);
      const res = await issue(c, "web", "strict.example.com");
      const records = await auditRows("resource_id = $1", [res.certificateRequestId]);
      expect(records).toEqual([
        expect.objectContaining({ actor_id: ids["payments-issuer"], status_code: 0 }),
      ]);
    });
  });

  describe("(c) a verified certificate with no binding", () => {
    it("is UNAUTHENTICATED with reason CLIENT_CERTIFICATE_NOT_BOUND (its CN spells a bound URI, which a CN never matches)", async () => {
      const before = await auditRows("true", []);
      const err = await expectRpcError(listCertificates(as(stranger)));
      expect(err).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
      expect(err.message).toContain(`${SPIFFE}/x/sa/stranger`);
      expect(err.message).toContain(`common name "${PAYMENTS}"`);
      const strictErr = await expectRpcError(
        issue(clients(`127.0.0.1:${strict.port}`, stranger), "web", "stranger.example.com"),
      );
      expect(strictErr).toMatchObject({
        code: status.UNAUTHENTICATED,
        reason: "CLIENT_CERTIFICATE_NOT_BOUND",
      });
      expect(await auditRows("true", [])).toEqual(before);
    });
  });

  describe("(d) after RevokeAccessToken of the binding", () => {
    it("the certificate is UNAUTHENTICATED (TOKEN_REVOKED) on the next call", async () => {
      const c = as(temp);
      await listCertificates(c);
      await listCertificates(c);
      await call(admin().accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: "temp",
      });
      const err = await expectRpcError(listCertificates(c));
      expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
      // A new connection with the same certificate is refused as well.
      const err2 = await expectRpcError(listCertificates(as(temp)));
      expect(err2).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
    });
  });
});
