/**
 * ReleaseCertificateHold (RFC 5280 5.3.1: certificateHold is the one reversible reason): a
 * certificate revoked with CERTIFICATE_HOLD and released is ACTIVE again, leaves its CA's next
 * CRL (openssl crl -text; openssl verify -crl_check passes), OCSP answers good at once (a cached
 * revoked answer is dropped), another server process's CRL drops it too, watchers get
 * HOLD_RELEASED, and an audit record names who released it. Not on hold (valid, revoked for
 * another reason, a hold made final) is FAILED_PRECONDITION CERTIFICATE_NOT_ON_HOLD and changes
 * nothing; a non-admin is PERMISSION_DENIED and changes nothing.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateEventType,
  CertificateStatus,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { cliSession, ok } from "../cli/cli";
import { type CertmintClients, expectRpcError, makeClients } from "../support/harness";
import { openssl, opensslOk, type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";
import { type LoggedCertmint, startLogged } from "../tls/server";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  issue,
  makeCsr,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

/** Without blocking: the server under test answers in this process. */
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

const HOLD = RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD;

describe("releasing a certificate on hold", () => {
  let h: TestCertmint;
  let replica: LoggedCertmint;
  let onReplica: CertmintClients;
  let root: CertificateAuthority;
  let watch: WatchStream;
  const tmp = new TempDir();
  let caFile = "";
  let ocspUrl = "";

  beforeAll(async () => {
    // A port nobody listens on now: a fixed one collided with another test's ephemeral port in
    // CI (EADDRINUSE).
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_OCSP_URL: ocspUrl,
      // Long: only a change of revocation status may change a cached CRL or OCSP answer.
      CERTMINT_OCSP_CACHE_SECONDS: "3600",
      CERTMINT_CRL_CACHE_SECONDS: "3600",
    });
    root = await createRoot(h, "root");
    caFile = tmp.file("ca.pem", root.certificatePem);
    await createProfileRows(h, { caId: root.id, slug: "web" });
    // A second server process on the same database and data directory (the same KEK).
    replica = await startLogged(h.db.url, {
      CERTMINT_DATA_DIR: h.dataDir,
      CERTMINT_CRL_CACHE_SECONDS: "3600",
    });
    onReplica = makeClients(`127.0.0.1:${replica.port}`, h.adminToken);
    watch = new WatchStream(h, {});
    await waitFor("the watch to open", () => watch.open);
  });
  afterAll(async () => {
    watch?.cancel();
    for (const c of Object.values(onReplica ?? {})) c.close();
    await replica?.running.shutdown();
    await h?.stop();
    tmp.remove();
  });

  const newCert = async (name: string) =>
    (await issue(h, attrRequest("web", { cn: name, dns: [name] }))).certificate!;
  const revoke = (certificate: string, reason: RevocationReason) =>
    call(h.certificates, "revokeCertificate", { certificate, reason }).then((r) => r.certificate!);
  const release = (certificate: string, c: CertmintClients = h) =>
    call(c.certificates, "releaseCertificateHold", { certificate }).then((r) => r.certificate!);
  const crlPem = async (c: CertmintClients = h) =>
    (
      await call(c.authorities, "getCertificateRevocationList", {
        certificateAuthority: root.id,
        encoding: 0,
        knownCrlNumber: "",
      })
    ).crlPem;
  const crlText = (pem: string) =>
    opensslOk(["crl", "-in", tmp.file("crl.pem", pem), "-noout", "-text"]);
  /** openssl verify -crl_check of the leaf against the root and this CRL. */
  const verifyWithCrl = (leafPem: string, pem: string) => {
    const r = openssl([
      "verify",
      "-crl_check",
      "-CAfile",
      caFile,
      "-CRLfile",
      tmp.file("crl-check.pem", pem),
      tmp.file("leaf.pem", leafPem),
    ]);
    return r.stdout + r.stderr;
  };
  const ocsp = (leafPem: string) =>
    run("openssl", [
      "ocsp",
      "-issuer",
      caFile,
      "-cert",
      tmp.file("ocsp-leaf.pem", leafPem),
      "-url",
      ocspUrl,
      "-CAfile",
      caFile,
      "-no_nonce",
      "-resp_text",
    ]);
  const row = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null; revocation_reason: string | null }>(
        "select revoked_at, revocation_reason from certificate where id = $1",
        [id],
      )
    )[0]!;
  const revocationCount = async () =>
    (
      await h.db.query<{ n: string }>(
        "select revocation_count as n from certificate_authority where id = $1",
        [root.id],
      )
    )[0]!.n;

  it("a released certificate is off the next CRL, good in OCSP and ACTIVE, here and on another process", async () => {
    const cert = await newCert("held.example.com");
    const serial = `Serial Number: ${cert.serialNumber.toUpperCase()}`;
    const held = await revoke(cert.certificateId, HOLD);
    expect(held.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);

    // Both processes cache the CRL that lists it, and OCSP caches the revoked answer.
    const heldCrl = await crlPem();
    expect(crlText(heldCrl)).toContain(serial);
    expect(crlText(heldCrl)).toMatch(/Certificate Hold/);
    expect(crlText(await crlPem(onReplica))).toContain(serial);
    expect(verifyWithCrl(cert.certificatePem, heldCrl)).toMatch(/certificate revoked/);
    const heldOcsp = await ocsp(cert.certificatePem);
    expect(heldOcsp.stdout).toContain(": revoked");
    expect(heldOcsp.stdout).toContain("Reason: certificateHold");

    const released = await release(cert.serialNumber);
    expect(released.id).toBe(cert.certificateId);
    expect(released.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
    expect(released.revokeTime).toBeUndefined();
    expect(released.revocationReason).toBe(RevocationReason.REVOCATION_REASON_UNSPECIFIED);

    // PostgreSQL: not revoked, and no CRL entry kept.
    const [r] = await h.db.query(
      "select revoked_at, revocation_reason, crl_entry from certificate where id = $1",
      [cert.certificateId],
    );
    expect(r).toEqual({ revoked_at: null, revocation_reason: null, crl_entry: null });

    const releasedCrl = await crlPem();
    expect(crlText(releasedCrl)).not.toContain(serial);
    expect(verifyWithCrl(cert.certificatePem, releasedCrl)).toMatch(/: OK/);
    // The other process's cached CRL is replaced too (the CA's revocation count moved).
    const replicaCrl = await crlPem(onReplica);
    expect(crlText(replicaCrl)).not.toContain(serial);
    expect(verifyWithCrl(cert.certificatePem, replicaCrl)).toMatch(/: OK/);

    const good = await ocsp(cert.certificatePem);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toContain("Response verify OK");
    expect(good.stdout).toContain(": good");

    const got = await call(h.certificates, "getCertificate", {
      certificate: cert.certificateId,
    });
    expect(got.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
  });

  it("watchers get HOLD_RELEASED; the audit trail names who released it", async () => {
    const cert = await newCert("watched.example.com");
    await revoke(cert.certificateId, HOLD);
    await release(cert.certificateId);
    await waitFor("the HOLD_RELEASED event", () =>
      watch
        .of(CertificateEventType.CERTIFICATE_EVENT_TYPE_HOLD_RELEASED)
        .some((e) => e.certificate?.id === cert.certificateId),
    );
    const events = watch
      .seen()
      .filter(([, id]) => id === cert.certificateId)
      .map(([type]) => type);
    expect(events).toEqual([
      CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED,
      CertificateEventType.CERTIFICATE_EVENT_TYPE_REVOKED,
      CertificateEventType.CERTIFICATE_EVENT_TYPE_HOLD_RELEASED,
    ]);
    const released = watch
      .of(CertificateEventType.CERTIFICATE_EVENT_TYPE_HOLD_RELEASED)
      .find((e) => e.certificate?.id === cert.certificateId)!;
    expect(released.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);

    const records = await h.db.query<{
      actor_id: string;
      actor_slug: string;
      status_code: number;
      changes: Array<{ field: string; before?: unknown; after?: unknown }>;
    }>(
      `select actor_id, actor_slug, status_code, changes from audit_record
        where resource_id = $1 and method = '/certmint.v1.CertificateService/ReleaseCertificateHold'`,
      [cert.certificateId],
    );
    expect(records).toHaveLength(1);
    expect(records[0]!.status_code).toBe(0);
    // What the release changed: the hold's reason and time, gone.
    const changes = new Map(records[0]!.changes.map((c) => [c.field, c]));
    expect(changes.get("revocation_reason")).toEqual({
      field: "revocation_reason",
      before: "CERTIFICATE_HOLD",
      after: null,
    });
    expect(changes.get("revoked_at")?.after).toBeNull();
    expect(typeof changes.get("revoked_at")?.before).toBe("string");
    const [adminRow] = await h.db.query<{ id: string; slug: string }>(
      "select id, slug from access_token where role = 'ADMIN' order by created_at limit 1",
    );
    expect(records[0]!.actor_id).toBe(adminRow!.id);
    expect(records[0]!.actor_slug).toBe(adminRow!.slug);
  });

  it("a certificate not on hold is FAILED_PRECONDITION and nothing changes", async () => {
    const valid = await newCert("valid.example.com");
    const final = await newCert("final.example.com");
    await revoke(final.certificateId, RevocationReason.REVOCATION_REASON_SUPERSEDED);
    const cases = [
      { id: valid.certificateId, state: "not revoked" },
      { id: final.certificateId, state: "revoked (SUPERSEDED)" },
    ];
    const countBefore = await revocationCount();
    const crlBefore = await crlPem();
    for (const c of cases) {
      const before = await row(c.id);
      const err = await expectRpcError(release(c.id));
      expect(err.code).toBe(9); // FAILED_PRECONDITION
      expect(err.reason).toBe("CERTIFICATE_NOT_ON_HOLD");
      expect(err.preconditions).toEqual([
        { type: "CERTIFICATE_STATE", subject: `certificates/${c.id}`, description: c.state },
      ]);
      expect(await row(c.id)).toEqual(before);
    }
    expect(await revocationCount()).toBe(countBefore);
    expect(crlText(await crlPem())).toBe(crlText(crlBefore));
    // The refusals are recorded as such, and no release event was written.
    const [events] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate_event where type = 'HOLD_RELEASED' and certificate_id = any($1)",
      [cases.map((c) => c.id)],
    );
    expect(events!.n).toBe("0");
  });

  it("a hold made final (another reason) cannot be released: CRL and OCSP keep the new reason", async () => {
    const cert = await newCert("made-final.example.com");
    const held = await revoke(cert.certificateId, HOLD);
    // Cached while on hold: the change of reason must replace it.
    expect((await ocsp(cert.certificatePem)).stdout).toContain("Reason: certificateHold");
    // Not keyCompromise: that reason replaced any other before (markKeyCompromised).
    const final = await revoke(
      cert.certificateId,
      RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION,
    );
    expect(final.revocationReason).toBe(RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION);
    // At the hold's time (RFC 5280 5.3.1: the reason changes, the revocation stands).
    expect(final.revokeTime!.getTime()).toBe(held.revokeTime!.getTime());
    expect((await row(cert.certificateId)).revocation_reason).toBe("CESSATION_OF_OPERATION");
    const err = await expectRpcError(release(cert.certificateId));
    expect(err.code).toBe(9);
    expect(err.reason).toBe("CERTIFICATE_NOT_ON_HOLD");
    expect((await row(cert.certificateId)).revocation_reason).toBe("CESSATION_OF_OPERATION");
    const text = crlText(await crlPem());
    const upper = cert.serialNumber.toUpperCase();
    const entry = text.slice(text.indexOf(`Serial Number: ${upper}`)).split("Serial Number:")[1]!;
    expect(entry).toMatch(/Cessation Of Operation/);
    const answer = await ocsp(cert.certificatePem);
    expect(answer.stdout).toContain("Reason: cessationOfOperation");
    // Watchers learn the hold became final.
    await waitFor("the second REVOKED event", () =>
      watch
        .seen()
        .filter(
          ([type, id]) =>
            id === cert.certificateId &&
            type === CertificateEventType.CERTIFICATE_EVENT_TYPE_REVOKED,
        )
        .some((_, i) => i === 1),
    );
  });

  it("a held certificate whose key is then revoked for key compromise is revoked for good with it", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=shared-key.example.com", ["DNS:shared-key.example.com"]);
    const held = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const twin = (await issue(h, csrRequest("web", csrPem))).certificate!;
    await revoke(held.certificateId, HOLD);
    await revoke(twin.certificateId, RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    expect((await row(held.certificateId)).revocation_reason).toBe("KEY_COMPROMISE");
    const err = await expectRpcError(release(held.certificateId));
    expect(err.code).toBe(9);
    expect(["CERTIFICATE_NOT_ON_HOLD", "KEY_BLOCKED"]).toContain(err.reason);
    expect((await row(held.certificateId)).revocation_reason).toBe("KEY_COMPROMISE");
  });

  it("certmint cert release: a held certificate is valid again; one not on hold is refused", async () => {
    const cert = await newCert("cli-held.example.com");
    const cli = cliSession(h.address, h.dataDir);
    try {
      const colons = cert.serialNumber.match(/../g)!.join(":");
      const held = ok(await cli.run(["cert", "revoke", colons, "--reason", "certificate-hold"]));
      expect(held.stdout).toMatch(/^status: +revoked$/m);
      const out = ok(await cli.run(["cert", "release", colons])).stdout;
      expect(out).toMatch(/^status: +active$/m);
      expect(await row(cert.certificateId)).toEqual({ revoked_at: null, revocation_reason: null });
      const again = await cli.run(["cert", "release", cert.certificateId]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain("CERTIFICATE_NOT_ON_HOLD");
    } finally {
      cli.remove();
    }
  });

  it("only an admin may release: an issuer or auditor is PERMISSION_DENIED and nothing changes", async () => {
    const cert = await newCert("guarded.example.com");
    await revoke(cert.certificateId, HOLD);
    const before = await row(cert.certificateId);
    for (const role of [Role.ROLE_ISSUER, Role.ROLE_AUDITOR]) {
      const t = await createToken(
        h,
        `releaser-${role}`,
        role,
        role === Role.ROLE_ISSUER ? ["web"] : [],
      );
      const err = await expectRpcError(release(cert.certificateId, t.clients));
      expect(err.code).toBe(7); // PERMISSION_DENIED
      expect(await row(cert.certificateId)).toEqual(before);
    }
    expect(before.revocation_reason).toBe("CERTIFICATE_HOLD");
    // The admin still may.
    expect((await release(cert.certificateId)).status).toBe(
      CertificateStatus.CERTIFICATE_STATUS_ACTIVE,
    );
  });
});
