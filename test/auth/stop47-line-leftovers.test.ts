/**
 * RevokeAccessToken with revoke_created_tokens also takes what a leaked token line made besides
 * tokens (src/issuance/access-tokens/line.ts), and an EAB key of a revoked creator binds no
 * account (src/acme/eab.ts). Until stop 47 of 2026-12-06 (an outside probe, S F1 and F2):
 *  - an ACME External Account Binding key a token of the line created still opened an account
 *    after the cut (and after a plain revocation of its creator), and the accounts bound with
 *    such keys stayed valid and got certificates;
 *  - a client certificate the line requested with the identity of another (legitimate) admin
 *    binding kept authenticating as that admin after the cut.
 * Now the key is refused `unauthorized`, the bound account is deactivated (its new order refused),
 * and the certificate is revoked privilegeWithdrawn (RFC 5280 5.3.1) as RevokeCertificate
 * revokes one: refused over mTLS by a second server process on the database, on the CRL and in
 * OCSP; the last-admin rule judges the line's tokens and certificates as one change.
 */
import { spawn } from "node:child_process";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ClientCertificateIdentityType,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import { GetCertificateRevocationListRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfile,
  CreateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../gen/ts/certmint/v1/common";
import { registerWithEab } from "../acme/admin-helpers";
import { type AcmeServer, startAcmeServer } from "../acme/helpers";
import { createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type ClientCert, type MtlsServer, startMtlsServer } from "../support/mtls-server";
import { openssl, type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

const ACME = "urn:ietf:params:acme:error:";

/** openssl without blocking the event loop: the OCSP responder runs in this process. */
function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** An admin bearer token made by `by`: its id and clients sending it. */
async function adminBy(h: TestCertmint, by: CertmintClients, slug: string) {
  const res = await call(
    by.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
  );
  return { id: res.accessToken!.id, slug, clients: h.clientsAs(res.secret) };
}

const revoke = (by: CertmintClients, ref: string, created: boolean) =>
  call(by.accessTokens, "revokeAccessToken", { accessToken: ref, revokeCreatedTokens: created });

describe("a cut line's ACME External Account Binding keys and accounts", () => {
  let s: AcmeServer;
  let admin: CertmintClients;

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
    admin = s.h.clientsAs(s.h.adminToken);
    await call(s.h.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web-acme",
        acme: { requireExternalAccountBinding: true },
      }),
      updateMask: ["acme.require_external_account_binding"],
    });
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  const eabKey = (by: CertmintClients) =>
    call(by.profiles, "createAcmeExternalAccountKey", { certificateProfile: "web-acme" });

  /** newAccount with an External Account Binding (RFC 8555 7.3.4) of `key`. */
  const register = (key: { keyId: string; hmacKey: string }) =>
    registerWithEab(s.directory(), s.tlsCaFile, key);

  const accountRow = async (id: string) =>
    (
      await s.h.db.query<{ status: string }>("select status from acme_account where id = $1", [id])
    )[0]!;

  it("refuses a key whose creator was revoked (no cascade), writing nothing", async () => {
    const plain = await adminBy(s.h, admin, "eab-plain");
    const key = await eabKey(plain.clients);
    await revoke(admin, plain.id, false);
    const before = Number(
      (await s.h.db.query<{ n: string }>("select count(*) as n from acme_account"))[0]!.n,
    );
    const { r } = await register(key);
    expect(r.status, r.text).toBe(403);
    expect((r.json as { type: string }).type).toBe(`${ACME}unauthorized`);
    expect((r.json as { detail: string }).detail).toMatch(
      /creator \(an access token\) was revoked at .*ask an admin to create a new key/,
    );
    const after = Number(
      (await s.h.db.query<{ n: string }>("select count(*) as n from acme_account"))[0]!.n,
    );
    expect(after).toBe(before);
    const [k] = await s.h.db.query<{ account_id: string | null }>(
      "select account_id from acme_eab_key where key_id = $1",
      [key.keyId],
    );
    expect(k!.account_id).toBeNull();
  });

  it("with revoke_created_tokens: the line's unused keys are refused, its bound accounts deactivated", async () => {
    const a = await adminBy(s.h, admin, "eab-leak-a");
    const b = await adminBy(s.h, a.clients, "eab-leak-b");
    const unused = await eabKey(b.clients);
    const used = await eabKey(b.clients);
    // A token of the line that expired before the cut: its key is the leak's all the same. Since
    // stop 52 of 2026-12-07 its creator's expiry alone stops a binding too (a key lasts no longer
    // than the token that made it: test/auth/stop52-creator-lifetime.test.ts); until then only
    // a revoked creator did. The cut revokes it all the same, so that the listing shows it
    // revoked: the row and the refusal's words (the key's revocation, checked before its
    // creator) say the cut took it.
    const expiring = await adminBy(s.h, a.clients, "eab-leak-expired");
    const ofExpired = await eabKey(expiring.clients);
    await s.h.db.query(
      "update access_token set expires_at = now() - interval '1 second' where id = $1",
      [expiring.id],
    );
    const bound = await register(used);
    expect(bound.r.status, bound.r.text).toBe(201);
    const accountId = bound.c.kid!.split("/").at(-1)!;
    // A key of a token outside the line binds as before.
    const outside = await eabKey(admin);

    const res = await revoke(admin, a.id, true);
    expect(res.revokedCreatedTokens.map((t) => t.id)).toEqual([b.id]);

    const refused = await register(unused);
    expect(refused.r.status, refused.r.text).toBe(403);
    expect((refused.r.json as { type: string }).type).toBe(`${ACME}unauthorized`);
    // The line's unbound keys are revoked (kept, so listed), the expired member's too, and the
    // cut's record says so (deleted until stop 48 of 2026-12-06).
    const refusedExpired = await register(ofExpired);
    expect(refusedExpired.r.status, refusedExpired.r.text).toBe(403);
    expect((refusedExpired.r.json as { detail: string }).detail).toMatch(
      /key was revoked at .*with the access-token line that created it/,
    );
    expect(
      await s.h.db.query(
        "select key_id, revoked_at is not null as revoked from acme_eab_key where key_id = any($1::text[]) order by key_id",
        [[unused.keyId, ofExpired.keyId]],
      ),
    ).toEqual([unused.keyId, ofExpired.keyId].sort().map((key_id) => ({ key_id, revoked: true })));
    const [cut] = await s.h.db.query<{ changes: Array<{ field: string; after: unknown }> }>(
      `select changes from audit_record where resource_type = 'access_token' and resource_id = $1
         and method = '/certmint.v1.AccessTokenService/RevokeAccessToken'`,
      [a.id],
    );
    expect(cut!.changes).toEqual(
      expect.arrayContaining([
        {
          field: "revoked_external_account_keys",
          after: [unused.keyId, ofExpired.keyId].sort(),
        },
      ]),
    );

    expect((await accountRow(accountId)).status).toBe("deactivated");
    const order = await bound.c.newOrder(["after.acme.localhost"]);
    expect(order.status, order.text).toBe(401);
    expect((order.json as { type: string }).type).toBe(`${ACME}unauthorized`);

    const audit = await s.h.db.query<{ changes: Array<{ field: string; after: unknown }> }>(
      `select changes from audit_record where resource_type = 'acme_account' and resource_id = $1
         and method = '/certmint.v1.AccessTokenService/RevokeAccessToken'`,
      [accountId],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.changes).toEqual(
      expect.arrayContaining([
        { field: "status", before: "valid", after: "deactivated" },
        { field: "external_account_key_id", after: used.keyId },
        { field: "revoked_with_access_token_id", after: a.id },
      ]),
    );

    const ok = await register(outside);
    expect(ok.r.status, ok.r.text).toBe(201);
  });
});

const OPS = "spiffe://s47.example/ops";
const OPS2 = "spiffe://s47.example/ops2";

describe("a cut line's client certificates that authenticate as a binding", () => {
  const dir = new TempDir();
  let h: TestCertmint;
  let mtls: MtlsServer;
  let admin: CertmintClients;
  let rootId = "";
  let rootPem = "";
  let ocspUrl = "";

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_OCSP_URL: ocspUrl,
    });
    admin = h.clientsAs(h.adminToken);
    const root = await createRoot(h, "root");
    rootId = root.id;
    rootPem = root.certificatePem;
    await call(
      h.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
        certificatePolicy: {
          slug: "clients",
          sanRules: { uri: { allowed: ["spiffe://s47.example/*"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
    await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "clients",
          certificatePolicy: "clients",
          issuer: { $case: "certificateAuthority", value: "root" },
        },
      }),
    );
    for (const [slug, value] of [
      ["ops", OPS],
      ["ops2", OPS2],
    ] as const) {
      await call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: {
            slug,
            role: Role.ROLE_ADMIN,
            clientCertificateBinding: {
              identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
              value,
              certificateAuthority: "root",
            },
          },
        }),
      );
    }
    // A second server process on the database, requiring client certificates of certmint's root.
    mtls = await startMtlsServer(h, dir, root.certificatePem);
  });
  afterAll(async () => {
    await mtls?.stop();
    await h?.stop();
    dir.remove();
  });

  async function issue(as: CertmintClients, uri: string) {
    const res = await call(
      as.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: "clients",
        source: {
          $case: "attributes",
          value: {
            subjectAlternativeNames: { uris: [uri] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const cert: ClientCert = {
      certPem: res.certificate!.certificatePem,
      keyPem: res.privateKeyPem,
    };
    return { id: res.certificate!.certificateId, cert };
  }
  const listTokens = (c: CertmintClients) =>
    call(c.accessTokens, "listAccessTokens", { pageSize: 1, pageToken: "" });
  const certRow = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null; revocation_reason: string | null }>(
        "select revoked_at, revocation_reason from certificate where id = $1",
        [id],
      )
    )[0]!;

  it("revokes them privilegeWithdrawn: refused over mTLS on another process, on the CRL, in OCSP and Get", async () => {
    const a = await adminBy(h, admin, "mtls-leak-a");
    const b = await adminBy(h, a.clients, "mtls-leak-b");
    const leaked = await issue(b.clients, OPS);
    // Not a credential of any binding: left as it is.
    const plain = await issue(b.clients, "spiffe://s47.example/batch");
    // Before the cut it authenticates as ops, on the mTLS process.
    await listTokens(mtls.over(leaked.cert));

    const res = await revoke(admin, a.id, true);
    expect(res.revokedCreatedTokens.map((t) => t.id)).toEqual([b.id]);

    const row = await certRow(leaked.id);
    expect(row.revocation_reason).toBe("PRIVILEGE_WITHDRAWN");
    expect(row.revoked_at).not.toBeNull();
    expect((await certRow(plain.id)).revoked_at).toBeNull();

    // The other process hears of it (a "certificate-revoked" credential change).
    await waitFor("the mTLS process to refuse the certificate", async () => {
      try {
        await listTokens(mtls.over(leaked.cert));
        return false;
      } catch (err) {
        return (err as { code?: number }).code === status.UNAUTHENTICATED;
      }
    });
    const err = await expectRpcError(listTokens(mtls.over(leaked.cert)));
    expect(err.code).toBe(status.UNAUTHENTICATED);

    const got = await call(h.certificates, "getCertificate", { certificate: leaked.id });
    expect(got.certificate!.revocationReason).toBe(
      RevocationReason.REVOCATION_REASON_PRIVILEGE_WITHDRAWN,
    );

    const crl = await call(
      h.authorities,
      "getCertificateRevocationList",
      GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: rootId }),
    );
    const text = openssl(["crl", "-noout", "-text", "-in", dir.file("root.crl", crl.crlPem)]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("Privilege Withdrawn");

    const ocsp = await run("openssl", [
      "ocsp",
      "-issuer",
      dir.file("issuer.pem", rootPem),
      "-cert",
      dir.file("leaf.pem", leaked.cert.certPem),
      "-url",
      ocspUrl,
      "-CAfile",
      dir.file("ca.pem", rootPem),
      "-no_nonce",
      "-resp_text",
    ]);
    expect(ocsp.stdout).toContain("leaf.pem: revoked");
    // RFC 5280 5.3.1 privilegeWithdrawn is CRLReason 9 (openssl ocsp has no name for it).
    expect(ocsp.stdout).toMatch(/Revocation Reason: .*\(0x9\)/);

    const audit = await h.db.query<{ changes: Array<{ field: string; after: unknown }> }>(
      `select changes from audit_record where resource_type = 'certificate' and resource_id = $1
         and method = '/certmint.v1.AccessTokenService/RevokeAccessToken'`,
      [leaked.id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.changes).toEqual(
      expect.arrayContaining([{ field: "revoked_with_access_token_id", after: a.id }]),
    );
  });

  it("refuses the cut when a line's certificate is the last admin credential, changing nothing", async () => {
    const c = await adminBy(h, admin, "mtls-leak-c");
    const leaked = await issue(c.clients, OPS2);
    // The bootstrap admin token goes: c (a bearer token) and ops2 (through c's certificate)
    // are the admin credentials left (ops's only certificate was revoked above).
    const [boot] = await h.db.query<{ id: string }>(
      "select id from access_token where slug like 'bootstrap-admin-%'",
    );
    await revoke(c.clients, boot!.id, false);
    const err = await expectRpcError(revoke(c.clients, c.id, true));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("LAST_ADMIN_CREDENTIAL");
    expect(err.message).toContain("1 client certificate the line requested");
    expect((await certRow(leaked.id)).revoked_at).toBeNull();
    const [tok] = await h.db.query<{ revoked_at: Date | null }>(
      "select revoked_at from access_token where id = $1",
      [c.id],
    );
    expect(tok!.revoked_at).toBeNull();
    // Still a credential.
    await listTokens(mtls.over(leaked.cert));
  });
});
