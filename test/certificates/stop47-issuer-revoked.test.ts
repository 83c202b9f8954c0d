/**
 * One answer about a certificate whose issuing CA was revoked (an outside probe, S F3 of stop
 * 45): GetCertificate, ListCertificates (rows and status filter) and `certmint cert get` answer
 * what OCSP answers (ca/ocsp.ts underRevokedCa, RFC 6960 2.2):
 *  - a hold placed before the CA's revocation is ISSUER_REVOKED, with the CA's time and
 *    cACompromise (it can never be released), not a releasable CERTIFICATE_HOLD;
 *  - a certificate revoked for good on its own before the CA keeps its own time and reason;
 *  - RevokeCertificate of one under the revoked CA with another reason than keyCompromise
 *    (made final hold included) is FAILED_PRECONDITION ISSUER_REVOKED, naming the CA and its
 *    time, and changes nothing; keyCompromise is recorded (it blocks the key) and shows
 *    REVOKED keyCompromise at its own time in OCSP, Get, List and the CRL (its own
 *    keyCompromise always stands: stop47-own-key-compromise.test.ts);
 *  - the profile's valid-certificate count (DeleteCertificateProfile) and the expiry metrics
 *    count none of them.
 * Until stop 47 of 2026-12-06 the hold and the later revocation showed REVOKED with their own
 * time and reason while OCSP answered cACompromise, the later revocation was accepted, and the
 * count and the metrics still counted them as valid. Updated within stop 47 (helper G, probe S F3
 * of stop 47): test 4 expected the keyCompromise recorded after the CA to show the CA's
 * revocation (ISSUER_REVOKED, cACompromise at the CA's time) in the answer and in OCSP, and
 * test 5 listed it under ISSUER_REVOKED, while the CA's CRL listed it as keyCompromise at its
 * own time; test 5 also expected the CA's CRL to list the hold as certificateHold, while OCSP
 * answered cACompromise at the CA's time: it now lists it so.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CreateIntermediateCertificateAuthorityRequest,
  GetCertificateRevocationListRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { DeleteCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateStatus,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { type CliSession, cliSession, ok } from "../cli/cli";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { expectRpcError } from "../support/harness";
import { type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  issue,
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
const ISSUER_REVOKED = CertificateStatus.CERTIFICATE_STATUS_ISSUER_REVOKED;
const REVOKED = CertificateStatus.CERTIFICATE_STATUS_REVOKED;
const DAY = 86_400;

describe("a certificate under a revoked CA: one answer (Get, List, CLI, OCSP, CRL, counts)", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  let ca: CertificateAuthority;
  let cli: CliSession;
  const tmp = new TempDir();
  let ocspUrl = "";
  let metricsBase = "";
  const leaf: Record<string, { id: string; pem: string }> = {};
  let caRevokedAt: Date;
  let earlyRevokedAt: Date;

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

  /** openssl ocsp about a leaf of `ca`, the response's signature checked. */
  const ocsp = async (pem: string) => {
    const args = [
      "ocsp",
      "-issuer",
      tmp.file("issuer.pem", ca.certificatePem),
      "-cert",
      tmp.file("leaf.pem", pem),
      "-url",
      ocspUrl,
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-verify_other",
      tmp.file("chain.pem", ca.certificatePem),
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
    return {
      status: /leaf\.pem: (good|revoked|unknown)/.exec(r.stdout)?.[1],
      reason: /Reason: (\w+)/.exec(r.stdout)?.[1],
      revokedAt: /Revocation Time: (.+)/.exec(r.stdout)?.[1]?.trim(),
    };
  };
  const ocspTime = (t: string | undefined) => (t ? new Date(t).getTime() : undefined);

  /** The CA's CRL entries (serial -> reason), as `openssl crl -text` reads them. */
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
    const out = new Map<string, string>();
    for (const m of r.stdout.matchAll(
      /Serial Number: ([0-9A-F]+)[\s\S]*?CRL Reason Code:\s*\n\s*(.+)/g,
    )) {
      out.set(m[1]!.toLowerCase().replace(/^0+/, ""), m[2]!.trim());
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

  const expiring30d = async () => {
    const res = await fetch(`${metricsBase}/metrics`);
    expect(res.status).toBe(200);
    return sampleValue(parseExposition(await res.text()), "certmint_certificates_expiring", {
      profile: "s47",
      within: "30d",
    });
  };

  beforeAll(async () => {
    const publicationPort = await unusedPort();
    ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
    h = await startTestCertmint(
      {
        CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
        CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
        CERTMINT_OCSP_URL: ocspUrl,
        CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
      },
      { metricsExpiringRefreshMs: 0, metricsExpiringWaitMs: 600_000 },
    );
    metricsBase = `http://127.0.0.1:${h.running.metricsPort}`;
    cli = cliSession(h.address, h.dataDir);
    root = await createRoot(h, "s47-root");
    ca = (
      await call(
        h.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug: "s47-ca",
          parentCertificateAuthority: root.id,
          subject: { commonName: "s47 CA" },
        }),
      )
    ).certificateAuthority!;
    await createProfileRows(h, { caId: ca.id, slug: "s47" });
    for (const name of ["held", "early", "plain", "later", "kc", "heldkc"]) {
      const c = (
        await issue(
          h,
          attrRequest("s47", {
            cn: `${name}.s47.example.com`,
            dns: [`${name}.s47.example.com`],
            ttlSeconds: 20 * DAY,
          }),
        )
      ).certificate!;
      leaf[name] = { id: c.certificateId, pem: c.certificatePem };
    }
    earlyRevokedAt = (await revoke(leaf.early!.id, R.REVOCATION_REASON_SUPERSEDED)).revokeTime!;
    await revoke(leaf.held!.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    await revoke(leaf.heldkc!.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    // Valid, expiring within 30 days: plain, later and kc.
    expect(await expiring30d()).toBe(3);
    await call(h.authorities, "revokeCertificateAuthority", {
      certificateAuthority: ca.id,
      reason: R.REVOCATION_REASON_KEY_COMPROMISE,
    });
    caRevokedAt = (
      await h.db.query<{ revoked_at: Date }>(
        "select revoked_at from certificate_authority where id = $1",
        [ca.id],
      )
    )[0]!.revoked_at;
  }, 120_000);
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
    tmp.remove();
  });

  it("a hold placed before the CA's revocation shows ISSUER_REVOKED with the CA's time and cACompromise, as OCSP answers", async () => {
    const shown = await get(leaf.held!.id);
    expect(shown.status).toBe(ISSUER_REVOKED);
    expect(shown.revokeTime!.getTime()).toBe(caRevokedAt.getTime());
    expect(shown.revocationReason).toBe(R.REVOCATION_REASON_CA_COMPROMISE);
    const answer = await ocsp(leaf.held!.pem);
    expect(answer).toMatchObject({ status: "revoked", reason: "cACompromise" });
    expect(ocspTime(answer.revokedAt)).toBe(wholeSeconds(caRevokedAt));
    // Its own row keeps the hold; it is shown (and, since helper G of stop 47, listed on the
    // CA's CRL) as OCSP answers.
    expect((await row(leaf.held!.id)).revocation_reason).toBe("CERTIFICATE_HOLD");
    // The CLI shows the same.
    const text = ok(await cli.run(["cert", "get", leaf.held!.id])).stdout;
    expect(text).toMatch(/^status: +issuer-revoked$/m);
    expect(text).toContain("(ca-compromise, of a CA on its path)");
  });

  it("a certificate revoked for good before its CA keeps its own time and reason, as OCSP answers", async () => {
    const shown = await get(leaf.early!.id);
    expect(shown.status).toBe(REVOKED);
    expect(shown.revocationReason).toBe(R.REVOCATION_REASON_SUPERSEDED);
    expect(shown.revokeTime!.getTime()).toBe(earlyRevokedAt.getTime());
    const answer = await ocsp(leaf.early!.pem);
    expect(answer).toMatchObject({ status: "revoked", reason: "superseded" });
    expect(ocspTime(answer.revokedAt)).toBe(wholeSeconds(earlyRevokedAt));
  });

  it("a weaker revocation after the CA's is refused ISSUER_REVOKED, naming the CA and its time, and changes nothing", async () => {
    for (const [name, reason] of [
      ["later", R.REVOCATION_REASON_SUPERSEDED],
      ["later", R.REVOCATION_REASON_CERTIFICATE_HOLD],
      ["later", R.REVOCATION_REASON_UNSPECIFIED],
      // A hold made final (at the hold's earlier time) would replace the CA's answer in OCSP.
      ["held", R.REVOCATION_REASON_CESSATION_OF_OPERATION],
      ["held", R.REVOCATION_REASON_UNSPECIFIED],
    ] as const) {
      const before = await row(leaf[name]!.id);
      const err = await expectRpcError(revoke(leaf[name]!.id, reason));
      expect(err.code, `${name} ${reason}`).toBe(9); // FAILED_PRECONDITION
      expect(err.reason).toBe("ISSUER_REVOKED");
      expect(err.message).toContain('"s47-ca"');
      expect(err.message).toContain(caRevokedAt.toISOString());
      expect(err.message).toContain("KEY_COMPROMISE");
      expect(err.preconditions[0]).toEqual({
        type: "CA_STATUS",
        subject: "certificate_authorities/s47-ca",
        description: `revoked at ${caRevokedAt.toISOString()} (KEY_COMPROMISE)`,
      });
      expect(await row(leaf[name]!.id)).toEqual(before);
    }
    const shown = await get(leaf.later!.id);
    expect(shown.status).toBe(ISSUER_REVOKED);
    expect(shown.revokeTime!.getTime()).toBe(caRevokedAt.getTime());
    const answer = await ocsp(leaf.later!.pem);
    expect(answer).toMatchObject({ status: "revoked", reason: "cACompromise" });
    expect(ocspTime(answer.revokedAt)).toBe(wholeSeconds(caRevokedAt));
    // Revoking one revoked for good before the CA again still answers OK, changing nothing.
    expect((await revoke(leaf.early!.id, R.REVOCATION_REASON_SUPERSEDED)).status).toBe(REVOKED);
  });

  it("keyCompromise after the CA's revocation is recorded (its key blocked) and shows as its own, no later than the CA's", async () => {
    const answered = await revoke(leaf.kc!.id, R.REVOCATION_REASON_KEY_COMPROMISE);
    const stored = await row(leaf.kc!.id);
    expect(stored.revocation_reason).toBe("KEY_COMPROMISE");
    expect(stored.revoked_at!.getTime()).toBeGreaterThan(caRevokedAt.getTime());
    // Until helper G of stop 47: ISSUER_REVOKED, cACompromise at the CA's time (here and in
    // OCSP below), while the CA's CRL listed keyCompromise at its own time. Until stop 58: its
    // own reason at its own, later time, which told relying parties less than the CA's
    // revocation had (ocsp.ts noLaterThanCa): now its own reason at the CA's time.
    expect(answered.status).toBe(REVOKED);
    expect(answered.revokeTime!.getTime()).toBe(caRevokedAt.getTime());
    expect(answered.revocationReason).toBe(R.REVOCATION_REASON_KEY_COMPROMISE);
    const [blocked] = await h.db.query<{ n: string }>(
      `select count(*) as n from blocked_key b join certificate c on c.spki_sha256 = b.spki_sha256 where c.id = $1`,
      [leaf.kc!.id],
    );
    expect(blocked!.n).toBe("1");
    const answer = await ocsp(leaf.kc!.pem);
    expect(answer).toMatchObject({ status: "revoked", reason: "keyCompromise" });
    expect(ocspTime(answer.revokedAt)).toBe(wholeSeconds(caRevokedAt));

    // A hold made final for keyCompromise takes the hold's (earlier) time: OCSP then answers
    // keyCompromise at that time, and so does Get.
    const heldKc = await revoke(leaf.heldkc!.id, R.REVOCATION_REASON_KEY_COMPROMISE);
    const heldRow = await row(leaf.heldkc!.id);
    expect(heldRow.revocation_reason).toBe("KEY_COMPROMISE");
    expect(heldKc.status).toBe(REVOKED);
    expect(heldKc.revokeTime!.getTime()).toBe(heldRow.revoked_at!.getTime());
    const heldAnswer = await ocsp(leaf.heldkc!.pem);
    expect(heldAnswer).toMatchObject({ status: "revoked", reason: "keyCompromise" });
    expect(ocspTime(heldAnswer.revokedAt)).toBe(wholeSeconds(heldRow.revoked_at!));
  });

  it("ListCertificates' rows and status filters agree with Get; the CRLs say what they said", async () => {
    const list = async (status: CertificateStatus) =>
      (
        await call(
          h.certificates,
          "listCertificates",
          ListCertificatesRequest.fromPartial({ certificateProfile: "s47", status, pageSize: 100 }),
        )
      ).certificates;
    const byStatus = async (status: CertificateStatus) =>
      (await list(status)).map((c) => c.id).sort();
    // kc (keyCompromise after the CA) was under ISSUER_REVOKED until helper G of stop 47.
    expect(await byStatus(REVOKED)).toEqual([leaf.early!.id, leaf.heldkc!.id, leaf.kc!.id].sort());
    expect(await byStatus(ISSUER_REVOKED)).toEqual(
      [leaf.held!.id, leaf.plain!.id, leaf.later!.id].sort(),
    );
    expect(await byStatus(CertificateStatus.CERTIFICATE_STATUS_ACTIVE)).toEqual([]);
    // Also with the CA filter (its own branch of the statement).
    const withCa = await call(
      h.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        certificateAuthority: ca.id,
        status: ISSUER_REVOKED,
        pageSize: 100,
      }),
    );
    expect(withCa.certificates.map((c) => c.id).sort()).toEqual(
      [leaf.held!.id, leaf.plain!.id, leaf.later!.id].sort(),
    );
    for (const c of await list(CertificateStatus.CERTIFICATE_STATUS_UNSPECIFIED)) {
      expect(c.status).toBe((await get(c.id)).status);
    }
    // The CA is on its parent's CRL (what relying parties that check the chain refuse it by);
    // its own CRL lists every leaf as OCSP answers it. The hold is listed with the CA's reason
    // (cACompromise, OCSP's answer); until helper G of stop 47 it was listed as
    // certificateHold. A leaf whose own revocation was refused is listed with the CA's reason
    // too, as OCSP answers it: until stop 52 it was left off, and `openssl verify -crl_check`
    // of the leaf alone accepted it (an outside probe, REVOCATION F2).
    const rootCrl = await crlEntries(root.id);
    expect(rootCrl.get(ca.serialNumber.toLowerCase().replace(/^0+/, ""))).toBe("Key Compromise");
    const caCrl = await crlEntries(ca.id);
    expect(caCrl.get(await serialOf(leaf.early!.id))).toBe("Superseded");
    expect(caCrl.get(await serialOf(leaf.held!.id))).toBe("CA Compromise");
    expect(caCrl.get(await serialOf(leaf.kc!.id))).toBe("Key Compromise");
    expect(caCrl.get(await serialOf(leaf.later!.id))).toBe("CA Compromise");
  });

  it("the expiry metrics and the profile's valid-certificate count leave them out", async () => {
    expect((await expiring30d()) ?? 0).toBe(0);
    // No valid certificate is left on the profile: it is deleted without force.
    await call(
      h.profiles,
      "deleteCertificateProfile",
      DeleteCertificateProfileRequest.fromPartial({ certificateProfile: "s47" }),
    );
  });
});
