/**
 * RevokeCertificate's invalidity_time (RFC 5280 5.3.2): when the key was compromised or the
 * certificate otherwise became invalid. It is kept to the second, shown by GetCertificate and
 * `certmint cert get`, and published as the invalidityDate of the certificate's CRL entry
 * (openssl crl -text) and of its OCSP response's singleExtensions (openssl ocsp, RFC 6960 4.4);
 * a key-compromise revocation dates the key's other certificates it revokes the same way, and a
 * hold made final takes it. Refused, changing nothing: a time after now or before 1950, or with
 * CERTIFICATE_HOLD (INVALID_ARGUMENT INVALIDITY_TIME_INVALID on invalidity_time), and for a
 * certificate revoked already, another time than the one recorded (FAILED_PRECONDITION
 * INVALIDITY_TIME_RECORDED); the same time again answers as the revocation did.
 */
import { spawn } from "node:child_process";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificateStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { createRoot as createCaRoot, createIntermediate } from "../ca/helpers";
import { cliSession, ok } from "../cli/cli";
import { expectRpcError } from "../support/harness";
import { opensslOk, type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  makeCsr,
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

const R = RevocationReason;

describe("revocation with an invalidity date", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  const tmp = new TempDir();
  let caFile = "";
  let ocspUrl = "";

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_OCSP_URL: ocspUrl,
    });
    root = await createRoot(h, "root");
    caFile = tmp.file("ca.pem", root.certificatePem);
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const newCert = async (name: string) =>
    (await issue(h, attrRequest("web", { cn: name, dns: [name] }))).certificate!;
  const revoke = (certificate: string, reason: RevocationReason, invalidityTime?: Date) =>
    call(h.certificates, "revokeCertificate", { certificate, reason, invalidityTime }).then(
      (r) => r.certificate!,
    );
  const crlText = async () => {
    const { crlPem } = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: root.id,
      encoding: 0,
      knownCrlNumber: "",
    });
    return opensslOk(["crl", "-in", tmp.file("crl.pem", crlPem), "-noout", "-text"]);
  };
  /** The CRL entry of `serial` in openssl's text: from its serial line to the next entry. */
  const entryOf = (text: string, serial: string) => {
    const at = text.indexOf(`Serial Number: ${serial.toUpperCase()}`);
    expect(at, `serial ${serial} on the CRL`).toBeGreaterThanOrEqual(0);
    const next = text.indexOf("Serial Number:", at + 1);
    return text.slice(at, next < 0 ? text.indexOf("Signature Algorithm", at) : next);
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
      await h.db.query<{
        revoked_at: Date | null;
        revocation_reason: string | null;
        invalidity_date: Date | null;
      }>("select revoked_at, revocation_reason, invalidity_date from certificate where id = $1", [
        id,
      ])
    )[0]!;

  it("is kept to the second, shown, and published on the CRL and in OCSP", async () => {
    const cert = await newCert("stolen.example.com");
    const given = new Date(Date.now() - 3 * 86_400_000 + 123);
    const second = new Date(Math.floor(given.getTime() / 1000) * 1000);
    const revoked = await revoke(cert.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, given);
    expect(revoked.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(revoked.invalidityTime?.toISOString()).toBe(second.toISOString());
    expect((await row(cert.certificateId)).invalidity_date?.toISOString()).toBe(
      second.toISOString(),
    );

    // openssl prints GeneralizedTime as e.g. "Dec  4 18:03:05 2026 GMT".
    const opensslTime = (d: Date) => {
      const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
      const day = String(d.getUTCDate()).padStart(2, " ");
      const time = d.toISOString().slice(11, 19);
      return `${month} ${day} ${time} ${d.getUTCFullYear()} GMT`;
    };
    const entry = entryOf(await crlText(), cert.serialNumber);
    expect(entry).toMatch(/Key Compromise/);
    expect(entry).toMatch(/Invalidity Date:\s*\n\s*/);
    expect(entry).toContain(opensslTime(second));

    const answer = await ocsp(cert.certificatePem);
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stderr).toContain("Response verify OK");
    expect(answer.stdout).toContain(": revoked");
    expect(answer.stdout).toContain("Reason: keyCompromise");
    expect(answer.stdout).toMatch(/Invalidity Date:/);
    expect(answer.stdout).toContain(opensslTime(second));

    // The audit record says it, with the time and reason.
    const [record] = (
      await call(h.audit, "listAuditRecords", {
        pageSize: 10,
        pageToken: "",
        actor: "",
        method: "/certmint.v1.CertificateService/RevokeCertificate",
        resourceType: "",
        resourceId: cert.certificateId,
        startTime: undefined,
        endTime: undefined,
        failuresOnly: false,
      })
    ).auditRecords;
    expect(record!.changes.find((c) => c.field === "invalidity_date")).toMatchObject({
      before: null,
      after: second.toISOString(),
    });
    // The same revocation again (a retry) answers as it did.
    const again = await revoke(cert.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, given);
    expect(again.invalidityTime?.toISOString()).toBe(second.toISOString());
  });

  it("dates the key's other certificates a key compromise revokes, and a hold made final", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=shared-key.example.com", ["DNS:shared-key.example.com"]);
    const first = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const second = (await issue(h, csrRequest("web", csrPem))).certificate!;
    const when = new Date("2026-11-30T10:20:30Z");
    await revoke(first.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, when);
    expect(await row(second.certificateId)).toMatchObject({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: when,
    });

    const held = await newCert("held.example.com");
    await revoke(held.certificateId, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    const heldAt = (await row(held.certificateId)).revoked_at!;
    const final = await revoke(held.certificateId, R.REVOCATION_REASON_SUPERSEDED, when);
    expect(final.invalidityTime?.toISOString()).toBe(when.toISOString());
    // At the hold's time, as a hold made final always is.
    expect(await row(held.certificateId)).toEqual({
      revoked_at: heldAt,
      revocation_reason: "SUPERSEDED",
      invalidity_date: when,
    });
    const entry = entryOf(await crlText(), held.serialNumber);
    expect(entry).toMatch(/Superseded/);
    expect(entry).toMatch(/Invalidity Date/);
  });

  it("is given with `certmint cert revoke --invalid-since` and shown by `cert get`", async () => {
    const cert = await newCert("cli-revoked.example.com");
    const cli = cliSession(h.address, h.dataDir);
    try {
      const out = ok(
        await cli.run([
          "cert",
          "revoke",
          cert.certificateId,
          "--reason",
          "key-compromise",
          "--invalid-since",
          "2026-12-01T08:00:00Z",
        ]),
      ).stdout;
      expect(out).toMatch(/^invalid since: +2026-12-01T08:00:00Z$/m);
      const shown = ok(await cli.run(["cert", "get", cert.certificateId])).stdout;
      expect(shown).toMatch(/^invalid since: +2026-12-01T08:00:00Z$/m);
      // A time that is not one: refused by the CLI before any call.
      const bad = await cli.run([
        "cert",
        "revoke",
        cert.certificateId,
        "--invalid-since",
        "2026-13-01",
      ]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("--invalid-since");
    } finally {
      cli.remove();
    }
    expect((await row(cert.certificateId)).invalidity_date).toEqual(
      new Date("2026-12-01T08:00:00Z"),
    );
  });

  it("without one, the entry and the certificate carry none", async () => {
    const cert = await newCert("plain.example.com");
    const revoked = await revoke(cert.certificateId, R.REVOCATION_REASON_SUPERSEDED);
    expect(revoked.invalidityTime).toBeUndefined();
    expect(entryOf(await crlText(), cert.serialNumber)).not.toMatch(/Invalidity Date/);
  });

  it.each<[string, () => Date, RevocationReason, string]>([
    [
      "after now",
      () => new Date(Date.now() + 3_600_000),
      R.REVOCATION_REASON_KEY_COMPROMISE,
      "at or before now",
    ],
    [
      "before 1950",
      () => new Date("1949-12-31T23:59:59Z"),
      R.REVOCATION_REASON_KEY_COMPROMISE,
      "1950 or later",
    ],
    [
      "with a hold",
      () => new Date(Date.now() - 60_000),
      R.REVOCATION_REASON_CERTIFICATE_HOLD,
      "not with CERTIFICATE_HOLD",
    ],
  ])("refuses one %s, and changes nothing", async (_name, time, reason, violation) => {
    const cert = await newCert(`refused-${reason}-${Date.now()}.example.com`);
    const err = await expectRpcError(revoke(cert.certificateId, reason, time()));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("INVALIDITY_TIME_INVALID");
    expect(err.violations).toEqual([
      expect.objectContaining({ field: "invalidity_time", description: violation }),
    ]);
    expect(err.message).toContain("nothing was changed");
    expect(await row(cert.certificateId)).toEqual({
      revoked_at: null,
      revocation_reason: null,
      invalidity_date: null,
    });
  });

  it("refuses another date for a certificate revoked already, and changes nothing", async () => {
    const cert = await newCert("revoked-once.example.com");
    const first = new Date("2026-11-01T00:00:00Z");
    await revoke(cert.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, first);
    const before = await row(cert.certificateId);
    const err = await expectRpcError(
      revoke(
        cert.certificateId,
        R.REVOCATION_REASON_KEY_COMPROMISE,
        new Date("2026-11-02T00:00:00Z"),
      ),
    );
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("INVALIDITY_TIME_RECORDED");
    expect(err.message).toContain(first.toISOString());
    expect(await row(cert.certificateId)).toEqual(before);

    // One revoked without a date is not given one afterwards either.
    const undated = await newCert("undated.example.com");
    await revoke(undated.certificateId, R.REVOCATION_REASON_CESSATION_OF_OPERATION);
    const refused = await expectRpcError(
      revoke(undated.certificateId, R.REVOCATION_REASON_CESSATION_OF_OPERATION, first),
    );
    expect(refused.reason).toBe("INVALIDITY_TIME_RECORDED");
    expect((await row(undated.certificateId)).invalidity_date).toBeNull();
  });
});

describe("a CA's revocation with an invalidity date", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let ocspUrl = "";

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_OCSP_URL: ocspUrl,
    });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const crlText = async (ca: string) => {
    const { crlPem } = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: ca,
      encoding: 0,
      knownCrlNumber: "",
    });
    return opensslOk(["crl", "-in", tmp.file(`${ca}.crl.pem`, crlPem), "-noout", "-text"]);
  };
  const caRow = async (slug: string) =>
    (
      await h.db.query<{ status: string; revoked_at: Date | null; invalidity_date: Date | null }>(
        "select status, revoked_at, invalidity_date from certificate_authority where slug = $1",
        [slug],
      )
    )[0]!;

  it("is on the parent's CRL entry, and in the answers for what the CA signed", async () => {
    const root = await createCaRoot(h, "inv-root", { maxPathLength: 1 });
    const issuing = await createIntermediate(h, "inv-issuing", "inv-root");
    await createProfileRows(h, { caId: issuing.id, slug: "inv-web" });
    const leaf = (
      await issue(h, attrRequest("inv-web", { cn: "leaf.example.com", dns: ["leaf.example.com"] }))
    ).certificate!;
    const when = new Date("2026-11-20T06:07:08Z");
    const revoked = (
      await call(h.authorities, "revokeCertificateAuthority", {
        certificateAuthority: "inv-issuing",
        reason: R.REVOCATION_REASON_KEY_COMPROMISE,
        invalidityTime: when,
      })
    ).certificateAuthority!;
    expect(revoked.invalidityTime?.toISOString()).toBe(when.toISOString());
    expect((await caRow("inv-issuing")).invalidity_date).toEqual(when);

    const rootCrl = await crlText("inv-root");
    const entry = rootCrl.slice(
      rootCrl.indexOf(`Serial Number: ${issuing.serialNumber.toUpperCase()}`),
    );
    expect(entry).toMatch(/Key Compromise/);
    expect(entry).toMatch(/Invalidity Date:\s*\n\s*Nov 20 06:07:08 2026 GMT/);
    // The revoked CA's own CRL lists its leaf at the CA's revocation, dated as the CA is.
    const ownCrl = await crlText("inv-issuing");
    expect(ownCrl).toContain(`Serial Number: ${leaf.serialNumber.toUpperCase()}`);
    expect(ownCrl).toMatch(/CA Compromise/);
    expect(ownCrl).toMatch(/Invalidity Date:\s*\n\s*Nov 20 06:07:08 2026 GMT/);
    // OCSP for the leaf, signed by the revoked CA: revoked, with the CA's invalidity date.
    const answer = await run("openssl", [
      "ocsp",
      "-issuer",
      tmp.file("issuing.pem", issuing.certificatePem),
      "-cert",
      tmp.file("leaf.pem", leaf.certificatePem),
      "-url",
      ocspUrl,
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-no_nonce",
      "-resp_text",
    ]);
    expect(answer.stdout).toContain(": revoked");
    expect(answer.stdout).toContain("Invalidity Date:");
    expect(answer.stdout).toContain("Nov 20 06:07:08 2026 GMT");

    // Revoked already: another date is refused, the same one answers as before.
    const refused = await expectRpcError(
      call(h.authorities, "revokeCertificateAuthority", {
        certificateAuthority: "inv-issuing",
        reason: R.REVOCATION_REASON_KEY_COMPROMISE,
        invalidityTime: new Date("2026-11-21T00:00:00Z"),
      }),
    );
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.reason).toBe("INVALIDITY_TIME_RECORDED");
    expect(refused.preconditions[0]).toMatchObject({
      type: "CA_STATUS",
      subject: "certificate_authorities/inv-issuing",
    });
    expect((await caRow("inv-issuing")).invalidity_date).toEqual(when);
  });

  it("is given with `certmint ca revoke --invalid-since`; a future one is refused and changes nothing", async () => {
    await createCaRoot(h, "inv-root2", { maxPathLength: 1 });
    await createIntermediate(h, "inv-cli", "inv-root2");
    const future = await expectRpcError(
      call(h.authorities, "revokeCertificateAuthority", {
        certificateAuthority: "inv-cli",
        reason: R.REVOCATION_REASON_KEY_COMPROMISE,
        invalidityTime: new Date(Date.now() + 86_400_000),
      }),
    );
    expect(future.code).toBe(status.INVALID_ARGUMENT);
    expect(future.reason).toBe("INVALIDITY_TIME_INVALID");
    expect(future.violations[0]).toMatchObject({ field: "invalidity_time" });
    expect(await caRow("inv-cli")).toMatchObject({ status: "ACTIVE", revoked_at: null });

    const cli = cliSession(h.address, h.dataDir);
    try {
      const out = ok(
        await cli.run([
          "ca",
          "revoke",
          "inv-cli",
          "--reason",
          "ca-compromise",
          "--invalid-since",
          "2026-11-30T00:00:00Z",
        ]),
      ).stdout;
      expect(out).toMatch(/^invalid since: +2026-11-30T00:00:00Z$/m);
    } finally {
      cli.remove();
    }
    expect((await caRow("inv-cli")).invalidity_date).toEqual(new Date("2026-11-30T00:00:00Z"));
  });
});
