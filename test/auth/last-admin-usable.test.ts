/**
 * The last usable admin credential (src/auth/admin-credentials.ts, the guard
 * src/issuance/access-tokens/last-admin.ts, start-up src/auth/bootstrap.ts). An outside probe of
 * stop 44 (2026-12-06, findings F3) found three ways into a lockout that even a restart did not
 * end, because any admin client certificate binding that named a CA counted as a credential:
 *  1. an admin binding no certificate was ever issued for: the last bearer admin token could be
 *     revoked (t_last_admin_lockout.sh);
 *  2. a usable binding: over mTLS it revoked the bootstrap token, then its own (only) client
 *     certificate (t_last_admin_selfrevoke.sh);
 *  3. the binding's CA revoked, then the last bearer token (t_last_admin_ca_revoked.sh).
 * Each is refused now (FAILED_PRECONDITION LAST_ADMIN_CREDENTIAL, nothing changed), the CA's
 * revocation too, whatever the order; two revocations at once on two replicas cannot both pass;
 * and a database already locked out (by the earlier release) gets a new admin token at start.
 */
import { readFileSync } from "node:fs";
import { type Client, status } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientCertificateBinding,
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { csrForKey } from "../certificates/helpers";
import {
  type CertmintClients,
  call,
  decodeError,
  expectRpcError,
  makeClients,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { TempDir } from "../support/openssl";

const URI_SAN = ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN;
const SPIFFE = "spiffe://k.example/admin";

describe("the last usable admin credential", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  /** A second replica on the same database, requiring client certificates (certmint's CAs). */
  let mtls: MtlsServer;
  const ids: Record<string, string> = {};
  let bootstrapId = "";

  const tokenRow = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null }>(
        "select revoked_at from access_token where id = $1",
        [id],
      )
    )[0]!;
  const certRow = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null }>(
        "select revoked_at from certificate where id = $1",
        [id],
      )
    )[0]!;
  const caRow = async (slug: string) =>
    (
      await h.db.query<{ revoked_at: Date | null; status: string }>(
        "select revoked_at, status from certificate_authority where slug = $1",
        [slug],
      )
    )[0]!;
  const listTokens = (c: CertmintClients) =>
    call(c.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });

  /** Whichever admin credential administers at this point of the story. */
  let admin: CertmintClients;

  async function bindAdmin(slug: string, binding: Partial<ClientCertificateBinding>) {
    const res = await call(
      admin.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role: Role.ROLE_ADMIN, clientCertificateBinding: binding },
      }),
    );
    ids[slug] = res.accessToken!.id;
  }

  /** A clientAuth certificate for `uri` on `profile`, issued by `as` (a key certmint makes). */
  async function issueClient(
    as: CertmintClients,
    profile: string,
    uri: string,
  ): Promise<ClientCert & { id: string }> {
    const res = await call(
      as.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [uri] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const cert = res.certificate!;
    return { id: cert.certificateId, certPem: cert.certificatePem, keyPem: res.privateKeyPem };
  }

  function expectLastAdmin(err: { code: number; reason?: string; message: string }) {
    expect(err).toMatchObject({
      code: status.FAILED_PRECONDITION,
      reason: "LAST_ADMIN_CREDENTIAL",
    });
    expect(err.message).toContain("create another admin token first");
    expect(err.message).toContain("nothing was changed");
  }

  beforeAll(async () => {
    h = await startTestCertmint();
    admin = h;
    bootstrapId = (
      await h.db.query<{ id: string }>("select id from access_token where role = 'ADMIN'")
    )[0]!.id;
    const root = await call(
      h.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "k-root",
        subject: { commonName: "K Root" },
      }),
    );
    const bundle = [root.certificateAuthority!.certificatePem];
    for (const slug of ["k-i", "k-j"]) {
      const ca = await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug,
          parentCertificateAuthority: "k-root",
          subject: { commonName: `K ${slug}` },
        }),
      );
      bundle.push(ca.certificateAuthority!.certificatePem);
    }
    await call(
      h.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
        certificatePolicy: {
          slug: "k-clients",
          sanRules: { uri: { allowed: ["spiffe://k.example/*"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    for (const [slug, ca] of [
      ["k-clients-i", "k-i"],
      ["k-clients-j", "k-j"],
    ] as const) {
      await call(
        h.profiles,
        "createCertificateProfile",
        CreateCertificateProfileRequest.fromPartial({
          certificateProfile: {
            slug,
            certificatePolicy: "k-clients",
            issuer: { $case: "certificateAuthority", value: ca },
          },
        }),
      );
    }
    // certmint's own CAs are the client CA bundle (as the README's mTLS set-up).
    mtls = await startMtlsServer(h, dir, bundle.join("\n"));
  });
  afterAll(async () => {
    await mtls?.stop();
    await h?.stop();
    dir.remove();
  });

  it("path 1: an admin binding no certificate was issued for is no credential: the last bearer token stays", async () => {
    await bindAdmin("adm-nocert", {
      identityType: URI_SAN,
      value: `${SPIFFE}/nocert`,
      certificateAuthority: "k-i",
    });
    const err = await expectRpcError(
      call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: bootstrapId,
      }),
    );
    expectLastAdmin(err);
    expect((await tokenRow(bootstrapId)).revoked_at).toBeNull();
    await listTokens(h);
  });

  it("path 1b: an admin binding to an outside CA is no credential, whatever its hash: the last bearer token stays", async () => {
    // Until a probe of stop 44's fixes it counted: a binding to a hash of 64 zeros let the last
    // bearer token go, into a lockout a restart did not end.
    await bindAdmin("adm-outside", {
      identityType: URI_SAN,
      value: `${SPIFFE}/outside`,
      issuerCertificateSha256: "0".repeat(64),
    });
    const err = await expectRpcError(
      call(h.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: bootstrapId,
      }),
    );
    expectLastAdmin(err);
    expect((await tokenRow(bootstrapId)).revoked_at).toBeNull();
  });

  let admM: ClientCert & { id: string };
  it("path 2: a binding with a certificate may replace the bearer token, but not revoke its only certificate, nor its CA", async () => {
    await bindAdmin("adm-m", {
      identityType: URI_SAN,
      value: `${SPIFFE}/m`,
      certificateAuthority: "k-i",
    });
    admM = await issueClient(h, "k-clients-i", `${SPIFFE}/m`);
    const overM = mtls.over(admM);
    await listTokens(overM);
    // Its certificate is a usable admin credential: the bootstrap token may go.
    const revoked = await call(overM.accessTokens, "revokeAccessToken", {
      revokeCreatedTokens: false,
      accessToken: bootstrapId,
    });
    expect(revoked.accessToken!.revokeTime).toBeInstanceOf(Date);
    admin = overM;

    // Its only certificate, by itself, for a routine reason or a hold: refused, unchanged.
    for (const reason of [
      RevocationReason.REVOCATION_REASON_SUPERSEDED,
      RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
      RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    ]) {
      const err = await expectRpcError(
        call(overM.certificates, "revokeCertificate", { certificate: admM.id, reason }),
      );
      expectLastAdmin(err);
      expect((await certRow(admM.id)).revoked_at).toBeNull();
    }
    // Another certificate of the same key, revoked for keyCompromise: the binding's certificate
    // would go with it. Refused, and the refusal names that certificate (until stop 46 of
    // 2026-12-06 it named only the one asked for: an outside probe, S F4).
    const twin = await call(
      overM.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "k-clients-i",
        source: {
          $case: "csrPem",
          value: csrForKey(dir, admM.keyPem, "/", [`URI:${SPIFFE}/twin`]),
        },
      }),
    );
    const twinId = twin.certificate!.certificateId;
    const twinErr = await expectRpcError(
      call(overM.certificates, "revokeCertificate", {
        certificate: twinId,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    expectLastAdmin(twinErr);
    expect(twinErr.message).toContain(`revoking certificate ${twinId} for keyCompromise`);
    expect(twinErr.message).toContain(admM.id);
    expect((await certRow(twinId)).revoked_at).toBeNull();
    expect((await certRow(admM.id)).revoked_at).toBeNull();
    // The CA above it: every client certificate below stops authenticating. Refused too.
    const caErr = await expectRpcError(
      call(overM.authorities, "revokeCertificateAuthority", {
        certificateAuthority: "k-i",
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      }),
    );
    expectLastAdmin(caErr);
    expect(await caRow("k-i")).toMatchObject({ revoked_at: null, status: "ACTIVE" });
    // The binding's own token: refused.
    expectLastAdmin(
      await expectRpcError(
        call(overM.accessTokens, "revokeAccessToken", {
          revokeCreatedTokens: false,
          accessToken: ids["adm-m"]!,
        }),
      ),
    );
    // Nothing changed: it still authenticates and administers.
    await listTokens(overM);
  });

  let bearer: CertmintClients;
  it("path 3: once its CA is revoked, a binding is no credential: the last bearer token stays", async () => {
    // As the refusal says: another admin token first; then the certificate may go.
    const overM = mtls.over(admM);
    const created = await call(
      overM.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "adm-bearer", role: Role.ROLE_ADMIN },
      }),
    );
    ids["adm-bearer"] = created.accessToken!.id;
    bearer = h.clientsAs(created.secret);
    admin = bearer;
    await call(bearer.certificates, "revokeCertificate", {
      certificate: admM.id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    expect((await certRow(admM.id)).revoked_at).not.toBeNull();

    // A binding under k-j with a certificate, then k-j revoked (allowed: the bearer token is
    // usable), then the bearer token: the binding counts no more.
    await bindAdmin("adm-j", {
      identityType: URI_SAN,
      value: `${SPIFFE}/j`,
      certificateAuthority: "k-j",
    });
    const admJ = await issueClient(bearer, "k-clients-j", `${SPIFFE}/j`);
    await listTokens(mtls.over(admJ));
    await call(bearer.authorities, "revokeCertificateAuthority", {
      certificateAuthority: "k-j",
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect((await caRow("k-j")).revoked_at).not.toBeNull();
    const err = await expectRpcError(
      call(bearer.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: ids["adm-bearer"]!,
      }),
    );
    expectLastAdmin(err);
    // The refusal names the credential still usable, the bearer token itself.
    expect(err.message).toContain('"adm-bearer"');
    expect((await tokenRow(ids["adm-bearer"]!)).revoked_at).toBeNull();
    await listTokens(bearer);
  });

  it("two revocations at once on two replicas (a bearer token, a binding's only certificate): one passes, one admin stays", async () => {
    await bindAdmin("adm-race", {
      identityType: URI_SAN,
      value: `${SPIFFE}/race`,
      certificateAuthority: "k-i",
    });
    const race = await issueClient(bearer, "k-clients-i", `${SPIFFE}/race`);
    const overRace = mtls.over(race);
    await listTokens(overRace);
    const outcomes = await Promise.allSettled([
      // On the first replica, the bearer token revokes the binding's certificate ...
      call(bearer.certificates, "revokeCertificate", {
        certificate: race.id,
        reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
      }),
      // ... while on the mTLS replica the binding revokes the bearer token.
      call(overRace.accessTokens, "revokeAccessToken", {
        revokeCreatedTokens: false,
        accessToken: ids["adm-bearer"]!,
      }),
    ]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    // The loser is refused by the guard, or (when the winner committed before it was even
    // authenticated) as the credential the winner revoked.
    const failed = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    expect(["LAST_ADMIN_CREDENTIAL", "TOKEN_REVOKED", "CLIENT_CERTIFICATE_REVOKED"]).toContain(
      decodeError(failed.reason).reason,
    );
    const tokenGone = (await tokenRow(ids["adm-bearer"]!)).revoked_at !== null;
    const certGone = (await certRow(race.id)).revoked_at !== null;
    expect(tokenGone !== certGone).toBe(true);
    // Whichever stayed still administers.
    admin = tokenGone ? overRace : bearer;
    await listTokens(admin);
  });

  it("start-up: a database locked out by the earlier release gets a new admin token", async () => {
    // The state the probe's three scripts left (made in the database: the API refuses it now):
    // every bearer admin token revoked, admin bindings left with no certificate that
    // authenticates (none issued, revoked, or under a revoked CA). One without a certificate
    // at least, whatever ran before.
    await bindAdmin("adm-stranded", {
      identityType: URI_SAN,
      value: `${SPIFFE}/stranded`,
      certificateAuthority: "k-i",
    });
    await h.db.query(
      "update access_token set revoked_at = now() where role = 'ADMIN' and client_identity is null and revoked_at is null",
    );
    await h.db.query(
      "update certificate set revoked_at = now(), revocation_reason = 'SUPERSEDED' where revoked_at is null and search_names like '%spiffe://k.example/admin/%'",
    );
    const tokenFile = `${h.dataDir}/admin-token`;
    const before = readFileSync(tokenFile, "utf8");
    const lines: string[] = [];
    const config = loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: h.db.url,
      CERTMINT_DATA_DIR: h.dataDir,
      CERTMINT_SHUTDOWN_GRACE_MS: "1000",
    });
    const running = await startCertmint(
      config,
      pino({ level: "info" }, { write: (l: string) => lines.push(l) }),
    );
    try {
      const after = readFileSync(tokenFile, "utf8").trim();
      expect(after).not.toBe(before.trim());
      const created = lines
        .map((l) => JSON.parse(l) as { msg: string; file?: string })
        .filter((l) => l.msg.startsWith("created an admin access token"));
      expect(created).toHaveLength(1);
      expect(created[0]!.file).toBe(tokenFile);
      // It administers.
      const fresh = makeClients(`127.0.0.1:${running.port}`, after);
      await listTokens(fresh);
      for (const c of Object.values(fresh)) (c as Client).close();
      // A second start writes nothing more: a usable admin credential exists again.
      const rows = await h.db.query<{ n: string }>(
        "select count(*) as n from access_token where role = 'ADMIN' and client_identity is null and revoked_at is null",
      );
      expect(Number(rows[0]!.n)).toBe(1);
    } finally {
      await running.shutdown();
    }
  });
});
