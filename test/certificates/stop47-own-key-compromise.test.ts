/**
 * A certificate's own keyCompromise stands under a revoked CA, whatever its time relative to
 * the CA's (an outside probe, S F3 of stop 47): the CA's CRL listed a leaf revoked
 * keyCompromise after its CA as keyCompromise at its own time, while OCSP, GetCertificate and
 * ListCertificates answered the CA's reason and time. Now every one of them answers REVOKED /
 * keyCompromise at the certificate's own time (ca/ocsp.ts ownRevocationStands; RFC 5280
 * 5.3.1: the subscriber's key, the more specific and more severe fact):
 *  - a leaf revoked keyCompromise after its CA, one revoked by the key's cascade (same key),
 *    and one under a CA below the revoked CA (its CRL, its OCSP);
 *  - ListCertificates' REVOKED and ISSUER_REVOKED filters, walked a row per page, with and
 *    without a CA filter, hold what Get shows;
 *  - unchanged: keyCompromise before the CA's revocation stands (as before), a hold shows the
 *    CA's revocation, and the revoked CA's CRL now lists that hold with the CA's reason and
 *    time as OCSP answers it (until stop 47 of 2026-12-06 it was listed as certificateHold).
 * The CA is revoked SUPERSEDED, so the CA's reason (superseded) and the leaf's (keyCompromise)
 * differ on every channel.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CreateIntermediateCertificateAuthorityRequest,
  GetCertificateRevocationListRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateStatus,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { type CliSession, cliSession, ok } from "../cli/cli";
import { type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  csrForKey,
  csrRequest,
  issue,
  makeCsr,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

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
const S = CertificateStatus;
const DAY = 86_400;

describe("a keyCompromise after its CA's revocation: OCSP, CRL, Get, List and the CLI agree", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  let ca: CertificateAuthority;
  let sub: CertificateAuthority;
  let cli: CliSession;
  const tmp = new TempDir();
  let ocspUrl = "";
  const leaf: Record<string, { id: string; pem: string }> = {};
  /** Which CA issued each leaf: `ca`, or `sub` below it. */
  const issuerOf: Record<string, "ca" | "sub"> = {};
  let caRevokedAt: Date;

  const row = async (id: string) =>
    (
      await h.db.query<{ revoked_at: Date | null; revocation_reason: string | null }>(
        "select revoked_at, revocation_reason from certificate where id = $1",
        [id],
      )
    )[0]!;
  const get = async (id: string) =>
    (await call(h.certificates, "getCertificate", { certificate: id })).certificate!;
  const revoke = (certificate: string, reason: RevocationReason) =>
    call(h.certificates, "revokeCertificate", { certificate, reason }).then((r) => r.certificate!);
  const wholeSeconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;

  /** openssl ocsp about a leaf, asked of its issuer, the response's signature checked. */
  const ocsp = async (name: string) => {
    const issuer = issuerOf[name] === "sub" ? sub : ca;
    const args = [
      "ocsp",
      "-issuer",
      tmp.file("issuer.pem", issuer.certificatePem),
      "-cert",
      tmp.file("leaf.pem", leaf[name]!.pem),
      "-url",
      ocspUrl,
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-verify_other",
      tmp.file("chain.pem", `${sub.certificatePem}\n${ca.certificatePem}`),
      "-no_nonce",
      "-resp_text",
    ];
    let r: RunResult = { code: 1, stdout: "", stderr: "" };
    await waitFor("the OCSP responder to know the CA", async () => {
      r = await run("openssl", args);
      return !/unauthorized/.test(r.stdout + r.stderr);
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    const revokedAt = /Revocation Time: (.+)/.exec(r.stdout)?.[1]?.trim();
    return {
      status: /leaf\.pem: (good|revoked|unknown)/.exec(r.stdout)?.[1],
      reason: /Reason: (\w+)/.exec(r.stdout)?.[1],
      revokedAt: revokedAt ? new Date(revokedAt).getTime() : undefined,
    };
  };

  /** A CA's CRL entries, as `openssl crl -text` reads them: serial -> reason and time. */
  const crlEntries = async (caId: string) => {
    const crl = await call(
      h.authorities,
      "getCertificateRevocationList",
      GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: caId }),
    );
    const r = await run("openssl", [
      "crl",
      "-noout",
      "-text",
      "-in",
      tmp.file(`${caId}.crl`, crl.crlPem),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = new Map<string, { reason?: string; revokedAt: number }>();
    for (const block of r.stdout.split(/Serial Number: /).slice(1)) {
      const serial = /^([0-9A-F]+)/.exec(block)![1]!.toLowerCase().replace(/^0+/, "");
      const date = /Revocation Date: (.+)/.exec(block)![1]!.trim();
      const reason = /CRL Reason Code:\s*\n\s*(.+)/.exec(block)?.[1]?.trim();
      out.set(serial, { reason, revokedAt: new Date(date).getTime() });
    }
    return out;
  };
  const serialOf = async (id: string) =>
    (
      await h.db.query<{ serial_number: string }>(
        "select serial_number from certificate where id = $1",
        [id],
      )
    )[0]!.serial_number
      .toLowerCase()
      .replace(/^0+/, "");

  /** Every id a status filter lists, one row per page (each page token taken). */
  const walk = async (status: CertificateStatus, certificateAuthority = "") => {
    const ids: string[] = [];
    let pageToken = "";
    do {
      const res = await call(
        h.certificates,
        "listCertificates",
        ListCertificatesRequest.fromPartial({
          status,
          certificateAuthority,
          pageSize: 1,
          pageToken,
        }),
      );
      for (const c of res.certificates) {
        expect(c.status).toBe(status);
        ids.push(c.id);
      }
      pageToken = res.nextPageToken;
    } while (pageToken);
    return ids.sort();
  };
  const ids = (...names: string[]) => names.map((n) => leaf[n]!.id).sort();

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
      CERTMINT_OCSP_URL: ocspUrl,
    });
    cli = cliSession(h.address, h.dataDir);
    root = await createRoot(h, "s47k-root");
    const intermediate = async (slug: string, parent: string) =>
      (
        await call(
          h.authorities,
          "createIntermediateCertificateAuthority",
          CreateIntermediateCertificateAuthorityRequest.fromPartial({
            slug,
            parentCertificateAuthority: parent,
            subject: { commonName: `${slug} CA` },
          }),
        )
      ).certificateAuthority!;
    ca = await intermediate("s47k-ca", root.id);
    sub = await intermediate("s47k-sub", ca.id);
    await createProfileRows(h, { caId: ca.id, slug: "s47k" });
    await createProfileRows(h, { caId: sub.id, slug: "s47k-sub" });
    // kc and twin share a key: kc's keyCompromise revokes twin too (the key's cascade).
    const kcName = "kc.s47k.example.com";
    const twinName = "twin.s47k.example.com";
    const shared = makeCsr(tmp, `/CN=${kcName}`, [`DNS:${kcName}`]);
    for (const [name, profile, csr] of [
      ["kc", "s47k", shared.csrPem],
      ["twin", "s47k", csrForKey(tmp, shared.keyPem, `/CN=${twinName}`, [`DNS:${twinName}`])],
      ["kcearly", "s47k", undefined],
      ["held", "s47k", undefined],
      ["plain", "s47k", undefined],
      ["subkc", "s47k-sub", undefined],
    ] as const) {
      const dns = `${name}.s47k.example.com`;
      const request = csr
        ? csrRequest(profile, csr, { ttlSeconds: 20 * DAY })
        : attrRequest(profile, { cn: dns, dns: [dns], ttlSeconds: 20 * DAY });
      const c = (await issue(h, request)).certificate!;
      leaf[name] = { id: c.certificateId, pem: c.certificatePem };
      issuerOf[name] = profile === "s47k-sub" ? "sub" : "ca";
    }
    await revoke(leaf.kcearly!.id, R.REVOCATION_REASON_KEY_COMPROMISE);
    await revoke(leaf.held!.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: ca.id,
      reason: R.REVOCATION_REASON_SUPERSEDED,
    });
    caRevokedAt = (
      await h.db.query<{ revoked_at: Date }>(
        "select revoked_at from certificate_authority where id = $1",
        [ca.id],
      )
    )[0]!.revoked_at;
    // The leaves' own keyCompromise, recorded after the CA's revocation, at a later second (so
    // that the CA's time and its own differ on OCSP and the CRL, which carry whole seconds).
    await waitFor(
      "a second after the CA's revocation",
      async () => wholeSeconds(new Date()) > wholeSeconds(caRevokedAt),
    );
    await revoke(leaf.kc!.id, R.REVOCATION_REASON_KEY_COMPROMISE);
    await revoke(leaf.subkc!.id, R.REVOCATION_REASON_KEY_COMPROMISE);
  }, 120_000);
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
    tmp.remove();
  });

  it("recorded keyCompromise after the CA (kc, its twin by the key's cascade, subkc below)", async () => {
    for (const name of ["kc", "twin", "subkc"]) {
      const stored = await row(leaf[name]!.id);
      expect(stored.revocation_reason, name).toBe("KEY_COMPROMISE");
      expect(wholeSeconds(stored.revoked_at!), name).toBeGreaterThan(wholeSeconds(caRevokedAt));
    }
  });

  // At its own time when that is before the CA's (kcearly); at the CA's when recorded after it
  // (kc, twin, subkc): until stop 58 of 2026-12-07 at its own, later time, which told relying
  // parties less than the CA's revocation had (an outside probe; ocsp.ts noLaterThanCa).
  it("OCSP, the CRL, GetCertificate and the CLI answer keyCompromise, no later than the CA's revocation", async () => {
    for (const name of ["kc", "twin", "subkc", "kcearly"]) {
      const stored = (await row(leaf[name]!.id)).revoked_at!;
      const own = stored <= caRevokedAt ? stored : caRevokedAt;
      expect(own === caRevokedAt, name).toBe(name !== "kcearly");
      const shown = await get(leaf[name]!.id);
      expect(shown.status, name).toBe(S.CERTIFICATE_STATUS_REVOKED);
      expect(shown.revocationReason, name).toBe(R.REVOCATION_REASON_KEY_COMPROMISE);
      expect(shown.revokeTime!.getTime(), name).toBe(own.getTime());
      const answer = await ocsp(name);
      expect(answer, name).toEqual({
        status: "revoked",
        reason: "keyCompromise",
        revokedAt: wholeSeconds(own),
      });
      const crl = await crlEntries(issuerOf[name] === "sub" ? sub.id : ca.id);
      expect(crl.get(await serialOf(leaf[name]!.id)), name).toEqual({
        reason: "Key Compromise",
        revokedAt: wholeSeconds(own),
      });
    }
    const text = ok(await cli.run(["cert", "get", leaf.kc!.id])).stdout;
    expect(text).toMatch(/^status: +revoked$/m);
    expect(text).toMatch(/^revoked: .*\(key-compromise\)$/m);
  });

  it("a hold under the revoked CA: the CA's reason and time in OCSP, Get and now its CRL", async () => {
    const shown = await get(leaf.held!.id);
    expect(shown.status).toBe(S.CERTIFICATE_STATUS_ISSUER_REVOKED);
    expect(shown.revocationReason).toBe(R.REVOCATION_REASON_SUPERSEDED);
    expect(shown.revokeTime!.getTime()).toBe(caRevokedAt.getTime());
    expect(await ocsp("held")).toEqual({
      status: "revoked",
      reason: "superseded",
      revokedAt: wholeSeconds(caRevokedAt),
    });
    const crl = await crlEntries(ca.id);
    expect(crl.get(await serialOf(leaf.held!.id))).toEqual({
      reason: "Superseded",
      revokedAt: wholeSeconds(caRevokedAt),
    });
    // The row keeps its hold. The revoked CA's CRL lists every certificate it signed, plain
    // ones with the CA's reason and time, as OCSP answers them (stop 52, REVOCATION F2).
    expect((await row(leaf.held!.id)).revocation_reason).toBe("CERTIFICATE_HOLD");
    expect(crl.get(await serialOf(leaf.plain!.id))).toEqual({
      reason: "Superseded",
      revokedAt: wholeSeconds(caRevokedAt),
    });
    expect((await get(leaf.plain!.id)).status).toBe(S.CERTIFICATE_STATUS_ISSUER_REVOKED);
  });

  it("ListCertificates: REVOKED and ISSUER_REVOKED filters, a row per page, agree with Get", async () => {
    const revoked = ids("kc", "twin", "subkc", "kcearly");
    const issuerRevoked = ids("held", "plain");
    expect(await walk(S.CERTIFICATE_STATUS_REVOKED)).toEqual(revoked);
    expect(await walk(S.CERTIFICATE_STATUS_ISSUER_REVOKED)).toEqual(issuerRevoked);
    expect(await walk(S.CERTIFICATE_STATUS_ACTIVE)).toEqual([]);
    // With a CA filter (one revoked issuer: its own branch of the statement), and the CA below.
    expect(await walk(S.CERTIFICATE_STATUS_REVOKED, ca.id)).toEqual(ids("kc", "twin", "kcearly"));
    expect(await walk(S.CERTIFICATE_STATUS_ISSUER_REVOKED, ca.id)).toEqual(issuerRevoked);
    expect(await walk(S.CERTIFICATE_STATUS_REVOKED, sub.id)).toEqual(ids("subkc"));
    expect(await walk(S.CERTIFICATE_STATUS_ISSUER_REVOKED, sub.id)).toEqual([]);
    // Every row of the unfiltered list shows what Get shows.
    const all = await call(
      h.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 100 }),
    );
    expect(all.certificates.map((c) => c.id).sort()).toEqual([...revoked, ...issuerRevoked].sort());
    for (const c of all.certificates) {
      const shown = await get(c.id);
      expect(c.status).toBe(shown.status);
      expect(c.revocationReason).toBe(shown.revocationReason);
      expect(c.revokeTime?.getTime()).toBe(shown.revokeTime?.getTime());
    }
  });
});
