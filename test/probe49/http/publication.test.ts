/**
 * Probe 49 (HTTP): the publication port (CRLs, CA certificates, OCSP) of the compiled server as
 * strict relying parties and as an attacker see it: methods, odd request targets, the OCSP
 * GET and POST forms of RFC 6960 appendix A, the caching headers of RFC 5019 6.2 and RFC 9110,
 * and answers checked with openssl. Black box (live-server.ts).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { call } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import { hex, nul, octets, seq, tlv } from "../../support/raw-der";
import { START_LIMIT_MS } from "../../support/server-process";
import { type LiveServer, plainRequest, rawExchange, startLiveServer } from "./live-server";

const SHA1 = hex("06 05 2b 0e 03 02 1a");

describe("probe 49: the publication port of the compiled server", () => {
  let live: LiveServer;
  const tmp = new TempDir();
  let caFile = "";
  let leafFile = "";

  beforeAll(async () => {
    live = await startLiveServer();
    caFile = tmp.file("ca.pem", live.caPem);
    leafFile = tmp.file("leaf.pem", live.leafPem);
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  const get = (path: string, options: Parameters<typeof plainRequest>[2] = {}) =>
    plainRequest(live.publicationPort, path, options);
  const crlPath = () => `/crl/${live.caId}.crl`;
  const caPath = () => `/ca/${live.caId}.crt`;

  /** No answer of the port may carry a stack trace or an internal error's text. */
  const expectNoInternals = (body: Buffer) => {
    const text = body.toString("latin1");
    expect(text).not.toMatch(/\n\s+at \S+ \(|node:internal|Error: |\/dist\/src\//);
  };

  /** An OCSP request made by openssl for the leaf (-no_nonce unless `extra` says otherwise). */
  const ocspRequestDer = (extra: string[] = ["-no_nonce"]) => {
    const out = tmp.out("req.der");
    // openssl takes a CertID's digest (-sha256) only before the -cert it applies to.
    opensslOk(["ocsp", ...extra, "-issuer", caFile, "-cert", leafFile, "-reqout", out]);
    return readFileSync(out);
  };

  /**
   * openssl's reading of an OCSP response: verified against the CA, for the leaf. (openssl
   * cannot check a nonce here: with -cert it builds a request of its own, with a nonce of its
   * own; `echoesNonce` checks the echo.)
   */
  const verifyOcsp = (der: Buffer, digest: string[] = []) => {
    const args = [
      "ocsp",
      "-respin",
      tmp.file("resp.der", der),
      ...digest,
      "-issuer",
      caFile,
      "-cert",
      leafFile,
      "-CAfile",
      caFile,
      "-resp_text",
      "-no_nonce",
    ];
    return openssl(args);
  };

  /** Whether `response` holds the nonce extension's value of `request` (RFC 8954). */
  const echoesNonce = (request: Buffer, response: Buffer) => {
    const oid = hex("06 09 2b 06 01 05 05 07 30 01 02");
    const at = request.indexOf(oid);
    expect(at, "the request has a nonce").toBeGreaterThan(0);
    // openssl's request: the nonce is its last extension, its extnValue the request's end.
    return response.includes(request.subarray(at + oid.length));
  };

  /** OCSPResponseStatus (RFC 6960 4.2.1) of a DER OCSPResponse. */
  const responseStatus = (der: Buffer) => {
    expect(der[0]).toBe(0x30);
    const at = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
    expect(der[at]).toBe(0x0a);
    return der[at + 2]!;
  };

  describe("CA certificates and CRLs", () => {
    it("GET /ca/<id>.crt is the CA's DER certificate, application/pkix-cert, with validators", async () => {
      const r = await get(caPath());
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/pkix-cert");
      expect(new X509Certificate(r.body).raw).toEqual(new X509Certificate(live.caPem).raw);
      expect(r.headers["cache-control"]).toMatch(/max-age=\d+/);
      expect(r.headers.etag).toMatch(/^"[^"]+"$/);
      // RFC 9110 9.3.2: HEAD is GET without the content, the same header fields.
      const head = await get(caPath(), { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers["content-length"]).toBe(String(r.body.length));
      expect(head.headers.etag).toBe(r.headers.etag);
      // RFC 9110 13.1.2: the entity tag held revalidates the certificate.
      const again = await get(caPath(), { headers: { "if-none-match": r.headers.etag as string } });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect(again.headers.etag).toBe(r.headers.etag);
    });

    it("GET /crl/<id>.crl is a CRL openssl verifies, whose caching headers fit its thisUpdate and nextUpdate", async () => {
      const r = await get(crlPath());
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/pkix-crl");
      const crl = tmp.file("crl.der", r.body);
      const check = openssl(["crl", "-inform", "DER", "-in", crl, "-CAfile", caFile, "-noout"]);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout + check.stderr).toContain("verify OK");
      const text = opensslOk([
        "crl",
        "-inform",
        "DER",
        "-in",
        crl,
        "-noout",
        "-lastupdate",
        "-nextupdate",
      ]);
      const thisUpdate = new Date(/lastUpdate=(.+)/.exec(text)![1]!);
      const nextUpdate = new Date(/nextUpdate=(.+)/.exec(text)![1]!);
      // Last-Modified is the CRL's thisUpdate (RFC 9110 8.8.2), to the second.
      expect(new Date(r.headers["last-modified"] as string).getTime()).toBe(thisUpdate.getTime());
      // A cache may keep it no longer than its nextUpdate.
      const maxAge = Number(/max-age=(\d+)/.exec(r.headers["cache-control"] as string)?.[1]);
      const date = new Date(r.headers.date as string).getTime();
      expect(date + maxAge * 1000).toBeLessThanOrEqual(nextUpdate.getTime() + 1000);
      // Both validators revalidate it (RFC 9110 13.1.2, 13.1.3).
      const byTag = await get(crlPath(), {
        headers: { "if-none-match": r.headers.etag as string },
      });
      expect(byTag.status).toBe(304);
      expect(byTag.headers["cache-control"]).toBe(r.headers["cache-control"]);
      const byDate = await get(crlPath(), {
        headers: { "if-modified-since": r.headers["last-modified"] as string },
      });
      expect([200, 304]).toContain(byDate.status);
      // An entity tag that is not the current one is a full answer.
      const other = await get(crlPath(), { headers: { "if-none-match": '"crl-0"' } });
      expect(other.status).toBe(200);
      expect(other.body.length).toBeGreaterThan(0);
    });

    it("methods other than GET and HEAD are 405 with Allow, and TRACE echoes nothing", async () => {
      for (const method of ["PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]) {
        const r = await get(crlPath(), {
          method,
          headers: { "x-probe-secret": "do-not-echo-me", cookie: "session=do-not-echo-me" },
          ...(method === "PUT" || method === "PATCH" ? { body: Buffer.from("x") } : {}),
        });
        expect(r.status, method).toBe(405);
        expect(String(r.headers.allow)).toMatch(/\bGET\b/);
        expect(r.body.toString()).not.toContain("do-not-echo-me");
        expectNoInternals(r.body);
      }
    });

    it("odd request targets are 404 (or the object itself), never a 500 or a file", async () => {
      const id = live.caId;
      const targets = [
        `/crl/../ca/${id}.crt`,
        `/crl/%2e%2e/ca/${id}.crt`,
        `//crl/${id}.crl`,
        `/crl//${id}.crl`,
        `/crl/${id}.crt`,
        `/ca/${id}.crl`,
        `/crl/${id}.crl/`,
        `/crl/${id}.crl%00`,
        `/crl/${id}%2ecrl`,
        "/crl/00000000-0000-0000-0000-000000000000.crl",
        "/ca/ffffffff-ffff-ffff-ffff-ffffffffffff.crt",
        "/crl/------------------------------------.crl",
        "/etc/passwd",
        "/../../../../etc/passwd",
        `/crl/${"a".repeat(6000)}.crl`,
        "/",
        "*",
      ];
      for (const target of targets) {
        const r = await rawExchange(live.publicationPort, (s) =>
          s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(r)?.[1]);
        expect([400, 404], target.slice(0, 60)).toContain(status);
        expect(r).not.toContain("root:");
        expectNoInternals(Buffer.from(r, "latin1"));
      }
      // A query string does not change the object (the path is what names it).
      const q = await get(`${crlPath()}?x=1&y=../../etc/passwd`);
      expect(q.status).toBe(200);
      expect(q.headers["content-type"]).toBe("application/pkix-crl");
      // The CA id in upper case is the same UUID (RFC 9562 4): the object, or a 404; never a 500.
      const upper = await get(`/ca/${id.toUpperCase()}.crt`);
      expect([200, 404]).toContain(upper.status);
    });
  });

  describe("OCSP", () => {
    it("POST: a good answer openssl verifies, application/ocsp-response, not cached by HTTP caches", async () => {
      const req = ocspRequestDer(["-nonce"]);
      const r = await get("/ocsp", {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: req,
      });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/ocsp-response");
      const v = verifyOcsp(r.body);
      expect(v.stderr).toContain("Response verify OK");
      expect(v.stdout).toContain(`${leafFile}: good`);
      expect(echoesNonce(req, r.body), "the nonce echoed").toBe(true);
      // A response to a request with a nonce is for that client alone.
      expect(r.headers["cache-control"]).toMatch(/no-store|private|no-cache/);
    });

    it("GET /ocsp/<base64>: the percent-encoded and the raw form (with '/' and '+') give the same good answer", async () => {
      // Find a request whose base64 holds '/' or '+' (openssl requests differ by nothing but
      // the CertID: the same for every run, so try the hash algorithms until one has them).
      let req = ocspRequestDer();
      for (const digest of ["-sha1", "-sha256", "-sha384", "-sha512"]) {
        req = ocspRequestDer(["-no_nonce", digest]);
        if (/[/+]/.test(req.toString("base64"))) break;
      }
      const b64 = req.toString("base64");
      const forms = [encodeURIComponent(b64), b64, b64.replace(/=+$/, "")];
      for (const form of forms) {
        const r = await get(`/ocsp/${form}`);
        expect(r.status, form).toBe(200);
        expect(r.headers["content-type"]).toBe("application/ocsp-response");
        const v = verifyOcsp(r.body);
        expect(v.stderr, form).toContain("Response verify OK");
        expect(v.stdout).toContain(`${leafFile}: good`);
      }
    });

    it("GET of a request with a nonce: the nonce echoed, and no shared cache may keep the answer", async () => {
      const req = ocspRequestDer(["-nonce"]);
      const r = await get(`/ocsp/${encodeURIComponent(req.toString("base64"))}`);
      expect(r.status).toBe(200);
      expect(verifyOcsp(r.body).stdout).toContain(`${leafFile}: good`);
      expect(echoesNonce(req, r.body)).toBe(true);
      expect(r.headers["cache-control"]).toMatch(/no-store|private|no-cache/);
      // HEAD is GET without the content (RFC 9110 9.3.2).
      const head = await get(`/ocsp/${encodeURIComponent(ocspRequestDer().toString("base64"))}`, {
        method: "HEAD",
      });
      expect(head.status).toBe(200);
      expect(head.headers["content-type"]).toBe("application/ocsp-response");
      expect(head.body.length).toBe(0);
    });

    it("GET with a SHA-256 CertID is answered for that CertID (RFC 6960 4.1.1: any hash)", async () => {
      const req = ocspRequestDer(["-no_nonce", "-sha256"]);
      const r = await get(`/ocsp/${encodeURIComponent(req.toString("base64"))}`);
      const v = verifyOcsp(r.body, ["-sha256"]);
      expect(v.stderr).toContain("Response verify OK");
      expect(v.stdout).toMatch(/Hash Algorithm: sha256/);
      expect(v.stdout).toContain(`${leafFile}: good`);
    });

    it("GET: caching headers as RFC 5019 6.2.2 lists them, consistent with thisUpdate and nextUpdate", async () => {
      const req = ocspRequestDer();
      const r = await get(`/ocsp/${encodeURIComponent(req.toString("base64"))}`);
      expect(r.status).toBe(200);
      const v = verifyOcsp(r.body);
      expect(v.stdout).toContain(`${leafFile}: good`);
      const thisUpdate = new Date(/This Update: (.+)/.exec(v.stdout)![1]!);
      const nextUpdate = new Date(/Next Update: (.+)/.exec(v.stdout)![1]!);
      const cacheControl = String(r.headers["cache-control"]);
      expect(cacheControl).toMatch(/\bpublic\b/);
      expect(cacheControl).toMatch(/\bno-transform\b/);
      expect(cacheControl).toMatch(/\bmust-revalidate\b/);
      const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1]);
      const date = new Date(r.headers.date as string).getTime();
      expect(date + maxAge * 1000).toBeLessThanOrEqual(nextUpdate.getTime() + 1000);
      // last-modified: thisUpdate; expires: nextUpdate (RFC 5019 6.2.2), to the second.
      const second = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;
      expect(new Date(r.headers["last-modified"] as string).getTime()).toBe(second(thisUpdate));
      expect(new Date(r.headers.expires as string).getTime()).toBe(second(nextUpdate));
      // RFC 5019 6.2.2: "ETag: A string that identifies a particular response" (and with it a
      // cache revalidates for a few hundred bytes, as the CRL URLs here already allow).
      expect(r.headers.etag, "an ETag on a cacheable OCSP GET answer").toBeDefined();
    });

    it("malformed requests (empty, truncated, garbage, nested garbage, bad base64) are malformedRequest, never a 500", async () => {
      const req = ocspRequestDer();
      let nested: Buffer = Buffer.from([0x05, 0x00]);
      for (let i = 0; i < 2000; i++) nested = seq(nested);
      const bodies: Array<[string, Buffer]> = [
        ["empty", Buffer.alloc(0)],
        ["truncated", req.subarray(0, req.length - 5)],
        ["trailing garbage", Buffer.concat([req, Buffer.from([0, 0])])],
        ["garbage", Buffer.from("hello, responder")],
        ["nested garbage DER", nested],
        ["indefinite length", Buffer.from([0x30, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00])],
        ["length beyond the body", Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30])],
      ];
      for (const [what, body] of bodies) {
        const r = await get("/ocsp", {
          method: "POST",
          headers: { "content-type": "application/ocsp-request" },
          body,
        });
        expect(r.status, what).toBe(200);
        expect(r.headers["content-type"]).toBe("application/ocsp-response");
        expect(responseStatus(r.body), what).toBe(1); // malformedRequest
      }
      for (const path of ["/ocsp/%%%", "/ocsp/!!!!", `/ocsp/${"A".repeat(5000)}`, "/ocsp/%00"]) {
        const r = await rawExchange(live.publicationPort, (s) =>
          s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        expect(r, path.slice(0, 40)).toMatch(/^HTTP\/1\.1 (200|400|404|414) /);
        expectNoInternals(Buffer.from(r, "latin1"));
      }
    });

    it("a body past the bound of an OCSP request is answered at once, unread, and the port still serves", async () => {
      // Content-Length of a gigabyte, a few bytes sent: answered without waiting for the rest.
      const r = await rawExchange(
        live.publicationPort,
        (s) =>
          s.write(
            "POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\nContent-Length: 1000000000\r\n\r\n0123",
          ),
        (got) => got.includes("\r\n\r\n"),
      );
      expect(r).toMatch(/^HTTP\/1\.1 (200|413) /);
      const ok = await get(caPath());
      expect(ok.status).toBe(200);
    });

    it("an issuer certmint does not hold is unauthorized (RFC 6960 2.3)", async () => {
      const certId = seq(
        seq(SHA1, nul()),
        octets(Buffer.alloc(20, 1)),
        octets(Buffer.alloc(20, 2)),
        tlv(0x02, Buffer.from([0x01, 0x02])),
      );
      const r = await get("/ocsp", {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: seq(seq(seq(seq(certId)))),
      });
      expect(responseStatus(r.body)).toBe(6);
    });

    it("several CertIDs in one request get one SingleResponse each (RFC 6960 4.2.1)", async () => {
      // The leaf twice in the requestList (openssl adds a CertID per -cert).
      const twice = ocspRequestDer([
        "-no_nonce",
        "-sha256",
        "-issuer",
        caFile,
        "-cert",
        leafFile,
        "-sha1",
      ]);
      const r = await get("/ocsp", {
        method: "POST",
        headers: { "content-type": "application/ocsp-request" },
        body: twice,
      });
      // RFC 6960 4.1.1 allows several; certmint reads up to OCSP_MAX_CERT_IDS (8, src/signer/ocsp.ts).
      expect(responseStatus(r.body)).toBe(0);
      const v = verifyOcsp(r.body);
      expect(v.stderr).toContain("Response verify OK");
      expect(v.stdout.match(/Cert Status: good/g)?.length).toBe(2);
      expect(v.stdout.match(/Hash Algorithm: sha256/g)?.length).toBe(1);
    });

    it("POST to /ocsp with another content type is still an OCSP answer, and other methods are 405", async () => {
      const req = ocspRequestDer();
      const r = await get("/ocsp", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: req,
      });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("application/ocsp-response");
      for (const method of ["PUT", "DELETE", "OPTIONS", "TRACE"]) {
        const x = await get("/ocsp", { method });
        expect(x.status, method).toBe(405);
        expectNoInternals(x.body);
      }
    });

    it("the Allow header of a 405 at /ocsp names exactly the methods /ocsp answers (RFC 9110 10.2.1)", async () => {
      // GET /ocsp (no request in the path) is refused 405 with "Allow: GET, POST": the header
      // names a method the same answer refuses, and leaves out HEAD, which /ocsp/<b64> serves.
      const r = await get("/ocsp");
      expect(r.status).toBe(405);
      const allowed = String(r.headers.allow)
        .split(",")
        .map((m) => m.trim());
      expect(allowed, "Allow of GET /ocsp").not.toContain("GET");
    });
  });

  // Last in the file: it revokes the leaf the cases above ask about.
  describe("after a revocation", () => {
    it("a fetcher holding the CRL's ETag gets the new CRL listing it, and OCSP GET says revoked at once", async () => {
      const before = await get(crlPath());
      const ocspGet = `/ocsp/${encodeURIComponent(ocspRequestDer().toString("base64"))}`;
      const goodAnswer = await get(ocspGet);
      expect(verifyOcsp(goodAnswer.body).stdout).toContain(`${leafFile}: good`);
      // What an HTTP cache in front of the port may keep the "good" answer for.
      const cachedFor = Number(
        /max-age=(\d+)/.exec(String(goodAnswer.headers["cache-control"]))?.[1],
      );
      await call(live.admin.certificates, "revokeCertificate", {
        certificate: live.leafId,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      });
      const after = await get(crlPath(), {
        headers: { "if-none-match": before.headers.etag as string },
      });
      expect(after.status).toBe(200);
      expect(after.headers.etag).not.toBe(before.headers.etag);
      const text = opensslOk([
        "crl",
        "-inform",
        "DER",
        "-in",
        tmp.file("after.der", after.body),
        "-noout",
        "-text",
      ]);
      expect(text.toUpperCase()).toContain(live.leafSerialHex.toUpperCase().replace(/^0+/, ""));
      expect(text).toContain("Key Compromise");
      const revoked = await get(ocspGet);
      const v = verifyOcsp(revoked.body);
      expect(v.stderr).toContain("Response verify OK");
      expect(v.stdout).toContain(`${leafFile}: revoked`);
      expect(v.stdout).toMatch(/Reason: keyCompromise/);
      // A shared cache may serve the "good" answer this long after the revocation: since stop
      // 49 no longer than certmint itself reuses it (CERTMINT_OCSP_CACHE_SECONDS, 60 s by
      // default), as a CRL's max-age is bounded by CERTMINT_CRL_CACHE_SECONDS; before, up to
      // its nextUpdate (an hour).
      expect(cachedFor).toBeGreaterThan(0);
      expect(cachedFor).toBeLessThanOrEqual(60);
    });
  });
});
