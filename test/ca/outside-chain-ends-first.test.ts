/**
 * CRLs and OCSP of an external intermediate whose outside chain ends before it (a review of stop
 * 40's diff): nothing the intermediate signs validates past the outside root's end (RFC 5280
 * 6.1.3 (a)(2)), so no CRL's nextUpdate (5.1.2.5) and no OCSP response's nextUpdate (RFC 6960
 * 4.2.2.1) promises anything later, and no delegated responder outlives it. Until stop 41 of
 * 2026-12-06 they were capped at the intermediate's own notAfter only: here a CRL promised its
 * successor two days ahead, a day after the root's end, and past the root's end OCSP still
 * signed `good`.
 *
 * The server's clock (startTestCertmint's `now`) is moved past the root's end for the last
 * case; openssl checks at the real time.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attrRequest } from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { crlFields, type RunResult } from "../support/openssl";
import { unusedPort } from "../support/ports";
import {
  CA_EXTENSIONS,
  openssl,
  opensslOk,
  opensslRoot,
  opensslSign,
  SignatureAlgorithm,
  subject,
  TempDir,
} from "./helpers";

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

const notAfterOf = (pem: string) => new Date(new X509Certificate(pem).validTo);

describe.each(["ca", "delegated"] as const)(
  "an external intermediate whose outside root ends first (CERTMINT_OCSP_RESPONDER=%s)",
  (mode) => {
    const clock = new MovableClock();
    const tmp = new TempDir();
    let h: TestCertmint;
    let url = "";
    let rootFile = "";
    let interFile = "";
    let interPem = "";
    let leafFile = "";
    let interId = "";
    let rootEnd = new Date(0);

    beforeAll(async () => {
      const port = await unusedPort();
      url = `http://127.0.0.1:${port}/ocsp`;
      h = await startTestCertmint(
        {
          CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
          CERTMINT_OCSP_RESPONDER: mode,
          // Both longer than the outside root has left (a day).
          CERTMINT_CRL_VALIDITY_SECONDS: String(2 * 86_400),
          CERTMINT_OCSP_VALIDITY_SECONDS: String(2 * 86_400),
        },
        { now: clock.now },
      );
      const root = opensslRoot(tmp, { cn: "One Day Outside Root", days: 1 });
      rootEnd = notAfterOf(root.pem);
      rootFile = tmp.file("root.pem", root.pem);
      const created = await call(h.authorities, "createExternalIntermediateCertificateAuthority", {
        slug: `outlives-${mode}`,
        description: "signed outside",
        subject: subject(`Outlives ${mode}`, ["certmint tests", "external"]),
        keyAlgorithm: 0,
        signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
      });
      const imported = await call(h.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: `outlives-${mode}`,
        certificatePem: opensslSign(tmp, created.csrPem, root, CA_EXTENSIONS, 700),
        certificateChainPem: [root.pem],
      });
      interId = imported.certificateAuthority!.id;
      interPem = imported.certificateAuthority!.certificatePem;
      interFile = tmp.file("inter.pem", interPem);
      // The intermediate itself lasts far longer than its root.
      expect(notAfterOf(interPem).getTime() - rootEnd.getTime()).toBeGreaterThan(600 * 86_400_000);
      await createProfileRows(h, { slug: "web", caId: interId });
      const cn = `${mode}.example.com`;
      const res = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web", { cn, dns: [cn], ttlSeconds: 3600 }),
      );
      leafFile = tmp.file("leaf.pem", res.certificate!.certificatePem);
    });
    afterAll(async () => {
      await h?.stop();
      tmp.remove();
    });

    const ask = (extra: string[] = []) =>
      run("openssl", [
        "ocsp",
        "-issuer",
        interFile,
        "-cert",
        leafFile,
        "-url",
        url,
        "-CAfile",
        rootFile,
        "-verify_other",
        interFile,
        "-resp_text",
        ...extra,
      ]);

    it("the CRL's nextUpdate is the root's end, not two days ahead", async () => {
      const crl = await call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: interId,
        encoding: 0,
        knownCrlNumber: "",
      });
      const fields = crlFields(tmp, crl.crlPem);
      expect(fields.next.getTime()).toBe(rootEnd.getTime());
      expect(fields.last.getTime()).toBeLessThan(rootEnd.getTime());
      const v = openssl([
        "crl",
        "-noout",
        "-in",
        tmp.file("c.crl", crl.crlPem),
        "-CAfile",
        interFile,
        "-verify",
      ]);
      expect(v.stdout + v.stderr).toMatch(/verify OK/);
    });

    it("OCSP answers verify, with nextUpdate the root's end; a delegated responder ends with it", async () => {
      const r = await ask(["-no_nonce"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("Response verify OK");
      expect(r.stdout).toContain(`${leafFile}: good`);
      const next = /Next Update: (.+)/.exec(r.stdout)?.[1];
      expect(next, r.stdout).toBeDefined();
      expect(new Date(next!).getTime()).toBe(rootEnd.getTime());
      if (mode === "delegated") {
        const [row] = await h.db.query<{ not_after: Date }>(
          "select not_after from ocsp_responder_certificate where ca_id = $1",
          [interId],
        );
        expect(row!.not_after.getTime()).toBeLessThanOrEqual(rootEnd.getTime());
      }
    });

    it("past the root's end OCSP is `unauthorized`: the intermediate signs no more answers", async () => {
      clock.advance(Math.ceil((rootEnd.getTime() - clock.now().getTime()) / 1000) + 60);
      const out = tmp.out("req.der");
      opensslOk(["ocsp", "-issuer", interFile, "-cert", leafFile, "-reqout", out]);
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: readFileSync(out),
      });
      expect(res.status).toBe(200);
      const answer = openssl([
        "ocsp",
        "-respin",
        tmp.file("resp.der", Buffer.from(await res.arrayBuffer())),
        "-resp_text",
        "-noverify",
      ]);
      expect(answer.stdout + answer.stderr).toMatch(/unauthorized/);
    });
  },
);
