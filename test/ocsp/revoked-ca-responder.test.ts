/**
 * A revoked CA, or a CA below a revoked one, signs no new certificate, and a delegated OCSP
 * responder certificate is one (CERTMINT_OCSP_RESPONDER=delegated, ocsp-delegate.ts): its
 * leaves are answered `revoked` (cACompromise, or the CA's reason), signed by the responder it
 * certified before its revocation while that is in the first half of its life, then by the CA
 * key itself (RFC 6960 4.2.2.2), and no row is added to ocsp_responder_certificate for it.
 * Until stop 44 of 2026-12-06 the revoked CA's key certified a fresh responder once the current
 * one reached half its life (and for a CA first asked about after the revocation, at once).
 *
 * The server's clock (startTestCertmint's `now`) is moved past a responder's half-life;
 * openssl checks the answers at the real time (-validity_period allows the difference).
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { createIntermediate, createRoot } from "../ca/helpers";
import { attrRequest } from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { waitFor } from "../support/wait";

/** Runs a command without blocking (the server under test answers in this process). */
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

const DAY = 86_400;

describe("OCSP of a revoked CA with delegated responders", () => {
  const clock = new MovableClock();
  const tmp = new TempDir();
  let h: TestCertmint;
  let url = "";
  let root: CertificateAuthority;

  beforeAll(async () => {
    const port = await unusedPort();
    url = `http://127.0.0.1:${port}/ocsp`;
    h = await startTestCertmint(
      {
        CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
        CERTMINT_OCSP_RESPONDER: "delegated",
        CERTMINT_OCSP_CACHE_SECONDS: "3600",
      },
      { now: clock.now },
    );
    root = await createRoot(h, "rcr-root");
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const leafOf = async (ca: CertificateAuthority, name: string) => {
    await createProfileRows(h, { slug: `${ca.slug}-web`, caId: ca.id });
    const res = await call(
      h.certificates,
      "issueCertificate",
      attrRequest(`${ca.slug}-web`, { cn: name, dns: [name], ttlSeconds: 30 * DAY }),
    );
    return res.certificate!.certificatePem;
  };
  const revokeCa = (ca: CertificateAuthority, reason: RevocationReason) =>
    call(h.authorities, "revokeCertificateAuthority", { certificateAuthority: ca.id, reason });
  const responderRows = async (ca: CertificateAuthority) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from ocsp_responder_certificate where ca_id = $1",
          [ca.id],
        )
      )[0]!.n,
    );

  /**
   * `openssl ocsp` (with a nonce: signed for this request) about `leafPem` from `issuer`, the
   * response's signature verified against the issuer's certificate up to the root.
   */
  const ask = async (
    leafPem: string,
    issuer: CertificateAuthority,
    above: CertificateAuthority[],
  ) => {
    const leafFile = tmp.file(`leaf-${issuer.slug}.pem`, leafPem);
    const args = [
      "ocsp",
      "-issuer",
      tmp.file(`issuer-${issuer.slug}.pem`, issuer.certificatePem),
      "-cert",
      leafFile,
      "-url",
      url,
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      "-verify_other",
      tmp.file(
        `chain-${issuer.slug}.pem`,
        [issuer, ...above].map((c) => c.certificatePem).join(""),
      ),
      "-validity_period",
      String(30 * DAY),
      "-resp_text",
    ];
    let r: RunResult = { code: 1, stdout: "", stderr: "" };
    // A CA created within the responder's issuer reload interval (a second) is not known yet.
    await waitFor(`the OCSP responder to know ${issuer.slug}`, async () => {
      r = await run("openssl", args);
      return !/unauthorized/.test(r.stdout + r.stderr);
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    return {
      status: new RegExp(`${leafFile}: (good|revoked|unknown)`).exec(r.stdout)?.[1],
      reason: /Reason: (\w+)/.exec(r.stdout)?.[1],
      // A delegated responder's certificate travels in the response; the CA's own does not.
      carriesResponder: /OCSP responder/.test(r.stdout),
    };
  };

  // First: CAs made at the real time (openssl checks their validity at it), before the clock moves.
  it("a CA above the issuer revoked: the issuer, first asked about after it, certifies no responder", async () => {
    const mid = await createIntermediate(h, "rcr-mid", root.id);
    const issuing = await createIntermediate(h, "rcr-below", mid.id);
    const leaf = await leafOf(issuing, "b.rcr.example.com");
    await revokeCa(mid, RevocationReason.REVOCATION_REASON_SUPERSEDED);
    for (let i = 0; i < 3; i++) {
      expect(await ask(leaf, issuing, [mid])).toEqual({
        status: "revoked",
        reason: "superseded",
        carriesResponder: false,
      });
    }
    expect(await responderRows(issuing)).toBe(0);
    expect(await responderRows(mid)).toBe(0);

    // A CA in good standing still gets its delegated responder.
    const fine = await createIntermediate(h, "rcr-fine", root.id);
    const fineLeaf = await leafOf(fine, "c.rcr.example.com");
    expect(await ask(fineLeaf, fine, [])).toEqual({
      status: "good",
      reason: undefined,
      carriesResponder: true,
    });
    expect(await responderRows(fine)).toBe(1);
  });

  it("the issuing CA revoked: its responder signs until its half-life, then the CA key; no new responder", async () => {
    const ca = await createIntermediate(h, "rcr-issuing", root.id);
    const leaf = await leafOf(ca, "a.rcr.example.com");
    expect(await ask(leaf, ca, [])).toEqual({
      status: "good",
      reason: undefined,
      carriesResponder: true,
    });
    expect(await responderRows(ca)).toBe(1);

    await revokeCa(ca, RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    // The responder certified before the revocation, still in the first half of its life.
    expect(await ask(leaf, ca, [])).toEqual({
      status: "revoked",
      reason: "cACompromise",
      carriesResponder: true,
    });
    expect(await responderRows(ca)).toBe(1);

    // Past half the responder's week: it would be replaced; a revoked CA certifies none.
    clock.advance(4 * DAY);
    for (let i = 0; i < 3; i++) {
      expect(await ask(leaf, ca, [])).toEqual({
        status: "revoked",
        reason: "cACompromise",
        carriesResponder: false,
      });
    }
    expect(await responderRows(ca)).toBe(1);
  });
});
