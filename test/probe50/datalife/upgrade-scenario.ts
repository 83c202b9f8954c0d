/**
 * The scenario of the stop-50 upgrade probes (upgrade-from-old-build*.test.ts). README "Upgrading" with real data an earlier build wrote. The
 * earlier build (an older commit of this repository, compiled as it shipped) runs on an empty
 * PostgreSQL database (or data directory), migrates it to what it knew and fills it over gRPC: a root and an
 * intermediate, a policy and profiles, certificates (one revoked, one renewed, one whose key
 * certmint keeps sealed), an issuer token. It stops; the current compiled server starts on the
 * same database, data directory and KEK: it applies the newer migrations (its `database ready`
 * line lists them), and serves what the earlier build wrote: the certificates list, the CRL and
 * OCSP name the revocation, the token works, the kept key comes back, issuance, renewal and
 * revocation of the old certificates go on. Then the KEK is rotated on the upgraded database
 * (keys the earlier build sealed in its format) and the server starts with the new one.
 *
 * Two earlier builds: 7aa29ba (2026-12-02, 11 migrations, before the CRL entries, lineage,
 * blocked-key and KEK-id migrations rewrote rows) and the one before 16da0a8 (2026-12-06,
 * sealed keys of format version 1, before the KEK id guard); the first on the embedded
 * database too (its data directory as that build left it).
 */
import { createHmac, createPrivateKey, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import { CreateIntermediateCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateProfile,
  PrivateKeyRetention,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  ListCertificatesRequest,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { startEmbeddedPostgres } from "../../../src/store/embedded-postgres";
import { attrRequest } from "../../certificates/helpers";
import { closeClients, createIssuingProfile } from "../../probe49/emb/support";
import { createTlsServerPolicy } from "../../support/fixtures";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { opensslOk, TempDir } from "../../support/openssl";
import { unusedPort } from "../../support/ports";
import { createTestDatabase, type TestDatabase } from "../../support/postgres";
import {
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { buildOldCommit, type OldBuild, startOldServer } from "./old-build";
import { fetchCrl, holdsPlainKey, ocspStatus, type Query, rotate, sealedKeys } from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

/** The KEK id README describes: the first 8 octets of an HMAC under the key (src/signer/key-wrap.ts). */
const kekIdOf = (kek: Buffer) =>
  createHmac("sha256", kek).update("certmint kek id").digest().subarray(0, 8);

const readKek = (file: string) => Buffer.from(readFileSync(file, "utf8").trim(), "base64");

/** Runs `fn` on the embedded database of `dataDir` while no server runs (opened here). */
async function withEmbedded<T>(dataDir: string, fn: (q: Query) => Promise<T>): Promise<T> {
  const embedded = await startEmbeddedPostgres(dataDir);
  const client = new Client({
    connectionString: "postgresql://postgres@embedded/postgres",
    stream: embedded.stream,
  } as ConstructorParameters<typeof Client>[0]);
  try {
    await client.connect();
    return await fn(
      (async (sql: string, params?: unknown[]) => (await client.query(sql, params)).rows) as Query,
    );
  } finally {
    await client.end().catch(() => undefined);
    await embedded.stop();
  }
}

/**
 * The upgrade story from the build of `commit` (described by `label`), on PostgreSQL or on the
 * embedded database (`where`).
 */
export function describeUpgrade(
  commit: string,
  label: string,
  where: "PostgreSQL" | "embedded",
): void {
  describe(`probe50 DATA: upgrade from build ${commit} (${label}) on ${where}`, {
    timeout: 3 * START_LIMIT_MS,
  }, () => {
    const embedded = where !== "PostgreSQL";
    const base = mkdtempSync(join(tmpdir(), "certmint-probe50-upgrade-"));
    const dataDir = join(base, "data");
    const kekFile = join(base, "kek.key");
    const newKekFile = join(base, "kek-new.key");
    const tmp = new TempDir();
    let build: OldBuild | undefined;
    let db: TestDatabase;
    let server: ServerProcess | undefined;
    let c: CertmintClients | undefined;
    let publication = "";
    let chainFile = "";
    const old = {
      rootPem: "",
      issuingPem: "",
      issuingId: "",
      issuerSecret: "",
      revoked: { id: "", serial: "", pem: "" },
      renewedFrom: { id: "", serial: "", pem: "" },
      renewal: { id: "", serial: "", pem: "" },
      plain: { id: "", serial: "", pem: "" },
      kept: { pem: "", key: "" },
    };
    const serverEnv = async (kek: string) => {
      const port = await unusedPort();
      publication = `http://127.0.0.1:${port}`;
      return {
        DATABASE_URL: embedded ? "" : db.url,
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_KEK_FILE: kek,
        CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
        CERTMINT_PUBLIC_BASE_URL: publication,
        CERTMINT_OCSP_URL: `${publication}/ocsp`,
      };
    };
    const startCurrent = async (kek: string) => {
      server = await startServerProcess({ ...(await serverEnv(kek)), CERTMINT_LOG_FORMAT: "json" });
      c = makeClients(server.address, server.adminToken());
      return server;
    };
    const stopCurrent = async () => {
      closeClients(c);
      c = undefined;
      const s = server;
      server = undefined;
      expect(await s?.stop()).toBe(0);
    };
    const keptRequest = () =>
      attrRequest("keep", {
        cn: "kept.example.com",
        dns: ["kept.example.com"],
        requestId: "kept-1",
      });

    beforeAll(async () => {
      build = buildOldCommit(commit);
      if (!build) return;
      writeFileSync(kekFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
      if (!embedded) db = await createTestDatabase({ prefix: "certmint_p50upg" });
      const oldServer = await startOldServer(build, await serverEnv(kekFile));
      const oc = makeClients(
        oldServer.address,
        readFileSync(join(dataDir, "admin-token"), "utf8").trim(),
      );
      try {
        const { root, issuing } = await createIssuingProfile(oc);
        old.rootPem = root.certificatePem;
        old.issuingPem = issuing.certificatePem;
        old.issuingId = issuing.id;
        await createTlsServerPolicy(oc, "keep-policy", 30 * 86_400);
        await call(oc.profiles, "createCertificateProfile", {
          certificateProfile: CertificateProfile.fromPartial({
            slug: "keep",
            certificatePolicy: "keep-policy",
            issuer: { $case: "certificateAuthority", value: "issuing" },
            privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
          }),
        });
        const issue = async (name: string) => {
          const res = await call(
            oc.certificates,
            "issueCertificate",
            attrRequest("web", {
              cn: `${name}.example.com`,
              dns: [`${name}.example.com`],
              requestId: `old-${name}`,
            }),
          );
          expect(res.status).toBe(ISSUED);
          const x = res.certificate!;
          return { id: x.certificateId, serial: x.serialNumber, pem: x.certificatePem };
        };
        old.revoked = await issue("revoked");
        old.renewedFrom = await issue("renewed");
        old.plain = await issue("plain");
        await call(oc.certificates, "revokeCertificate", {
          certificate: old.revoked.id,
          reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
        });
        const renewal = await call(
          oc.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({
            certificateId: old.renewedFrom.id,
            requestId: "old-renewal",
          }),
        );
        const r = renewal.certificate!;
        old.renewal = { id: r.certificateId, serial: r.serialNumber, pem: r.certificatePem };
        const kept = await call(oc.certificates, "issueCertificate", keptRequest());
        old.kept = { pem: kept.certificate!.certificatePem, key: kept.privateKeyPem };
        const token = await call(
          oc.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: {
              slug: "old-issuer",
              role: Role.ROLE_ISSUER,
              certificateProfiles: ["web"],
            },
            requestId: "old-token",
          }),
        );
        old.issuerSecret = token.secret;
      } finally {
        closeClients(oc);
        expect(await oldServer.stop()).toBe(0);
      }
      chainFile = tmp.file("chain.pem", `${old.issuingPem}\n${old.rootPem}`);
    }, 2 * START_LIMIT_MS);

    afterAll(async () => {
      await stopCurrent().catch(() => undefined);
      await db?.drop();
      tmp.remove();
      rmSync(base, { recursive: true, force: true });
      if (build) rmSync(build.dir, { recursive: true, force: true });
    });

    it("the current server migrates the rest, lists what it applied, and serves the old rows", async (ctx) => {
      // A clone without this repository's history cannot build the earlier server.
      if (!build) ctx.skip(`the repository's history does not hold ${commit} (a shallow clone)`);
      const s = await startCurrent(kekFile);
      const ready = logLines(s).find((l) => l.msg === "database ready");
      expect((ready?.applied as string[] | undefined)?.length ?? 0).toBeGreaterThan(0);
      const listed = await call(
        c!.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({ pageSize: 50 }),
      );
      expect(listed.certificates.map((x) => x.serialNumber).sort()).toEqual(
        [old.revoked, old.renewedFrom, old.renewal, old.plain]
          .map((x) => x.serial)
          .concat(new X509Certificate(old.kept.pem).serialNumber.toLowerCase())
          .sort(),
      );
      const crl = await fetchCrl(publication, old.issuingId, chainFile, tmp);
      expect(crl.text).toContain(`Serial Number: ${old.revoked.serial.toUpperCase()}`);
      expect(crl.text).not.toContain(old.plain.serial.toUpperCase());
      const ocsp = `${publication}/ocsp`;
      expect(ocspStatus(ocsp, old.issuingPem, old.revoked.pem, chainFile, tmp)).toBe("revoked");
      expect(ocspStatus(ocsp, old.issuingPem, old.plain.pem, chainFile, tmp)).toBe("good");
      // The key certmint kept for the old certificate comes back on the request's replay.
      const kept = await call(c!.certificates, "issueCertificate", keptRequest());
      expect(kept.certificate!.certificatePem).toBe(old.kept.pem);
      expect(
        new X509Certificate(old.kept.pem).checkPrivateKey(createPrivateKey(kept.privateKeyPem)),
      ).toBe(true);
    });

    it("the old issuer token issues; old certificates renew and revoke; the renewal's lineage holds", async (ctx) => {
      if (!build) ctx.skip(`the repository's history does not hold ${commit} (a shallow clone)`);
      const issuer = makeClients(server!.address, old.issuerSecret);
      try {
        const res = await call(
          issuer.certificates,
          "issueCertificate",
          attrRequest("web", {
            cn: "new.example.com",
            dns: ["new.example.com"],
            requestId: "new-1",
          }),
        );
        expect(res.status).toBe(ISSUED);
        expect(
          opensslOk([
            "verify",
            "-CAfile",
            tmp.file("root.pem", old.rootPem),
            "-untrusted",
            tmp.file("issuing.pem", old.issuingPem),
            tmp.file("new.pem", res.certificate!.certificatePem),
          ]),
        ).toMatch(/: OK/);
      } finally {
        closeClients(issuer);
      }
      const renewal = await call(
        c!.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({
          certificateId: old.plain.id,
          requestId: "new-renewal",
        }),
      );
      expect(renewal.status).toBe(ISSUED);
      // The renewal the old build made: renewing its successor works, the superseded one says so.
      const again = await call(
        c!.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({
          certificateId: old.renewal.id,
          requestId: "renew-renewal",
        }),
      );
      expect(again.status).toBe(ISSUED);
      await call(c!.certificates, "revokeCertificate", {
        certificate: old.plain.id,
        reason: RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
      });
      const crl = await fetchCrl(publication, old.issuingId, chainFile, tmp);
      expect(crl.text).toContain(`Serial Number: ${old.plain.serial.toUpperCase()}`);
      expect(crl.text).toContain(`Serial Number: ${old.revoked.serial.toUpperCase()}`);
    });

    it("rotate-kek re-seals the keys the old build sealed; the server starts with the new key only and signs with both CAs", async (ctx) => {
      if (!build) ctx.skip(`the repository's history does not hold ${commit} (a shallow clone)`);
      await stopCurrent();
      const readSealed = () =>
        embedded
          ? withEmbedded(dataDir, sealedKeys)
          : sealedKeys(((sql: string, params?: unknown[]) => db.query(sql, params)) as Query);
      const before = await readSealed();
      const run = await rotate(
        {
          DATABASE_URL: embedded ? "" : db.url,
          CERTMINT_DATA_DIR: dataDir,
          CERTMINT_KEK_FILE: kekFile,
        },
        ["--generate-new-kek-file", newKekFile],
      );
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const after = await readSealed();
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      const newId = kekIdOf(readKek(newKekFile));
      for (const [row, blob] of after) {
        expect(holdsPlainKey(blob), row).toBe(false);
        expect(blob.equals(before.get(row)!), row).toBe(false);
        // Format 2, naming the new KEK (README "CA keys at rest").
        expect({ row, version: blob[0], kekId: blob.subarray(1, 9).toString("hex") }).toEqual({
          row,
          version: 2,
          kekId: newId.toString("hex"),
        });
      }
      await startCurrent(newKekFile);
      const inter = await call(
        c!.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "after-rotation",
          parentCertificateAuthority: "root",
          subject: { commonName: "After Rotation" },
        }),
      );
      expect(inter.certificateAuthority!.certificatePem).toContain("BEGIN CERTIFICATE");
      const leaf = await call(
        c!.certificates,
        "issueCertificate",
        attrRequest("web", { cn: "rotated.example.com", dns: ["rotated.example.com"] }),
      );
      expect(leaf.status).toBe(ISSUED);
      const kept = await call(c!.certificates, "issueCertificate", keptRequest());
      expect(
        new X509Certificate(old.kept.pem).checkPrivateKey(createPrivateKey(kept.privateKeyPem)),
      ).toBe(true);
    });
  });
}
