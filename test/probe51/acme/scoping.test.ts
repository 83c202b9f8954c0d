/**
 * Probe 51 (ACME): what one account may do to another's resources, and the state rules of RFC
 * 8555 7.1.6 (orders, authorizations) and 7.3.5-7.3.6 (key rollover, deactivation), against the
 * compiled server. test/acme covers another account reading an order, authorization or
 * challenge; these cover finalize, certificate download, account URLs, the orders list, and
 * what follows a deactivation or a rollover.
 */
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeTestClient, b64u, jwsSign, publicJwk, thumbprint } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  csrDer,
  ERR,
  expectProblem,
  idOf,
  issued,
  type LiveAcme,
  order,
  readyOrder,
  startLiveAcme,
} from "./live-acme";

describe("probe 51: ACME scoping and state rules", () => {
  let live: LiveAcme;
  beforeAll(async () => {
    live = await startLiveAcme();
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  const registered = async (kind?: "ES256" | "ES384" | "RS256" | "EdDSA") => {
    const c = live.client("web-acme", kind);
    const r = await c.register({ contact: ["mailto:owner@example.com"] });
    expect(r.status, r.text).toBe(201);
    return c;
  };
  const dns = (value: string) => [{ type: "dns", value }];
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await live.db.query<{ n: string }>(sql, params))[0]!.n);
  const accountRow = async (c: AcmeTestClient) =>
    (
      await live.db.query<{ status: string; contact: string[]; key_thumbprint: string }>(
        "select status, contact, key_thumbprint from acme_account where id = $1",
        [idOf(c.kid!)],
      )
    )[0]!;

  it("another account can neither finalize a ready order, download its certificate, nor touch its account or orders list", async () => {
    const a = await registered();
    const b = await registered();
    const ready = await readyOrder(live, a, dns("scoped.acme.localhost"));
    const csr = csrDer("/CN=scoped.acme.localhost", ["DNS:scoped.acme.localhost"]).der;
    const certificates = () => count("select count(*) as n from certificate");
    const before = await certificates();
    // b finalizes a's ready order: answered as a missing order, nothing issued, still ready.
    const foreign = await b.post(ready.finalize, { csr: b64u(csr) });
    const missing = await b.post(ready.finalize.replace(idOf(ready.url), randomUUID()), {
      csr: b64u(csr),
    });
    expect([foreign.status, foreign.json]).toEqual([missing.status, missing.json]);
    expectProblem(foreign, "malformed", 404);
    expect(await certificates()).toBe(before);
    expect((await a.post(ready.url, "")).json.status).toBe("ready");
    // a's certificate: b's download reads as a missing one.
    const { certUrl } = await issued(a, ready, csr);
    const foreignCert = await b.post(certUrl, "");
    const missingCert = await b.post(certUrl.replace(idOf(certUrl), randomUUID()), "");
    expect([foreignCert.status, foreignCert.json]).toEqual([missingCert.status, missingCert.json]);
    expect(foreignCert.text).not.toContain("BEGIN CERTIFICATE");
    // a's account URL and orders list, signed by b: refused, a unchanged.
    const rowBefore = await accountRow(a);
    for (const [url, payload] of [
      [a.kid!, ""],
      [a.kid!, { contact: ["mailto:attacker@example.com"] }],
      [a.kid!, { status: "deactivated" }],
      [`${a.kid!}/orders`, ""],
    ] as const) {
      const r = await b.post(url, payload);
      expect(r.status, `${url} ${JSON.stringify(payload)}: ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.text).not.toContain("owner@example.com");
      expect(r.text).not.toContain(idOf(ready.url));
    }
    expect(await accountRow(a)).toEqual(rowBefore);
  });

  it("newAccount with one key, three at once: one account, one 201, the others 200 at its URL", async () => {
    const c = live.client("web-acme");
    await c.directory();
    const answers = await Promise.all(
      [0, 1, 2].map(() =>
        c.post(c.dir.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true }),
      ),
    );
    expect(answers.map((r) => r.status).sort(), answers.map((r) => r.text).join("\n")).toEqual([
      200, 200, 201,
    ]);
    expect(new Set(answers.map((r) => r.headers.location)).size).toBe(1);
    expect(
      await count("select count(*) as n from acme_account where key_thumbprint = $1", [
        thumbprint(publicJwk(c.key.publicKey)),
      ]),
    ).toBe(1);
  });

  it("a kid naming another account, with the caller's own key, is refused and changes nothing", async () => {
    const a = await registered();
    const b = await registered();
    const orders = () =>
      count("select count(*) as n from acme_order where account_id = $1", [idOf(a.kid!)]);
    const before = await orders();
    // b's key, a's kid: the signature cannot verify with a's key.
    const forged = Object.assign(Object.create(Object.getPrototypeOf(b)), b, { kid: a.kid });
    const r = await (forged as AcmeTestClient).post(b.dir.newOrder!, {
      identifiers: dns("forged.acme.localhost"),
    });
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await orders()).toBe(before);
    // The same account's id under another ACME profile's URL names no account there.
    const other = live.client("open-acme");
    await other.directory();
    const crossProfile = Object.assign(other, { kid: a.kid!.replace("/web-acme/", "/open-acme/") });
    const x = await crossProfile.post(other.dir.newOrder!, {
      identifiers: dns("cross.example.net"),
    });
    // (other signs with its own key; but even a's key would name no open-acme account)
    expectProblem(x, "accountDoesNotExist", 400);
  });

  it("a deactivated authorization makes its order invalid (RFC 8555 7.1.6), ready or pending", async () => {
    const a = await registered();
    const ready = await readyOrder(live, a, dns("relinquish-ready.acme.localhost"));
    const d = await a.post(ready.authzUrls[0]!, { status: "deactivated" });
    expect(d.json.status, d.text).toBe("deactivated");
    // RFC 8555 7.1.6: "The order also moves to the 'invalid' state if ... one of its
    // authorizations enters a final state other than 'valid' ('expired', 'revoked', or
    // 'deactivated')". A client polling a ready order must not be told to finalize it.
    expect((await a.post(ready.url, "")).json.status).toBe("invalid");
    const pending = await order(a, dns("relinquish-pending.acme.localhost"));
    await a.post(pending.authzUrls[0]!, { status: "deactivated" });
    expect((await a.post(pending.url, "")).json.status).toBe("invalid");
  });

  it("a valid authorization past its expiry reads expired (RFC 8555 7.1.6), and its ready order invalid", async () => {
    const a = await registered();
    const ready = await readyOrder(live, a, dns("lapsed.acme.localhost"));
    // Seven days pass (moved back here, not waited for): the order and its authorization expire.
    await live.db.query(
      "update acme_authorization set expires_at = now() - interval '1 minute' where order_id = $1",
      [idOf(ready.url)],
    );
    await live.db.query(
      "update acme_order set expires_at = now() - interval '1 minute' where id = $1",
      [idOf(ready.url)],
    );
    expect((await a.post(ready.url, "")).json.status).toBe("invalid");
    expect((await a.post(ready.authzUrls[0]!, "")).json.status).toBe("expired");
  });

  it("a deactivated authorization cannot be deactivated into anything else nor validated", async () => {
    const a = await registered();
    const o = await order(a, dns("twice.acme.localhost"));
    await a.post(o.authzUrls[0]!, { status: "deactivated" });
    const authz = await a.post(o.authzUrls[0]!, "");
    const ch = (authz.json.challenges as Array<{ url: string; type: string }>)[0]!;
    const started = await a.post(ch.url, {});
    expectProblem(started, "malformed", 400);
    const [row] = await live.db.query<{ status: string }>(
      "select status from acme_challenge where id = $1",
      [idOf(ch.url)],
    );
    expect(row?.status).toBe("pending");
  });

  it("two finalizes of one order at once issue one certificate; the other is orderNotReady", async () => {
    const a = await registered();
    const ready = await readyOrder(live, a, dns("race.acme.localhost"));
    const before = await count("select count(*) as n from certificate");
    const answers = await Promise.all(
      [0, 1].map(() =>
        a.post(ready.finalize, {
          csr: b64u(csrDer("/CN=race.acme.localhost", ["DNS:race.acme.localhost"]).der),
        }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses, answers.map((r) => r.text).join("\n")).toEqual([200, 403]);
    expect(answers.find((r) => r.status === 403)!.json.type).toBe(`${ERR}orderNotReady`);
    expect(await count("select count(*) as n from certificate")).toBe(before + 1);
  });

  it("a deactivated account: its kid requests and its key's newAccount are unauthorized, and its ready order issues nothing", async () => {
    const a = await registered();
    const ready = await readyOrder(live, a, dns("gone.acme.localhost"));
    const d = await a.post(a.kid!, { status: "deactivated" });
    expect([d.status, d.json.status], d.text).toEqual([200, "deactivated"]);
    const before = await count("select count(*) as n from certificate");
    const csr = csrDer("/CN=gone.acme.localhost", ["DNS:gone.acme.localhost"]).der;
    expectProblem(await a.post(ready.finalize, { csr: b64u(csr) }), "unauthorized", 401);
    expectProblem(await a.post(ready.url, ""), "unauthorized", 401);
    expectProblem(await a.post(a.kid!, { status: "deactivated" }), "unauthorized", 401);
    // RFC 8555 7.3.6: the server MUST NOT accept further requests signed by this account key.
    const again = await a.post(a.dir.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true });
    expectProblem(again, "unauthorized", 401);
    expect(await count("select count(*) as n from certificate")).toBe(before);
    expect(
      await count("select count(*) as n from acme_account where key_thumbprint = $1", [
        (await accountRow(a)).key_thumbprint,
      ]),
    ).toBe(1);
  });

  /** The keyChange body of `a`'s account rolled over to `next` (RFC 8555 7.3.5), with overrides. */
  const keyChangeBody = (
    a: AcmeTestClient,
    next: {
      privateKey: import("node:crypto").KeyObject;
      publicKey: import("node:crypto").KeyObject;
    },
    over: { header?: Record<string, unknown>; payload?: Record<string, unknown> } = {},
  ) => {
    const header = b64u(
      JSON.stringify({
        alg: "ES256",
        jwk: publicJwk(next.publicKey),
        url: a.dir.keyChange,
        ...over.header,
      }),
    );
    const payload = b64u(
      JSON.stringify({ account: a.kid, oldKey: publicJwk(a.key.publicKey), ...over.payload }),
    );
    const signature = jwsSign("ES256", next.privateKey, `${header}.${payload}`);
    return { protected: header, payload, signature: b64u(signature) };
  };
  const p256 = () => generateKeyPairSync("ec", { namedCurve: "P-256" });

  it("keyChange: an inner JWS that differs from the outer one is malformed, and the key stays", async () => {
    const a = await registered();
    const b = await registered();
    const before = (await accountRow(a)).key_thumbprint;
    const next = p256();
    const cases: Array<[string, Parameters<typeof keyChangeBody>[2]]> = [
      ["inner url with a trailing slash", { header: { url: `${a.dir.keyChange}/` } }],
      ["inner url with a query", { header: { url: `${a.dir.keyChange}?x=1` } }],
      [
        "inner url http: not https:",
        { header: { url: a.dir.keyChange!.replace("https:", "http:") } },
      ],
      ["inner names another account", { payload: { account: b.kid } }],
      [
        "inner oldKey is another account's key",
        { payload: { oldKey: publicJwk(b.key.publicKey) } },
      ],
      ["inner carries a kid too", { header: { kid: a.kid } }],
      ["inner carries a nonce", { header: { nonce: "AAAAAAAAAAAAAAAAAAAAAA" } }],
      ["inner alg none", { header: { alg: "none" } }],
      ["inner crit", { header: { crit: ["b64"], b64: false } }],
    ];
    for (const [what, over] of cases) {
      const r = await a.post(a.dir.keyChange!, keyChangeBody(a, next, over));
      expect(r.status, `${what}: ${r.text}`).toBe(400);
      expect(r.headers["content-type"], what).toBe("application/problem+json");
      expect((await accountRow(a)).key_thumbprint, what).toBe(before);
    }
    // Signed outside by b, naming a inside: refused; neither key moves.
    const bBefore = (await accountRow(b)).key_thumbprint;
    const crossed = await b.post(b.dir.keyChange!, keyChangeBody(a, next));
    expect(crossed.status, crossed.text).toBe(400);
    expect((await accountRow(a)).key_thumbprint).toBe(before);
    expect((await accountRow(b)).key_thumbprint).toBe(bBefore);
  });

  it("keyChange: two rollovers at once to two keys, one wins; the old key signs nothing and finds no account", async () => {
    const a = await registered();
    const [k1, k2] = [p256(), p256()];
    const answers = await Promise.all(
      [k1, k2].map((k) => a.post(a.dir.keyChange!, keyChangeBody(a, k))),
    );
    const won = answers.findIndex((r) => r.status === 200);
    expect(won, answers.map((r) => r.text).join("\n")).toBeGreaterThanOrEqual(0);
    const lost = answers[1 - won]!;
    expect(lost.status, lost.text).toBeGreaterThanOrEqual(400);
    expect(lost.status).toBeLessThan(500);
    const winner = [k1, k2][won]!;
    expect((await accountRow(a)).key_thumbprint).toBe(thumbprint(publicJwk(winner.publicKey)));
    // The old key, with the account's kid: refused.
    const old = await a.post(a.kid!, "");
    expect(old.status, old.text).toBeGreaterThanOrEqual(400);
    expect(old.status).toBeLessThan(500);
    // The old key finds no account; the new one finds this account.
    const oldLookup = await a.post(
      a.dir.newAccount!,
      { onlyReturnExisting: true },
      { useJwk: true },
    );
    expectProblem(oldLookup, "accountDoesNotExist", 400);
    const newLookup = await a.post(
      a.dir.newAccount!,
      { onlyReturnExisting: true },
      { useJwk: true, signWith: { kind: "ES256", ...winner } },
    );
    expect([newLookup.status, newLookup.headers.location], newLookup.text).toEqual([200, a.kid]);
  });
});
