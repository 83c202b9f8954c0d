/**
 * Stop-50 outside probe DATA: README "Backups, and what a restore means" on PostgreSQL, end to
 * end with the tools it names. A live server's database is dumped with `pg_dump -Fc` while it
 * serves, restored with `pg_restore` into a new database by certmint's own (non-superuser) role,
 * and the compiled server started on the restore with a new data directory (another machine)
 * and the KEK kept apart. Then: the certificates list, the CRL and OCSP answer as before, the
 * operator's own tokens work, issuance goes on without a known serial again, and the old
 * certificates renew and revoke. A restore started without its KEK, or with another, is refused
 * at start-up in one line (exit 2), never a server that serves and fails each call.
 */
import { spawnSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  ListCertificatesRequest,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { runServerExpectingExit } from "../../ca/helpers";
import { closeClients, createIssuingProfile, generatedKeyRequest } from "../../probe49/emb/support";
import { type CertmintClients, call, expectRpcError, makeClients } from "../../support/harness";
import { opensslOk, TempDir } from "../../support/openssl";
import { unusedPort } from "../../support/ports";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import {
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { fetchCrl, ocspStatus } from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

/** Runs a PostgreSQL client program; its outcome. */
function pgTool(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The `start-up failed` line of a server's JSON log. */
function startUpFailure(stdout: string) {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === "start-up failed");
}

describe("probe50 DATA: pg_dump of a live server, pg_restore into a new database", {
  timeout: 3 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe50-dump-"));
  const tmp = new TempDir();
  const kek = randomBytes(32).toString("base64");
  const dumpFile = join(base, "certmint.dump");
  let source: TestDatabase;
  let restored: TestDatabase;
  let server: ServerProcess | undefined;
  let c: CertmintClients | undefined;
  let publication = "";
  let chainFile = "";
  let rootPem = "";
  let issuingPem = "";
  let issuingId = "";
  let adminSecret = "";
  let issuerSecret = "";
  let crlBefore = 0n;
  const before = {
    revoked: { id: "", serial: "", pem: "" },
    toRenew: { id: "", serial: "", pem: "" },
    toRevoke: { id: "", serial: "", pem: "" },
    serials: [] as string[],
  };

  const start = async (db: TestDatabase, dataDir: string) => {
    const port = await unusedPort();
    publication = `http://127.0.0.1:${port}`;
    server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_KEK: kek,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_PUBLIC_BASE_URL: publication,
      CERTMINT_OCSP_URL: `${publication}/ocsp`,
    });
    return server;
  };
  const stop = async () => {
    closeClients(c);
    c = undefined;
    const s = server;
    server = undefined;
    expect(await s?.stop()).toBe(0);
  };

  beforeAll(async () => {
    source = await createTestDatabase({ prefix: "certmint_p50dump", migrated: true });
    const first = await start(source, join(base, "data-original"));
    const boot = makeClients(first.address, first.adminToken());
    const { root, issuing } = await createIssuingProfile(boot);
    rootPem = root.certificatePem;
    issuingPem = issuing.certificatePem;
    issuingId = issuing.id;
    chainFile = tmp.file("chain.pem", `${issuingPem}\n${rootPem}`);
    // The operator's own tokens (README "First start": create your own, then revoke the bootstrap one).
    const admin = await call(
      boot.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "ops-admin", role: Role.ROLE_ADMIN },
        requestId: "p50-ops-admin",
      }),
    );
    adminSecret = admin.secret;
    closeClients(boot);
    c = makeClients(first.address, adminSecret);
    const issuer = await call(
      c.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "web-issuer", role: Role.ROLE_ISSUER, certificateProfiles: ["web"] },
        requestId: "p50-web-issuer",
      }),
    );
    issuerSecret = issuer.secret;
    const issue = async (name: string) => {
      const res = await call(
        c!.certificates,
        "issueCertificate",
        generatedKeyRequest("web", `p50-${name}`, `${name}.example.com`),
      );
      expect(res.status).toBe(ISSUED);
      const cert = res.certificate!;
      return { id: cert.certificateId, serial: cert.serialNumber, pem: cert.certificatePem };
    };
    before.revoked = await issue("revoked");
    before.toRenew = await issue("renew");
    before.toRevoke = await issue("revoke-later");
    await call(c.certificates, "revokeCertificate", {
      certificate: before.revoked.id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    // What a PKI in service holds too: a CA retired (revoked) with the certificates it issued,
    // and a key revoked for key compromise (README: its key is blocked).
    await call(
      c.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "retired",
        parentCertificateAuthority: "root",
        subject: { commonName: "Probe Retired" },
      }),
    );
    await call(
      c.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "retired-web",
          certificatePolicy: "web-tls",
          issuer: { $case: "certificateAuthority", value: "retired" },
        },
      }),
    );
    const byRetired = await call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("retired-web", "p50-retired", "retired.example.com"),
    );
    await call(c.authorities, "revokeCertificateAuthority", {
      certificateAuthority: "retired",
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    const compromised = await issue("compromised");
    await call(c.certificates, "revokeCertificate", {
      certificate: compromised.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    before.serials = [
      before.revoked,
      before.toRenew,
      before.toRevoke,
      compromised,
      { serial: byRetired.certificate!.serialNumber },
    ].map((x) => x.serial);
    crlBefore = (await fetchCrl(publication, issuingId, chainFile, tmp)).number;

    // README: "On PostgreSQL: pg_dump/pg_restore" (taken while the server serves: pg_dump reads
    // one snapshot).
    const dump = pgTool("pg_dump", ["-Fc", "-f", dumpFile, source.url]);
    expect(dump.status, dump.stderr).toBe(0);
    await stop();
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    await stop().catch(() => undefined);
    await restored?.drop();
    await source?.drop();
    tmp.remove();
    rmSync(base, { recursive: true, force: true });
  });

  it("pg_restore into a new, empty database by certmint's own role reports no error", async () => {
    restored = await createTestDatabase({ prefix: "certmint_p50rest" });
    const run = pgTool("pg_restore", [
      "--no-owner",
      "--exit-on-error",
      "-d",
      restored.url,
      dumpFile,
    ]);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
    // The restore runs as certmint's role, which is no superuser (as a managed PostgreSQL's).
    const [role] = await restored.query<{ super: boolean }>(
      "select rolsuper as super from pg_roles where rolname = current_user",
    );
    expect(role!.super).toBe(false);
  });

  it("every table of the restore holds the rows of the dump, no more and no fewer", async () => {
    const counts = async (db: TestDatabase) => {
      const tables = await db.query<{ t: string }>(
        "select tablename as t from pg_tables where schemaname = 'public' order by 1",
      );
      const out: Record<string, number> = {};
      for (const { t } of tables) {
        const [row] = await db.query<{ n: string }>(`select count(*)::text as n from "${t}"`);
        out[t] = Number(row!.n);
      }
      return out;
    };
    expect(await counts(restored)).toEqual(await counts(source));
  });

  it("without its KEK (a new machine's empty data directory) the restore is refused at start-up in one line, and nothing is made", async () => {
    const dataDir = join(base, "data-no-kek");
    const refused = await runServerExpectingExit({
      DATABASE_URL: restored.url,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK: "",
      CERTMINT_KEK_FILE: "",
      CERTMINT_LOG_FORMAT: "json",
    });
    expect(refused.served).toBe(false);
    expect(refused.code, refused.stderr).toBe(2);
    const lines = refused.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `certmint: start-up failed: cannot load the key-encryption key, and this database holds CA keys sealed with one: the KEK file ${join(dataDir, "kek.key")} does not exist`,
    );
    expect(startUpFailure(refused.stdout)).toMatchObject({ code: "KEK_UNAVAILABLE", exitCode: 2 });
    expect(refused.stdout + refused.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // No new key generated beside a database whose keys another one sealed, and no admin token.
    expect(existsSync(dataDir) ? readdirSync(dataDir).sort() : []).not.toContain("kek.key");
    expect(existsSync(join(dataDir, "admin-token"))).toBe(false);

    const wrong = await runServerExpectingExit({
      DATABASE_URL: restored.url,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
    });
    expect(wrong.served).toBe(false);
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr).toBe(
      "certmint: start-up failed: the key-encryption key does not match the one this database's CA keys were sealed with; refusing to start (nothing was changed)\n",
    );
    expect(startUpFailure(wrong.stdout)).toMatchObject({ code: "KEK_MISMATCH", exitCode: 2 });
  });

  it("with its KEK the restore serves: the same certificates, CRL and OCSP answers, and the operator's tokens", async () => {
    const dataDir = join(base, "data-restored");
    const s = await start(restored, dataDir);
    // An admin token is in force in the restored rows: no new bootstrap token is written.
    expect(existsSync(join(dataDir, "admin-token"))).toBe(false);
    c = makeClients(s.address, adminSecret);
    const listed = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 50 }),
    );
    expect(listed.certificates.map((x) => x.serialNumber).sort()).toEqual(
      [...before.serials].sort(),
    );
    const crl = await fetchCrl(publication, issuingId, chainFile, tmp);
    expect(crl.text).toContain(`Serial Number: ${before.revoked.serial.toUpperCase()}`);
    expect(crl.text).not.toContain(before.toRenew.serial.toUpperCase());
    // README: CRL numbers keep growing across a restore.
    expect(crl.number).toBeGreaterThanOrEqual(crlBefore);
    const ocspUrl = `${publication}/ocsp`;
    expect(ocspStatus(ocspUrl, issuingPem, before.revoked.pem, chainFile, tmp)).toBe("revoked");
    expect(ocspStatus(ocspUrl, issuingPem, before.toRenew.pem, chainFile, tmp)).toBe("good");

    // The issuer token restored with the rows: it issues on its profile, and nothing else.
    const issuerClients = makeClients(s.address, issuerSecret);
    try {
      const byIssuer = await call(
        issuerClients.certificates,
        "issueCertificate",
        generatedKeyRequest("web", "p50-after-restore-issuer", "issuer-after.example.com"),
      );
      expect(byIssuer.status).toBe(ISSUED);
      const denied = await expectRpcError(
        call(
          issuerClients.authorities,
          "createRootCertificateAuthority",
          CreateRootCertificateAuthorityRequest.fromPartial({
            slug: "not-allowed",
            subject: { commonName: "Not Allowed" },
          }),
        ),
      );
      expect(denied.code).toBe(7); // PERMISSION_DENIED
    } finally {
      closeClients(issuerClients);
    }
  });

  it("issues on, with serials the backup never held; renews and revokes certificates from before the backup", async () => {
    const fresh = await call(
      c!.certificates,
      "issueCertificate",
      generatedKeyRequest("web", "p50-after-restore", "after.example.com"),
    );
    expect(fresh.status).toBe(ISSUED);
    expect(before.serials).not.toContain(fresh.certificate!.serialNumber);
    const verify = (pem: string) =>
      opensslOk([
        "verify",
        "-x509_strict",
        "-CAfile",
        tmp.file("root.pem", rootPem),
        "-untrusted",
        tmp.file("issuing.pem", issuingPem),
        tmp.file("leaf.pem", pem),
      ]);
    expect(verify(fresh.certificate!.certificatePem)).toMatch(/: OK/);

    const renewal = await call(
      c!.certificates,
      "renewCertificate",
      RenewCertificateRequest.fromPartial({
        certificateId: before.toRenew.id,
        requestId: "p50-renew-after-restore",
      }),
    );
    expect(renewal.status).toBe(ISSUED);
    const renewed = renewal.certificate!;
    expect(before.serials).not.toContain(renewed.serialNumber);
    expect(verify(renewed.certificatePem)).toMatch(/: OK/);
    const oldName = new X509Certificate(before.toRenew.pem).subjectAltName;
    expect(new X509Certificate(renewed.certificatePem).subjectAltName).toBe(oldName);

    await call(c!.certificates, "revokeCertificate", {
      certificate: before.toRevoke.id,
      reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    });
    const ocspUrl = `${publication}/ocsp`;
    expect(ocspStatus(ocspUrl, issuingPem, before.toRevoke.pem, chainFile, tmp)).toBe("revoked");
    const crl = await fetchCrl(publication, issuingId, chainFile, tmp);
    expect(crl.text).toContain(`Serial Number: ${before.toRevoke.serial.toUpperCase()}`);
    expect(crl.text).toContain(`Serial Number: ${before.revoked.serial.toUpperCase()}`);
    expect(crl.number).toBeGreaterThan(crlBefore);
  });

  it("the restored database is certmint's: its sequences, triggers and functions came along", async () => {
    // The triggers README relies on (the KEK id guard, blocked keys, the CA signing guard) are there.
    const triggers = async (db: TestDatabase) =>
      (
        await db.query<{ t: string }>(
          "select tgrelid::regclass || ' ' || tgname as t from pg_trigger where not tgisinternal order by 1",
        )
      ).map((r) => r.t);
    expect(await triggers(restored)).toEqual(await triggers(source));
    const functions = async (db: TestDatabase) =>
      (
        await db.query<{ f: string }>(
          "select p.proname as f from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' order by 1",
        )
      ).map((r) => r.f);
    expect(await functions(restored)).toEqual(await functions(source));
  });
});
