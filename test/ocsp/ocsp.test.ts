/**
 * The OCSP responder (RFC 6960) on the publication server: issued certificates name it in
 * their AIA; `openssl ocsp` and pyca/cryptography (a second implementation) get good, revoked
 * (time and reason) and unknown answers signed by the issuing CA; nonces are echoed (RFC 8954
 * limits); responses without a nonce are cached, and a revocation replaces them at once;
 * malformed and tampered requests are answered with OCSP error statuses.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { withOcspExtension } from "../support/ocsp-request";
import { openssl, opensslOk, type RunResult, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";

/**
 * Runs a command without blocking: the server under test answers in this process, so a
 * synchronous spawn of a client that calls it would never return.
 */
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

const PYTHON = join(__dirname, "..", "..", ".tools", "venv", "bin", "python");

describe("OCSP responder", () => {
  let h: TestCertmint;
  let url = "";
  const tmp = new TempDir();
  let caFile = "";
  const leaves: Record<string, { pem: string; file: string; id: string; serial: string }> = {};

  beforeAll(async () => {
    const port = await unusedPort();
    const base = `http://127.0.0.1:${port}`;
    url = `${base}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLIC_BASE_URL: base,
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_OCSP_URL: url,
      // Long: only a revocation may make a cached response change.
      CERTMINT_OCSP_CACHE_SECONDS: "3600",
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
    const root = await createRoot(h, "ocsp-root");
    caFile = tmp.file("ca.pem", root.certificatePem);
    await createProfileRows(h, { slug: "web", caId: root.id });
    for (const name of ["good", "revoked", "cached", "py", "upgraded"]) {
      const cn = `${name}.example.com`;
      const res = await call(
        h.certificates,
        "issueCertificate",
        attrRequest("web", { cn, dns: [cn] }),
      );
      const c = res.certificate!;
      leaves[name] = {
        pem: c.certificatePem,
        file: tmp.file(`${name}.pem`, c.certificatePem),
        id: c.certificateId,
        serial: c.serialNumber,
      };
    }
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  /** `openssl ocsp` against the responder, verifying the response with the CA as trust anchor. */
  const ask = (leaf: string, extra: string[] = []) =>
    run("openssl", [
      "ocsp",
      "-issuer",
      caFile,
      "-cert",
      leaves[leaf]!.file,
      "-url",
      url,
      "-CAfile",
      caFile,
      "-resp_text",
      ...extra,
    ]);
  /** The response status openssl reads from a DER OCSPResponse. */
  const responseStatus = (der: Buffer) => {
    // A successful response prints its status; an error status is "Responder Error: ...".
    const r = openssl(["ocsp", "-respin", tmp.file("resp.der", der), "-resp_text", "-noverify"]);
    const text = r.stdout + r.stderr;
    return (/OCSP Response Status: (\w+)/.exec(text) ?? /Responder Error: (\w+)/.exec(text))?.[1];
  };
  const post = async (body: Uint8Array) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/ocsp-response");
    return Buffer.from(await res.arrayBuffer());
  };
  const requestFor = (leaf: string, extra: string[] = []) => {
    const out = tmp.out("req.der");
    opensslOk(["ocsp", "-issuer", caFile, "-cert", leaves[leaf]!.file, "-reqout", out, ...extra]);
    return readFileSync(out);
  };

  it("issued certificates carry the OCSP URL in their AIA", () => {
    const text = opensslOk(["x509", "-noout", "-text"], leaves.good!.pem);
    expect(text).toMatch(new RegExp(`OCSP - URI:${url.replace(/[/.]/g, "\\$&")}`));
    expect(text).toContain("CA Issuers - URI:");
  });

  it("answers good, signed by the issuing CA, with a nonce and thisUpdate/nextUpdate", async () => {
    const r = await ask("good");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    expect(r.stdout).toContain(`${leaves.good!.file}: good`);
    expect(r.stdout).toContain("OCSP Response Status: successful (0x0)");
    expect(r.stdout).toMatch(/OCSP Nonce:/);
    expect(r.stdout).toMatch(/This Update: .+\n\s+Next Update: .+/);
    expect(r.stdout).toMatch(/Responder Id: [0-9A-F]{40}/);
  });

  it("answers revoked with the time and reason, at once after the revocation (no stale cache)", async () => {
    // A response without a nonce is cached for an hour...
    const before = await ask("revoked", ["-no_nonce"]);
    expect(before.stdout).toContain(`${leaves.revoked!.file}: good`);
    const revoked = await call(h.certificates, "revokeCertificate", {
      certificate: leaves.revoked!.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    // ...but a revocation replaces it.
    const after = await ask("revoked", ["-no_nonce"]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toContain("Response verify OK");
    expect(after.stdout).toContain(`${leaves.revoked!.file}: revoked`);
    expect(after.stdout).toContain("Reason: keyCompromise");
    const at = /Revocation Time: (.+)/.exec(after.stdout)?.[1];
    expect(new Date(at!).getTime()).toBe(
      Math.floor(revoked.certificate!.revokeTime!.getTime() / 1000) * 1000,
    );
  });

  it("a later KEY_COMPROMISE replaces a cached revoked answer's reason, keeping its time", async () => {
    const first = await call(h.certificates, "revokeCertificate", {
      certificate: leaves.upgraded!.id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const before = await ask("upgraded", ["-no_nonce"]); // cached for an hour
    expect(before.stdout).toContain("Reason: superseded");
    await call(h.certificates, "revokeCertificate", {
      certificate: leaves.upgraded!.id,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const after = await ask("upgraded", ["-no_nonce"]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toContain("Response verify OK");
    expect(after.stdout).toContain(`${leaves.upgraded!.file}: revoked`);
    expect(after.stdout).toContain("Reason: keyCompromise");
    const at = /Revocation Time: (.+)/.exec(after.stdout)?.[1];
    expect(new Date(at!).getTime()).toBe(
      Math.floor(first.certificate!.revokeTime!.getTime() / 1000) * 1000,
    );
  });

  it("reuses one signed response for requests without a nonce, and signs each nonce afresh", async () => {
    const request = requestFor("cached", ["-no_nonce"]);
    const first = await post(request);
    const second = await post(request);
    expect(second.equals(first)).toBe(true);
    const withNonce = requestFor("cached");
    const a = await post(withNonce);
    const b = await post(requestFor("cached"));
    expect(a.equals(b)).toBe(false);
  });

  it("answers unknown for a serial the CA never issued", async () => {
    const r = await run("openssl", [
      "ocsp",
      "-issuer",
      caFile,
      "-serial",
      "0x0123456789abcdef0123456789abcdef01",
      "-url",
      url,
      "-CAfile",
      caFile,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    expect(r.stdout).toMatch(/: unknown/);
  });

  it("serves GET /ocsp/<base64> as POST (RFC 6960 A.1), cacheable until nextUpdate", async () => {
    const request = requestFor("good", ["-no_nonce"]);
    const res = await fetch(`${url}/${encodeURIComponent(request.toString("base64"))}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const der = Buffer.from(await res.arrayBuffer());
    const text = opensslOk([
      "ocsp",
      "-respin",
      tmp.file("get.der", der),
      "-issuer",
      caFile,
      "-cert",
      leaves.good!.file,
      "-CAfile",
      caFile,
    ]);
    expect(text).toContain(`${leaves.good!.file}: good`);
  });

  it("refuses malformed and tampered requests with OCSP error statuses", async () => {
    // Not DER at all, and a request cut short.
    expect(responseStatus(await post(Buffer.from("not an OCSP request")))).toBe("malformedrequest");
    const request = requestFor("good");
    expect(responseStatus(await post(request.subarray(0, request.length - 5)))).toBe(
      "malformedrequest",
    );
    // The issuer key hash altered: an issuer this responder does not hold.
    const keyHash = createHashOf(caFile);
    const at = request.indexOf(keyHash);
    expect(at).toBeGreaterThan(0);
    const tampered = Buffer.from(request);
    tampered[at] = tampered[at]! ^ 0xff;
    expect(responseStatus(await post(tampered))).toBe("unauthorized");
    // A critical extension the responder does not understand (RFC 6960 4.4), and a repeated one.
    const critical = withOcspExtension(request, {
      oid: "1.3.6.1.4.1.55555.1",
      critical: true,
      value: Buffer.from([0x05, 0x00]),
    });
    expect(responseStatus(await post(critical))).toBe("malformedrequest");
    const unknown = withOcspExtension(request, {
      oid: "1.3.6.1.4.1.55555.1",
      critical: false,
      value: Buffer.from([0x05, 0x00]),
    });
    expect(responseStatus(await post(unknown))).toBe("successful");
    // Wrong methods and paths.
    expect((await fetch(url, { method: "PUT", body: "x" })).status).toBe(405);
  });

  it("counts its answers by status in the metrics", async () => {
    const metrics = parseExposition(
      await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text(),
    );
    const count = (status: string) =>
      sampleValue(metrics, "certmint_ocsp_responses_total", { status }) ?? 0;
    expect(count("good")).toBeGreaterThan(0);
    expect(count("revoked")).toBeGreaterThan(0);
    expect(count("unknown")).toBe(1);
    expect(count("malformedRequest")).toBeGreaterThanOrEqual(2);
    expect(count("unauthorized")).toBe(1);
  });

  it("passes a second implementation (pyca/cryptography): signature, status, reason, nonce limits", async () => {
    const check = async (leaf: string, nonce?: string) => {
      const script = join(__dirname, "ocsp_check.py");
      const args = [script, url, caFile, leaves[leaf]!.file, ...(nonce ? [nonce] : [])];
      const r = await run(PYTHON, args);
      if (r.code !== 0) throw new Error(`ocsp_check.py failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const good = await check("py", "0102030405060708090a0b0c0d0e0f10");
    expect(good).toMatchObject({
      content_type: "application/ocsp-response",
      response_status: "SUCCESSFUL",
      signature_valid: true,
      responder_key_hash_matches: true,
      cert_status: "GOOD",
      serial: BigInt(`0x${leaves.py!.serial}`).toString(16),
      nonce: "0102030405060708090a0b0c0d0e0f10",
      hash_algorithm: "sha1",
    });
    expect(new Date(String(good.next_update)).getTime()).toBeGreaterThan(
      new Date(String(good.this_update)).getTime(),
    );
    // RFC 8954: 32 octets is the most; 33 is refused.
    expect((await check("py", "ab".repeat(32))).nonce).toBe("ab".repeat(32));
    expect((await check("py", "ab".repeat(33))).response_status).toBe("MALFORMED_REQUEST");
    const revoked = await check("revoked", "11");
    expect(revoked).toMatchObject({ cert_status: "REVOKED", revocation_reason: "key_compromise" });
  });
});

/** SHA-1 of the CA certificate's subjectPublicKey bits, as openssl puts it in a CertID. */
function createHashOf(caFile: string): Buffer {
  const text = opensslOk(["ocsp", "-issuer", caFile, "-serial", "0x01", "-req_text", "-no_nonce"]);
  const hex = /Issuer Key Hash: ([0-9A-F]+)/.exec(text)?.[1] ?? "";
  return Buffer.from(hex, "hex");
}

/**
 * CERTMINT_OCSP_RESPONDER=delegated: the CA certifies a responder key (id-kp-OCSPSigning,
 * id-pkix-ocsp-nocheck) whose row the database holds, and that key signs the responses.
 */
describe("OCSP with a delegated responder certificate", () => {
  let h: TestCertmint;
  let url = "";
  const tmp = new TempDir();
  let caFile = "";
  let leafFile = "";
  let caId = "";

  beforeAll(async () => {
    const port = await unusedPort();
    url = `http://127.0.0.1:${port}/ocsp`;
    h = await startTestCertmint({
      CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
      CERTMINT_OCSP_RESPONDER: "delegated",
    });
    const root = await createRoot(h, "delegating-root");
    caId = root.id;
    caFile = tmp.file("ca.pem", root.certificatePem);
    await createProfileRows(h, { slug: "web", caId });
    const cn = "delegated.example.com";
    const res = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn, dns: [cn] }),
    );
    leafFile = tmp.file("leaf.pem", res.certificate!.certificatePem);
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("openssl accepts the response of a responder the CA certified, and the database knows it", async () => {
    const r = await run("openssl", [
      "ocsp",
      "-issuer",
      caFile,
      "-cert",
      leafFile,
      "-url",
      url,
      "-CAfile",
      caFile,
      "-resp_text",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("Response verify OK");
    expect(r.stdout).toContain(`${leafFile}: good`);
    expect(r.stdout).toContain("OCSP Signing");
    expect(r.stdout).toContain("OCSP No Check");
    expect(r.stdout).toContain("Subject: CN=delegating-root OCSP responder");
    const rows = await h.db.query<{ serial_number: string; certificate_pem: string | null }>(
      "select serial_number, certificate_pem from ocsp_responder_certificate where ca_id = $1",
      [caId],
    );
    expect(rows).toHaveLength(1);
    const responder = new X509Certificate(rows[0]!.certificate_pem!);
    expect(responder.serialNumber.toLowerCase()).toBe(rows[0]!.serial_number);
    expect(responder.verify(new X509Certificate(readFileSync(caFile)).publicKey)).toBe(true);
  });

  it("pyca/cryptography checks the responder certificate and the signature", async () => {
    const r = await run(PYTHON, [join(__dirname, "ocsp_check.py"), url, caFile, leafFile, "0a0b"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      response_status: "SUCCESSFUL",
      cert_status: "GOOD",
      signature_valid: true,
      responder_key_hash_matches: true,
      delegated_responder: "CN=delegating-root OCSP responder",
      nonce: "0a0b",
    });
  });
});
