/**
 * What an outside probe of stop 58 (2026-12-07) found in revocation dates, each checked where
 * relying parties read it (openssl crl -text, openssl ocsp) and in the rows:
 * - a keyCompromise recorded for a certificate after its CA's revocation moved the certificate's
 *   published revocation later than the CA's and dropped the CA's invalidity date: it is now
 *   answered no later than the CA's, with the earliest invalidity date of the two;
 * - a reason raised to keyCompromise keeps the earliest invalidity date, and a certificate revoked
 *   for keyCompromise may be given an earlier one (never a later: INVALIDITY_TIME_RECORDED);
 * - an invalidity date after the revocation time a call keeps (a hold made final, a reason
 *   raised, a CA's reason raised) is refused (INVALID_ARGUMENT INVALIDITY_TIME_INVALID) for
 *   what the call names and not recorded for the key's other certificates;
 * - an OCSP request that is not DER (a padded serial INTEGER, an indefinite length) is
 *   malformedRequest, not a signed answer no client can parse;
 * - `certmint cert revoke --invalid-since` with a fraction before 1970 sends whole seconds.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { status } from "@grpc/grpc-js";
import forge from "node-forge";
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
const HOUR = 3_600_000;
/** A whole second `ms` before now. */
const ago = (ms: number) => new Date(Math.floor((Date.now() - ms) / 1000) * 1000);
/** openssl's text for a time, e.g. "Dec  4 18:03:05 2026 GMT". */
function opensslTime(d: Date): string {
  const month = d.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  const day = String(d.getUTCDate()).padStart(2, " ");
  return `${month} ${day} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()} GMT`;
}
const toSecond = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

describe("revocation dates (stop 58)", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  let issuing: CertificateAuthority;
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
    root = await createCaRoot(h, "d58-root", { maxPathLength: 1 });
    issuing = await createIntermediate(h, "d58-issuing", "d58-root");
    await createProfileRows(h, { caId: root.id, slug: "d58-live" });
    await createProfileRows(h, { caId: issuing.id, slug: "d58-under" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const newCert = async (profile: string, name: string) =>
    (await issue(h, attrRequest(profile, { cn: name, dns: [name] }))).certificate!;
  const revoke = (certificate: string, reason: RevocationReason, invalidityTime?: Date) =>
    call(h.certificates, "revokeCertificate", { certificate, reason, invalidityTime }).then(
      (r) => r.certificate!,
    );
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
  const crlText = async (ca: string) => {
    const { crlPem } = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: ca,
      encoding: 0,
      knownCrlNumber: "",
    });
    return opensslOk(["crl", "-in", tmp.file(`${ca}.crl.pem`, crlPem), "-noout", "-text"]);
  };
  /** The CRL entry of `serial` in openssl's text: from its serial line to the next entry. */
  const entryOf = (text: string, serial: string) => {
    const at = text.indexOf(`Serial Number: ${serial.toUpperCase()}`);
    expect(at, `serial ${serial} on the CRL`).toBeGreaterThanOrEqual(0);
    const next = text.indexOf("Serial Number:", at + 1);
    return text.slice(at, next < 0 ? text.indexOf("Signature Algorithm", at) : next);
  };
  const ocsp = (issuerPem: string, leafPem: string) =>
    run("openssl", [
      "ocsp",
      "-issuer",
      tmp.file("ocsp-issuer.pem", issuerPem),
      "-cert",
      tmp.file("ocsp-leaf.pem", leafPem),
      "-url",
      ocspUrl,
      "-CAfile",
      tmp.file("ocsp-root.pem", root.certificatePem),
      "-no_nonce",
      "-resp_text",
    ]);

  it("answers a keyCompromise recorded after its CA's revocation no later than the CA's, with the CA's invalidity date", async () => {
    const leaf = await newCert("d58-under", "after-ca.example.com");
    const caInvalid = ago(5 * 24 * HOUR);
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: "d58-issuing",
      reason: R.REVOCATION_REASON_CA_COMPROMISE,
      invalidityTime: caInvalid,
    });
    const [ca] = await h.db.query<{ revoked_at: Date }>(
      "select revoked_at from certificate_authority where slug = 'd58-issuing'",
    );
    const caRevokedAt = toSecond(ca!.revoked_at);
    // Recorded after the CA's revocation (its row's own time is now, later than the CA's).
    const revoked = await revoke(leaf.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE);
    expect((await row(leaf.certificateId)).revocation_reason).toBe("KEY_COMPROMISE");
    expect(revoked.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(toSecond(revoked.revokeTime!).toISOString()).toBe(caRevokedAt.toISOString());
    expect(revoked.invalidityTime?.toISOString()).toBe(caInvalid.toISOString());

    const answer = await ocsp(issuing.certificatePem, leaf.certificatePem);
    expect(answer.stderr).toContain("Response verify OK");
    expect(answer.stdout).toContain("Reason: keyCompromise");
    expect(answer.stdout).toMatch(
      new RegExp(`Revocation Time: ${opensslTime(caRevokedAt).replace(/ +/g, " +")}`),
    );
    expect(answer.stdout).toContain(opensslTime(caInvalid));

    const entry = entryOf(await crlText("d58-issuing"), leaf.serialNumber);
    expect(entry).toMatch(/Key Compromise/);
    expect(entry).toMatch(
      new RegExp(`Revocation Date: ${opensslTime(caRevokedAt).replace(/ +/g, " +")}`),
    );
    expect(entry).toContain(opensslTime(caInvalid));
  });

  it("keeps the earliest invalidity date when raised to keyCompromise, takes an earlier one, refuses a later one", async () => {
    const cert = await newCert("d58-live", "raised.example.com");
    const superseded = ago(2 * 24 * HOUR);
    await revoke(cert.certificateId, R.REVOCATION_REASON_SUPERSEDED, superseded);
    // Raised without a date: the certificate became invalid no later than it was.
    await revoke(cert.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE);
    expect(await row(cert.certificateId)).toMatchObject({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: superseded,
    });
    // The compromise found to go back further: taken, and published.
    const earlier = ago(4 * 24 * HOUR);
    const backdated = await revoke(cert.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, earlier);
    expect(backdated.invalidityTime?.toISOString()).toBe(earlier.toISOString());
    expect((await row(cert.certificateId)).invalidity_date).toEqual(earlier);
    expect(entryOf(await crlText("d58-root"), cert.serialNumber)).toContain(opensslTime(earlier));
    const answer = await ocsp(root.certificatePem, cert.certificatePem);
    expect(answer.stdout).toContain(opensslTime(earlier));
    // A later one would weaken what is published: refused, nothing changed.
    const before = await row(cert.certificateId);
    const later = await expectRpcError(
      revoke(cert.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, ago(3 * 24 * HOUR)),
    );
    expect(later.code).toBe(status.FAILED_PRECONDITION);
    expect(later.reason).toBe("INVALIDITY_TIME_RECORDED");
    expect(await row(cert.certificateId)).toEqual(before);
    // The audit trail shows the backdating.
    const { auditRecords } = await call(h.audit, "listAuditRecords", {
      pageSize: 20,
      pageToken: "",
      actor: "",
      method: "/certmint.v1.CertificateService/RevokeCertificate",
      resourceType: "",
      resourceId: cert.certificateId,
      startTime: undefined,
      endTime: undefined,
      failuresOnly: false,
    });
    expect(
      auditRecords.some((r) =>
        r.changes.some(
          (c) =>
            c.field === "invalidity_date" &&
            c.before === superseded.toISOString() &&
            c.after === earlier.toISOString(),
        ),
      ),
    ).toBe(true);
  });

  it("refuses an invalidity date after a hold's time, and records none after another certificate's of the key", async () => {
    const held = await newCert("d58-live", "held-late.example.com");
    await revoke(held.certificateId, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    // The hold an hour ago.
    await h.db.query(
      "update certificate set revoked_at = revoked_at - interval '1 hour' where id = $1",
      [held.certificateId],
    );
    const before = await row(held.certificateId);
    const err = await expectRpcError(
      revoke(held.certificateId, R.REVOCATION_REASON_SUPERSEDED, ago(HOUR / 2)),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("INVALIDITY_TIME_INVALID");
    expect(err.violations[0]).toMatchObject({ field: "invalidity_time" });
    expect(err.message).toContain("nothing was changed");
    expect(await row(held.certificateId)).toEqual(before);
    // At or before the hold's time: taken.
    const early = ago(2 * HOUR);
    await revoke(held.certificateId, R.REVOCATION_REASON_SUPERSEDED, early);
    expect(await row(held.certificateId)).toMatchObject({
      revocation_reason: "SUPERSEDED",
      invalidity_date: early,
    });

    // One key, two certificates: the first revoked (superseded) an hour ago; a key compromise
    // dated half an hour ago, named on the second, raises the first without that date.
    const { csrPem } = makeCsr(tmp, "/CN=two-of-a-key.example.com", [
      "DNS:two-of-a-key.example.com",
    ]);
    const first = (await issue(h, csrRequest("d58-live", csrPem))).certificate!;
    const second = (await issue(h, csrRequest("d58-live", csrPem))).certificate!;
    await revoke(first.certificateId, R.REVOCATION_REASON_SUPERSEDED);
    await h.db.query(
      "update certificate set revoked_at = revoked_at - interval '1 hour' where id = $1",
      [first.certificateId],
    );
    const compromised = ago(HOUR / 2);
    await revoke(second.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE, compromised);
    expect(await row(second.certificateId)).toMatchObject({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: compromised,
    });
    expect(await row(first.certificateId)).toMatchObject({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: null,
    });
    expect(entryOf(await crlText("d58-root"), first.serialNumber)).not.toMatch(/Invalidity Date/);
  });

  it("holds a CA's invalidity date to its revocation time, raised or backdated", async () => {
    await createIntermediate(h, "d58-ca", "d58-root");
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: "d58-ca",
      reason: R.REVOCATION_REASON_SUPERSEDED,
    });
    await h.db.query(
      "update certificate_authority set revoked_at = revoked_at - interval '1 hour' where slug = 'd58-ca'",
    );
    const caRow = async () =>
      (
        await h.db.query<{ revocation_reason: string; invalidity_date: Date | null }>(
          "select revocation_reason, invalidity_date from certificate_authority where slug = 'd58-ca'",
        )
      )[0]!;
    const revokeCa = (reason: RevocationReason, invalidityTime: Date) =>
      call(h.authorities, "revokeCertificateAuthority", {
        certificateAuthority: "d58-ca",
        reason,
        invalidityTime,
      });
    const after = await expectRpcError(revokeCa(R.REVOCATION_REASON_KEY_COMPROMISE, ago(HOUR / 2)));
    expect(after.code).toBe(status.INVALID_ARGUMENT);
    expect(after.reason).toBe("INVALIDITY_TIME_INVALID");
    expect(await caRow()).toEqual({ revocation_reason: "SUPERSEDED", invalidity_date: null });

    const raisedAt = ago(2 * HOUR);
    await revokeCa(R.REVOCATION_REASON_KEY_COMPROMISE, raisedAt);
    expect(await caRow()).toEqual({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: raisedAt,
    });
    const earlier = ago(3 * HOUR);
    await revokeCa(R.REVOCATION_REASON_CA_COMPROMISE, earlier);
    // Backdated: the compromise recorded keeps its reason.
    expect(await caRow()).toEqual({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: earlier,
    });
    const later = await expectRpcError(revokeCa(R.REVOCATION_REASON_KEY_COMPROMISE, raisedAt));
    expect(later.code).toBe(status.FAILED_PRECONDITION);
    expect(later.reason).toBe("INVALIDITY_TIME_RECORDED");
    expect(await caRow()).toEqual({
      revocation_reason: "KEY_COMPROMISE",
      invalidity_date: earlier,
    });
    const rootEntry = await crlText("d58-root");
    expect(rootEntry).toContain(opensslTime(earlier));
  });

  it("answers an OCSP request that is not DER with malformedRequest", async () => {
    const leaf = await newCert("d58-live", "ocsp-der.example.com");
    const reqFile = tmp.out("req.der");
    opensslOk([
      "ocsp",
      "-issuer",
      tmp.file("der-issuer.pem", root.certificatePem),
      "-cert",
      tmp.file("der-leaf.pem", leaf.certificatePem),
      "-no_nonce",
      "-reqout",
      reqFile,
    ]);
    const der = readFileSync(reqFile);
    const post = async (body: Buffer) => {
      const res = await fetch(ocspUrl, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body,
      });
      expect(res.status).toBe(200);
      const answer = forge.asn1.fromDer(
        forge.util.createBuffer(Buffer.from(await res.arrayBuffer()).toString("latin1")),
      );
      // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, ... }: 0 successful, 1 malformedRequest.
      return ((answer.value as forge.asn1.Asn1[])[0]!.value as string).charCodeAt(0);
    };
    expect(await post(der)).toBe(0);

    // The CertID's serial with a leading zero octet it does not need.
    const request = forge.asn1.fromDer(der.toString("latin1"));
    const tbs = (request.value as forge.asn1.Asn1[])[0]!;
    const list = (tbs.value as forge.asn1.Asn1[]).find(
      (f) => f.tagClass === forge.asn1.Class.UNIVERSAL,
    )!;
    const certId = ((list.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[])[0]!;
    const serial = (certId.value as forge.asn1.Asn1[])[3]!;
    const original = serial.value as string;
    // Two octets: forge's toDer drops one unneeded leading octet of an INTEGER by itself.
    serial.value = `\x00\x00${original}`;
    const padded = Buffer.from(forge.asn1.toDer(request).getBytes(), "latin1");
    expect(await post(padded)).toBe(1);

    // The outer SEQUENCE with an indefinite length (BER, not DER).
    const outerLength = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
    const indefinite = Buffer.concat([
      Buffer.from([0x30, 0x80]),
      der.subarray(outerLength),
      Buffer.from([0, 0]),
    ]);
    expect(await post(indefinite)).toBe(1);
  });

  it("sends whole seconds for `cert revoke --invalid-since` before 1970, and refuses a time out of range", async () => {
    const cert = await newCert("d58-live", "cli-1960.example.com");
    const cli = cliSession(h.address, h.dataDir);
    try {
      const out = ok(
        await cli.run([
          "cert",
          "revoke",
          cert.certificateId,
          "--reason",
          "superseded",
          "--invalid-since",
          "1960-06-01T00:00:00.5Z",
        ]),
      ).stdout;
      expect(out).toMatch(/^invalid since: +1960-06-01T00:00:00Z$/m);
      const other = await newCert("d58-live", "cli-far.example.com");
      const far = await cli.run([
        "cert",
        "revoke",
        other.certificateId,
        "--reason",
        "superseded",
        "--invalid-since",
        "99999999d",
      ]);
      expect(far.code).not.toBe(0);
      expect(far.stderr).toContain("--invalid-since");
      expect(far.stderr).toContain("out of range");
      expect((await row(other.certificateId)).revoked_at).toBeNull();
    } finally {
      cli.remove();
    }
    expect((await row(cert.certificateId)).invalidity_date).toEqual(
      new Date("1960-06-01T00:00:00Z"),
    );
  });
});
