/**
 * A PostgreSQL outage on the HTTP ports is reported as an outage, as on the gRPC port
 * (test/server/outage.test.ts): the CRL and CA-certificate publication answers 503 with
 * Retry-After, OCSP answers tryLater (RFC 6960 4.2.1), ACME a 503 serverInternal problem with
 * Retry-After (RFC 8555 6.7); never a 500 or internalError. The log names the cause without the
 * driver's error. Once the database is back, the same requests succeed without a restart. The
 * server reaches PostgreSQL through a proxy the test cuts and restores.
 */
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CRL_REVOCATION_CHECK_MS } from "../../src/issuance/ca/crl-cache";
import { KNOWN_CA_REFRESH_MS } from "../../src/issuance/ca/publication";
import { acmeSettings, createAcmeProfile } from "../acme/helpers";
import { attrRequest } from "../certificates/helpers";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { openssl, opensslOk, TempDir } from "../support/openssl";
import { unusedPort } from "../support/ports";
import { adminUrl } from "../support/postgres";
import { checkHealth } from "../support/server-process";
import { until } from "../support/wait";

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request over HTTPS trusting `caFile` (the ACME listener's test CA). */
function httpsCall(url: string, method: string, caFile: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca: readFileSync(caFile) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.once("error", reject);
    req.end();
  });
}

describe("PostgreSQL goes away: the HTTP ports say so (probe every 200 ms)", () => {
  let proxy: FaultProxy;
  let h: TestCertmint;
  const tmp = new TempDir();
  let base = "";
  let acmeCa = "";
  let rootId = "";
  let otherId = "";
  let caFile = "";
  let leafFile = "";

  beforeAll(async () => {
    const pg = new URL(adminUrl());
    proxy = await startFaultProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    const port = await unusedPort();
    base = `http://127.0.0.1:${port}`;
    const acme = await acmeSettings();
    acmeCa = acme.tlsCaFile;
    h = await startTestCertmint(
      {
        ...acme.env,
        CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200",
        CERTMINT_PUBLIC_BASE_URL: base,
        CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${port}`,
        CERTMINT_OCSP_URL: `${base}/ocsp`,
      },
      { databasePort: proxy.port },
    );
    const root = await createRoot(h, "root");
    rootId = root.id;
    otherId = (await createRoot(h, "other-root")).id;
    caFile = tmp.file("ca.pem", root.certificatePem);
    await createProfileRows(h, { slug: "web", caId: root.id });
    await createAcmeProfile(h, "web-acme");
    const cn = "outage.example.com";
    const leaf = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn, dns: [cn] }),
    );
    leafFile = tmp.file("leaf.pem", leaf.certificate!.certificatePem);
  });
  afterAll(async () => {
    proxy?.pass();
    await h?.stop();
    await proxy?.close();
    tmp.remove();
  });

  const crl = (caId: string) => fetch(`${base}/crl/${caId}.crl`);
  const ocspRequest = () => {
    const out = tmp.out("req.der");
    opensslOk(["ocsp", "-issuer", caFile, "-cert", leafFile, "-no_nonce", "-reqout", out]);
    return readFileSync(out);
  };
  const ocsp = async () => {
    const res = await fetch(`${base}/ocsp`, {
      method: "POST",
      headers: { "content-type": "application/ocsp-request" },
      body: ocspRequest(),
    });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  /** The OCSPResponseStatus openssl reads. */
  const ocspStatus = (der: Buffer) => {
    const r = openssl(["ocsp", "-respin", tmp.file("resp.der", der), "-resp_text", "-noverify"]);
    const text = r.stdout + r.stderr;
    return (/OCSP Response Status: (\w+)/.exec(text) ?? /Responder Error: (\w+)/.exec(text))?.[1];
  };
  const newNonce = () =>
    httpsCall(`https://127.0.0.1:${h.running.acmePort}/acme/web-acme/new-nonce`, "HEAD", acmeCa);

  it("answers 503 with Retry-After (publication, ACME) and tryLater (OCSP); after the database returns, each succeeds", async () => {
    expect(await checkHealth(h.address)).toBe("SERVING");
    // The root's CRL and certificate, fetched before the outage, are cached.
    const crlBefore = Buffer.from(await (await crl(rootId)).arrayBuffer());
    const caBefore = Buffer.from(await (await fetch(`${base}/ca/${rootId}.crt`)).arrayBuffer());
    proxy.refuse();
    const outageStarted = performance.now();
    await until("health NOT_SERVING", async () => (await checkHealth(h.address)) === "NOT_SERVING");
    const logsBefore = h.logs.length;

    // Served from the cache through the outage, past the CRL's revocation check (every
    // CRL_REVOCATION_CHECK_MS) and the CA certificate's refresh (KNOWN_CA_REFRESH_MS), which
    // cannot reach the database: until 2026-12-05 these fetches answered 503 (an outside probe).
    // Fetched for a while, not waited on: every answer must be 200, however slow the machine.
    const servedFor = 2 * Math.max(CRL_REVOCATION_CHECK_MS, KNOWN_CA_REFRESH_MS) + 200;
    let fetches = 0;
    while (performance.now() - outageStarted < servedFor || fetches < 3) {
      const cached = await crl(rootId);
      expect(cached.status).toBe(200);
      expect(Buffer.from(await cached.arrayBuffer()).equals(crlBefore)).toBe(true);
      const ca = await fetch(`${base}/ca/${rootId}.crt`);
      expect(ca.status).toBe(200);
      expect(Buffer.from(await ca.arrayBuffer()).equals(caBefore)).toBe(true);
      fetches += 1;
      await new Promise((r) => setTimeout(r, 50));
    }

    // A CRL no call has asked for yet: it must be read, and cannot be.
    const crlDuring = await crl(otherId);
    expect(crlDuring.status).toBe(503);
    expect(Number(crlDuring.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await crlDuring.text()).toMatch(/cannot reach its database/);

    expect(ocspStatus(await ocsp())).toBe("trylater");

    const nonce = await newNonce();
    expect(nonce.status).toBe(503);
    expect(Number(nonce.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    const problem = await httpsCall(
      `https://127.0.0.1:${h.running.acmePort}/acme/web-acme/new-nonce`,
      "GET",
      acmeCa,
    );
    expect(problem.status).toBe(503);
    expect(problem.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(problem.body.toString())).toMatchObject({
      type: "urn:ietf:params:acme:error:serverInternal",
      detail: expect.stringMatching(/cannot reach its database/),
    });

    // Logged as an outage, by its cause; nothing logged as a failure with the driver's error.
    const during = h.logs.slice(logsBefore);
    expect(during.filter((l) => l.msg === "database unavailable").length).toBeGreaterThanOrEqual(4);
    for (const msg of ["publication failed", "OCSP response failed", "ACME request failed"]) {
      expect(
        during.some((l) => l.msg === msg),
        msg,
      ).toBe(false);
    }

    proxy.pass();
    await until("health SERVING", async () => (await checkHealth(h.address)) === "SERVING");
    await until("the CRL served", async () => (await crl(otherId)).status === 200);
    const crlAfter = Buffer.from(await (await crl(rootId)).arrayBuffer());
    opensslOk([
      "crl",
      "-inform",
      "DER",
      "-in",
      tmp.file("root.crl", crlAfter),
      "-CAfile",
      caFile,
      "-verify",
      "-noout",
    ]);
    expect(ocspStatus(await ocsp())).toBe("successful");
    const after = await newNonce();
    expect(after.status).toBe(200);
    expect(after.headers["replay-nonce"]).toBeTruthy();
  });
});
