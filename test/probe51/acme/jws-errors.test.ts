/**
 * Probe 51 (ACME): JWS details and error documents a strict RFC 8555 client checks, against the
 * compiled server: the url header against a request URL with a query (6.4), a kid that is not
 * the account URL as issued (6.2), signature encodings (RFC 7518 3.4), deeply nested JSON, and
 * that every error of a routed POST is a problem document (6.7) with a Replay-Nonce (6.5) and
 * the index Link (7.1). test/probe49/http/acme.test.ts covers alg, jwk+kid, a url with a query
 * in the header, replays, duplicate header members, base64 forms and content types.
 */
import { createSign, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeTestClient, b64u, type HttpResult } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { ERR, type LiveAcme, startLiveAcme } from "./live-acme";

describe("probe 51: ACME JWS details and error documents", () => {
  let live: LiveAcme;
  let c: AcmeTestClient;
  beforeAll(async () => {
    live = await startLiveAcme();
    c = live.client("web-acme");
    expect((await c.register()).status).toBe(201);
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  const orders = async () =>
    Number((await live.db.query<{ n: string }>("select count(*) as n from acme_order"))[0]!.n);
  const newOrderPayload = (name: string) => ({ identifiers: [{ type: "dns", value: name }] });

  it("a request URL with a query is not the URL its JWS names (RFC 8555 6.4): unauthorized, nothing stored", async () => {
    const before = await orders();
    const body = await c.jws(c.dir.newOrder!, newOrderPayload("query.acme.localhost"));
    const r = await c.http("POST", `${c.dir.newOrder}?x=1`, body);
    expect([r.status, r.json.type], r.text).toEqual([401, `${ERR}unauthorized`]);
    expect(await orders()).toBe(before);
  });

  it("a kid is the account URL as the server issued it: another spelling of its id names no account", async () => {
    const before = await orders();
    const id = c.kid!.split("/").at(-1)!;
    const upper = Object.assign(Object.create(Object.getPrototypeOf(c)), c, {
      kid: c.kid!.replace(id, id.toUpperCase()),
    }) as AcmeTestClient;
    const r = await upper.post(c.dir.newOrder!, newOrderPayload("upper-kid.acme.localhost"));
    expect([r.status, r.json.type], r.text).toEqual([400, `${ERR}accountDoesNotExist`]);
    expect(await orders()).toBe(before);
  });

  it("an ECDSA signature in DER (not R || S), with bytes appended, or empty is refused", async () => {
    const before = await orders();
    const sign = async (mutate: (protectedB64: string, payloadB64: string) => string) => {
      const header = b64u(
        JSON.stringify({ alg: "ES256", nonce: await c.nonce(), url: c.dir.newOrder, kid: c.kid }),
      );
      const payload = b64u(JSON.stringify(newOrderPayload("sig.acme.localhost")));
      return JSON.stringify({ protected: header, payload, signature: mutate(header, payload) });
    };
    const der = (h: string, p: string) =>
      createSign("sha256").update(`${h}.${p}`).sign(c.key.privateKey).toString("base64url");
    const raw = (h: string, p: string) =>
      createSign("sha256")
        .update(`${h}.${p}`)
        .sign({ key: c.key.privateKey, dsaEncoding: "ieee-p1363" });
    for (const [what, mutate] of [
      ["DER", der],
      [
        "R || S with a byte appended",
        (h: string, p: string) => b64u(Buffer.concat([raw(h, p), Buffer.from([0])])),
      ],
      ["empty", () => ""],
    ] as const) {
      const r = await c.http("POST", c.dir.newOrder!, await sign(mutate));
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect(r.headers["content-type"]).toBe("application/problem+json");
    }
    expect(await orders()).toBe(before);
  });

  it("deeply nested JSON in the body, the header or the payload is a 400, and the listener lives on", async () => {
    const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const header = b64u(
      `{"alg":"ES256","nonce":"${await c.nonce()}","url":"${c.dir.newOrder}","kid":"${c.kid}","x":${deep}}`,
    );
    for (const body of [
      deep,
      JSON.stringify({ protected: header, payload: "", signature: "AA" }),
      JSON.stringify({
        protected: b64u(
          JSON.stringify({ alg: "ES256", nonce: await c.nonce(), url: c.dir.newOrder, kid: c.kid }),
        ),
        payload: b64u(deep),
        signature: "AA",
      }),
    ]) {
      const r = await c.http("POST", c.dir.newOrder!, body);
      expect(r.status, r.text).toBe(400);
    }
    expect((await c.http("GET", c.directoryUrl)).status).toBe(200);
  });

  it("every error of a routed POST is a problem document with a Replay-Nonce and the index Link", async () => {
    const other = live.client("web-acme");
    await other.directory();
    const base = c.dir.newOrder!.replace(/\/new-order$/, "");
    const cases: Array<[string, () => Promise<HttpResult>]> = [
      ["body not JSON", () => c.http("POST", c.dir.newOrder!, "{not json")],
      ["no identifiers", () => c.post(c.dir.newOrder!, { identifiers: [] })],
      [
        "a name outside the policy",
        () => c.post(c.dir.newOrder!, newOrderPayload("x.example.org")),
      ],
      ["an unknown order", () => c.post(`${base}/order/${randomUUID()}`, "")],
      ["an unknown authorization", () => c.post(`${base}/authz/${randomUUID()}`, "")],
      ["an unknown challenge", () => c.post(`${base}/chall/${randomUUID()}`, {})],
      ["an unknown certificate", () => c.post(`${base}/cert/${randomUUID()}`, "")],
      [
        "finalize of an unknown order",
        () => c.post(`${base}/order/${randomUUID()}/finalize`, { csr: "AA" }),
      ],
      [
        "a kid of no account",
        () =>
          Object.assign(other, { kid: `${base}/account/${randomUUID()}` }).post(
            c.dir.newOrder!,
            newOrderPayload("a.acme.localhost"),
          ),
      ],
      ["revokeCert without a certificate", () => c.post(c.dir.revokeCert!, {})],
      ["keyChange with a payload that is no JWS", () => c.post(c.dir.keyChange!, { hello: 1 })],
      [
        "newAccount with contact of another scheme",
        () => live.client("web-acme").register({ contact: ["tel:+1"] }),
      ],
      ["a wrong content type", () => c.http("POST", c.dir.newOrder!, "{}", "application/json")],
    ];
    for (const [what, send] of cases) {
      const r = await send();
      expect(r.status, `${what}: ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status, what).toBeLessThan(500);
      expect(r.headers["content-type"], what).toBe("application/problem+json");
      expect(r.json.status, what).toBe(r.status);
      expect(String(r.json.type), what).toMatch(/^urn:ietf:params:acme:error:[A-Za-z]+$/);
      expect(typeof r.json.detail, what).toBe("string");
      expect(r.headers["replay-nonce"], what).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(String(r.headers.link), what).toContain(`<${c.directoryUrl}>;rel="index"`);
      expect(r.headers["cache-control"], what).toBe("no-store");
    }
    // A POST to a URL of no resource under an ACME profile, and to the directory: problem
    // documents with the index Link (RFC 8555 6.5 asks a nonce of error responses as SHOULD).
    for (const url of [`${base}/no-such-thing`, c.directoryUrl]) {
      const r = await c.http("POST", url, await c.jws(url, {}));
      expect([404, 405], url).toContain(r.status);
      expect(r.headers["content-type"], url).toBe("application/problem+json");
      expect(String(r.headers.link), url).toContain(`<${c.directoryUrl}>;rel="index"`);
      // And a nonce, since stop 51 of 2026-12-07 (none before).
      expect(r.headers["replay-nonce"], url).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });
});
