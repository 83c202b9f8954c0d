/**
 * A CA revoked (or disabled) while something it signs is being stored (found by the third
 * outside probe of 2026-12-05, Migration20261205300000CaSigningGuard):
 * - a certificate or child CA whose insert comes after the revocation took its signing lock waits
 *   for it, then is refused (CA_REVOKED, CA_NOT_ACTIVE), nothing stored: before, a child CA
 *   signed by a revoked parent was stored ACTIVE and issued;
 * - the revocation waits for an insert that holds the lock (it is committed first, and the
 *   revocation's recursive update then disables what it made);
 * - revoking a revoked CA disables a CA below it left enabled;
 * - a revoked CA whose certificate is valid cannot be deleted: it is on its parent's CRL.
 * Each step waits for a state (a lock waited on in pg_locks, a call's answer), never a duration.
 */
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessToken,
  ClientCertificateIdentityType,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";
import { createIntermediate, createRoot, DISABLED, openssl, TempDir } from "./helpers";

const FAILED_PRECONDITION = 9;
const LOCK_CLASS = 1128354631;

describe("signing by a CA that is being revoked", () => {
  let h: TestCertmint;
  let other: Client;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    other = new Client({ connectionString: h.db.url });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await h?.stop();
    tmp.remove();
  });

  const policySlugOf = async (profile: string) =>
    (
      await h.db.query<{ slug: string }>(
        "select p.slug from certificate_policy p join certificate_profile f on f.policy_id = p.id where f.slug = $1",
        [profile],
      )
    )[0]!.slug;

  /** Advisory locks of the signing class that some session waits for. */
  const waitingOnSigningLock = async () =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_locks where locktype = 'advisory' and classid = $1 and not granted`,
          [LOCK_CLASS],
        )
      )[0]!.n,
    );

  /**
   * As RevokeCertificateAuthority does, on another connection: the CA's signing lock taken
   * exclusively, the CA revoked; committed when `commit` is called.
   */
  async function revokingInAnotherSession(caId: string) {
    await other.query("begin");
    await other.query("select pg_advisory_xact_lock($1, hashtext($2::text))", [LOCK_CLASS, caId]);
    await other.query(
      `update certificate_authority set status = 'DISABLED', revoked_at = now(), revocation_reason = 'KEY_COMPROMISE' where id = $1`,
      [caId],
    );
    return () => other.query("commit");
  }

  it("a child CA stored after its parent's revocation took the lock is refused", async () => {
    await createRoot(h, "g1-root", { maxPathLength: 2 });
    const parent = await createIntermediate(h, "g1-parent", "g1-root", { maxPathLength: 1 });
    const commit = await revokingInAnotherSession(parent.id);
    // The parent reads ACTIVE for this call (the revocation has not committed): it signs, and
    // its insert waits for the revocation's lock.
    const creating = expectRpcError(createIntermediate(h, "g1-child", "g1-parent"));
    await waitFor(
      "the child's insert to wait for the parent's signing lock",
      async () => (await waitingOnSigningLock()) > 0,
    );
    await commit();
    const err = await creating;
    expect(err.code).toBe(FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_NOT_ACTIVE");
    expect(
      await h.db.query("select id from certificate_authority where slug = 'g1-child'"),
    ).toEqual([]);
  });

  it("a certificate stored after its CA's revocation took the lock is refused and recorded", async () => {
    await createRoot(h, "g2-root", { maxPathLength: 2 });
    const ca = await createIntermediate(h, "g2-issuing", "g2-root");
    await createProfileRows(h, { slug: "g2-web", caId: ca.id });
    const commit = await revokingInAnotherSession(ca.id);
    const issuing = expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        attrRequest("g2-web", { cn: "late.example.com", dns: ["late.example.com"] }),
      ),
    );
    await waitFor(
      "the certificate's insert to wait for its CA's signing lock",
      async () => (await waitingOnSigningLock()) > 0,
    );
    await commit();
    const err = await issuing;
    expect(err.code).toBe(FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_REVOKED");
    expect(await h.db.query("select id from certificate where ca_id = $1", [ca.id])).toEqual([]);
    const [request] = await h.db.query<{ status: string }>(
      "select status from certificate_request where profile_id = (select id from certificate_profile where slug = 'g2-web')",
    );
    expect(request!.status).toBe("FAILED");
  });

  it("the revocation waits for an insert that holds the lock, then disables what it made", async () => {
    await createRoot(h, "g3-root", { maxPathLength: 2 });
    const parent = await createIntermediate(h, "g3-parent", "g3-root", { maxPathLength: 1 });
    // An insert in flight: the lock held shared, as certmint_ca_signs holds it until commit.
    await other.query("begin");
    await other.query("select certmint_ca_signs($1)", [parent.id]);
    const revoking = call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: parent.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    await waitFor(
      "the revocation to wait for the signing lock",
      async () => (await waitingOnSigningLock()) > 0,
    );
    // Meanwhile the in-flight insert stores its child CA (as a row, for brevity).
    await other
      .query(
        `insert into certificate_authority
           select (jsonb_populate_record(null::certificate_authority, to_jsonb(a) || jsonb_build_object(
             'id', gen_random_uuid(), 'slug', 'g3-child', 'parent_id', a.id, 'status', 'ACTIVE',
             'serial_number', md5(random()::text), 'revoked_at', null, 'revocation_reason', null))).*
             from certificate_authority a where a.id = $1`,
        [parent.id],
      )
      .catch(async (err) => {
        await other.query("rollback");
        throw err;
      });
    await other.query("commit");
    const revoked = await revoking;
    expect(revoked.certificateAuthority!.status).toBe(DISABLED);
    const [child] = await h.db.query<{ status: string }>(
      "select status from certificate_authority where slug = 'g3-child'",
    );
    expect(child!.status).toBe("DISABLED");
  });

  it("revoking a revoked CA disables a CA below it left enabled", async () => {
    await createRoot(h, "g4-root", { maxPathLength: 2 });
    const parent = await createIntermediate(h, "g4-parent", "g4-root", { maxPathLength: 1 });
    const child = await createIntermediate(h, "g4-child", "g4-parent");
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: parent.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    // As the race left it before the signing locks (2026-12-05): the child enabled again.
    await h.db.query("update certificate_authority set status = 'ACTIVE' where id = $1", [
      child.id,
    ]);
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: parent.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const [row] = await h.db.query<{ status: string }>(
      "select status from certificate_authority where id = $1",
      [child.id],
    );
    expect(row!.status).toBe("DISABLED");
  });

  it("no profile or client certificate binding is pointed at a revoked CA, or one below it", async () => {
    await createRoot(h, "g6-root", { maxPathLength: 2 });
    const parent = await createIntermediate(h, "g6-parent", "g6-root", { maxPathLength: 1 });
    const child = await createIntermediate(h, "g6-child", "g6-parent");
    await createProfileRows(h, { slug: "g6-kept", caId: parent.id });
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: parent.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    for (const ca of [parent, child]) {
      const profile = await expectRpcError(
        call(
          h.profiles,
          "createCertificateProfile",
          CreateCertificateProfileRequest.fromPartial({
            certificateProfile: {
              slug: `g6-on-${ca.slug}`,
              certificatePolicy: await policySlugOf("g6-kept"),
              issuer: { $case: "certificateAuthority", value: ca.slug },
            },
          }),
        ),
      );
      expect({ code: profile.code, reason: profile.reason }).toEqual({
        code: FAILED_PRECONDITION,
        reason: "CA_REVOKED",
      });
      const token = await expectRpcError(
        call(h.accessTokens, "createAccessToken", {
          accessToken: AccessToken.fromPartial({
            slug: `g6-bound-${ca.slug}`,
            role: Role.ROLE_AUDITOR,
            clientCertificateBinding: {
              identityType: ClientCertificateIdentityType.CLIENT_CERTIFICATE_IDENTITY_TYPE_URI_SAN,
              value: "spiffe://prod.example/ns/a",
              certificateAuthority: ca.slug,
            },
          }),
        }),
      );
      expect({ code: token.code, reason: token.reason }).toEqual({
        code: FAILED_PRECONDITION,
        reason: "CA_REVOKED",
      });
    }
    // A profile left on the revoked CA can still be changed (and moved off it).
    const kept = await call(h.profiles, "getCertificateProfile", { certificateProfile: "g6-kept" });
    await call(
      h.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { ...kept.certificateProfile!, description: "left behind" },
        updateMask: ["description"],
      }),
    );
  });

  it("a revoked CA whose certificate is valid is not deleted: it stays on its parent's CRL", async () => {
    const root = await createRoot(h, "g5-root", { maxPathLength: 2 });
    const ca = await createIntermediate(h, "g5-issuing", "g5-root");
    const revoked = await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: ca.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const err = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: ca.id,
        etag: revoked.certificateAuthority!.etag,
      }),
    );
    expect(err.code).toBe(FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_REVOKED_LISTED");
    expect(
      await h.db.query("select id from certificate_authority where id = $1", [ca.id]),
    ).toHaveLength(1);
    // Its parent's CRL still lists it, and openssl refuses it with that CRL.
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: root.id,
      encoding: 0,
      knownCrlNumber: "",
    });
    const verified = openssl([
      "verify",
      "-crl_check",
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-CRLfile",
      tmp.file("root.crl", crl.crlPem),
      tmp.file("ca.pem", ca.certificatePem),
    ]);
    expect(verified.stdout + verified.stderr).toMatch(/certificate revoked/);
  });

  // RFC 5280 3.3: an entry stays until it "appears on one regularly scheduled CRL issued beyond
  // the revoked certificate's validity period"; a leaf's stays one CRL validity period (a day by
  // default) past its notAfter. Until stop 53 of 2026-12-07 a revoked CA could be deleted the
  // moment it expired, and its entry left the parent's next CRL at once.
  it("a revoked CA that has just expired is not deleted either: its entry stays one CRL period", async () => {
    const root = await createRoot(h, "g7-root", { maxPathLength: 2 });
    const ca = await createIntermediate(h, "g7-issuing", "g7-root");
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: ca.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const serialOnCrl = async () => {
      const crl = await call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: root.id,
        encoding: 0,
        knownCrlNumber: "",
      });
      const text = openssl(["crl", "-noout", "-text", "-in", tmp.file("g7.crl", crl.crlPem)]);
      const serial = ca.serialNumber.replace(/:/g, "").toUpperCase();
      return text.stdout.replace(/\s/g, "").toUpperCase().includes(`SERIALNUMBER:${serial}`);
    };
    const etag = async () =>
      (await call(h.authorities, "getCertificateAuthority", { certificateAuthority: ca.id }))
        .certificateAuthority!.etag;
    // Expired a minute ago (its row's notAfter; the CRL reads it from there).
    await h.db.query(
      "update certificate_authority set not_after = now() - interval '1 minute' where id = $1",
      [ca.id],
    );
    const err = await expectRpcError(
      call(h.authorities, "deleteCertificateAuthority", {
        certificateAuthority: ca.id,
        etag: await etag(),
      }),
    );
    expect({ code: err.code, reason: err.reason }).toEqual({
      code: FAILED_PRECONDITION,
      reason: "CA_REVOKED_LISTED",
    });
    expect(err.message).toMatch(/can be deleted after \d{4}-/);
    expect(
      await h.db.query("select id from certificate_authority where id = $1", [ca.id]),
    ).toHaveLength(1);
    expect(await serialOnCrl()).toBe(true);
    // Past one CRL validity period (a day here) after its end a CRL signed now leaves it out,
    // and it can go.
    await h.db.query(
      "update certificate_authority set not_after = now() - interval '1 day 1 minute' where id = $1",
      [ca.id],
    );
    await call(h.authorities, "deleteCertificateAuthority", {
      certificateAuthority: ca.id,
      etag: await etag(),
    });
    expect(
      await h.db.query("select id from certificate_authority where id = $1", [ca.id]),
    ).toHaveLength(0);
  });
});
