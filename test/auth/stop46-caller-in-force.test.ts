/**
 * A revoked admin token changes nothing once RevokeAccessToken answered OK, whatever it asks
 * (src/issuance/access-tokens/caller.ts holdCallerInForce). Until stop 46 of 2026-12-06 only
 * CreateAccessToken and RevokeAccessToken (and an admin's issuance) re-read the caller's token
 * where they wrote; every other administrative change trusted the check made when the call
 * arrived, so a call in flight (slowed by a lock wait) or queued for its turn on a busy server
 * (src/api/fair-admission.ts) when its token was revoked still committed its change afterwards:
 * a certificate or a CA revoked, a CA deleted, a policy or a profile changed by a token its
 * operator had already cut off.
 *
 * Now each change's transaction first reads its caller's token row FOR SHARE (the store's
 * transaction helper, given the call): a revocation committed before is seen (UNAUTHENTICATED
 * TOKEN_REVOKED, nothing written), one that comes after waits for the change to commit.
 *
 * Deterministic: the test holds the token's row FOR UPDATE from its own PostgreSQL session (as
 * a revocation's transaction holds it), starts the call, waits until the server's statement
 * waits for that row (pg_stat_activity), revokes the token in the holding session and commits.
 * Without the re-check the call never waits for the row: it answers OK before the revocation,
 * and the test fails on its outcome.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
  UpdateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  issue,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { webPolicy } from "../policies/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";

/** A leaked admin token, authenticated once (this process holds it as valid). */
async function leakedAdmin(h: TestCertmint, slug: string) {
  const leaked = await createToken(h, slug, Role.ROLE_ADMIN);
  await call(leaked.clients.accessTokens, "getAccessToken", { accessToken: leaked.id });
  return leaked;
}

/** The rows a call must leave as they are: each query's rows, whole. */
async function snapshot(h: TestCertmint, queries: Array<[string, unknown[]]>) {
  const out: unknown[] = [];
  for (const [sql, params] of queries) out.push(await h.db.query(sql, params));
  return out;
}

/** Successful audit records of `actorId`: a refused change records none. */
const successesOf = async (h: TestCertmint, actorId: string) =>
  (
    await h.db.query<{ method: string }>(
      "select method from audit_record where actor_id = $1 and status_code = 0",
      [actorId],
    )
  ).map((r) => r.method);

function expectTokenRevoked(outcome: { res?: unknown; err?: unknown }, what: string) {
  expect("err" in outcome, `${what} by the revoked token must be refused`).toBe(true);
  const err = decodeFull(outcome.err);
  expect(err).toMatchObject({ code: status.UNAUTHENTICATED, reason: "TOKEN_REVOKED" });
  expect(err.message).toContain("nothing was changed");
}

describe("an admin change racing the revocation of its token", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  /** A statement of the server waits for the token's row (lockCaller: FOR SHARE). */
  const waitsOnTokenRow = async () => {
    const [w] = await h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'
          and query ilike '%from "access_token"%for share%'`,
    );
    return Number(w!.n) > 0;
  };

  /**
   * Runs `change` with a leaked admin token whose row another session holds; once the change
   * waits for that row (or answered), the holding session revokes the token and commits. The
   * change's outcome, and the rows `rows` names before and after.
   */
  async function raceRevocation(
    slug: string,
    change: (clients: CertmintClients) => Promise<unknown>,
    rows: Array<[string, unknown[]]>,
  ) {
    const leaked = await leakedAdmin(h, slug);
    const before = await snapshot(h, rows);
    const holder = new Client({ connectionString: h.db.url });
    await holder.connect();
    let outcome: { res?: unknown; err?: unknown };
    try {
      await holder.query("begin");
      await holder.query("select id from access_token where id = $1 for update", [leaked.id]);
      let done = false;
      const answer = change(leaked.clients)
        .then(
          (res) => ({ res }),
          (err: unknown) => ({ err }),
        )
        .finally(() => {
          done = true;
        });
      await waitFor(
        "the change to read its caller's token, or to answer",
        async () => done || (await waitsOnTokenRow()),
      );
      await holder.query("update access_token set revoked_at = now() where id = $1", [leaked.id]);
      await holder.query("commit");
      outcome = await answer;
    } finally {
      await holder.end();
    }
    return { outcome, before, after: await snapshot(h, rows), leaked };
  }

  it("RevokeCertificate: refused TOKEN_REVOKED, the certificate stays valid", async () => {
    const cert = (await issue(h, attrRequest("web", { cn: "kept.example.com" }))).certificate!;
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-revoke-cert",
      (c) =>
        call(c.certificates, "revokeCertificate", {
          certificate: cert.certificateId,
          reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
        }),
      [
        ["select * from certificate where id = $1", [cert.certificateId]],
        ["select revocation_count from certificate_authority where slug = 'root'", []],
        ["select * from blocked_key", []],
      ],
    );
    expectTokenRevoked(outcome, "RevokeCertificate");
    expect(after).toEqual(before);
    expect((after[0] as Array<{ revoked_at: Date | null }>)[0]!.revoked_at).toBeNull();
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("RevokeCertificateAuthority: refused TOKEN_REVOKED, the CA stays active", async () => {
    const ca = (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "kept-intermediate",
          parentCertificateAuthority: "root",
          subject: { commonName: "Kept Intermediate CA" },
        }),
      )
    ).certificateAuthority!;
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-revoke-ca",
      (c) =>
        call(c.authorities, "revokeCertificateAuthority", {
          certificateAuthority: ca.id,
          reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
        }),
      [["select * from certificate_authority order by id", []]],
    );
    expectTokenRevoked(outcome, "RevokeCertificateAuthority");
    expect(after).toEqual(before);
    const [row] = await h.db.query<{ status: string; revoked_at: Date | null }>(
      "select status, revoked_at from certificate_authority where id = $1",
      [ca.id],
    );
    expect(row).toEqual({ status: "ACTIVE", revoked_at: null });
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("DeleteCertificateAuthority: refused TOKEN_REVOKED, the CA is still there", async () => {
    const ca = (
      await call(
        h.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug: "kept-root",
          subject: { commonName: "Kept Root CA" },
        }),
      )
    ).certificateAuthority!;
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-delete-ca",
      (c) =>
        call(c.authorities, "deleteCertificateAuthority", {
          certificateAuthority: ca.id,
          etag: "",
        }),
      [["select * from certificate_authority where id = $1", [ca.id]]],
    );
    expectTokenRevoked(outcome, "DeleteCertificateAuthority");
    expect(after).toEqual(before);
    expect(after[0]).toHaveLength(1);
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("UpdateCertificatePolicy: refused TOKEN_REVOKED, the policy unchanged", async () => {
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-update-policy",
      (c) =>
        call(
          c.policies,
          "updateCertificatePolicy",
          UpdateCertificatePolicyRequest.fromPartial({
            certificatePolicy: { slug: "web-policy", description: "changed by a revoked token" },
            updateMask: ["description"],
          }),
        ),
      [["select * from certificate_policy where slug = 'web-policy'", []]],
    );
    expectTokenRevoked(outcome, "UpdateCertificatePolicy");
    expect(after).toEqual(before);
    expect((after[0] as Array<{ description: string }>)[0]!.description).toBe("");
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("CreateCertificateProfile: refused TOKEN_REVOKED, no profile", async () => {
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-create-profile",
      (c) =>
        call(
          c.profiles,
          "createCertificateProfile",
          CreateCertificateProfileRequest.fromPartial({
            certificateProfile: {
              slug: "minted-profile",
              certificatePolicy: "web-policy",
              issuer: { $case: "certificateAuthority", value: "root" },
            },
          }),
        ),
      [["select * from certificate_profile order by id", []]],
    );
    expectTokenRevoked(outcome, "CreateCertificateProfile");
    expect(after).toEqual(before);
    expect(
      await h.db.query("select id from certificate_profile where slug = 'minted-profile'"),
    ).toEqual([]);
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("ReleaseCertificateHold: refused TOKEN_REVOKED, the certificate stays on hold", async () => {
    const cert = (await issue(h, attrRequest("web", { cn: "held.example.com" }))).certificate!;
    await call(h.certificates, "revokeCertificate", {
      certificate: cert.certificateId,
      reason: RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-release-hold",
      (c) => call(c.certificates, "releaseCertificateHold", { certificate: cert.certificateId }),
      [
        ["select * from certificate where id = $1", [cert.certificateId]],
        ["select revocation_count from certificate_authority where slug = 'root'", []],
      ],
    );
    expectTokenRevoked(outcome, "ReleaseCertificateHold");
    expect(after).toEqual(before);
    expect((after[0] as Array<{ revocation_reason: string | null }>)[0]!.revocation_reason).toBe(
      "CERTIFICATE_HOLD",
    );
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("CreateAcmeExternalAccountKey: refused TOKEN_REVOKED, no key", async () => {
    const { profileId, slug } = await createProfileRows(h, { slug: "acme-eab" });
    await h.db.query("update certificate_profile set enrollment_method = 'ACME' where id = $1", [
      profileId,
    ]);
    const { outcome, before, after, leaked } = await raceRevocation(
      "leaked-eab",
      (c) => call(c.profiles, "createAcmeExternalAccountKey", { certificateProfile: slug }),
      [["select * from acme_eab_key", []]],
    );
    expectTokenRevoked(outcome, "CreateAcmeExternalAccountKey");
    expect(after).toEqual(before);
    expect(await successesOf(h, leaked.id)).toEqual([]);
  });

  it("a revocation judged by the last-admin guard takes the admin set's lock before its caller's row, as RevokeAccessToken does", async () => {
    // RevokeAccessToken takes the admin set's lock, then locks the revoked token's row (FOR NO
    // KEY UPDATE). A RevokeCertificate judged by the last-admin guard (a key compromise, or a
    // certificate a TLS client could present) that held its caller's row FOR SHARE before
    // waiting for that lock would deadlock with the revocation of its caller (PostgreSQL
    // aborts one of them: 40P01).
    const cert = (await issue(h, attrRequest("web", { cn: "order.example.com" }))).certificate!;
    const leaked = await leakedAdmin(h, "leaked-lock-order");
    const revocation = new Client({ connectionString: h.db.url });
    await revocation.connect();
    let outcome: { res?: unknown; err?: unknown };
    try {
      // RevokeAccessToken's first statement (access-tokens/revoke.ts, lockAdminCredentials).
      await revocation.query("begin");
      await revocation.query("select pg_advisory_xact_lock($1, 0)", [0x61646d6e]);
      let done = false;
      const answer = call(leaked.clients.certificates, "revokeCertificate", {
        certificate: cert.certificateId,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      })
        .then(
          (res) => ({ res }),
          (err: unknown) => ({ err }),
        )
        .finally(() => {
          done = true;
        });
      await waitFor(
        "the revocation of the certificate to wait for the admin set's lock",
        async () => {
          if (done) return true;
          const [w] = await h.db.query<{ n: string }>(
            `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and query ilike '%pg_advisory_xact_lock%'`,
          );
          return Number(w!.n) > 0;
        },
      );
      // Its next statement: the token's row, free (NOWAIT fails if the change holds it).
      await revocation.query("select id from access_token where id = $1 for no key update nowait", [
        leaked.id,
      ]);
      await revocation.query("update access_token set revoked_at = now() where id = $1", [
        leaked.id,
      ]);
      await revocation.query("commit");
      outcome = await answer;
    } finally {
      await revocation.end();
    }
    expectTokenRevoked(outcome, "RevokeCertificate");
    const [row] = await h.db.query<{ revoked_at: Date | null }>(
      "select revoked_at from certificate where id = $1",
      [cert.certificateId],
    );
    expect(row!.revoked_at).toBeNull();
  });

  it("a token in force, the bootstrap admin's, still changes what it asks", async () => {
    await call(
      h.policies,
      "updateCertificatePolicy",
      UpdateCertificatePolicyRequest.fromPartial({
        certificatePolicy: { slug: "web-policy", description: "changed by the admin" },
        updateMask: ["description"],
      }),
    );
    const [row] = await h.db.query<{ description: string }>(
      "select description from certificate_policy where slug = 'web-policy'",
    );
    expect(row!.description).toBe("changed by the admin");
  });
});

describe("an admin change queued for its turn when its token is revoked", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_CALLS_IN_PROGRESS: "1" });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const createPolicy = (c: CertmintClients, slug: string) =>
    call(
      c.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        certificatePolicy: webPolicy(slug),
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      }),
    );

  it("writes nothing once its turn comes: refused TOKEN_REVOKED", async () => {
    const leaked = await leakedAdmin(h, "leaked-queued");
    const counts = () => h.running.admission();
    // The one place at work taken by another admin's create, held on the policy table's lock.
    const blocker = new Client({ connectionString: h.db.url });
    await blocker.connect();
    let queued: { res?: unknown; err?: unknown };
    try {
      await blocker.query("begin");
      await blocker.query("lock table certificate_policy in share mode");
      const working = createPolicy(h, "admin-policy");
      working.catch(() => {});
      await waitFor("the admin's create at work", async () => {
        const [w] = await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and query ilike 'insert into "certificate_policy"%'`,
        );
        return counts().inProgress === 1 && Number(w!.n) > 0;
      });
      const answer = createPolicy(leaked.clients, "queued-policy").then(
        (res) => ({ res }),
        (err: unknown) => ({ err }),
      );
      await waitFor("the leaked token's create waiting for its turn", () => counts().queued === 1);
      // The operator revokes the token meanwhile (committed, as on another replica: this
      // process's own RevokeAccessToken would wait for a turn too).
      await h.db.query("update access_token set revoked_at = now() where id = $1", [leaked.id]);
      await blocker.query("commit");
      await working;
      queued = await answer;
    } finally {
      await blocker.end();
    }
    expectTokenRevoked(queued, "CreateCertificatePolicy queued");
    expect(
      await h.db.query("select id from certificate_policy where slug = 'queued-policy'"),
    ).toEqual([]);
    expect(
      await h.db.query("select id from certificate_policy where slug = 'admin-policy'"),
    ).toHaveLength(1);
    expect(await successesOf(h, leaked.id)).toEqual([]);
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });
  });
});
