/**
 * OCSP about a CA whose own certificate has expired (an outside probe, stop 40 of 2026-12-05):
 * before its end every response's nextUpdate is at most the CA's notAfter, verified by
 * `openssl ocsp`; past it every request is answered `unauthorized` (RFC 6960 2.3), unsigned,
 * with no error-level log line and (with CERTMINT_OCSP_RESPONDER=delegated) no responder
 * certificate made. Before the fix the CA key kept signing `good` answers after its end, and
 * the delegated responder answered `internalError` with an error log line per request.
 *
 * The server's clock (startTestCertmint's `now`) is moved past the CA's end; openssl checks
 * the answers at the real time, which is still within the CA's life.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntermediate, createRoot } from "../ca/helpers";
import { attrRequest } from "../certificates/helpers";
import { MovableClock } from "../renewal/helpers";
import { createProfileRows } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { openssl, opensslOk, type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";

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
  "OCSP about a CA whose certificate expires (CERTMINT_OCSP_RESPONDER=%s)",
  (mode) => {
    const clock = new MovableClock();
    const tmp = new TempDir();
    let h: TestCertmint;
    let url = "";
    let rootFile = "";
    let interFile = "";
    let leafFile = "";
    let interId = "";
    let interEnd = new Date(0);

    beforeAll(async () => {
      const port = await unusedPort();
      url = `http://127.0.0.1:${port}/ocsp`;
      h = await startTestCertmint(
        {
          CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
          CERTMINT_OCSP_RESPONDER: mode,
          // Longer than the intermediate has left: its end bounds every nextUpdate.
          CERTMINT_OCSP_VALIDITY_SECONDS: "7200",
          CERTMINT_OCSP_CACHE_SECONDS: "3600",
        },
        { now: clock.now },
      );
      const root = await createRoot(h, `expiring-root-${mode}`);
      const inter = await createIntermediate(h, `expiring-inter-${mode}`, root.id, {
        ttlSeconds: 3600,
      });
      interId = inter.id;
      interEnd = notAfterOf(inter.certificatePem);
      rootFile = tmp.file("root.pem", root.certificatePem);
      interFile = tmp.file("inter.pem", inter.certificatePem);
      await createProfileRows(h, { slug: "web", caId: inter.id });
      const cn = `${mode}.example.com`;
      const res = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web", { cn, dns: [cn], ttlSeconds: 600 }),
      );
      leafFile = tmp.file("leaf.pem", res.certificate!.certificatePem);
    });
    afterAll(async () => {
      await h?.stop();
      tmp.remove();
    });

    /** `openssl ocsp` against the responder, verifying with the root as trust anchor. */
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

    /** The response status openssl reads from a DER OCSPResponse (no verification). */
    const responseStatus = (der: Buffer) => {
      const r = openssl(["ocsp", "-respin", tmp.file("resp.der", der), "-resp_text", "-noverify"]);
      const text = r.stdout + r.stderr;
      return (/Responder Error: (\w+)/.exec(text) ?? /OCSP Response Status: (\w+)/.exec(text))?.[1];
    };
    const post = async (body: Buffer) => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body,
      });
      expect(res.status).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const request = (nonce: boolean) => {
      const out = tmp.out(`req-${nonce}.der`);
      const args = ["ocsp", "-issuer", interFile, "-cert", leafFile, "-reqout", out];
      opensslOk(nonce ? args : [...args, "-no_nonce"]);
      return readFileSync(out);
    };
    const errorLines = () => h.logs.filter((l) => Number(l.level) >= 50);
    const responderRows = async () =>
      Number(
        (
          await h.db.query<{ n: string }>(
            "select count(*) as n from ocsp_responder_certificate where ca_id = $1",
            [interId],
          )
        )[0]!.n,
      );

    it("before the CA's end: a verified answer whose nextUpdate is the CA's notAfter, not later", async () => {
      // CERTMINT_OCSP_VALIDITY_SECONDS would put it two hours ahead, past the CA's end.
      expect(interEnd.getTime() - clock.now().getTime()).toBeLessThan(7200_000);
      for (const extra of [["-no_nonce"], []]) {
        const r = await ask(extra);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain("Response verify OK");
        expect(r.stdout).toContain(`${leafFile}: good`);
        const next = /Next Update: (.+)/.exec(r.stdout)?.[1];
        expect(next, r.stdout).toBeDefined();
        expect(new Date(next!).getTime()).toBe(interEnd.getTime());
      }
    });

    it("ten minutes before the CA's end: still verified answers up to its notAfter, from the responder made first", async () => {
      const rowsBefore = await responderRows();
      // Past half of what the CA had left when its responder was made (a responder valid
      // until the CA's end cannot be replaced by one that lasts longer).
      clock.advance(Math.floor((interEnd.getTime() - clock.now().getTime()) / 1000) - 600);
      // openssl compares thisUpdate with the real time, now ~50 minutes behind the server's.
      const r = await ask(["-validity_period", "7200"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("Response verify OK");
      expect(r.stdout).toContain(`${leafFile}: good`);
      const next = /Next Update: (.+)/.exec(r.stdout)?.[1];
      expect(new Date(next!).getTime()).toBe(interEnd.getTime());
      expect(await responderRows()).toBe(rowsBefore);
    });

    it("past the CA's end: `unauthorized` every time, no error log line, nothing certified", async () => {
      const rowsBefore = await responderRows();
      const errorsBefore = errorLines().length;
      // The server's clock passes the intermediate's notAfter (the root is still valid).
      clock.advance(Math.ceil((interEnd.getTime() - clock.now().getTime()) / 1000) + 60);
      expect(clock.now().getTime()).toBeGreaterThan(interEnd.getTime());

      for (let i = 0; i < 4; i++) {
        for (const nonce of [false, true]) {
          expect(responseStatus(await post(request(nonce)))).toBe("unauthorized");
        }
      }
      // As a client sees it: an OCSP error status (6), no signed answer about the certificate.
      const r = await ask(["-no_nonce"]);
      expect(r.stdout + r.stderr).toMatch(/Responder Error: unauthorized \(6\)/);
      expect(r.stdout).not.toContain(`${leafFile}: good`);

      expect(
        errorLines()
          .slice(errorsBefore)
          .map((l) => l.msg),
      ).toEqual([]);
      expect(await responderRows()).toBe(rowsBefore);
    });
  },
);
