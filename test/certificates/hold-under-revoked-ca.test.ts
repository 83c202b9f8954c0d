/**
 * A certificate under a revoked CA (RevokeCertificateAuthority of its issuing CA, or of a CA
 * above it) stays revoked for relying parties: ReleaseCertificateHold of a held one is
 * FAILED_PRECONDITION ISSUER_REVOKED and changes nothing (its row, its CA's CRL and revocation
 * count, no HOLD_RELEASED event; the refusal audited), and OCSP answers `revoked` for every
 * certificate of that CA: reason cACompromise when the CA was revoked for keyCompromise or
 * cACompromise, else the CA's own reason, at the CA's revocation time (RFC 6960 2.2, as EJBCA),
 * replacing a cached `good` answer at once. Until stop 43 of 2026-12-06 the release went
 * through and OCSP, signed with the compromised CA key, answered good (an outside probe).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CreateIntermediateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificateStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
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

const HOLD = RevocationReason.REVOCATION_REASON_CERTIFICATE_HOLD;

describe.each(["ca", "delegated"])(
  "holds and OCSP under a revoked CA (CERTMINT_OCSP_RESPONDER=%s)",
  (mode) => {
    let h: TestCertmint;
    let root: CertificateAuthority;
    const tmp = new TempDir();
    let ocspUrl = "";

    beforeAll(async () => {
      const publicationPort = await unusedPort();
      ocspUrl = `http://127.0.0.1:${publicationPort}/ocsp`;
      h = await startTestCertmint({
        CERTMINT_PUBLIC_BASE_URL: `http://127.0.0.1:${publicationPort}`,
        CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}`,
        CERTMINT_OCSP_URL: ocspUrl,
        // Long: only a change of revocation status may change a cached OCSP answer.
        CERTMINT_OCSP_CACHE_SECONDS: "3600",
        CERTMINT_CRL_CACHE_SECONDS: "3600",
        // Delegated: the revoked CA's answers are signed by a responder it certified.
        CERTMINT_OCSP_RESPONDER: mode,
      });
      root = await createRoot(h, "hrc-root");
    });
    afterAll(async () => {
      await h?.stop();
      tmp.remove();
    });

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
    const revokeCa = (ca: string, reason: RevocationReason) =>
      call(h.authorities, "revokeCertificateAuthority", { certificateAuthority: ca, reason });
    const revoke = (certificate: string, reason: RevocationReason) =>
      call(h.certificates, "revokeCertificate", { certificate, reason }).then(
        (r) => r.certificate!,
      );
    const release = (certificate: string) =>
      call(h.certificates, "releaseCertificateHold", { certificate }).then((r) => r.certificate!);
    const newCert = async (profile: string, name: string) =>
      (await issue(h, attrRequest(profile, { cn: name, dns: [name] }))).certificate!;
    const row = async (id: string) =>
      (
        await h.db.query<{ revoked_at: Date | null; revocation_reason: string | null }>(
          "select revoked_at, revocation_reason from certificate where id = $1",
          [id],
        )
      )[0]!;
    const caRow = async (id: string) =>
      (
        await h.db.query<{ revoked_at: Date; revocation_reason: string; revocation_count: string }>(
          "select revoked_at, revocation_reason, revocation_count from certificate_authority where id = $1",
          [id],
        )
      )[0]!;

    /** openssl ocsp about `leafPem`, issued by `issuer`; the response's signature checked. */
    const ocsp = async (
      leafPem: string,
      issuer: CertificateAuthority,
      chain: CertificateAuthority[] = [issuer],
    ) => {
      const args = [
        "ocsp",
        "-issuer",
        tmp.file(`issuer-${issuer.slug}.pem`, issuer.certificatePem),
        "-cert",
        tmp.file("leaf.pem", leafPem),
        "-url",
        ocspUrl,
        "-CAfile",
        tmp.file("root.pem", root.certificatePem),
        "-verify_other",
        tmp.file(`chain-${issuer.slug}.pem`, chain.map((c) => c.certificatePem).join("")),
        "-no_nonce",
        "-resp_text",
      ];
      // A CA created within the responder's issuer reload interval (a second) is not known yet:
      // `unauthorized` until it is.
      let r: RunResult = { code: 1, stdout: "", stderr: "" };
      await waitFor(`the OCSP responder to know ${issuer.slug}`, async () => {
        r = await run("openssl", args);
        return !/unauthorized/.test(r.stdout + r.stderr);
      });
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stderr).toContain("Response verify OK");
      const status = /leaf\.pem: (good|revoked|unknown)/.exec(r.stdout)?.[1];
      const reason = /Reason: (\w+)/.exec(r.stdout)?.[1];
      const time = /Revocation Time: (.+)/.exec(r.stdout)?.[1];
      return { status, reason, revokedAt: time ? new Date(time.trim()) : undefined };
    };
    const wholeSeconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;

    it("issuing CA revoked for keyCompromise: the release is refused, OCSP says cACompromise for every leaf", async () => {
      const ca = await intermediate("hrc-kc", root.id);
      await createProfileRows(h, { caId: ca.id, slug: "hrc-kc" });
      const held = await newCert("hrc-kc", "held.kc.example.com");
      const other = await newCert("hrc-kc", "other.kc.example.com");
      await revoke(held.certificateId, HOLD);
      // Cached before the CA's revocation (an hour): the revocation must replace it at once.
      expect((await ocsp(other.certificatePem, ca)).status).toBe("good");
      expect(await ocsp(held.certificatePem, ca)).toMatchObject({
        status: "revoked",
        reason: "certificateHold",
      });

      await revokeCa(ca.id, RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
      const caRevoked = await caRow(ca.id);
      const heldBefore = await row(held.certificateId);
      const countBefore = caRevoked.revocation_count;

      const err = await expectRpcError(release(held.certificateId));
      expect(err.code).toBe(9); // FAILED_PRECONDITION
      expect(err.reason).toBe("ISSUER_REVOKED");
      expect(err.message).toContain('"hrc-kc"');
      expect(err.preconditions).toEqual([
        {
          type: "CA_STATUS",
          subject: "certificate_authorities/hrc-kc",
          description: `revoked at ${caRevoked.revoked_at.toISOString()} (KEY_COMPROMISE)`,
        },
      ]);
      // Nothing changed: the hold, the CA's count, no release event; the refusal is recorded.
      expect(await row(held.certificateId)).toEqual(heldBefore);
      expect(heldBefore.revocation_reason).toBe("CERTIFICATE_HOLD");
      expect((await caRow(ca.id)).revocation_count).toBe(countBefore);
      const [events] = await h.db.query<{ n: string }>(
        "select count(*) as n from certificate_event where type = 'HOLD_RELEASED' and certificate_id = $1",
        [held.certificateId],
      );
      expect(events!.n).toBe("0");
      const records = await h.db.query<{ status_code: number; error_reason: string }>(
        `select status_code, error_reason from audit_record
        where resource_id = $1 and method = '/certmint.v1.CertificateService/ReleaseCertificateHold'`,
        [held.certificateId],
      );
      expect(records).toEqual([{ status_code: 9, error_reason: "ISSUER_REVOKED" }]);

      // OCSP: both leaves revoked, cACompromise, at the CA's revocation time (the cached good
      // answer about `other` dropped at once).
      for (const leaf of [other, held]) {
        const answer = await ocsp(leaf.certificatePem, ca);
        expect(answer.status).toBe("revoked");
        expect(answer.reason).toBe("cACompromise");
        expect(answer.revokedAt!.getTime()).toBe(wholeSeconds(caRevoked.revoked_at));
      }
      // GetCertificate: the untouched leaf is ISSUER_REVOKED with the time and reason OCSP
      // answers (until stop 45 of 2026-12-06 it showed ACTIVE, its own row alone); the held one
      // too: a hold under a revoked CA can never be released, and OCSP answers the CA's
      // revocation for it (until stop 47 of 2026-12-06 it showed REVOKED, CERTIFICATE_HOLD;
      // test/certificates/stop47-issuer-revoked.test.ts).
      const got = await call(h.certificates, "getCertificate", {
        certificate: other.certificateId,
      });
      expect(got.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ISSUER_REVOKED);
      expect(got.certificate!.revokeTime!.getTime()).toBe(caRevoked.revoked_at.getTime());
      expect(got.certificate!.revocationReason).toBe(
        RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
      );
      const heldNow = await call(h.certificates, "getCertificate", {
        certificate: held.certificateId,
      });
      expect(heldNow.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_ISSUER_REVOKED);
      expect(heldNow.certificate!.revokeTime!.getTime()).toBe(caRevoked.revoked_at.getTime());
      expect(heldNow.certificate!.revocationReason).toBe(
        RevocationReason.REVOCATION_REASON_CA_COMPROMISE,
      );
    });

    it("a CA above the issuer revoked (cACompromise): the release is refused naming that CA; OCSP cACompromise", async () => {
      const upper = await intermediate("hrc-upper", root.id);
      const lower = await intermediate("hrc-lower", upper.id);
      await createProfileRows(h, { caId: lower.id, slug: "hrc-lower" });
      const held = await newCert("hrc-lower", "held.lower.example.com");
      await revoke(held.certificateId, HOLD);
      await revokeCa(upper.id, RevocationReason.REVOCATION_REASON_CA_COMPROMISE);
      const upperRow = await caRow(upper.id);

      const err = await expectRpcError(release(held.certificateId));
      expect(err.code).toBe(9);
      expect(err.reason).toBe("ISSUER_REVOKED");
      expect(err.message).toContain('"hrc-upper"');
      expect(err.message).toContain('"hrc-lower"');
      expect(err.preconditions[0]!.subject).toBe("certificate_authorities/hrc-upper");
      expect((await row(held.certificateId)).revocation_reason).toBe("CERTIFICATE_HOLD");

      const answer = await ocsp(held.certificatePem, lower, [lower, upper]);
      expect(answer.status).toBe("revoked");
      expect(answer.reason).toBe("cACompromise");
      expect(answer.revokedAt!.getTime()).toBe(wholeSeconds(upperRow.revoked_at));
    });

    it("a CA revoked for another reason: its leaves are revoked in OCSP with that reason; an earlier own revocation stands", async () => {
      const ca = await intermediate("hrc-sup", root.id);
      await createProfileRows(h, { caId: ca.id, slug: "hrc-sup" });
      const valid = await newCert("hrc-sup", "valid.sup.example.com");
      const own = await newCert("hrc-sup", "own.sup.example.com");
      const ownRevoked = await revoke(
        own.certificateId,
        RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      );
      expect((await ocsp(valid.certificatePem, ca)).status).toBe("good");

      await revokeCa(ca.id, RevocationReason.REVOCATION_REASON_CESSATION_OF_OPERATION);
      const caRevoked = await caRow(ca.id);
      const answer = await ocsp(valid.certificatePem, ca);
      expect(answer.status).toBe("revoked");
      expect(answer.reason).toBe("cessationOfOperation");
      expect(answer.revokedAt!.getTime()).toBe(wholeSeconds(caRevoked.revoked_at));
      // Revoked on its own before the CA: its own (earlier, more precise) time and reason.
      const ownAnswer = await ocsp(own.certificatePem, ca);
      expect(ownAnswer.status).toBe("revoked");
      expect(ownAnswer.reason).toBe("keyCompromise");
      expect(ownAnswer.revokedAt!.getTime()).toBe(wholeSeconds(ownRevoked.revokeTime!));

      // Its reason raised to keyCompromise later: cACompromise from then on (the cache dropped).
      await revokeCa(ca.id, RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
      const raised = await ocsp(valid.certificatePem, ca);
      expect(raised.reason).toBe("cACompromise");
      expect(raised.revokedAt!.getTime()).toBe(wholeSeconds(caRevoked.revoked_at));
    });

    it("a hold under a CA in good standing is still released (the check is the CA's revocation only)", async () => {
      const ca = await intermediate("hrc-good", root.id);
      await createProfileRows(h, { caId: ca.id, slug: "hrc-good" });
      const held = await newCert("hrc-good", "held.good.example.com");
      await revoke(held.certificateId, HOLD);
      expect((await release(held.certificateId)).status).toBe(
        CertificateStatus.CERTIFICATE_STATUS_ACTIVE,
      );
      expect((await ocsp(held.certificatePem, ca)).status).toBe("good");
    });
  },
);
