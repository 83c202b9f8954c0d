import { createHash, createPrivateKey, createPublicKey, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:tls";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opensslCsr } from "../support/fixtures";
import { call } from "../support/harness";
import { opensslOk, TempDir } from "../support/openssl";
import { waitFor } from "../support/wait";
import { startTxtServer } from "./dns-server";
import { type AcmeServer, createAcmeProfile, startAcmeServer, verifyBundle } from "./helpers";
import { AcmeTestClient, b64u, jwsSign, type KeyKind, publicJwk, thumbprint } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";

/**
 * RFC 8555 as an attacker sends it (test/acme/jws-client.ts): each refusal is checked for its
 * ACME error type, and for leaving nothing behind in PostgreSQL.
 */
describe("ACME protocol", () => {
  let s: AcmeServer;
  let dns: Awaited<ReturnType<typeof startTxtServer>>;
  const txt = new Map<string, string[]>();
  let challengeServer: Server;
  /** What the test's http-01 server answers, by path. */
  let answer: (path: string, res: import("node:http").ServerResponse) => void = (_p, res) =>
    res.end();
  const requested: string[] = [];

  beforeAll(async () => {
    dns = await startTxtServer(txt);
    s = await startAcmeServer({
      CERTMINT_ACME_DNS_RESOLVERS: `127.0.0.1:${dns.port}`,
      // Its tests create a score of accounts from 127.0.0.1; acme-flood.test.ts tests the budget.
      CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0",
    });
    challengeServer = createServer((req, res) => {
      requested.push(req.url ?? "");
      answer(req.url ?? "", res);
    });
    await new Promise<void>((r) => challengeServer.listen(s.httpPort, "127.0.0.1", r));
  });
  afterAll(async () => {
    challengeServer?.close();
    dns?.close();
    await s?.h.stop();
  });

  const client = (kind: KeyKind = "ES256") => new AcmeTestClient(s.directory(), s.tlsCaFile, kind);
  const count = async (table: string) =>
    Number((await s.h.db.query<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);

  /** An order of `c` for `name`, its http-01 challenge answered by the test's server (not started). */
  const answeredOrder = async (c: AcmeTestClient, name: string) => {
    const order = await c.newOrder([name]);
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const http01 = (
      (await c.post(authzUrl, "")).json.challenges as Array<{
        type: string;
        url: string;
        token: string;
      }>
    ).find((ch) => ch.type === "http-01")!;
    const keyAuth = `${http01.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    answer = (_path, res) => res.end(keyAuth);
    return { order, authzUrl, http01 };
  };

  /** An order of `c` for `name`, its http-01 challenge answered and the authorization valid. */
  const validatedOrder = async (c: AcmeTestClient, name: string) => {
    const { order, authzUrl, http01 } = await answeredOrder(c, name);
    await c.post(http01.url, {});
    await waitFor(
      `${name} validated`,
      async () => (await c.post(authzUrl, "")).json.status === "valid",
    );
    return order;
  };

  it("accepts ES256, ES384, RS256 and EdDSA account keys", async () => {
    for (const kind of ["ES256", "ES384", "RS256", "EdDSA"] as const) {
      const c = client(kind);
      const r = await c.register({ contact: ["mailto:ops@example.com"] });
      expect(r.status, `${kind}: ${r.text}`).toBe(201);
      const [row] = await s.h.db.query<{ jwk: { kty: string }; key_thumbprint: string }>(
        `select jwk, key_thumbprint from acme_account where id = $1`,
        [c.kid!.split("/").at(-1)],
      );
      expect(row?.key_thumbprint).toBe(thumbprint(publicJwk(c.key.publicKey)));
      // The same key again: the same account, 200.
      const again = await c.register();
      expect(again.status).toBe(200);
      expect(again.headers.location).toBe(c.kid);
    }
  });

  it("refuses a replayed nonce (badNonce) and writes nothing the second time", async () => {
    const c = client();
    await c.register();
    const body = await c.jws(c.dir.newOrder!, {
      identifiers: [{ type: "dns", value: "replay.acme.localhost" }],
    });
    const first = await c.http("POST", c.dir.newOrder!, body);
    expect(first.status).toBe(201);
    const orders = await count("acme_order");
    const replay = await c.http("POST", c.dir.newOrder!, body);
    expect(replay.status).toBe(400);
    expect(replay.json.type).toBe(`${ACME}badNonce`);
    // A fresh nonce comes with the refusal, so a client can retry at once (RFC 8555 6.5).
    expect(replay.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await count("acme_order")).toBe(orders);
    // A nonce never issued is refused the same way.
    const forged = await c.post(c.dir.newOrder!, { identifiers: [] }, { nonce: "bm90LWlzc3VlZA" });
    expect(forged.json.type).toBe(`${ACME}badNonce`);
  });

  it("refuses forged signatures, a wrong url, unknown algorithms and bad bodies", async () => {
    const c = client();
    const accounts = await count("acme_account");
    const other = client("ES256");
    // Signed by another key than the jwk it carries.
    const url = (await c.directory()).newAccount!;
    const header = { alg: "ES256", nonce: await c.nonce(), url, jwk: publicJwk(c.key.publicKey) };
    const p = b64u(JSON.stringify(header));
    const payload = b64u(JSON.stringify({ termsOfServiceAgreed: true }));
    const forged = jwsSign("ES256", other.key.privateKey, `${p}.${payload}`);
    const r1 = await c.http(
      "POST",
      url,
      JSON.stringify({ protected: p, payload, signature: b64u(forged) }),
    );
    expect([r1.status, r1.json.type]).toEqual([400, `${ACME}malformed`]);
    // A JWS made for another URL.
    const r2 = await c.post(
      url,
      { termsOfServiceAgreed: true },
      { useJwk: true, headerUrl: `${url}x` },
    );
    expect([r2.status, r2.json.type]).toEqual([401, `${ACME}unauthorized`]);
    // An algorithm ACME account keys do not use (RFC 8555 6.2: never "none" or MACs).
    const r3 = await c.post(url, {}, { useJwk: true, alg: "HS256" });
    expect(r3.json.type).toBe(`${ACME}badSignatureAlgorithm`);
    expect(r3.json.algorithms).toEqual(["ES256", "ES384", "RS256", "EdDSA"]);
    // Not application/jose+json; and a body over the limit.
    const r4 = await c.http(
      "POST",
      url,
      await c.jws(url, {}, { useJwk: true }),
      "application/json",
    );
    expect(r4.status).toBe(415);
    const r5 = await c.http("POST", url, "x".repeat(200 * 1024));
    expect([r5.status, r5.json.type]).toEqual([413, `${ACME}malformed`]);
    expect(await count("acme_account")).toBe(accounts);
  });

  it("refuses a key rollover to a key another account holds (409, Location of that account)", async () => {
    const a = client();
    await a.register();
    const b = client("EdDSA");
    await b.register();
    const inner = (signer: AcmeTestClient) => {
      const header = b64u(
        JSON.stringify({
          alg: signer.kind,
          jwk: publicJwk(signer.key.publicKey),
          url: a.dir.keyChange,
        }),
      );
      const payload = b64u(JSON.stringify({ account: a.kid, oldKey: publicJwk(a.key.publicKey) }));
      const signature = jwsSign(signer.kind, signer.key.privateKey, `${header}.${payload}`);
      return { protected: header, payload, signature: b64u(signature) };
    };
    const [before] = await s.h.db.query<{ key_thumbprint: string }>(
      `select key_thumbprint from acme_account where id = $1`,
      [a.kid!.split("/").at(-1)],
    );
    const taken = await a.post(a.dir.keyChange!, inner(b));
    expect([taken.status, taken.json.type]).toEqual([409, `${ACME}malformed`]);
    expect(taken.headers.location).toBe(b.kid);
    expect(taken.json.detail).toBe("the new key belongs to another account");
    // A rollover to the key the account already has: 409 with its own Location, saying so
    // (until stop 44 of 2026-12-06 it said the key belonged to another account).
    const own = await a.post(a.dir.keyChange!, inner(a));
    expect([own.status, own.json.type]).toEqual([409, `${ACME}malformed`]);
    expect(own.headers.location).toBe(a.kid);
    expect(own.json.detail).toBe("the new key is already this account's key: nothing to roll over");
    // Signed by a key other than the one it names: refused too.
    const fresh = client("ES384");
    const forged = inner(fresh);
    forged.signature = inner(client("ES384")).signature;
    expect((await a.post(a.dir.keyChange!, forged)).json.type).toBe(`${ACME}malformed`);
    const [after] = await s.h.db.query<{ key_thumbprint: string }>(
      `select key_thumbprint from acme_account where id = $1`,
      [a.kid!.split("/").at(-1)],
    );
    expect(after?.key_thumbprint).toBe(before?.key_thumbprint);
  });

  it("a rollover that loses a race for the key is answered 409 with the winner's Location (RFC 8555 7.3.5)", async () => {
    const a = client();
    await a.register();
    const b = client();
    await b.register();
    const fresh = client("ES384");
    const header = b64u(
      JSON.stringify({
        alg: fresh.kind,
        jwk: publicJwk(fresh.key.publicKey),
        url: a.dir.keyChange,
      }),
    );
    const payload = b64u(JSON.stringify({ account: a.kid, oldKey: publicJwk(a.key.publicKey) }));
    const inner = {
      protected: header,
      payload,
      signature: b64u(jwsSign(fresh.kind, fresh.key.privateKey, `${header}.${payload}`)),
    };
    // The winner: b's rollover to the same key, committed while a's waits on the unique index.
    const winner = new Client({ connectionString: s.h.db.url });
    await winner.connect();
    try {
      await winner.query("begin");
      await winner.query(
        "update acme_account set jwk = $1::jsonb, key_thumbprint = $2 where id = $3",
        [
          JSON.stringify(publicJwk(fresh.key.publicKey)),
          thumbprint(publicJwk(fresh.key.publicKey)),
          b.kid!.split("/").at(-1),
        ],
      );
      const losing = a.post(a.dir.keyChange!, inner);
      await waitFor("a's rollover to wait for the winner", async () => {
        const waiting = await s.h.db.query(
          `select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like 'update acme_account set jwk%'`,
        );
        return waiting.length > 0;
      });
      await winner.query("commit");
      const lost = await losing;
      expect([lost.status, lost.json.type]).toEqual([409, `${ACME}malformed`]);
      expect(lost.headers.location).toBe(b.kid);
    } finally {
      await winner.end();
    }
  });

  it("keeps each account to its own orders: another's reads exactly as a missing one", async () => {
    const a = client();
    await a.register();
    const order = await a.newOrder(["mine.acme.localhost"]);
    expect(order.status).toBe(201);
    const authz = (order.json.authorizations as string[])[0]!;
    const challenge = ((await a.post(authz, "")).json.challenges as Array<{ url: string }>)[0]!.url;
    const b = client();
    await b.register();
    // Each of a's URLs, read and acted on by b, against the same URL with an id nobody holds
    // (as Boulder answers): 404 malformed, the same detail, and nothing changed.
    for (const [url, payload] of [
      [order.headers.location as string, ""],
      [authz, ""],
      [authz, { status: "deactivated" }],
      [challenge, ""],
      [challenge, {}],
    ] as const) {
      const foreign = await b.post(url, payload);
      const missing = await b.post(url.replace(/[^/]+$/, randomUUID()), payload);
      expect([foreign.status, foreign.json], url).toEqual([missing.status, missing.json]);
      expect([foreign.status, foreign.json.type]).toEqual([404, `${ACME}malformed`]);
    }
    expect((await a.post(authz, "")).json.status).toBe("pending");
    const [row] = await s.h.db.query<{ n: string }>(
      `select count(*) as n from acme_challenge where authorization_id = $1 and status <> 'pending'`,
      [authz.split("/").at(-1)],
    );
    expect(row?.n).toBe("0");
  });

  it("validates http-01 only within its bounds: a redirect loop and an oversized answer fail", async () => {
    const c = client();
    await c.register();
    for (const [name, behaviour, detail] of [
      [
        "loop.acme.localhost",
        (path: string, res: import("node:http").ServerResponse) => {
          res.writeHead(302, { location: path });
          res.end();
        },
        "more than 10 redirects",
      ],
      [
        "big.acme.localhost",
        (_path: string, res: import("node:http").ServerResponse) => res.end("x".repeat(1 << 20)),
        "larger than",
      ],
    ] as const) {
      answer = behaviour;
      const order = await c.newOrder([name]);
      const authzUrl = (order.json.authorizations as string[])[0]!;
      const authz = await c.post(authzUrl, "");
      const http01 = (authz.json.challenges as Array<{ type: string; url: string }>).find(
        (ch) => ch.type === "http-01",
      )!;
      const started = await c.post(http01.url, {});
      expect(started.status).toBe(200);
      let final: Record<string, unknown> = {};
      await waitFor(`${name} to be validated`, async () => {
        final = (await c.post(authzUrl, "")).json;
        return final.status !== "pending";
      });
      expect(final.status).toBe("invalid");
      const error = (final.challenges as Array<{ error?: { type: string; detail: string } }>).find(
        (ch) => ch.error,
      )!.error!;
      expect(error.type).toBe(`${ACME}connection`);
      expect(error.detail).toContain(detail);
      const [row] = await s.h.db.query<{ status: string }>(
        `select status from acme_order where id = $1`,
        [(order.headers.location as string).split("/").at(-1)],
      );
      expect(row?.status).toBe("invalid");
    }
  });

  it("checks tls-alpn-01 as RFC 8737 says: the protocol, a critical acmeIdentifier, its digest", async () => {
    const c = client();
    await c.register();
    const cases = [
      {
        name: "digest.acme.localhost",
        alpn: "acme-tls/1",
        critical: true,
        digest: "wrong",
        detail: "not the digest",
      },
      {
        name: "noncrit.acme.localhost",
        alpn: "acme-tls/1",
        critical: false,
        digest: "right",
        detail: "no critical acmeIdentifier",
      },
      {
        name: "noalpn.acme.localhost",
        alpn: "http/1.1",
        critical: true,
        digest: "right",
        // A server without acme-tls/1 ends the handshake (no_application_protocol).
        detail: "tls-alpn-01: cannot connect",
      },
    ] as const;
    for (const t of cases) {
      const order = await c.newOrder([t.name]);
      const authzUrl = (order.json.authorizations as string[])[0]!;
      const challenge = (
        (await c.post(authzUrl, "")).json.challenges as Array<{
          type: string;
          url: string;
          token: string;
        }>
      ).find((ch) => ch.type === "tls-alpn-01")!;
      const keyAuth = `${challenge.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
      const digest =
        t.digest === "right"
          ? createHash("sha256").update(keyAuth).digest("hex")
          : createHash("sha256").update("something else").digest("hex");
      const dir = new TempDir();
      const keyFile = dir.out("key.pem");
      const certFile = dir.out("cert.pem");
      opensslOk([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-subj",
        "/CN=acme",
        "-days",
        "1",
        "-addext",
        `subjectAltName=DNS:${t.name}`,
        "-addext",
        `1.3.6.1.5.5.7.1.31=${t.critical ? "critical," : ""}DER:0420${digest}`,
      ]);
      const server = createTlsServer(
        { key: readFileSync(keyFile), cert: readFileSync(certFile), ALPNProtocols: [t.alpn] },
        (socket) => socket.end(),
      );
      await new Promise<void>((r) => server.listen(s.tlsPort, "127.0.0.1", r));
      try {
        await c.post(challenge.url, {});
        let final: Record<string, unknown> = {};
        await waitFor(`${t.name} validated`, async () => {
          final = (await c.post(authzUrl, "")).json;
          return final.status !== "pending";
        });
        expect(final.status, t.name).toBe("invalid");
        const error = (
          final.challenges as Array<{ error?: { type: string; detail: string } }>
        ).find((ch) => ch.error)!.error!;
        expect(error.detail, t.name).toContain(t.detail);
      } finally {
        await new Promise((r) => server.close(r));
        dir.remove();
      }
    }
  });

  it("offers a wildcard dns-01 only, validates it through the configured resolver, and issues", async () => {
    const c = client();
    await c.register();
    const order = await c.newOrder(["*.wild.acme.localhost"]);
    expect(order.status).toBe(201);
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const authz = await c.post(authzUrl, "");
    expect(authz.json.wildcard).toBe(true);
    const challenges = authz.json.challenges as Array<{ type: string; url: string; token: string }>;
    expect(challenges.map((ch) => ch.type)).toEqual(["dns-01"]);
    const keyAuth = `${challenges[0]!.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    txt.set("_acme-challenge.wild.acme.localhost", [
      createHash("sha256").update(keyAuth).digest("base64url"),
    ]);
    await c.post(challenges[0]!.url, {});
    await waitFor(
      "the wildcard authorization",
      async () => (await c.post(authzUrl, "")).json.status === "valid",
    );

    // finalize: a CSR naming anything else is badCSR, and the order stays ready.
    const orderUrl = order.headers.location as string;
    const finalizeUrl = order.json.finalize as string;
    const wrong = opensslCsr("/CN=other.acme.localhost", ["DNS:other.acme.localhost"]);
    const bad = await c.post(finalizeUrl, { csr: b64u(pemToDer(wrong.csrPem)) });
    expect(bad.json.type).toBe(`${ACME}badCSR`);
    expect((await c.post(orderUrl, "")).json.status).toBe("ready");

    // No common name: the policy keeps wildcards out of the CN (they belong in DNS SANs).
    const csr = opensslCsr("/", ["DNS:*.wild.acme.localhost"]);
    const done = await c.post(finalizeUrl, { csr: b64u(pemToDer(csr.csrPem)) });
    expect(done.json.status, done.text).toBe("valid");
    const download = await c.post(done.json.certificate as string, "");
    expect(download.headers["content-type"]).toBe("application/pem-certificate-chain");
    const leaf = verifyBundle(download.text, s.rootPem);
    expect(leaf.subjectAltName).toBe("DNS:*.wild.acme.localhost");

    // Revocation: another account may not; the certificate's own key may (RFC 8555 7.6).
    const stranger = client();
    await stranger.register();
    const certDer = b64u(leaf.raw);
    // Its download is the owner's only: a stranger reads it as a certificate nobody holds.
    const certUrl = done.json.certificate as string;
    const foreign = await stranger.post(certUrl, "");
    const missing = await stranger.post(certUrl.replace(/[^/]+$/, randomUUID()), "");
    expect([foreign.status, foreign.json]).toEqual([missing.status, missing.json]);
    expect([foreign.status, foreign.json.type]).toEqual([404, `${ACME}malformed`]);
    const refused = await stranger.post(stranger.dir.revokeCert!, { certificate: certDer });
    expect([refused.status, refused.json.type]).toEqual([403, `${ACME}unauthorized`]);
    // Not a certificate: malformed. A certificate certmint did not issue (the leaf with one
    // octet of its signature changed: the same serial, another fingerprint): not found.
    const junk = await stranger.post(stranger.dir.revokeCert!, {
      certificate: b64u(Buffer.from("junk")),
    });
    expect([junk.status, junk.json.type]).toEqual([400, `${ACME}malformed`]);
    const forged = Buffer.from(leaf.raw);
    forged[forged.length - 1]! ^= 1;
    const unknown = await stranger.post(stranger.dir.revokeCert!, { certificate: b64u(forged) });
    expect([unknown.status, unknown.json.type]).toEqual([404, `${ACME}malformed`]);
    const [still] = await s.h.db.query<{ revoked_at: Date | null }>(
      `select revoked_at from certificate where serial_number = $1`,
      [leaf.serialNumber.toLowerCase()],
    );
    expect(still?.revoked_at).toBeNull();
    const certKey = createPrivateKey(csr.keyPem);
    const holder = new AcmeTestClient(s.directory(), s.tlsCaFile, "ES256", {
      privateKey: certKey,
      publicKey: createPublicKey(certKey),
    });
    await holder.directory();
    const revoked = await holder.post(
      holder.dir.revokeCert!,
      { certificate: certDer, reason: 1 },
      { useJwk: true },
    );
    expect(revoked.status).toBe(200);
    const [row] = await s.h.db.query<{ revocation_reason: string }>(
      `select revocation_reason from certificate where serial_number = $1`,
      [leaf.serialNumber.toLowerCase()],
    );
    expect(row?.revocation_reason).toBe("KEY_COMPROMISE");
    // Signed by the key itself, a keyCompromise proves the key's compromise: it is blocked.
    const spki = createHash("sha256")
      .update(leaf.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    const blocked = await s.h.db.query("select 1 from blocked_key where spki_sha256 = $1", [spki]);
    expect(blocked).toHaveLength(1);
  });

  it("waits for approval like IssueCertificate: the order is processing until an approver decides", async () => {
    await createAcmeProfile(s.h, "gated-acme", { requireApproval: true });
    const c = new AcmeTestClient(s.directory("gated-acme"), s.tlsCaFile);
    await c.register();
    const finalized = async (name: string) => {
      const order = await validatedOrder(c, name);
      const csr = opensslCsr(`/CN=${name}`, [`DNS:${name}`]);
      const done = await c.post(order.json.finalize as string, { csr: b64u(pemToDer(csr.csrPem)) });
      expect(done.json.status, done.text).toBe("processing");
      expect(Number(done.headers["retry-after"])).toBeGreaterThan(0);
      const [row] = await s.h.db.query<{ certificate_request_id: string }>(
        `select certificate_request_id from acme_order where id = $1`,
        [(order.headers.location as string).split("/").at(-1)],
      );
      return { orderUrl: order.headers.location as string, requestId: row!.certificate_request_id };
    };

    const approved = await finalized("approved.acme.localhost");
    expect((await c.post(approved.orderUrl, "")).json.status).toBe("processing");
    await call(s.h.certificates, "approveCertificateRequest", {
      certificateRequestId: approved.requestId,
      comment: "ACME order checked",
    });
    const valid = await c.post(approved.orderUrl, "");
    expect(valid.json.status).toBe("valid");
    const download = await c.post(valid.json.certificate as string, "");
    expect(verifyBundle(download.text, s.rootPem).subjectAltName).toBe(
      "DNS:approved.acme.localhost",
    );

    const rejected = await finalized("rejected.acme.localhost");
    await call(s.h.certificates, "rejectCertificateRequest", {
      certificateRequestId: rejected.requestId,
      reason: "not this one",
    });
    const invalid = await c.post(rejected.orderUrl, "");
    expect(invalid.json.status).toBe("invalid");
    expect(invalid.json.certificate).toBeUndefined();

    // An account deactivated while its request waits (RFC 8555 7.3.6): the request is rejected
    // with it, audited, and an approval is refused as not waiting (since stop 46 of 2026-12-06;
    // before, it stayed in the approvers' queue).
    const left = await finalized("left.acme.localhost");
    const deactivated = await c.post(c.kid!, { status: "deactivated" });
    expect(deactivated.json.status).toBe("deactivated");
    const [leftRow] = await s.h.db.query<{
      status: string;
      error: { reason: string; message: string };
    }>("select status, error from certificate_request where id = $1", [left.requestId]);
    expect(leftRow?.status).toBe("REJECTED");
    expect(leftRow?.error.reason).toBe("REQUEST_REJECTED");
    expect(leftRow?.error.message).toContain("ACME account that made it was deactivated");
    const audits = await s.h.db.query(
      "select 1 from audit_record where resource_type = 'certificate_request' and resource_id = $1",
      [left.requestId],
    );
    expect(audits.length).toBeGreaterThan(0);
    await expect(
      call(s.h.certificates, "approveCertificateRequest", {
        certificateRequestId: left.requestId,
        comment: "too late",
      }),
    ).rejects.toMatchObject({ details: expect.stringContaining("not PENDING_APPROVAL") });
  });

  it("resumes an interrupted finalize: the order follows the request it recorded, or is ready again", async () => {
    const c = client();
    await c.register();
    /** An order for `name`, validated with http-01: ready to finalize. */
    const readyOrder = async (name: string) => {
      const order = await validatedOrder(c, name);
      const url = order.headers.location as string;
      await waitFor(`${name} ready`, async () => (await c.post(url, "")).json.status === "ready");
      return { url, id: url.split("/").at(-1)!, finalize: order.json.finalize as string };
    };
    const finalize = (order: { finalize: string }, name: string) =>
      c.post(order.finalize, {
        csr: b64u(pemToDer(opensslCsr(`/CN=${name}`, [`DNS:${name}`]).csrPem)),
      });
    const orderRow = async (id: string) =>
      (
        await s.h.db.query<{ status: string; certificate_id: string | null }>(
          "select status, certificate_id from acme_order where id = $1",
          [id],
        )
      )[0]!;
    const certificatesNamed = async (name: string) =>
      Number(
        (
          await s.h.db.query<{ n: string }>(
            "select count(*) as n from certificate where search_names like $1",
            [`%${name}%`],
          )
        )[0]!.n,
      );

    // 1. The finalize recorded its request and issued, then stopped before updating the order
    // (as after a crash, or a database that went away): the order follows that request.
    const issued = await readyOrder("recorded.acme.localhost");
    expect((await finalize(issued, "recorded.acme.localhost")).json.status).toBe("valid");
    const certificateId = (await orderRow(issued.id)).certificate_id;
    await s.h.db.query(
      `update acme_order set status = 'processing', certificate_request_id = null,
         certificate_id = null where id = $1`,
      [issued.id],
    );
    const followed = await c.post(issued.url, "");
    expect(followed.json.status).toBe("valid");
    expect(await orderRow(issued.id)).toEqual({ status: "valid", certificate_id: certificateId });
    expect(await certificatesNamed("recorded.acme.localhost")).toBe(1);

    // 2. A finalize that started two minutes ago and recorded nothing: the order is ready again,
    // and a new finalize issues.
    const lost = await readyOrder("lost.acme.localhost");
    await s.h.db.query(
      `update acme_order set status = 'processing', updated_at = now() - interval '2 minutes'
         where id = $1`,
      [lost.id],
    );
    expect((await c.post(lost.url, "")).json.status).toBe("ready");
    expect(await certificatesNamed("lost.acme.localhost")).toBe(0);
    const done = await finalize(lost, "lost.acme.localhost");
    expect(done.json.status, done.text).toBe("valid");
    const download = await c.post(done.json.certificate as string, "");
    expect(verifyBundle(download.text, s.rootPem).subjectAltName).toBe("DNS:lost.acme.localhost");

    // 3. A finalize that started just now (in flight): left alone.
    const inFlight = await readyOrder("in-flight.acme.localhost");
    await s.h.db.query(
      "update acme_order set status = 'processing', updated_at = now() where id = $1",
      [inFlight.id],
    );
    const polled = await c.post(inFlight.url, "");
    expect(polled.json.status).toBe("processing");
    expect(Number(polled.headers["retry-after"])).toBeGreaterThan(0);
    expect((await orderRow(inFlight.id)).status).toBe("processing");
  });

  it("runs a stalled validation again when the authorization is polled (its process stopped mid-validation)", async () => {
    const c = client();
    await c.register();
    const answered = async (name: string) => {
      const { authzUrl, http01 } = await answeredOrder(c, name);
      return { authzUrl, challengeId: http01.url.split("/").at(-1)!, token: http01.token };
    };
    /** As a process that set the challenge processing at `startedAt` and then stopped. */
    const stall = (challengeId: string, startedAt: string | null) =>
      s.h.db.query(
        `update acme_challenge set status = 'processing', started_at = ${startedAt ?? "null"}
           where id = $1`,
        [challengeId],
      );
    const authzStatus = async (url: string) => (await c.post(url, "")).json.status as string;

    // Started ten minutes ago, and one from before started_at was recorded (null).
    for (const [name, startedAt] of [
      ["stalled.acme.localhost", "now() - interval '10 minutes'"],
      ["stalled-legacy.acme.localhost", null],
    ] as const) {
      const ch = await answered(name);
      await stall(ch.challengeId, startedAt);
      const fetched = requested.length;
      await waitFor(
        `${name} validated again`,
        async () => (await authzStatus(ch.authzUrl)) === "valid",
      );
      // Validated by fetching the answer again, once.
      expect(
        requested.slice(fetched).filter((p) => p === `/.well-known/acme-challenge/${ch.token}`),
      ).toHaveLength(1);
    }

    // Started just now: still running somewhere; a poll leaves it alone (the claim, which a
    // restart makes before answering, moves started_at).
    const running = await answered("running.acme.localhost");
    await stall(running.challengeId, "now()");
    const row = async () =>
      (
        await s.h.db.query<{ status: string; started_at: Date }>(
          "select status, started_at from acme_challenge where id = $1",
          [running.challengeId],
        )
      )[0]!;
    const before = await row();
    expect(await authzStatus(running.authzUrl)).toBe("pending");
    expect(await row()).toEqual(before);
    expect(before.status).toBe("processing");
  });

  it("refuses names outside the policy (rejectedIdentifier, a subproblem each) and unsupported identifier types", async () => {
    const c = client();
    await c.register();
    const r = await c.post(c.dir.newOrder!, {
      identifiers: [
        { type: "dns", value: "denied.acme.localhost" },
        { type: "dns", value: "elsewhere.example.org" },
      ],
    });
    expect(r.json.type).toBe(`${ACME}rejectedIdentifier`);
    const sub = r.json.subproblems as Array<{ identifier: { value: string } }>;
    expect(sub.map((p) => p.identifier.value).sort()).toEqual([
      "denied.acme.localhost",
      "elsewhere.example.org",
    ]);
    const email = await c.post(c.dir.newOrder!, { identifiers: [{ type: "email", value: "a@b" }] });
    expect(email.json.type).toBe(`${ACME}unsupportedIdentifier`);
  });
  it("finalizes a CSR that names its identifier in the common name alone (RFC 8555 7.4), with the name in the certificate's SANs", async () => {
    const c = client();
    await c.register();
    const order = await validatedOrder(c, "cn-only.acme.localhost");
    // No subjectAltName extension: "either in the commonName ... or in an extensionRequest".
    const csr = opensslCsr("/CN=cn-only.acme.localhost", []);
    const done = await c.post(order.json.finalize as string, { csr: b64u(pemToDer(csr.csrPem)) });
    expect(done.json.status, done.text).toBe("valid");
    const leaf = verifyBundle((await c.post(done.json.certificate as string, "")).text, s.rootPem);
    expect(leaf.subject).toBe("CN=cn-only.acme.localhost");
    expect(leaf.subjectAltName).toBe("DNS:cn-only.acme.localhost");

    // A common name outside the order is still refused, SANs or not.
    const other = await validatedOrder(c, "cn-other.acme.localhost");
    const wrong = opensslCsr("/CN=elsewhere.acme.localhost", []);
    const refused = await c.post(other.json.finalize as string, {
      csr: b64u(pemToDer(wrong.csrPem)),
    });
    expect(refused.json.type).toBe(`${ACME}badCSR`);
    expect(refused.json.detail).toContain("common name must be one of the order's identifiers");
  });

  it("refuses to deactivate an authorization that is no longer pending or valid (RFC 8555 7.1.6)", async () => {
    const c = client();
    await c.register();
    const { authzUrl, http01 } = await answeredOrder(c, "failed-authz.acme.localhost");
    answer = (_path, res) => res.end("not the key authorization");
    await c.post(http01.url, {});
    await waitFor(
      "the authorization to fail",
      async () => (await c.post(authzUrl, "")).json.status === "invalid",
    );
    const refused = await c.post(authzUrl, { status: "deactivated" });
    expect([refused.status, refused.json.type]).toEqual([400, `${ACME}malformed`]);
    expect(refused.json.detail).toContain("this one is invalid");
    const [row] = await s.h.db.query<{ status: string }>(
      "select status from acme_authorization where id = $1",
      [authzUrl.split("/").at(-1)],
    );
    expect(row?.status).toBe("invalid");
    // A valid one still can be.
    const valid = await validatedOrder(c, "valid-authz.acme.localhost");
    const validAuthz = (valid.json.authorizations as string[])[0]!;
    const deactivated = await c.post(validAuthz, { status: "deactivated" });
    expect([deactivated.status, deactivated.json.status]).toEqual([200, "deactivated"]);
  });
});

describe("ACME validation targets and rate limits", () => {
  let s: AcmeServer;
  let hits = 0;
  let listener: Server;

  beforeAll(async () => {
    // No CERTMINT_ACME_VALIDATION_NETWORKS: loopback is not a validation target.
    s = await startAcmeServer({
      CERTMINT_ACME_VALIDATION_NETWORKS: "",
      CERTMINT_ACME_RATE_LIMIT_PER_SECOND: "1",
      CERTMINT_ACME_RATE_LIMIT_BURST: "3",
    });
    listener = createServer((_req, res) => {
      hits += 1;
      res.end();
    });
    await new Promise<void>((r) => listener.listen(s.httpPort, "127.0.0.1", r));
  });
  afterAll(async () => {
    listener?.close();
    await s?.h.stop();
  });

  it("never connects to an address outside the allowed networks", async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    await c.register();
    const order = await c.newOrder(["inside.acme.localhost"]);
    const authzUrl = (order.json.authorizations as string[])[0]!;
    const http01 = (
      (await c.post(authzUrl, "")).json.challenges as Array<{ type: string; url: string }>
    ).find((ch) => ch.type === "http-01")!;
    await c.post(http01.url, {});
    let final: Record<string, unknown> = {};
    await waitFor("the validation to end", async () => {
      final = (await c.post(authzUrl, "")).json;
      return final.status !== "pending";
    });
    expect(final.status).toBe("invalid");
    const error = (final.challenges as Array<{ error?: { detail: string } }>).find(
      (ch) => ch.error,
    )!.error!;
    expect(error.detail).toContain("CERTMINT_ACME_VALIDATION_NETWORKS");
    expect(hits).toBe(0);
  });

  it("limits each account's rate (rateLimited, Retry-After) without writing", async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    await c.register(); // one request of the burst (the key's)
    const before = await s.h.db.query(`select id from acme_order`);
    const answers: Array<{ status: number; type?: string; retry?: string }> = [];
    for (let i = 0; i < 6; i++) {
      const r = await c.newOrder([`rate${i}.acme.localhost`]);
      answers.push({
        status: r.status,
        type: r.json.type,
        retry: r.headers["retry-after"] as string,
      });
    }
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ type: `${ACME}rateLimited` });
    expect(Number(limited[0]!.retry)).toBeGreaterThanOrEqual(1);
    const after = await s.h.db.query(`select id from acme_order`);
    expect(after.length - before.length).toBe(answers.filter((a) => a.status === 201).length);
  });

  // Last in this file: it spends this address's budget.
  it("limits new nonces per client address, storing none past the limit", async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    await c.directory();
    const before = Number(
      (await s.h.db.query<{ n: string }>(`select count(*) as n from acme_nonce`))[0]!.n,
    );
    // Ten times the account rate (here 10 per second, bursts of 30): 200 at once cannot all pass.
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => c.http("HEAD", c.dir.newNonce!)),
    );
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((a) => a.headers["replay-nonce"] === undefined)).toBe(true);
    const after = Number(
      (await s.h.db.query<{ n: string }>(`select count(*) as n from acme_nonce`))[0]!.n,
    );
    expect(after - before).toBe(answers.filter((a) => a.status === 200).length);
  });
});

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
