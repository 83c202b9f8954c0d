/**
 * Probe 49 (HTTP): the ACME listener (RFC 8555) of the compiled server past the happy path, as a
 * strict client and an attacker see it: JWS edge cases, content types, problem documents,
 * headers (Replay-Nonce, Link, Location, Cache-Control), request bodies. test/acme covers much
 * of the protocol already; these are the cases it does not. Black box (live-server.ts).
 */
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcmeTestClient,
  b64u,
  type HttpResult,
  jwsSign,
  publicJwk,
  thumbprint,
} from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { type LiveServer, startLiveServer } from "./live-server";

const ERR = "urn:ietf:params:acme:error:";

describe("probe 49: the ACME listener of the compiled server", () => {
  let live: LiveServer;
  let base = "";
  let directoryUrl = "";
  const client = () => new AcmeTestClient(directoryUrl, live.acmeCaFile);

  beforeAll(async () => {
    live = await startLiveServer();
    base = `https://127.0.0.1:${live.acmePort}/acme/web-acme`;
    directoryUrl = `${base}/directory`;
  }, 2 * START_LIMIT_MS);

  afterAll(async () => {
    if (process.env.PROBE49_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  /** RFC 8555 6.7 / RFC 7807 3: a problem document of `type` whose status is the HTTP status. */
  const expectProblem = (r: HttpResult, type: string, status: number) => {
    expect(r.status, r.text).toBe(status);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    expect(r.json.type, r.text).toBe(`${ERR}${type}`);
    expect(r.json.status).toBe(status);
    expect(typeof r.json.detail).toBe("string");
    expect(r.text).not.toMatch(/\n\s+at \S+ \(|node:internal|\/dist\/src\//);
  };

  /** A JWS whose protected header is `header` verbatim (any JSON text), signed with `c`'s key. */
  const rawJws = (c: AcmeTestClient, headerJson: string, payload: unknown | "") => {
    const protectedB64 = b64u(headerJson);
    const payloadB64 = payload === "" ? "" : b64u(JSON.stringify(payload));
    const signature = jwsSign(c.kind, c.key.privateKey, `${protectedB64}.${payloadB64}`);
    return JSON.stringify({
      protected: protectedB64,
      payload: payloadB64,
      signature: b64u(signature),
    });
  };

  describe("directory and newNonce (RFC 8555 7.1.1, 7.2)", () => {
    it("newNonce: HEAD 200 and GET 204, each with a fresh Replay-Nonce, Cache-Control: no-store and the index Link", async () => {
      const c = client();
      const dir = await c.directory();
      expect(dir.newNonce).toBe(`${base}/new-nonce`);
      const head = await c.http("HEAD", dir.newNonce!);
      const get = await c.http("GET", dir.newNonce!);
      expect(head.status).toBe(200);
      expect(get.status).toBe(204);
      for (const r of [head, get]) {
        expect(r.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(r.headers["cache-control"]).toBe("no-store");
        expect(String(r.headers.link)).toContain(`<${directoryUrl}>;rel="index"`);
      }
      expect(head.headers["replay-nonce"]).not.toBe(get.headers["replay-nonce"]);
    });

    it("the directory is JSON over GET and HEAD; other methods are 405 with Allow", async () => {
      const c = client();
      const get = await c.http("GET", directoryUrl);
      expect(get.status).toBe(200);
      expect(String(get.headers["content-type"])).toMatch(/^application\/json/);
      for (const key of ["newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"]) {
        expect(get.json[key], key).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/acme\/web-acme\//);
      }
      const head = await c.http("HEAD", directoryUrl);
      expect(head.status).toBe(200);
      expect(head.text).toBe("");
      // (Not DELETE: node:http sends its body without Content-Length or chunking.)
      for (const method of ["POST", "PUT", "PATCH"]) {
        const r = await c.http(method, directoryUrl, "{}");
        expectProblem(r, "malformed", 405);
        expect(r.headers.allow).toBe("GET, HEAD");
      }
    });

    it("an unknown profile, resource or path is a 404 problem document", async () => {
      const c = client();
      const root = `https://127.0.0.1:${live.acmePort}`;
      for (const url of [
        `${root}/acme/no-such-profile/directory`,
        `${root}/acme/web/directory`, // an API profile, not ACME
        `${base}/no-such-resource`,
        `${base}/directory/extra`,
        `${root}/`,
      ]) {
        const r = await c.http("GET", url);
        expectProblem(r, "malformed", 404);
      }
    });
  });

  describe("JWS (RFC 8555 6.2-6.5, RFC 7515)", () => {
    it("alg none and HS256 on newAccount are badSignatureAlgorithm with the accepted algorithms", async () => {
      const c = client();
      await c.directory();
      for (const alg of ["none", "HS256", "RS1", ""]) {
        const header = JSON.stringify({
          alg,
          nonce: await c.nonce(),
          url: c.dir.newAccount,
          jwk: publicJwk(c.key.publicKey),
        });
        const body = JSON.parse(rawJws(c, header, { termsOfServiceAgreed: true })) as Record<
          string,
          string
        >;
        if (alg === "none") body.signature = "";
        const r = await c.http("POST", c.dir.newAccount!, JSON.stringify(body));
        if (alg === "") {
          expect(r.status).toBe(400);
          continue;
        }
        expectProblem(r, "badSignatureAlgorithm", 400);
        expect(r.json.algorithms).toEqual(expect.arrayContaining(["ES256", "RS256"]));
      }
    });

    it("a protected header with both jwk and kid is malformed", async () => {
      const c = client();
      expect((await c.register()).status).toBe(201);
      const header = JSON.stringify({
        alg: "ES256",
        nonce: await c.nonce(),
        url: c.dir.newOrder,
        jwk: publicJwk(c.key.publicKey),
        kid: c.kid,
      });
      const r = await c.http(
        "POST",
        c.dir.newOrder!,
        rawJws(c, header, { identifiers: [{ type: "dns", value: "a.acme.localhost" }] }),
      );
      expectProblem(r, "malformed", 400);
    });

    it("a url that is not the request's is unauthorized (RFC 8555 6.4), with a fresh nonce", async () => {
      const c = client();
      await c.directory();
      const r = await c.post(
        c.dir.newAccount!,
        { termsOfServiceAgreed: true },
        {
          useJwk: true,
          headerUrl: `${c.dir.newAccount}?x=1`,
        },
      );
      expectProblem(r, "unauthorized", 401);
      expect(r.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it("a replayed nonce is badNonce with a Replay-Nonce that the retry succeeds with (RFC 8555 6.5)", async () => {
      const c = client();
      await c.directory();
      const nonce = await c.nonce();
      const first = await c.post(
        c.dir.newAccount!,
        { termsOfServiceAgreed: true },
        { useJwk: true, nonce },
      );
      expect(first.status).toBe(201);
      expect(first.headers.location).toMatch(new RegExp(`^${base}/account/`));
      expect(String(first.headers.link)).toContain(`<${directoryUrl}>;rel="index"`);
      const replay = await c.post(
        c.dir.newAccount!,
        { termsOfServiceAgreed: true },
        { useJwk: true, nonce },
      );
      expectProblem(replay, "badNonce", 400);
      const fresh = replay.headers["replay-nonce"] as string;
      expect(fresh).toMatch(/^[A-Za-z0-9_-]+$/);
      const retry = await c.post(
        c.dir.newAccount!,
        { termsOfServiceAgreed: true },
        { useJwk: true, nonce: fresh },
      );
      // RFC 8555 7.3.1: the same key again is the existing account, 200 with its Location.
      expect(retry.status).toBe(200);
      expect(retry.headers.location).toBe(first.headers.location);
    });

    it("duplicate names in the protected header: the lexically last one or a refusal, never the first (RFC 7515 5.2)", async () => {
      const c = client();
      await c.directory();
      const nonce = await c.nonce();
      const jwk = JSON.stringify(publicJwk(c.key.publicKey));
      // First url: another resource; last url: this one. A server that read the first would
      // refuse (unauthorized); one that reads the last or refuses duplicates is right.
      const header = `{"alg":"ES256","nonce":"${nonce}","url":"${c.dir.newOrder}","url":"${c.dir.newAccount}","jwk":${jwk}}`;
      const r = await c.http(
        "POST",
        c.dir.newAccount!,
        rawJws(c, header, { termsOfServiceAgreed: true }),
      );
      expect([200, 201, 400]).toContain(r.status);
      if (r.status === 400) expect(r.json.type).toBe(`${ERR}malformed`);
    });

    it("base64 that is not base64url, padded, or an unprotected header is malformed, and no account is made", async () => {
      const c = client();
      await c.directory();
      type Jws = Record<string, string>;
      const variants: Array<(good: Jws) => Record<string, unknown>> = [
        (good) => ({ ...good, protected: `${good.protected}=` }),
        (good) => ({ ...good, payload: `${good.payload}==` }),
        (good) => ({
          ...good,
          signature: `${Buffer.from(good.signature!, "base64url").toString("base64")}+/`,
        }),
        (good) => ({ ...good, header: { kid: "x" } }),
        (good) => ({ ...good, payload: 42 }),
        (good) => ({ protected: good.protected, signatures: [{ signature: good.signature }] }),
      ];
      for (const variant of variants) {
        // A JWS of its own each (a fresh nonce): the refusal is for the form, not a spent nonce.
        const good = JSON.parse(
          await c.jws(c.dir.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true }),
        ) as Jws;
        const body = variant(good);
        const r = await c.http("POST", c.dir.newAccount!, JSON.stringify(body));
        expectProblem(r, "malformed", 400);
      }
      const rows = await live.db.query("select id from acme_account where key_thumbprint = $1", [
        thumbprint(publicJwk(c.key.publicKey)),
      ]);
      expect(rows).toEqual([]);
    });

    it("Content-Type other than application/jose+json is 415 as a problem document with a fresh nonce (RFC 8555 6.2)", async () => {
      const c = client();
      await c.directory();
      for (const type of ["application/json", "text/plain", "application/x-www-form-urlencoded"]) {
        const body = await c.jws(
          c.dir.newAccount!,
          { termsOfServiceAgreed: true },
          { useJwk: true },
        );
        const r = await c.http("POST", c.dir.newAccount!, body, type);
        expectProblem(r, "malformed", 415);
        expect(r.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]+$/);
      }
      // Parameters and case do not matter (RFC 9110 8.3.1).
      const body = await c.jws(c.dir.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true });
      const r = await c.http(
        "POST",
        c.dir.newAccount!,
        body,
        "Application/JOSE+JSON; charset=utf-8",
      );
      expect([200, 201]).toContain(r.status);
    });

    it("a jwk that carries the private key is refused (RFC 7517 / RFC 8555 6.2: a public key)", async () => {
      const c = client();
      await c.directory();
      const priv = c.key.privateKey.export({ format: "jwk" }) as Record<string, string>;
      const header = JSON.stringify({
        alg: "ES256",
        nonce: await c.nonce(),
        url: c.dir.newAccount,
        jwk: priv,
      });
      const r = await c.http(
        "POST",
        c.dir.newAccount!,
        rawJws(c, header, { termsOfServiceAgreed: true }),
      );
      expect(r.status).toBe(400);
      expect([`${ERR}badPublicKey`, `${ERR}malformed`]).toContain(r.json.type);
    });
  });

  describe("bodies", () => {
    it("a declared body over the bound is 413 as a problem document", async () => {
      const c = client();
      await c.directory();
      const big = JSON.stringify({ protected: "a".repeat(200 * 1024), payload: "", signature: "" });
      const r = await c.http("POST", c.dir.newAccount!, big);
      expectProblem(r, "malformed", 413);
    });

    it("a chunked body (no Content-Length) over the bound is 413 too, not a reset connection", async () => {
      await client().directory();
      const ca = readFileSync(live.acmeCaFile);
      const outcome = await new Promise<{ status?: number; type?: string; error?: string }>(
        (resolve) => {
          const req = httpsRequest(
            `${base}/new-account`,
            {
              method: "POST",
              ca,
              agent: false,
              headers: { "content-type": "application/jose+json", "transfer-encoding": "chunked" },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (d: Buffer) => chunks.push(d));
              res.on("end", () =>
                resolve({
                  status: res.statusCode,
                  type: String(res.headers["content-type"]),
                }),
              );
              res.on("error", (e) => resolve({ status: res.statusCode, error: e.message }));
            },
          );
          req.on("error", (e) => resolve({ error: e.message }));
          const chunk = Buffer.alloc(16 * 1024, 0x61);
          let sent = 0;
          const more = () => {
            while (sent < 40) {
              sent += 1;
              if (!req.write(chunk)) {
                req.once("drain", more);
                return;
              }
            }
            req.end();
          };
          more();
        },
      );
      expect(outcome, JSON.stringify(outcome)).toMatchObject({
        status: 413,
        type: "application/problem+json",
      });
      // The listener still serves.
      expect((await client().http("GET", directoryUrl)).status).toBe(200);
    });
  });

  describe("POST-as-GET and headers of resources", () => {
    it("an account is read by POST-as-GET with its kid; GET is 405 with Allow: POST", async () => {
      const c = client();
      const reg = await c.register({ contact: ["mailto:probe@acme.localhost"] });
      expect(reg.status).toBe(201);
      expect(reg.json.status).toBe("valid");
      expect(reg.json.orders).toMatch(new RegExp(`^${base}/account/[^/]+/orders$`));
      const read = await c.post(c.kid!, "");
      expect(read.status).toBe(200);
      expect(read.json.status).toBe("valid");
      expect(read.headers["replay-nonce"]).toBeDefined();
      const get = await c.http("GET", c.kid!);
      expectProblem(get, "malformed", 405);
      expect(get.headers.allow).toBe("POST");
      // Another account's URL signed with this kid is refused, and so is a kid of no account.
      const other = client();
      await other.register();
      const cross = await c.post(other.kid!, "");
      expect([403, 404]).toContain(cross.status);
      const stranger = client();
      await stranger.directory();
      stranger.kid = `${base}/account/00000000-0000-4000-8000-000000000000`;
      expectProblem(
        await stranger.post(c.dir.newOrder ?? `${base}/new-order`, { identifiers: [] }),
        "accountDoesNotExist",
        400,
      );
    });

    it("newOrder is 201 with Location; the order's authorizations are Link-free JSON with status and expires", async () => {
      const c = client();
      await c.register();
      const order = await c.newOrder(["probe.acme.localhost"]);
      expect(order.status).toBe(201);
      expect(order.headers.location).toMatch(new RegExp(`^${base}/order/`));
      expect(order.json.status).toBe("pending");
      expect(typeof order.json.expires).toBe("string");
      const authz = (order.json.authorizations as string[])[0]!;
      const a = await c.post(authz, "");
      expect(a.status).toBe(200);
      expect(a.json.identifier).toEqual({ type: "dns", value: "probe.acme.localhost" });
      // RFC 8555 7.1.4: each challenge has type, url, status and a token.
      for (const ch of a.json.challenges as Array<Record<string, string>>) {
        expect(ch.url).toMatch(new RegExp(`^${base}/chall/`));
        expect(ch.token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
        expect(ch.status).toBe("pending");
      }
      // RFC 8555 7.5.1: a POST-as-GET of a challenge reads it (no validation starts), with a
      // Link rel="up" to its authorization.
      const chall = (a.json.challenges as Array<Record<string, string>>)[0]!;
      const read = await c.post(chall.url!, "");
      expect(read.status).toBe(200);
      expect(read.json.status).toBe("pending");
      expect(String(read.headers.link)).toContain(`<${authz}>;rel="up"`);
      // A name the policy refuses is rejectedIdentifier, with a subproblem naming it.
      const denied = await c.newOrder(["denied.acme.localhost", "ok.acme.localhost"]);
      expect(denied.status).toBe(400);
      expect(denied.headers["content-type"]).toBe("application/problem+json");
      const sub = denied.json.subproblems as Array<Record<string, unknown>> | undefined;
      expect(
        sub?.some((s) => (s.identifier as { value?: string })?.value === "denied.acme.localhost"),
      ).toBe(true);
    });
  });

  // Last in the file: before the fix, this request ends the server process.
  describe("one unauthenticated request", () => {
    it("POST /acme/<profile>/constructor/<x>: a 404 problem, and the server lives on", async () => {
      // POST_ROUTES (src/acme/http/server.ts) is a plain object: POST_ROUTES["constructor"] is
      // Object, which returns the exchange itself as the "response", before any JWS check; its
      // status (undefined) makes res.end throw inside send(), whose promise serve() returns
      // from its try block unawaited: an unhandled rejection, and Node ends the process.
      const c = client();
      const r = await c.http("POST", `${base}/constructor/x`, "{}").catch((e: Error) => e);
      const alive = await c.http("GET", directoryUrl).catch((e: Error) => e);
      expect(alive instanceof Error ? alive.message : alive.status, "the listener after it").toBe(
        200,
      );
      expect(r instanceof Error ? r.message : r.status).toBe(404);
      const get = await c.http("GET", `${base}/constructor/x`);
      expectProblem(get, "malformed", 404);
    });
  });
});
