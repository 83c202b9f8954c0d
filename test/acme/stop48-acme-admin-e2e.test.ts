/**
 * Stop 48: the ACME administration RPCs of CertificateProfileService, end to end, as a platform
 * team and an attacker see them: ListAcmeExternalAccountKeys, RevokeAcmeExternalAccountKey,
 * ListAcmeAccounts and RevokeAcmeAccount (certificate_profile_service.proto; its comments are the
 * contract these tests hold the server to).
 *
 * Black box: the COMPILED server (dist/src/main.js, started as `make run` starts it) on its own
 * PostgreSQL database, an ACME profile that requires External Account Binding (RFC 8555 7.3.4),
 * the lego ACME library (test/clients/lego, `make lego`; LEGO_CLIENT overrides its path) as the
 * real client (and test/acme/jws-client.ts for what lego cannot send), the gRPC API with an
 * admin, an auditor and an issuer token, and PostgreSQL only read to assert outcomes (rows,
 * statuses, audit records) or locked to queue concurrent calls in a known order (a session of the
 * test holds a row; no timing). The certificate checks use openssl.
 *
 * The cases share one server and run in file order, each named after the scenario it covers:
 * keys 1 and 2 (scenario 1) are revoked in scenarios 2 and 3.
 */
import { spawnSync } from "node:child_process";
import { createHmac, createPrivateKey, createPublicKey, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { type Client, status } from "@grpc/grpc-js";
import { Client as PgClient } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  Role as TokenRole,
} from "../../gen/ts/certmint/v1/access_token_service";
import { ListAuditRecordsRequest } from "../../gen/ts/certmint/v1/audit_service";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  type AcmeAccount,
  AcmeAccountStatus,
  type AcmeExternalAccountKey,
  CertificateProfile,
  type CreateAcmeExternalAccountKeyResponse,
  ListAcmeAccountsRequest,
  ListAcmeAccountsResponse,
  ListAcmeExternalAccountKeysRequest,
  ListAcmeExternalAccountKeysResponse,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { opensslCsr } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  type DecodedError,
  expectRpcError,
  makeClients,
} from "../support/harness";
import { openssl, TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { RawClient } from "../support/raw-client";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";
import {
  acmeSettings,
  createAcmeProfile,
  type LegoResult,
  lastLine,
  lego,
  legoOk,
  readState,
  requireLego,
  stateDir,
  trustForLego,
  verifyBundle,
} from "./helpers";
import {
  AcmeTestClient,
  accountKey,
  b64u,
  type HttpResult,
  jwsSign,
  publicJwk,
  thumbprint,
} from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";
const PROFILE_SERVICE = "/certmint.v1.CertificateProfileService/";
const REVOKE_ACCOUNT = `${PROFILE_SERVICE}RevokeAcmeAccount`;
const REVOKE_KEY = `${PROFILE_SERVICE}RevokeAcmeExternalAccountKey`;

interface Token {
  id: string;
  secret: string;
}

interface Registered {
  dir: string;
  url: string;
  id: string;
}

describe("stop 48: ACME administration RPCs against the compiled server", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let settings: Awaited<ReturnType<typeof acmeSettings>>;
  let acmePort = "";
  /** The first admin token's clients (bootstrap); the scenarios act as `platform-admin`. */
  let boot: CertmintClients;
  let admin: CertmintClients;
  let auditor: CertmintClients;
  let issuer: CertmintClients;
  let adminToken: Token;
  let rootPem = "";
  let profileId = "";
  const clients: CertmintClients[] = [];

  /** What scenario 1 leaves for the next ones. */
  let key1: CreateAcmeExternalAccountKeyResponse;
  let key2: CreateAcmeExternalAccountKeyResponse;
  let account1: Registered;
  let firstSerial = "";

  const directory = (profile = "web-acme") =>
    `https://127.0.0.1:${acmePort}/acme/${profile}/directory`;
  const base = (dir: string, profile = "web-acme") => ["-server", directory(profile), "-dir", dir];

  beforeAll(async () => {
    requireLego();
    db = await createTestDatabase({ migrated: true });
    settings = await acmeSettings();
    server = await startServerProcess({
      ...settings.env,
      DATABASE_URL: db.url,
      // This file opens a dozen accounts from 127.0.0.1; acme-flood.test.ts tests the budget.
      CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0",
    });
    acmePort = /"port":(\d+),"tls":true,"msg":"serving ACME"/.exec(server.output())?.[1] ?? "";
    expect(acmePort, "the ACME listener's port in the server's log").not.toBe("");
    trustForLego(settings.tlsCaFile);
    boot = makeClients(server.address, server.adminToken());
    clients.push(boot);
    const root = await call(
      boot.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: "Stop 48 ACME Root" },
      }),
    );
    rootPem = root.certificateAuthority!.certificatePem;
    await createAcmeProfile(boot, "web-acme");
    const updated = await call(boot.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web-acme",
        acme: { requireExternalAccountBinding: true },
      }),
      updateMask: ["acme.require_external_account_binding"],
    });
    profileId = updated.certificateProfile!.id;
    // Requests wait for an approver here; no binding required (one is accepted).
    await createAcmeProfile(boot, "gated-acme", { requireApproval: true });
    adminToken = await token("platform-admin", TokenRole.ROLE_ADMIN);
    admin = clientsOf(adminToken);
    auditor = clientsOf(await token("platform-auditor", TokenRole.ROLE_AUDITOR));
    issuer = clientsOf(await token("web-issuer", TokenRole.ROLE_ISSUER, ["web-acme"]));
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    for (const set of clients) for (const c of Object.values(set)) (c as Client).close();
    await server?.stop();
    await db?.drop();
  });

  const token = async (slug: string, role: TokenRole, profiles: string[] = []): Promise<Token> => {
    const res = await call(
      boot.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role, certificateProfiles: profiles },
      }),
    );
    return { id: res.accessToken!.id, secret: res.secret };
  };
  const clientsOf = (t: Token) => {
    const made = makeClients(server.address, t.secret);
    clients.push(made);
    return made;
  };

  /** Every HMAC key this file was given, to look for where none may be. */
  const hmacKeys: string[] = [];
  const newKey = async (c: CertmintClients = admin, profile = "web-acme") => {
    const key = await call(c.profiles, "createAcmeExternalAccountKey", {
      certificateProfile: profile,
    });
    hmacKeys.push(key.hmacKey);
    return key;
  };

  /** lego registers an account bound with `key`. */
  const register = async (key: { keyId: string; hmacKey: string }): Promise<Registered> => {
    const dir = stateDir();
    const url = lastLine(
      await legoOk([...base(dir), "-eab-kid", key.keyId, "-eab-hmac", key.hmacKey, "register"]),
    );
    expect(url).toMatch(/\/acme\/web-acme\/account\/[0-9a-f-]{36}$/);
    return { dir, url, id: url.split("/").at(-1)! };
  };

  const obtain = (dir: string, name: string) =>
    lego([...base(dir), "-domains", name, "-http-port", String(settings.httpPort), "obtain"]);

  /** RFC 7638 thumbprint of the account key lego keeps in its state directory. */
  const legoThumbprint = (dir: string) => {
    const { keyPem } = JSON.parse(readState(dir, "account.json")) as { keyPem: string };
    return thumbprint(publicJwk(createPublicKey(createPrivateKey(keyPem))));
  };

  const expectUnauthorized = (r: LegoResult) => {
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toContain(`${ACME}unauthorized`);
  };

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.query<{ n: string }>(`select count(*) as n from ${sql}`, params))[0]!.n);

  const accountStatus = async (id: string) =>
    (await db.query<{ status: string }>("select status from acme_account where id = $1", [id]))[0]
      ?.status;

  /** Every key of a profile, page by page. */
  const allKeys = async (c: CertmintClients, profile: string, pageSize = 0) => {
    const out: AcmeExternalAccountKey[] = [];
    let pageToken = "";
    do {
      const page = await call(c.profiles, "listAcmeExternalAccountKeys", {
        certificateProfile: profile,
        pageSize,
        pageToken,
      });
      if (pageSize > 0) expect(page.acmeExternalAccountKeys.length).toBeLessThanOrEqual(pageSize);
      out.push(...page.acmeExternalAccountKeys);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return out;
  };

  /** Every account of a profile, page by page. */
  const allAccounts = async (c: CertmintClients, profile: string, pageSize = 0) => {
    const out: AcmeAccount[] = [];
    let pageToken = "";
    do {
      const page = await call(c.profiles, "listAcmeAccounts", {
        certificateProfile: profile,
        pageSize,
        pageToken,
      });
      if (pageSize > 0) expect(page.acmeAccounts.length).toBeLessThanOrEqual(pageSize);
      out.push(...page.acmeAccounts);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return out;
  };

  const keyIn = async (keyId: string, c: CertmintClients = admin) =>
    (await allKeys(c, "web-acme")).find((k) => k.keyId === keyId);
  const accountIn = async (id: string, c: CertmintClients = admin) =>
    (await allAccounts(c, "web-acme")).find((a) => a.id === id);

  const expectError = (err: DecodedError, code: status, reason: string | RegExp) => {
    expect({ code: err.code, reason: err.reason }, err.message).toEqual({
      code,
      reason: typeof reason === "string" ? reason : expect.stringMatching(reason),
    });
  };

  // ---- 1 --------------------------------------------------------------------------------------

  it("1: lists a bound and an unbound key, and the account with its thumbprint; never an HMAC key", async () => {
    key1 = await newKey();
    key2 = await newKey();
    expect(key1.certificateProfileId).toBe(profileId);
    account1 = await register(key1);
    const obtained = await obtain(account1.dir, "one.acme.localhost");
    expect(obtained.code, obtained.stderr).toBe(0);
    const cert = verifyBundle(readState(account1.dir, "cert.pem"), rootPem);
    firstSerial = cert.serialNumber;

    const keys = await allKeys(admin, "web-acme");
    expect(keys.map((k) => k.keyId)).toEqual([key1.keyId, key2.keyId]);
    const [bound, unbound] = keys;
    expect(bound).toMatchObject({
      keyId: key1.keyId,
      certificateProfileId: profileId,
      creator: adminToken.id,
      acmeAccountId: account1.id,
    });
    expect(bound!.createTime).toBeInstanceOf(Date);
    expect(bound!.bindTime).toBeInstanceOf(Date);
    expect(bound!.bindTime!.getTime()).toBeGreaterThanOrEqual(bound!.createTime!.getTime());
    expect(bound!.revokeTime).toBeUndefined();
    expect(unbound).toMatchObject({
      keyId: key2.keyId,
      certificateProfileId: profileId,
      creator: adminToken.id,
      acmeAccountId: "",
    });
    expect(unbound!.createTime).toBeInstanceOf(Date);
    expect(unbound!.bindTime).toBeUndefined();
    expect(unbound!.revokeTime).toBeUndefined();
    // The creator is the token that called CreateAcmeExternalAccountKey, as the server recorded it.
    const [row] = await db.query<{ creator_id: string; bound_at: Date }>(
      "select creator_id, bound_at from acme_eab_key where key_id = $1",
      [key1.keyId],
    );
    expect(row?.creator_id).toBe(adminToken.id);
    expect(bound!.bindTime!.getTime()).toBe(row!.bound_at.getTime());

    const accounts = await allAccounts(admin, "web-acme");
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({
      id: account1.id,
      certificateProfileId: profileId,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID,
      keyThumbprint: legoThumbprint(account1.dir),
      externalAccountKeyId: key1.keyId,
      contact: [],
    });
    expect(accounts[0]!.createTime).toBeInstanceOf(Date);
    expect(accounts[0]!.updateTime).toBeInstanceOf(Date);
    const [accountRow] = await db.query<{ key_thumbprint: string }>(
      "select key_thumbprint from acme_account where id = $1",
      [account1.id],
    );
    expect(accounts[0]!.keyThumbprint).toBe(accountRow?.key_thumbprint);

    // The answers' bytes as they left the server: neither HMAC key, in base64url or raw.
    const raw = new RawClient(server.address, adminToken.secret);
    try {
      const answers: Buffer[] = [];
      for (const [path, bytes] of [
        [
          `${PROFILE_SERVICE}ListAcmeExternalAccountKeys`,
          ListAcmeExternalAccountKeysRequest.encode({
            certificateProfile: "web-acme",
            pageSize: 1000,
            pageToken: "",
          }).finish(),
        ],
        [
          `${PROFILE_SERVICE}ListAcmeAccounts`,
          ListAcmeAccountsRequest.encode({
            certificateProfile: "web-acme",
            pageSize: 1000,
            pageToken: "",
          }).finish(),
        ],
      ] as const) {
        const out = await raw.call(path, bytes);
        expect(out.error, path).toBeUndefined();
        answers.push(out.response!);
      }
      // What was checked is the answer itself (the keys and the account are in it).
      expect(
        ListAcmeExternalAccountKeysResponse.decode(answers[0]!).acmeExternalAccountKeys,
      ).toHaveLength(2);
      expect(ListAcmeAccountsResponse.decode(answers[1]!).acmeAccounts).toHaveLength(1);
      for (const answer of answers) {
        for (const key of [key1, key2]) {
          expect(answer.includes(Buffer.from(key.hmacKey))).toBe(false);
          expect(answer.includes(Buffer.from(key.hmacKey, "base64url"))).toBe(false);
        }
      }
    } finally {
      raw.close();
    }
    // Nor in anything the server wrote.
    for (const key of [key1, key2]) expect(server.output()).not.toContain(key.hmacKey);
  });

  // ---- 2 --------------------------------------------------------------------------------------

  it("2: a revoked unbound key binds no account: lego's newAccount is unauthorized, no row written", async () => {
    const revoked = await call(admin.profiles, "revokeAcmeExternalAccountKey", {
      keyId: key2.keyId,
    });
    expect(revoked.acmeExternalAccountKey).toMatchObject({
      keyId: key2.keyId,
      certificateProfileId: profileId,
      creator: adminToken.id,
      acmeAccountId: "",
    });
    expect(revoked.acmeExternalAccountKey!.revokeTime).toBeInstanceOf(Date);
    expect(revoked.acmeExternalAccountKey!.bindTime).toBeUndefined();
    expect(revoked.revokedAcmeAccount).toBeUndefined();

    const accounts = await count("acme_account");
    const r = await lego([
      ...base(stateDir()),
      "-eab-kid",
      key2.keyId,
      "-eab-hmac",
      key2.hmacKey,
      "register",
    ]);
    expectUnauthorized(r);
    expect(await count("acme_account")).toBe(accounts);
    // Still unbound, revoked at the time the revocation answered.
    const listed = await keyIn(key2.keyId);
    expect(listed?.acmeAccountId).toBe("");
    expect(listed?.revokeTime?.getTime()).toBe(
      revoked.acmeExternalAccountKey!.revokeTime!.getTime(),
    );

    // Revoking it again changes nothing: the same key, the same revoke_time, and no second
    // record of a change (the call itself is recorded with no resource, as any call that
    // changed nothing: api/unary.ts).
    const changeRecords = () =>
      count("audit_record where method = $1 and status_code = 0 and resource_id <> ''", [
        REVOKE_KEY,
      ]);
    expect(await changeRecords()).toBe(1);
    const again = await call(admin.profiles, "revokeAcmeExternalAccountKey", {
      keyId: key2.keyId,
    });
    expect(again.acmeExternalAccountKey).toEqual(revoked.acmeExternalAccountKey);
    expect(again.revokedAcmeAccount).toBeUndefined();
    expect(await changeRecords()).toBe(1);
  });

  // ---- 3 --------------------------------------------------------------------------------------

  it("3: revoking a bound key revokes its account at once; the account's certificate stays valid", async () => {
    const ordersBefore = await count("acme_order where account_id = $1", [account1.id]);
    const revoked = await call(admin.profiles, "revokeAcmeExternalAccountKey", {
      keyId: key1.keyId,
    });
    expect(revoked.acmeExternalAccountKey).toMatchObject({
      keyId: key1.keyId,
      acmeAccountId: account1.id,
      creator: adminToken.id,
    });
    expect(revoked.acmeExternalAccountKey!.revokeTime).toBeInstanceOf(Date);
    expect(revoked.acmeExternalAccountKey!.bindTime).toBeInstanceOf(Date);
    expect(revoked.revokedAcmeAccount).toMatchObject({
      id: account1.id,
      certificateProfileId: profileId,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
      externalAccountKeyId: key1.keyId,
      keyThumbprint: legoThumbprint(account1.dir),
    });
    expect(await accountStatus(account1.id)).toBe("revoked");
    // Who revoked the account is in the audit trail (the account changed status).
    expect(
      (await count("audit_record where resource_id = $1 and method = $2 and status_code = 0", [
        account1.id,
        REVOKE_KEY,
      ])) +
        (await count("audit_record where resource_id = $1 and method = $2 and status_code = 0", [
          key1.keyId,
          REVOKE_KEY,
        ])),
      "an audit record of the revocation naming the account or the key",
    ).toBeGreaterThan(0);

    // Every later request the account signs is unauthorized: lego cannot renew.
    expectUnauthorized(
      await lego([...base(account1.dir), "-http-port", String(settings.httpPort), "renew"]),
    );
    expectUnauthorized(await obtain(account1.dir, "again.acme.localhost"));
    // Nor roll its key over (RFC 8555 7.3.5), nor deactivate itself out of `revoked`.
    expectUnauthorized(await lego([...base(account1.dir), "rollover"]));
    expectUnauthorized(await lego([...base(account1.dir), "deactivate"]));
    expect(
      (
        await db.query<{ key_thumbprint: string }>(
          "select key_thumbprint from acme_account where id = $1",
          [account1.id],
        )
      )[0]?.key_thumbprint,
    ).toBe(legoThumbprint(account1.dir));
    expect(await count("acme_order where account_id = $1", [account1.id])).toBe(ordersBefore);

    // The certificate it was issued stays valid: GetCertificate, the CRL, openssl.
    const got = await call(admin.certificates, "getCertificate", { certificate: firstSerial });
    expect(got.certificate?.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
    expect(got.certificate?.revokeTime).toBeUndefined();
    const crl = await call(admin.authorities, "getCertificateRevocationList", {
      certificateAuthority: "root",
      encoding: 0,
      knownCrlNumber: "",
    });
    const tmp = new TempDir();
    try {
      const crlFile = tmp.file("root.crl", crl.crlPem);
      const crlText = openssl(["crl", "-noout", "-text", "-in", crlFile]);
      expect(crlText.code, crlText.stderr).toBe(0);
      expect(crlText.stdout).not.toContain(`Serial Number: ${firstSerial.toUpperCase()}`);
      const bundle = readState(account1.dir, "cert.pem");
      verifyBundle(bundle, rootPem);
      const leaf = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
      const verified = openssl([
        "verify",
        "-crl_check",
        "-CRLfile",
        crlFile,
        "-CAfile",
        tmp.file("root.pem", rootPem),
        tmp.file("leaf.pem", `${leaf}\n`),
      ]);
      expect(verified.stdout + verified.stderr).toContain(": OK");
    } finally {
      tmp.remove();
    }

    // Listed as revoked; the key still names the account it bound.
    expect((await accountIn(account1.id))?.status).toBe(
      AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
    );
    const listed = await keyIn(key1.keyId);
    expect(listed).toMatchObject({ acmeAccountId: account1.id });
    expect(listed?.revokeTime?.getTime()).toBe(
      revoked.acmeExternalAccountKey!.revokeTime!.getTime(),
    );

    // Again: nothing changes, and this call revoked no account.
    const again = await call(admin.profiles, "revokeAcmeExternalAccountKey", {
      keyId: key1.keyId,
    });
    expect(again.acmeExternalAccountKey).toEqual(revoked.acmeExternalAccountKey);
    expect(again.revokedAcmeAccount).toBeUndefined();
    expect(await accountStatus(account1.id)).toBe("revoked");
  });

  // ---- 4 --------------------------------------------------------------------------------------

  it("4: RevokeAcmeAccount refuses the account's later requests; a repeat changes and records nothing", async () => {
    const key3 = await newKey();
    const account3 = await register(key3);
    const auditFor = () => count("audit_record where resource_id = $1", [account3.id]);
    const recordsBefore = await auditFor();

    const first = await call(admin.profiles, "revokeAcmeAccount", { acmeAccount: account3.id });
    expect(first.acmeAccount).toMatchObject({
      id: account3.id,
      certificateProfileId: profileId,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
      externalAccountKeyId: key3.keyId,
      keyThumbprint: legoThumbprint(account3.dir),
    });
    expect(await accountStatus(account3.id)).toBe("revoked");
    const records = await db.query<{
      method: string;
      resource_type: string;
      actor_id: string;
      status_code: number;
    }>(
      `select method, resource_type, actor_id, status_code from audit_record
        where resource_id = $1 and method = $2`,
      [account3.id, REVOKE_ACCOUNT],
    );
    expect(records).toEqual([
      {
        method: REVOKE_ACCOUNT,
        resource_type: "acme_account",
        actor_id: adminToken.id,
        status_code: 0,
      },
    ]);
    expect(await auditFor()).toBe(recordsBefore + 1);
    // An auditor finds who revoked the account, and the change, through the API.
    const trail = await call(
      auditor.audit,
      "listAuditRecords",
      ListAuditRecordsRequest.fromPartial({ resourceId: account3.id, method: REVOKE_ACCOUNT }),
    );
    expect(trail.auditRecords).toHaveLength(1);
    expect(trail.auditRecords[0]).toMatchObject({
      actor: adminToken.id,
      actorSlug: "platform-admin",
      resourceType: "acme_account",
      statusCode: 0,
    });
    expect(
      trail.auditRecords[0]!.changes.some((c) => c.after === "revoked"),
      JSON.stringify(trail.auditRecords[0]!.changes),
    ).toBe(true);

    expectUnauthorized(await obtain(account3.dir, "three.acme.localhost"));

    const second = await call(admin.profiles, "revokeAcmeAccount", { acmeAccount: account3.id });
    expect(second.acmeAccount).toEqual(first.acmeAccount);
    expect(await auditFor()).toBe(recordsBefore + 1);
    expect(await accountStatus(account3.id)).toBe("revoked");

    // RevokeAcmeAccount revokes the account, not its key: the key shows the binding, unrevoked.
    const listed = await keyIn(key3.keyId);
    expect(listed).toMatchObject({ acmeAccountId: account3.id });
    expect(listed?.revokeTime).toBeUndefined();
    // Revoking the key now revokes no account (it is not valid any more).
    const keyRevoked = await call(admin.profiles, "revokeAcmeExternalAccountKey", {
      keyId: key3.keyId,
    });
    expect(keyRevoked.acmeExternalAccountKey!.revokeTime).toBeInstanceOf(Date);
    expect(keyRevoked.revokedAcmeAccount).toBeUndefined();
    expect((await accountIn(account3.id))?.updateTime?.getTime()).toBe(
      first.acmeAccount!.updateTime!.getTime(),
    );
  });

  /**
   * newAccount's externalAccountBinding (RFC 8555 7.3.4): the account key, MACed (HS256) with
   * `key`, for the client's newAccount URL (its directory read).
   */
  const bindingOf = (c: AcmeTestClient, key: { keyId: string; hmacKey: string }) => {
    const header = b64u(JSON.stringify({ alg: "HS256", kid: key.keyId, url: c.dir.newAccount }));
    const payload = b64u(JSON.stringify(publicJwk(c.key.publicKey)));
    const mac = createHmac("sha256", Buffer.from(key.hmacKey, "base64url"))
      .update(`${header}.${payload}`)
      .digest();
    return { protected: header, payload, signature: b64u(mac) };
  };

  /**
   * An order of `c` for `name`, validated over http-01 (a challenge server of the test's on the
   * validation port): ready to finalize, with the DER of a CSR for it.
   */
  const readyOrder = async (c: AcmeTestClient, name: string) => {
    const order = await c.newOrder([name]);
    expect(order.status, order.text).toBe(201);
    const orderUrl = order.headers.location as string;
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const http01 = (
      (await c.post(authzUrl, "")).json.challenges as Array<{
        type: string;
        url: string;
        token: string;
      }>
    ).find((ch) => ch.type === "http-01")!;
    const keyAuth = `${http01.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    const challengeServer: Server = createServer((_req, res) => res.end(keyAuth));
    await new Promise<void>((r) => challengeServer.listen(settings.httpPort, "127.0.0.1", r));
    try {
      await c.post(http01.url, {});
      await waitFor(
        `the authorization of ${name} to be validated`,
        async () => (await c.post(authzUrl, "")).json.status === "valid",
      );
    } finally {
      await new Promise((r) => challengeServer.close(r));
    }
    const csr = opensslCsr(`/CN=${name}`, [`DNS:${name}`]);
    const der = Buffer.from(
      csr.csrPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""),
      "base64",
    );
    return {
      orderUrl,
      orderId: orderUrl.split("/").at(-1)!,
      finalize: order.json.finalize as string,
      der,
    };
  };

  /** An order of `c` for `name` on an approval profile, finalized: its request waits for approval. */
  const waitingForApproval = async (c: AcmeTestClient, name: string) => {
    const { orderUrl, orderId, finalize, der } = await readyOrder(c, name);
    const finalized = await c.post(finalize, { csr: b64u(der) });
    expect(finalized.json.status, finalized.text).toBe("processing");
    const [request] = await db.query<{ id: string; status: string }>(
      `select r.id, r.status from acme_order o join certificate_request r on r.id = o.certificate_request_id
        where o.id = $1`,
      [orderId],
    );
    expect(request?.status).toBe("PENDING_APPROVAL");
    return { orderUrl, id: request!.id };
  };

  it("4: RevokeAcmeAccount rejects the account's requests waiting for approval; a deactivated account stays deactivated", async () => {
    const c = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    expect((await c.register()).status).toBe(201);
    const accountId = c.kid!.split("/").at(-1)!;
    const waiting = await waitingForApproval(c, "waiting.acme.localhost");
    const orderUrl = waiting.orderUrl;

    const revoked = await call(admin.profiles, "revokeAcmeAccount", { acmeAccount: accountId });
    expect(revoked.acmeAccount?.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    const [after] = await db.query<{ status: string }>(
      "select status from certificate_request where id = $1",
      [waiting.id],
    );
    expect(after?.status).toBe("REJECTED");
    const approve = await expectRpcError(
      call(admin.certificates, "approveCertificateRequest", {
        certificateRequestId: waiting.id,
        comment: "too late",
      }),
    );
    expect(approve.code).toBe(status.FAILED_PRECONDITION);
    // The account's own poll of its order is refused (RFC 8555 7.3.6: as a deactivated one).
    const poll = await c.post(orderUrl, "");
    expect([401, 403], poll.text).toContain(poll.status);
    expect(poll.json.type).toBe(`${ACME}unauthorized`);
    // Nor can it come back: not by newAccount with its key (RFC 8555 7.3.1 would return the
    // account), nor by deactivating itself (the account stays revoked).
    const again = await c.register();
    expect(again.status, again.text).not.toBe(200);
    expect(again.json.type).toBe(`${ACME}unauthorized`);
    const deactivate = await c.post(c.kid!, { status: "deactivated" });
    expect(deactivate.json.type, deactivate.text).toBe(`${ACME}unauthorized`);
    expect(await accountStatus(accountId)).toBe("revoked");

    // An account the client deactivated itself: RevokeAcmeAccount changes nothing.
    const d = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    expect((await d.register()).status).toBe(201);
    const deactivatedId = d.kid!.split("/").at(-1)!;
    expect((await d.post(d.kid!, { status: "deactivated" })).json.status).toBe("deactivated");
    const [before] = await db.query<{ updated_at: Date }>(
      "select updated_at from acme_account where id = $1",
      [deactivatedId],
    );
    const unchanged = await call(admin.profiles, "revokeAcmeAccount", {
      acmeAccount: deactivatedId,
    });
    expect(unchanged.acmeAccount).toMatchObject({
      id: deactivatedId,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_DEACTIVATED,
    });
    expect(unchanged.acmeAccount?.updateTime?.getTime()).toBe(before!.updated_at.getTime());
    expect(await accountStatus(deactivatedId)).toBe("deactivated");
    expect(
      await count("audit_record where resource_id = $1 and method = $2", [
        deactivatedId,
        REVOKE_ACCOUNT,
      ]),
    ).toBe(0);
  });

  it("3: RevokeAcmeExternalAccountKey rejects its account's requests waiting for approval, as RevokeAcmeAccount does", async () => {
    // An EAB key of the approval profile (which accepts a binding without requiring one).
    const key = await newKey(admin, "gated-acme");
    const c = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    await c.directory();
    const created = await c.register({ externalAccountBinding: bindingOf(c, key) });
    expect(created.status, created.text).toBe(201);
    const accountId = c.kid!.split("/").at(-1)!;
    const waiting = await waitingForApproval(c, "bound-waiting.acme.localhost");

    const revoked = await call(admin.profiles, "revokeAcmeExternalAccountKey", {
      keyId: key.keyId,
    });
    expect(revoked.revokedAcmeAccount).toMatchObject({
      id: accountId,
      status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
      externalAccountKeyId: key.keyId,
    });
    const [after] = await db.query<{ status: string }>(
      "select status from certificate_request where id = $1",
      [waiting.id],
    );
    expect(after?.status).toBe("REJECTED");
    const poll = await c.post(waiting.orderUrl, "");
    expect(poll.json.type, poll.text).toBe(`${ACME}unauthorized`);
  });

  /**
   * Runs `sends` while a session of the test holds a row (`lockSql`), each queued behind it in
   * turn (waiting for a lock in PostgreSQL) before the next is sent, then lets the row go:
   * concurrent calls in a known order, without timing. The first in a row's queue waits for the
   * holder, the next for the first (PostgreSQL's tuple lock), so blocked sessions are counted.
   * A call that finished without waiting fails the case: it was not concurrent after all.
   */
  const queuedBehindRow = async (
    lockSql: string,
    params: unknown[],
    sends: Array<() => Promise<unknown>>,
  ): Promise<PromiseSettledResult<unknown>[]> => {
    const holder = new PgClient({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("begin");
      const locked = await holder.query(lockSql, params);
      expect(locked.rowCount, lockSql).toBe(1);
      const blocked = async () =>
        Number(
          (
            await db.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity
                where datname = current_database() and cardinality(pg_blocking_pids(pid)) > 0`,
            )
          )[0]!.n,
        );
      let done = 0;
      const started: Array<Promise<PromiseSettledResult<unknown>>> = [];
      for (const [i, send] of sends.entries()) {
        started.push(
          send().then(
            (value) => ({ status: "fulfilled" as const, value }),
            (reason: unknown) => ({ status: "rejected" as const, reason }),
          ),
        );
        void started[i]!.then(() => done++);
        await waitFor(
          `${i + 1} call(s) waiting for the held row, or one done`,
          async () => done > 0 || (await blocked()) >= i + 1,
        );
      }
      // The premise of the case: every call was in flight, waiting, when the row was let go.
      expect(done, "calls that finished before the held row was let go").toBe(0);
      await holder.query("commit");
      return await Promise.all(started);
    } finally {
      await holder.end();
    }
  };

  const settledValue = <T>(r: PromiseSettledResult<unknown>): T => {
    if (r.status === "rejected") throw r.reason;
    return r.value as T;
  };

  /**
   * Found by this file (stop 48, E2E-1): a keyChange verified before RevokeAcmeAccount
   * committed, and stored after it, rolled the revoked account's key over and answered 200. The
   * contract: "every later request it signs is answered unauthorized"; the rollover's
   * transaction now locks the account and reads its status (acme/handlers/accounts.ts).
   */
  it("4: a key rollover queued behind RevokeAcmeAccount is refused, and the revoked account's key stays", async () => {
    const c = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    expect((await c.register()).status).toBe(201);
    const accountId = c.kid!.split("/").at(-1)!;
    const before = thumbprint(publicJwk(c.key.publicKey));
    // RFC 8555 7.3.5: the inner JWS (new key, no nonce) inside the outer one (the account's).
    const url = c.dir.keyChange!;
    const next = accountKey("ES256");
    const innerHeader = b64u(JSON.stringify({ alg: "ES256", jwk: publicJwk(next.publicKey), url }));
    const innerPayload = b64u(
      JSON.stringify({ account: c.kid, oldKey: publicJwk(c.key.publicKey) }),
    );
    const inner = {
      protected: innerHeader,
      payload: innerPayload,
      signature: b64u(jwsSign("ES256", next.privateKey, `${innerHeader}.${innerPayload}`)),
    };
    const body = await c.jws(url, inner);
    const revokeAccount = () =>
      call(admin.profiles, "revokeAcmeAccount", { acmeAccount: accountId });
    // The account's row held as a finalize's store holds it (FOR SHARE): the revocation waits
    // for it, and the rollover's update of the row waits behind the revocation.
    const [revoked, rolled] = await queuedBehindRow(
      "select 1 from acme_account where id = $1 for share",
      [accountId],
      [revokeAccount, () => c.http("POST", url, body)],
    );
    expect(
      settledValue<Awaited<ReturnType<typeof revokeAccount>>>(revoked!).acmeAccount?.status,
    ).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    const answer = settledValue<HttpResult>(rolled!);
    const [row] = await db.query<{ status: string; key_thumbprint: string }>(
      "select status, key_thumbprint from acme_account where id = $1",
      [accountId],
    );
    expect(row?.status).toBe("revoked");
    const keyChanges = await count(
      "audit_record where actor_id = $1 and method = '/acme/keyChange' and status_code = 0",
      [accountId],
    );
    expect(
      { status: answer.status, type: answer.json.type, key: row?.key_thumbprint, keyChanges },
      answer.text,
    ).toEqual({
      status: answer.status === 403 ? 403 : 401,
      type: `${ACME}unauthorized`,
      key: before,
      keyChanges: 0,
    });
  });

  /**
   * Found by stop 48's outside probe (F2), fixed in stop 49: a newOrder verified before
   * RevokeAcmeAccount committed, and inserted after it, created an order (201) for the revoked
   * account. newOrder's transaction now holds the account FOR SHARE and reads its status
   * (acme/handlers/orders.ts), so it answers unauthorized and writes nothing.
   */
  it("4: a newOrder queued behind RevokeAcmeAccount is refused and stores no order", async () => {
    const c = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    expect((await c.register()).status).toBe(201);
    const accountId = c.kid!.split("/").at(-1)!;
    const body = await c.jws(c.dir.newOrder!, {
      identifiers: [{ type: "dns", value: "queued-order.acme.localhost" }],
    });
    const revokeAccount = () =>
      call(admin.profiles, "revokeAcmeAccount", { acmeAccount: accountId });
    // The account's row held FOR UPDATE: the revocation queues on it first, then the order's
    // transaction queues behind the revocation.
    const [revoked, ordered] = await queuedBehindRow(
      "select 1 from acme_account where id = $1 for update",
      [accountId],
      [revokeAccount, () => c.http("POST", c.dir.newOrder!, body)],
    );
    expect(
      settledValue<Awaited<ReturnType<typeof revokeAccount>>>(revoked!).acmeAccount?.status,
    ).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    const answer = settledValue<HttpResult>(ordered!);
    expect({ status: answer.status, type: answer.json.type }, answer.text).toEqual({
      status: 401,
      type: `${ACME}unauthorized`,
    });
    expect(answer.json.detail).toContain("revoked");
    expect(await count("acme_order where account_id = $1", [accountId])).toBe(0);
    expect(await count("acme_authorization where account_id = $1", [accountId])).toBe(0);
    expect(await accountStatus(accountId)).toBe("revoked");
  });

  /**
   * Found by stop 48's outside probe (F3), fixed in stop 49: a line cut (RevokeAccessToken with
   * revoke_created_tokens) skips a key a binding in flight holds (SKIP LOCKED: waiting would
   * deadlock), and that binding, refused once the cut committed, left the key unrevoked and
   * listed as free. The refused binding now revokes the key as of its creator's revocation.
   */
  it("3: a key whose binding was in flight when its creator's line was cut ends revoked", async () => {
    const creator = await token("cut-line-admin", TokenRole.ROLE_ADMIN);
    const lineAdmin = clientsOf(creator);
    const inFlight = await newKey(lineAdmin);
    const idle = await newKey(lineAdmin);
    const c = new AcmeTestClient(directory(), settings.tlsCaFile);
    await c.directory();
    const jwk = publicJwk(c.key.publicKey);
    const eabHeader = b64u(
      JSON.stringify({ alg: "HS256", kid: inFlight.keyId, url: c.dir.newAccount }),
    );
    const eabPayload = b64u(JSON.stringify(jwk));
    const eab = {
      protected: eabHeader,
      payload: eabPayload,
      signature: b64u(
        createHmac("sha256", Buffer.from(inFlight.hmacKey, "base64url"))
          .update(`${eabHeader}.${eabPayload}`)
          .digest(),
      ),
    };
    const body = await c.jws(
      c.dir.newAccount!,
      { termsOfServiceAgreed: true, externalAccountBinding: eab },
      { useJwk: true },
    );
    // The creator's row held: the cut queues on it, and the binding (its key locked, its MAC
    // checked) queues behind the cut for the creator's row.
    const cut = () =>
      call(boot.accessTokens, "revokeAccessToken", {
        accessToken: creator.id,
        revokeCreatedTokens: true,
      });
    const [cutDone, bound] = await queuedBehindRow(
      "select 1 from access_token where id = $1 for update",
      [creator.id],
      [cut, () => c.http("POST", c.dir.newAccount!, body)],
    );
    const revokeTime = settledValue<Awaited<ReturnType<typeof cut>>>(cutDone!).accessToken
      ?.revokeTime;
    expect(revokeTime).toBeDefined();
    const answer = settledValue<HttpResult>(bound!);
    expect({ status: answer.status, type: answer.json.type }, answer.text).toEqual({
      status: 403,
      type: `${ACME}unauthorized`,
    });
    const rows = await db.query<{ key_id: string; revoked_at: Date | null; account_id: string }>(
      "select key_id, revoked_at, account_id from acme_eab_key where key_id = any($1)",
      [[inFlight.keyId, idle.keyId]],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.account_id, row.key_id).toBeNull();
      // Both revoked with the line, at the creator's revocation time.
      expect(row.revoked_at?.getTime(), row.key_id).toBe(revokeTime!.getTime());
    }
    const listed = (await allKeys(admin, "web-acme")).filter((k) =>
      [inFlight.keyId, idle.keyId].includes(k.keyId),
    );
    expect(listed.map((k) => k.revokeTime?.getTime())).toEqual([
      revokeTime!.getTime(),
      revokeTime!.getTime(),
    ]);
    expect(await count("acme_account where eab_key_id = $1", [inFlight.keyId])).toBe(0);
  });

  /**
   * Found by this stop's outside probe (F1): a finalize on an approval profile verified before
   * RevokeAcmeAccount committed, and recorded after it, left a request of the revoked account
   * waiting for an approver (the proto: "an order being finalized stores nothing, and its
   * requests waiting for approval are rejected"). The record of a waiting request now holds the
   * account FOR SHARE and finds it revoked (store/repositories/issuance.ts recordWaitingRequest).
   */
  it("4: a finalize (approval profile) queued behind RevokeAcmeAccount records no waiting request", async () => {
    const c = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    expect((await c.register()).status).toBe(201);
    const accountId = c.kid!.split("/").at(-1)!;
    const o = await readyOrder(c, "raced.acme.localhost");
    const body = await c.jws(o.finalize, { csr: b64u(o.der) });
    const holder = new PgClient({ connectionString: db.url });
    await holder.connect();
    let answer: Awaited<ReturnType<AcmeTestClient["http"]>>;
    try {
      await holder.query("begin");
      await holder.query("select 1 from acme_order where id = $1 for update", [o.orderId]);
      // The finalize is verified (its JWS, its account valid), then waits for the order's row.
      let done = false;
      const finalizing = c.http("POST", o.finalize, body).finally(() => {
        done = true;
      });
      await waitFor(
        "the finalize to wait for the order's row",
        async () =>
          done ||
          Number(
            (
              await db.query<{ n: string }>(
                `select count(*) as n from pg_stat_activity
                  where datname = current_database() and cardinality(pg_blocking_pids(pid)) > 0`,
              )
            )[0]!.n,
          ) >= 1,
      );
      expect(done, "the finalize finished before the order's row was let go").toBe(false);
      const revoked = await call(admin.profiles, "revokeAcmeAccount", { acmeAccount: accountId });
      expect(revoked.acmeAccount?.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
      await holder.query("commit");
      answer = await finalizing;
    } finally {
      await holder.end();
    }
    expect(answer.json.type, answer.text).toBe(`${ACME}unauthorized`);
    // No request of the account waits for an approver, and nothing was issued to it.
    expect(
      await db.query(
        `select r.status from acme_order o join certificate_request r on r.id = o.certificate_request_id
          where o.id = $1 and r.status not in ('REJECTED', 'FAILED')`,
        [o.orderId],
      ),
    ).toEqual([]);
    expect(
      await count("certificate_request where caller = $1 and status = 'PENDING_APPROVAL'", [
        accountId,
      ]),
    ).toBe(0);
    const [order] = await db.query<{ status: string; certificate_id: string | null }>(
      "select status, certificate_id from acme_order where id = $1",
      [o.orderId],
    );
    expect(order).toEqual({ status: "invalid", certificate_id: null });
  });

  it("4: an approval queued behind RevokeAcmeAccount issues nothing to the revoked account", async () => {
    const c = new AcmeTestClient(directory("gated-acme"), settings.tlsCaFile);
    expect((await c.register()).status).toBe(201);
    const accountId = c.kid!.split("/").at(-1)!;
    const waiting = await waitingForApproval(c, "approved-late.acme.localhost");
    const revokeAccount = () =>
      call(admin.profiles, "revokeAcmeAccount", { acmeAccount: accountId });
    const approve = () =>
      call(boot.certificates, "approveCertificateRequest", {
        certificateRequestId: waiting.id,
        comment: "approved while the account is being revoked",
      });
    // The account's row held FOR UPDATE: the revocation waits for it, and the approval (whose
    // store holds the account FOR SHARE, which a FOR SHARE holder would let pass) behind it.
    const [revoked, approved] = await queuedBehindRow(
      "select 1 from acme_account where id = $1 for update",
      [accountId],
      [revokeAccount, approve],
    );
    expect(
      settledValue<Awaited<ReturnType<typeof revokeAccount>>>(revoked!).acmeAccount?.status,
    ).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    expect(approved!.status, "the approval of a revoked account's request").toBe("rejected");
    const [request] = await db.query<{ status: string; certificate_id: string | null }>(
      "select status, certificate_id from certificate_request where id = $1",
      [waiting.id],
    );
    expect(request?.status).not.toBe("ISSUED");
    expect(await count("certificate where owner = $1", [accountId])).toBe(0);
  });

  it.each(["the binding first", "the revocation first"] as const)(
    "2/3: a key revoked while an account binds with it (%s in the lock queue) leaves no valid account bound to it",
    async (first) => {
      const key = await newKey();
      const c = new AcmeTestClient(directory(), settings.tlsCaFile);
      await c.directory();
      const bind = () => c.register({ externalAccountBinding: bindingOf(c, key) });
      const revokeKey = () =>
        call(admin.profiles, "revokeAcmeExternalAccountKey", { keyId: key.keyId });
      // The key's row held as a binding in flight holds it (lockExternalAccountKey, FOR UPDATE).
      const results = await queuedBehindRow(
        "select 1 from acme_eab_key where key_id = $1 for update",
        [key.keyId],
        first === "the binding first" ? [bind, revokeKey] : [revokeKey, bind],
      );
      const [bound_, revoked_] = first === "the binding first" ? results : [...results].reverse();
      const registered = settledValue<HttpResult>(bound_!);
      const revoked = settledValue<Awaited<ReturnType<typeof revokeKey>>>(revoked_!);
      expect(revoked.acmeExternalAccountKey?.revokeTime).toBeInstanceOf(Date);
      const bound = await db.query<{ id: string; status: string }>(
        "select id, status from acme_account where eab_key_id = $1",
        [key.keyId],
      );
      if (registered.status === 201) {
        // Bound before the revocation: revoked with the key, and the answer says so.
        const id = (registered.headers.location as string).split("/").at(-1)!;
        expect(bound).toEqual([{ id, status: "revoked" }]);
        expect(revoked.revokedAcmeAccount).toMatchObject({
          id,
          status: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
        });
        expect(revoked.acmeExternalAccountKey?.acmeAccountId).toBe(id);
      } else {
        // The problem type is the contract; its HTTP status is 401 or 403 (problem.ts).
        expect([401, 403], registered.text).toContain(registered.status);
        expect(registered.json.type).toBe(`${ACME}unauthorized`);
        expect(bound).toEqual([]);
        expect(revoked.revokedAcmeAccount).toBeUndefined();
      }
    },
  );

  it("3/4: concurrent revocations of one account, or of one bound key, change it once", async () => {
    const key = await newKey();
    const account = await register(key);
    const auditFor = (id: string) =>
      count("audit_record where resource_id = $1 and status_code = 0", [id]);
    const recordsBefore = await auditFor(account.id);
    const revokeAccount = () =>
      call(admin.profiles, "revokeAcmeAccount", { acmeAccount: account.id });
    // The account's row held as a finalize's store holds it (FOR SHARE): both revocations wait.
    const accountResults = await queuedBehindRow(
      "select 1 from acme_account where id = $1 for share",
      [account.id],
      [revokeAccount, revokeAccount],
    );
    const [a, b] = accountResults.map((r) =>
      settledValue<Awaited<ReturnType<typeof revokeAccount>>>(r),
    );
    expect(a!.acmeAccount?.status).toBe(AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED);
    expect(b!.acmeAccount).toEqual(a!.acmeAccount);
    expect(await auditFor(account.id)).toBe(recordsBefore + 1);

    // The same for the key: one revoke_time, the account (already revoked) not revoked again.
    const keyChanges = () =>
      count("audit_record where method = $1 and status_code = 0 and resource_id <> ''", [
        REVOKE_KEY,
      ]);
    const keyChangesBefore = await keyChanges();
    const revokeKey = () =>
      call(admin.profiles, "revokeAcmeExternalAccountKey", { keyId: key.keyId });
    const keyResults = await queuedBehindRow(
      "select 1 from acme_eab_key where key_id = $1 for update",
      [key.keyId],
      [revokeKey, revokeKey],
    );
    const [k1, k2] = keyResults.map((r) => settledValue<Awaited<ReturnType<typeof revokeKey>>>(r));
    expect(k2!.acmeExternalAccountKey).toEqual(k1!.acmeExternalAccountKey);
    expect(k1!.revokedAcmeAccount).toBeUndefined();
    expect(k2!.revokedAcmeAccount).toBeUndefined();
    expect(await keyChanges()).toBe(keyChangesBefore + 1);
    expect(await auditFor(account.id)).toBe(recordsBefore + 1);
  });

  it("3: two concurrent revocations of a bound key whose account is valid revoke it once", async () => {
    const key = await newKey();
    const account = await register(key);
    const auditFor = () =>
      count("audit_record where resource_id = $1 and status_code = 0", [account.id]);
    const recordsBefore = await auditFor();
    const revokeKey = () =>
      call(admin.profiles, "revokeAcmeExternalAccountKey", { keyId: key.keyId });
    const results = (
      await queuedBehindRow(
        "select 1 from acme_eab_key where key_id = $1 for update",
        [key.keyId],
        [revokeKey, revokeKey],
      )
    ).map((r) => settledValue<Awaited<ReturnType<typeof revokeKey>>>(r));
    // Exactly one of them revoked the account.
    expect(results.filter((r) => r.revokedAcmeAccount !== undefined)).toHaveLength(1);
    expect(results[1]!.acmeExternalAccountKey).toEqual(results[0]!.acmeExternalAccountKey);
    expect(await accountStatus(account.id)).toBe("revoked");
    expect(await auditFor()).toBeLessThanOrEqual(recordsBefore + 1);
  });

  // ---- 5 --------------------------------------------------------------------------------------

  it("5: an auditor lists, but is PERMISSION_DENIED on both revocations, and nothing changes", async () => {
    const key4 = await newKey();
    const account4 = await register(key4);

    const keys = await allKeys(auditor, "web-acme");
    expect(keys.map((k) => k.keyId)).toContain(key4.keyId);
    expect(keys).toEqual(await allKeys(admin, "web-acme"));
    const accounts = await allAccounts(auditor, "web-acme");
    expect(accounts.map((a) => a.id)).toContain(account4.id);

    const deniedKey = await expectRpcError(
      call(auditor.profiles, "revokeAcmeExternalAccountKey", { keyId: key4.keyId }),
    );
    expectError(deniedKey, status.PERMISSION_DENIED, "ROLE_NOT_ALLOWED");
    const deniedAccount = await expectRpcError(
      call(auditor.profiles, "revokeAcmeAccount", { acmeAccount: account4.id }),
    );
    expectError(deniedAccount, status.PERMISSION_DENIED, "ROLE_NOT_ALLOWED");

    expect(await accountStatus(account4.id)).toBe("valid");
    expect((await keyIn(key4.keyId))?.revokeTime).toBeUndefined();
    expect((await accountIn(account4.id))?.status).toBe(
      AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID,
    );
    // The account still works: it is found by its key (RFC 8555 7.3.1).
    expect(lastLine(await legoOk([...base(account4.dir), "find"]))).toBe(account4.url);
    // The refusals are audited as refusals, never as a change.
    expect(
      await count(
        "audit_record where method in ($1, $2) and status_code = 0 and resource_id in ($3, $4)",
        [REVOKE_KEY, REVOKE_ACCOUNT, key4.keyId, account4.id],
      ),
    ).toBe(0);
  });

  it("5: an issuer token is refused on all four RPCs", async () => {
    const key = await newKey();
    const account = (await allAccounts(admin, "web-acme")).find(
      (a) => a.status === AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID,
    )!;
    const calls: Array<[string, () => Promise<unknown>]> = [
      [
        "ListAcmeExternalAccountKeys",
        () =>
          call(issuer.profiles, "listAcmeExternalAccountKeys", {
            certificateProfile: "web-acme",
            pageSize: 0,
            pageToken: "",
          }),
      ],
      [
        "ListAcmeAccounts",
        () =>
          call(issuer.profiles, "listAcmeAccounts", {
            certificateProfile: "web-acme",
            pageSize: 0,
            pageToken: "",
          }),
      ],
      [
        "RevokeAcmeExternalAccountKey",
        () => call(issuer.profiles, "revokeAcmeExternalAccountKey", { keyId: key.keyId }),
      ],
      [
        "RevokeAcmeAccount",
        () => call(issuer.profiles, "revokeAcmeAccount", { acmeAccount: account.id }),
      ],
    ];
    for (const [method, send] of calls) {
      const err = await expectRpcError(send());
      expect({ method, code: err.code, reason: err.reason }).toEqual({
        method,
        code: status.PERMISSION_DENIED,
        reason: "ROLE_NOT_ALLOWED",
      });
    }
    expect(await accountStatus(account.id)).toBe("valid");
    expect((await keyIn(key.keyId))?.revokeTime).toBeUndefined();
  });

  it("5: unknown keys, accounts and profiles are NOT_FOUND with an ErrorInfo reason", async () => {
    const cases: Array<[string, () => Promise<unknown>, string | RegExp]> = [
      [
        "unknown key id",
        () =>
          call(admin.profiles, "revokeAcmeExternalAccountKey", { keyId: "AAAAAAAAAAAAAAAAAAAAAA" }),
        /^ACME_\w+_NOT_FOUND$/,
      ],
      [
        "unknown account (a UUID)",
        () => call(admin.profiles, "revokeAcmeAccount", { acmeAccount: randomUUID() }),
        /^ACME_\w+_NOT_FOUND$/,
      ],
      [
        "keys of an unknown profile",
        () =>
          call(admin.profiles, "listAcmeExternalAccountKeys", {
            certificateProfile: "no-such-profile",
            pageSize: 0,
            pageToken: "",
          }),
        "CERTIFICATE_PROFILE_NOT_FOUND",
      ],
      [
        "accounts of an unknown profile",
        () =>
          call(admin.profiles, "listAcmeAccounts", {
            certificateProfile: randomUUID(),
            pageSize: 0,
            pageToken: "",
          }),
        "CERTIFICATE_PROFILE_NOT_FOUND",
      ],
    ];
    for (const [what, send, reason] of cases) {
      const err = await expectRpcError(send());
      expect(err.code, `${what}: ${err.message}`).toBe(status.NOT_FOUND);
      expect(err.reason, what).toEqual(
        typeof reason === "string" ? reason : expect.stringMatching(reason),
      );
    }
    // Key ids are case-sensitive base64url, matched exactly: another case, a LIKE pattern or
    // a quote names no key, and revokes none.
    const keysBefore = await allKeys(admin, "web-acme");
    const someKey = keysBefore.find((k) => k.revokeTime === undefined && /[a-z]/.test(k.keyId))!;
    for (const keyId of [
      someKey.keyId.replace(/[a-zA-Z]/g, (ch) =>
        ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase(),
      ),
      "%",
      `${someKey.keyId.slice(0, 10)}%`,
      "_".repeat(someKey.keyId.length),
      "' or '1'='1",
    ]) {
      const err = await expectRpcError(
        call(admin.profiles, "revokeAcmeExternalAccountKey", { keyId }),
      );
      expectError(err, status.NOT_FOUND, /^ACME_\w+_NOT_FOUND$/);
    }
    expect(await allKeys(admin, "web-acme")).toEqual(keysBefore);
    // Not a UUID, so no account's id: refused as malformed, naming the field (as a
    // certificate_request_id that is no UUID is, certificates/find.ts findRequest), or NOT_FOUND.
    const malformed = await expectRpcError(
      call(admin.profiles, "revokeAcmeAccount", { acmeAccount: "no-such-account" }),
    );
    if (malformed.code === status.INVALID_ARGUMENT) {
      expect(malformed.violations.map((v) => v.field)).toEqual(["acme_account"]);
    } else {
      expectError(malformed, status.NOT_FOUND, /^ACME_\w+_NOT_FOUND$/);
    }
  });

  it("5: an over-long key_id or account id is INVALID_ARGUMENT (FIELD_TOO_LONG), changing nothing", async () => {
    const keysBefore = await allKeys(admin, "web-acme");
    const accountsBefore = await allAccounts(admin, "web-acme");
    const longKey = await expectRpcError(
      call(admin.profiles, "revokeAcmeExternalAccountKey", { keyId: "k".repeat(65) }),
    );
    expectError(longKey, status.INVALID_ARGUMENT, "REQUEST_FIELD_INVALID");
    expect(longKey.violations).toContainEqual(
      expect.objectContaining({ field: "key_id", reason: "FIELD_TOO_LONG" }),
    );
    // A bound key's id with a tail: refused as too long, not looked up by a prefix.
    const prefixed = await expectRpcError(
      call(admin.profiles, "revokeAcmeExternalAccountKey", {
        keyId: `${keysBefore[0]!.keyId}${"x".repeat(64 - keysBefore[0]!.keyId.length + 1)}`,
      }),
    );
    expectError(prefixed, status.INVALID_ARGUMENT, "REQUEST_FIELD_INVALID");
    const longAccount = await expectRpcError(
      call(admin.profiles, "revokeAcmeAccount", { acmeAccount: "a".repeat(65) }),
    );
    expectError(longAccount, status.INVALID_ARGUMENT, "REQUEST_FIELD_INVALID");
    expect(longAccount.violations).toContainEqual(
      expect.objectContaining({ field: "acme_account", reason: "FIELD_TOO_LONG" }),
    );
    const longProfile = await expectRpcError(
      call(admin.profiles, "listAcmeAccounts", {
        certificateProfile: "p".repeat(65),
        pageSize: 0,
        pageToken: "",
      }),
    );
    expectError(longProfile, status.INVALID_ARGUMENT, "REQUEST_FIELD_INVALID");
    expect(await allKeys(admin, "web-acme")).toEqual(keysBefore);
    expect(await allAccounts(admin, "web-acme")).toEqual(accountsBefore);
  });

  // ---- 6 --------------------------------------------------------------------------------------

  it("6: pages of keys: each once, oldest first; an altered or foreign page token is PAGE_TOKEN_INVALID", async () => {
    await createAcmeProfile(boot, "paging-acme");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await newKey(admin, "paging-acme")).keyId);

    const pages: string[][] = [];
    let pageToken = "";
    let firstToken = "";
    do {
      const page = await call(admin.profiles, "listAcmeExternalAccountKeys", {
        certificateProfile: "paging-acme",
        pageSize: 2,
        pageToken,
      });
      pages.push(page.acmeExternalAccountKeys.map((k) => k.keyId));
      const times = page.acmeExternalAccountKeys.map((k) => k.createTime!.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
      pageToken = page.nextPageToken;
      if (!firstToken) firstToken = pageToken;
      expect(pages.length).toBeLessThanOrEqual(made.length);
    } while (pageToken !== "");
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(made);
    // By id and by slug alike; an auditor sees the same.
    const pagingId = (
      await call(admin.profiles, "getCertificateProfile", { certificateProfile: "paging-acme" })
    ).certificateProfile!.id;
    expect((await allKeys(admin, pagingId, 2)).map((k) => k.keyId)).toEqual(made);
    expect((await allKeys(auditor, "paging-acme", 2)).map((k) => k.keyId)).toEqual(made);

    const listWith = (token: string, profile = "paging-acme") =>
      expectRpcError(
        call(admin.profiles, "listAcmeExternalAccountKeys", {
          certificateProfile: profile,
          pageSize: 2,
          pageToken: token,
        }),
      );
    const expectTokenInvalid = (err: DecodedError, what: string) => {
      expect({ what, code: err.code, reason: err.reason }, err.message).toEqual({
        what,
        code: status.INVALID_ARGUMENT,
        reason: "PAGE_TOKEN_INVALID",
      });
    };
    const mid = Math.floor(firstToken.length / 2);
    const flipped = `${firstToken.slice(0, mid)}${firstToken[mid] === "A" ? "B" : "A"}${firstToken.slice(mid + 1)}`;
    expectTokenInvalid(await listWith(flipped), "a changed character");
    expectTokenInvalid(await listWith(`${firstToken}AA`), "a longer token");
    // Another profile's keys: the token is for the list it came from.
    expectTokenInvalid(await listWith(firstToken, "web-acme"), "another profile's list");
    // A token of ListAcmeAccounts.
    const accountsPage = await call(admin.profiles, "listAcmeAccounts", {
      certificateProfile: "web-acme",
      pageSize: 1,
      pageToken: "",
    });
    expect(accountsPage.nextPageToken).not.toBe("");
    expectTokenInvalid(
      await listWith(accountsPage.nextPageToken, "web-acme"),
      "a ListAcmeAccounts token",
    );
    const negative = await expectRpcError(
      call(admin.profiles, "listAcmeExternalAccountKeys", {
        certificateProfile: "paging-acme",
        pageSize: -1,
        pageToken: "",
      }),
    );
    expect(negative.code).toBe(status.INVALID_ARGUMENT);
  });

  it("6: pages of accounts: each once, oldest first, as PostgreSQL holds them", async () => {
    const rows = await db.query<{ id: string; status: string }>(
      "select id, status from acme_account where profile_id = $1 order by created_at, id",
      [profileId],
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const listed = await allAccounts(admin, "web-acme", 1);
    expect(listed.map((a) => a.id)).toEqual(rows.map((r) => r.id));
    const byStatus: Record<string, AcmeAccountStatus> = {
      valid: AcmeAccountStatus.ACME_ACCOUNT_STATUS_VALID,
      deactivated: AcmeAccountStatus.ACME_ACCOUNT_STATUS_DEACTIVATED,
      revoked: AcmeAccountStatus.ACME_ACCOUNT_STATUS_REVOKED,
    };
    expect(listed.map((a) => a.status)).toEqual(rows.map((r) => byStatus[r.status]));
    // A token of ListAcmeExternalAccountKeys is not one of this list.
    const keysPage = await call(admin.profiles, "listAcmeExternalAccountKeys", {
      certificateProfile: "web-acme",
      pageSize: 1,
      pageToken: "",
    });
    const err = await expectRpcError(
      call(admin.profiles, "listAcmeAccounts", {
        certificateProfile: "web-acme",
        pageSize: 1,
        pageToken: keysPage.nextPageToken,
      }),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: status.INVALID_ARGUMENT,
      reason: "PAGE_TOKEN_INVALID",
    });
  });

  it("no HMAC key anywhere: not in the audit trail, the ACME tables, nor the server's output", async () => {
    expect(hmacKeys.length).toBeGreaterThan(5);
    const rows = await db.query<{ t: string }>(
      `select t::text as t from audit_record t
       union all select t::text from acme_eab_key t
       union all select t::text from acme_account t`,
    );
    expect(rows.length).toBeGreaterThan(0);
    const text = rows.map((r) => r.t).join("\n");
    for (const hmac of hmacKeys) {
      expect(text).not.toContain(hmac);
      expect(text).not.toContain(Buffer.from(hmac, "base64url").toString("hex"));
      expect(text).not.toContain(Buffer.from(hmac, "base64url").toString("base64"));
      expect(server.output()).not.toContain(hmac);
    }
  });

  // ---- The generated Python client ------------------------------------------------------------

  it("the generated Python client decodes ListAcmeAccounts and ListAcmeExternalAccountKeys", async () => {
    const python = join(ROOT, ".tools", "venv", "bin", "python");
    const script = `
import json, os, sys
import grpc
from certmint.v1 import certificate_profile_service_pb2 as pb
from certmint.v1 import certificate_profile_service_pb2_grpc as rpc
md = [("authorization", "Bearer " + os.environ["CERTMINT_TOKEN"])]
with grpc.insecure_channel(sys.argv[1]) as ch:
    stub = rpc.CertificateProfileServiceStub(ch)
    accounts = stub.ListAcmeAccounts(pb.ListAcmeAccountsRequest(certificate_profile="web-acme", page_size=1000), metadata=md, timeout=30)
    keys = stub.ListAcmeExternalAccountKeys(pb.ListAcmeExternalAccountKeysRequest(certificate_profile="web-acme", page_size=1000), metadata=md, timeout=30)
print(json.dumps({
    "accounts": [{"id": a.id, "status": pb.AcmeAccountStatus.Name(a.status), "key_thumbprint": a.key_thumbprint,
                  "external_account_key_id": a.external_account_key_id, "created": a.create_time.seconds} for a in accounts.acme_accounts],
    "keys": [{"key_id": k.key_id, "acme_account_id": k.acme_account_id, "creator": k.creator,
              "bound": k.HasField("bind_time"), "revoked": k.HasField("revoke_time")} for k in keys.acme_external_account_keys],
}))
`;
    const out = spawnSync(python, ["-c", script, server.address], {
      encoding: "utf8",
      env: {
        ...process.env,
        PYTHONPATH: join(ROOT, "gen", "python"),
        CERTMINT_TOKEN: adminToken.secret,
      },
      timeout: 60_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const seen = JSON.parse(out.stdout) as {
      accounts: Array<{
        id: string;
        status: string;
        key_thumbprint: string;
        external_account_key_id: string;
        created: number;
      }>;
      keys: Array<{
        key_id: string;
        acme_account_id: string;
        creator: string;
        bound: boolean;
        revoked: boolean;
      }>;
    };
    const accounts = await allAccounts(admin, "web-acme");
    expect(seen.accounts).toEqual(
      accounts.map((a) => ({
        id: a.id,
        status: AcmeAccountStatus[a.status],
        key_thumbprint: a.keyThumbprint,
        external_account_key_id: a.externalAccountKeyId,
        created: Math.floor(a.createTime!.getTime() / 1000),
      })),
    );
    expect(seen.accounts.find((a) => a.id === account1.id)?.status).toBe(
      "ACME_ACCOUNT_STATUS_REVOKED",
    );
    const keys = await allKeys(admin, "web-acme");
    expect(seen.keys).toEqual(
      keys.map((k) => ({
        key_id: k.keyId,
        acme_account_id: k.acmeAccountId,
        creator: k.creator,
        bound: k.bindTime !== undefined,
        revoked: k.revokeTime !== undefined,
      })),
    );
  });
});
