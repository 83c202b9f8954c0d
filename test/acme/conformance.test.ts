import { createHash, generateKeyPairSync, randomUUID, X509Certificate } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opensslCsr } from "../support/fixtures";
import { waitFor } from "../support/wait";
import { startTxtServer } from "./dns-server";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient, b64u, jwsSign, publicJwk, thumbprint } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";

interface Challenge {
  type: string;
  url: string;
  token: string;
  status: string;
}

/**
 * RFC 8555 points an outside probe found (2026-12-05, probe38 F1-F10): each answer is checked
 * for its ACME error type and status, and for what it leaves in PostgreSQL.
 */
describe("ACME conformance", () => {
  let s: AcmeServer;
  let dns: Awaited<ReturnType<typeof startTxtServer>>;
  let challengeServer: Server;
  /** What the test's http-01 server answers, by token (404 for the others). */
  const answers = new Map<string, string>();

  beforeAll(async () => {
    // No TXT record is ever served: a dns-01 validation fails at once.
    dns = await startTxtServer(new Map());
    s = await startAcmeServer({
      CERTMINT_ACME_DNS_RESOLVERS: `127.0.0.1:${dns.port}`,
      CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0",
    });
    challengeServer = createServer((req, res: ServerResponse) => {
      const token = (req.url ?? "").split("/").at(-1) ?? "";
      const body = answers.get(token);
      if (body === undefined) res.statusCode = 404;
      res.end(body ?? "");
    });
    await new Promise<void>((r) => challengeServer.listen(s.httpPort, "127.0.0.1", r));
  });
  afterAll(async () => {
    challengeServer?.close();
    dns?.close();
    await s?.h.stop();
  });

  const client = async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    await c.register();
    return c;
  };
  const count = async (table: string) =>
    Number((await s.h.db.query<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);
  const keyAuthorization = (c: AcmeTestClient, token: string) =>
    `${token}.${thumbprint(publicJwk(c.key.publicKey))}`;

  /** An order of `c` for `names`, with its authorizations' URLs and challenges. */
  const orderOf = async (c: AcmeTestClient, names: string[]) => {
    const order = await c.newOrder(names);
    expect(order.status, order.text).toBe(201);
    const authzs = [];
    for (const url of order.json.authorizations as string[]) {
      const challenges = (await c.post(url, "")).json.challenges as Challenge[];
      authzs.push({
        url,
        challenges,
        of: (type: string) => challenges.find((h) => h.type === type)!,
      });
    }
    return { url: order.headers.location as string, json: order.json, authzs };
  };

  /** `c`'s order for `names`, every authorization validated with http-01: ready to finalize. */
  const readyOrder = async (c: AcmeTestClient, names: string[]) => {
    const order = await orderOf(c, names);
    for (const authz of order.authzs) {
      const http01 = authz.of("http-01");
      answers.set(http01.token, keyAuthorization(c, http01.token));
      await c.post(http01.url, {});
      await waitFor("validated", async () => (await c.post(authz.url, "")).json.status === "valid");
    }
    await waitFor("ready", async () => (await c.post(order.url, "")).json.status === "ready");
    return order;
  };

  const csrOf = (subject: string, names: string[]) => {
    const csr = opensslCsr(
      subject,
      names.map((n) => `DNS:${n}`),
    );
    return { ...csr, der: b64u(pemToDer(csr.csrPem)) };
  };

  /** A certificate for `names` issued to `c`; its DER (base64url) and its key's SPKI hash. */
  const issued = async (c: AcmeTestClient, names: string[]) => {
    const order = await readyOrder(c, names);
    const done = await c.post(order.json.finalize as string, {
      csr: csrOf(`/CN=${names[0]}`, names).der,
    });
    expect(done.json.status, done.text).toBe("valid");
    const pem = (await c.post(done.json.certificate as string, "")).text;
    const leaf = new X509Certificate(pem.split(/(?<=-----END CERTIFICATE-----)/)[0]!);
    const spki = createHash("sha256")
      .update(leaf.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    return {
      der: b64u(leaf.raw),
      serial: leaf.serialNumber.toLowerCase(),
      spki,
      url: done.json.certificate as string,
    };
  };

  const revocationOf = async (serial: string) =>
    (
      await s.h.db.query<{ revocation_reason: string | null }>(
        "select revocation_reason from certificate where serial_number = $1",
        [serial],
      )
    )[0]?.revocation_reason;

  it("answers an id that is no UUID as an unknown one (404), without a query or an error log", async () => {
    const c = await client();
    const base = c.dir.newOrder!.replace(/\/new-order$/, "");
    for (const [path, what] of [
      ["order/nope", "order"],
      ["order/nope/finalize", "order"],
      ["authz/nope", "authorization"],
      ["chall/nope", "challenge"],
      ["cert/------------------------------------", "certificate"],
    ] as const) {
      const odd = await c.post(`${base}/${path}`, "");
      const unknown = await c.post(`${base}/${path.replace(/nope|-{36}/, randomUUID())}`, "");
      expect([odd.status, odd.json], path).toEqual([unknown.status, unknown.json]);
      expect([odd.status, odd.json.type, odd.json.detail], path).toEqual([
        404,
        `${ACME}malformed`,
        `no such ${what}`,
      ]);
    }
    // A kid whose id is 36 dashes: no account there.
    const kid = c.kid!;
    c.kid = kid.replace(/[^/]+$/, "-".repeat(36));
    const dashes = await c.post(c.dir.newOrder!, { identifiers: [] });
    c.kid = kid;
    expect([dashes.status, dashes.json.type]).toEqual([400, `${ACME}accountDoesNotExist`]);
    expect(s.h.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it("refuses a DNS identifier that is not ASCII, naming its A-label form", async () => {
    const c = await client();
    const orders = await count("acme_order");
    for (const [value, ascii] of [
      ["bücher.acme.localhost", "xn--bcher-kva.acme.localhost"],
      ["x．acme.localhost", "x.acme.localhost"],
      ["ﬀ.acme.localhost", "ff.acme.localhost"],
    ] as const) {
      const r = await c.newOrder([value, "plain.acme.localhost"]);
      expect([r.status, r.json.type], value).toEqual([400, `${ACME}rejectedIdentifier`]);
      expect(r.json.detail).toContain(`send its ASCII form "${ascii}"`);
      const [sub] = r.json.subproblems as Array<{ identifier: { value: string } }>;
      expect(sub?.identifier.value).toBe(value);
    }
    expect(await count("acme_order")).toBe(orders);
    // The A-label itself is an ordinary name.
    expect((await c.newOrder(["xn--bcher-kva.acme.localhost"])).status).toBe(201);
  });

  it("refuses a DNS identifier that is no host name once its trailing dot is gone (rejectedIdentifier)", async () => {
    const c = await client();
    const orders = await count("acme_order");
    const authorizations = await count("acme_authorization");
    // Until stop 44 of 2026-12-06 "x.acme.localhost.." went through: newOrder removed one dot,
    // the policy another, and the order held "x.acme.localhost." too, which no CSR could match.
    for (const [value, why] of [
      ["x.acme.localhost..", "has an empty label"],
      ["x..acme.localhost", "has an empty label"],
      [
        "x_y.acme.localhost",
        `contains the character "_"; only letters, digits, '-' and '.' are allowed`,
      ],
    ] as const) {
      const r = await c.newOrder(["x.acme.localhost", value]);
      expect([r.status, r.json.type], value).toEqual([400, `${ACME}rejectedIdentifier`]);
      expect(r.json.detail).toBe(`${JSON.stringify(value)} is not a valid DNS name: it ${why}`);
      const [sub] = r.json.subproblems as Array<{ identifier: { value: string } }>;
      expect(sub?.identifier.value).toBe(value);
    }
    expect(await count("acme_order")).toBe(orders);
    expect(await count("acme_authorization")).toBe(authorizations);
    // One trailing dot is the root: the same identifier as without it, one authorization.
    const r = await c.newOrder(["y.acme.localhost.", "y.acme.localhost"]);
    expect(r.status).toBe(201);
    expect(r.json.identifiers).toEqual([{ type: "dns", value: "y.acme.localhost" }]);
    expect((r.json.authorizations as string[]).length).toBe(1);
  });

  it("refuses an account key blocked for key compromise (badPublicKey), new or rolled over to", async () => {
    const blocked = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = createHash("sha256")
      .update(blocked.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    await s.h.db.query("insert into blocked_key (spki_sha256, blocked_at) values ($1, now())", [
      spki,
    ]);
    const accounts = await count("acme_account");
    const holder = new AcmeTestClient(s.directory(), s.tlsCaFile, "ES256", blocked);
    const r = await holder.register();
    expect([r.status, r.json.type]).toEqual([400, `${ACME}badPublicKey`]);
    expect(r.json.detail).toContain("revoked for key compromise");
    expect(await count("acme_account")).toBe(accounts);

    const c = await client();
    const header = b64u(
      JSON.stringify({ alg: "ES256", jwk: publicJwk(blocked.publicKey), url: c.dir.keyChange }),
    );
    const payload = b64u(JSON.stringify({ account: c.kid, oldKey: publicJwk(c.key.publicKey) }));
    const signature = b64u(jwsSign("ES256", blocked.privateKey, `${header}.${payload}`));
    const rollover = await c.post(c.dir.keyChange!, { protected: header, payload, signature });
    expect([rollover.status, rollover.json.type]).toEqual([400, `${ACME}badPublicKey`]);
    const [row] = await s.h.db.query<{ key_thumbprint: string }>(
      "select key_thumbprint from acme_account where id = $1",
      [c.kid!.split("/").at(-1)],
    );
    expect(row?.key_thumbprint).toBe(thumbprint(publicJwk(c.key.publicKey)));
  });

  it("refuses every kid request of an account whose key was blocked after it was opened", async () => {
    const c = await client();
    const before = await c.newOrder(["before-block.acme.localhost"]);
    expect(before.status, before.text).toBe(201);
    const spki = createHash("sha256")
      .update(c.key.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    await s.h.db.query("insert into blocked_key (spki_sha256, blocked_at) values ($1, now())", [
      spki,
    ]);
    const orders = await count("acme_order");
    const order = await c.newOrder(["after-block.acme.localhost"]);
    expect([order.status, order.json.type]).toEqual([401, `${ACME}unauthorized`]);
    expect(order.json.detail).toContain("revoked for key compromise");
    expect(await count("acme_order")).toBe(orders);
    // Reading its own account or its earlier order is refused too: the key no longer proves it.
    const account = await c.post(c.kid!, "");
    expect([account.status, account.json.type]).toEqual([401, `${ACME}unauthorized`]);
    const earlier = await c.post(before.headers.location as string, "");
    expect(earlier.status).toBe(401);
  });

  it("answers a subject the policy refuses at finalize with badCSR, and leaves the order ready", async () => {
    const c = await client();
    const name = "subject.acme.localhost";
    const order = await readyOrder(c, [name]);
    const evil = await c.post(order.json.finalize as string, {
      csr: csrOf(`/O=Evil Corp/CN=${name}`, [name]).der,
    });
    expect([evil.status, evil.json.type], evil.text).toEqual([400, `${ACME}badCSR`]);
    expect(evil.json.detail).toContain("ORGANIZATION");
    expect((await c.post(order.url, "")).json.status).toBe("ready");
    // Nothing was recorded under the order's request id: a corrected CSR issues.
    const clean = await c.post(order.json.finalize as string, {
      csr: csrOf(`/CN=${name}`, [name]).der,
    });
    expect(clean.json.status, clean.text).toBe("valid");
  });

  it("answers a contact of another scheme than mailto: with unsupportedContact", async () => {
    const c = await client();
    const tel = await c.post(c.kid!, { contact: ["tel:+15551234"] });
    expect([tel.status, tel.json.type]).toEqual([400, `${ACME}unsupportedContact`]);
    const fresh = new AcmeTestClient(s.directory(), s.tlsCaFile);
    const https = await fresh.register({ contact: ["https://example.com/ops"] });
    expect([https.status, https.json.type]).toEqual([400, `${ACME}unsupportedContact`]);
    // A mailto: URL that is not one plain address is still invalidContact.
    const hfields = await c.post(c.kid!, { contact: ["mailto:a@example.com?subject=x"] });
    expect([hfields.status, hfields.json.type]).toEqual([400, `${ACME}invalidContact`]);
    expect((await c.post(c.kid!, { contact: ["mailto:ops@example.com"] })).status).toBe(200);
  });

  it("parses strictly: newAccount's payload, base64url, POST-as-GET, alg, new-nonce methods", async () => {
    const accounts = await count("acme_account");
    const anonymous = new AcmeTestClient(s.directory(), s.tlsCaFile);
    await anonymous.directory();
    const empty = await anonymous.post(anonymous.dir.newAccount!, "", { useJwk: true });
    expect([empty.status, empty.json.type]).toEqual([400, `${ACME}malformed`]);
    expect(empty.json.detail).toContain("JSON object");
    expect(await count("acme_account")).toBe(accounts);

    const c = await client();
    // A protected header in padded base64url (RFC 7515 2: no padding), signed as sent: refused
    // like a padded payload.
    const nonce = await c.nonce();
    let encoded = "";
    for (let extra = ""; encoded.length % 4 === 0; extra += "x") {
      encoded = b64u(JSON.stringify({ alg: "ES256", nonce, url: c.kid, kid: c.kid, extra }));
    }
    const padded = `${encoded}${"=".repeat(4 - (encoded.length % 4))}`;
    const paddedAnswer = await c.http(
      "POST",
      c.kid!,
      JSON.stringify({
        protected: padded,
        payload: "",
        signature: b64u(jwsSign("ES256", c.key.privateKey, `${padded}.`)),
      }),
    );
    expect([paddedAnswer.status, paddedAnswer.json.type]).toEqual([400, `${ACME}malformed`]);
    expect(paddedAnswer.json.detail).toBe("protected is not base64url");

    // POST-as-GET of a resource that is only read: the payload is the empty string.
    const order = await orderOf(c, ["read.acme.localhost"]);
    const braces = await c.post(order.url, {});
    expect([braces.status, braces.json.type]).toEqual([400, `${ACME}malformed`]);
    expect(braces.json.detail).toContain("RFC 8555 6.3");
    expect((await c.post(`${c.kid}/orders`, {})).json.type).toBe(`${ACME}malformed`);
    expect((await c.post(order.url, "")).status).toBe(200);

    // ES384 over a P-256 key: the algorithm does not fit the key.
    const es384 = await c.post(order.url, "", { alg: "ES384" });
    expect([es384.status, es384.json.type]).toEqual([400, `${ACME}badSignatureAlgorithm`]);
    expect(es384.json.detail).toContain("a P-256 key signs with ES256");
    expect(es384.json.algorithms).toEqual(["ES256", "ES384", "RS256", "EdDSA"]);

    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await c.http(method, c.dir.newNonce!, "");
      expect([r.status, r.headers.allow, r.json.type], method).toEqual([
        405,
        "GET, HEAD",
        `${ACME}malformed`,
      ]);
      const d = await c.http(method, s.directory(), "");
      expect([d.status, d.headers.allow], method).toEqual([405, "GET, HEAD"]);
    }
  });

  it("takes trailing whitespace after an http-01 key authorization, never leading", async () => {
    const c = await client();
    for (const [name, pad, outcome] of [
      ["lead.acme.localhost", (k: string) => ` ${k}`, "invalid"],
      ["trail.acme.localhost", (k: string) => `${k}\r\n \t`, "valid"],
    ] as const) {
      const order = await orderOf(c, [name]);
      const [authz] = order.authzs;
      const http01 = authz!.of("http-01");
      answers.set(http01.token, pad(keyAuthorization(c, http01.token)));
      await c.post(http01.url, {});
      let final: Record<string, unknown> = {};
      await waitFor(`${name} validated`, async () => {
        final = (await c.post(authz!.url, "")).json;
        return final.status !== "pending";
      });
      expect(final.status, name).toBe(outcome);
      if (outcome === "invalid") {
        const error = (final.challenges as Array<{ error?: { type: string } }>).find(
          (h) => h.error,
        );
        expect(error?.error?.type).toBe(`${ACME}incorrectResponse`);
      }
    }
  });

  it("lets an account holding valid authorizations for every name revoke, as cessationOfOperation only", async () => {
    const holder = await client();
    const names = ["rv.acme.localhost", "rv2.acme.localhost"];
    const cert = await issued(holder, names);
    const owner = await client();
    // Control of one name of two: not enough.
    await readyOrder(owner, ["rv.acme.localhost"]);
    const partial = await owner.post(owner.dir.revokeCert!, { certificate: cert.der, reason: 1 });
    expect([partial.status, partial.json.type]).toEqual([403, `${ACME}unauthorized`]);
    expect(partial.json.detail).toContain("missing: dns:rv2.acme.localhost");
    expect(await revocationOf(cert.serial)).toBeNull();
    // Both: revoked. It asked keyCompromise; it proved control of the names, not of the key:
    // cessationOfOperation (as Boulder), and the key is not blocked.
    await readyOrder(owner, ["rv2.acme.localhost"]);
    const revoked = await owner.post(owner.dir.revokeCert!, { certificate: cert.der, reason: 1 });
    expect(revoked.status, revoked.text).toBe(200);
    expect(await revocationOf(cert.serial)).toBe("CESSATION_OF_OPERATION");
    expect(
      await s.h.db.query("select 1 from blocked_key where spki_sha256 = $1", [cert.spki]),
    ).toHaveLength(0);
    const again = await owner.post(owner.dir.revokeCert!, { certificate: cert.der });
    expect(again.json.type).toBe(`${ACME}alreadyRevoked`);
  });

  it("validates one challenge of an authorization at a time: a valid one makes it valid (RFC 8555 7.1.6)", async () => {
    const c = await client();
    // Deterministic: while http-01 is processing, dns-01 is refused and stays pending.
    const held = await orderOf(c, ["held.acme.localhost"]);
    const [authz] = held.authzs;
    await s.h.db.query(
      "update acme_challenge set status = 'processing', started_at = now() where id = $1",
      [authz!.of("http-01").url.split("/").at(-1)],
    );
    const refused = await c.post(authz!.of("dns-01").url, {});
    expect([refused.status, refused.json.type]).toEqual([400, `${ACME}malformed`]);
    expect(refused.json.detail).toContain("another challenge of this authorization");
    const [row] = await s.h.db.query<{ status: string }>(
      "select status from acme_challenge where id = $1",
      [authz!.of("dns-01").url.split("/").at(-1)],
    );
    expect(row?.status).toBe("pending");

    // Raced: http-01 (answered) and dns-01 (no TXT record) posted at once, six times over.
    for (let i = 0; i < 6; i++) {
      const order = await orderOf(c, [`race${i}.acme.localhost`]);
      const [a] = order.authzs;
      const http01 = a!.of("http-01");
      answers.set(http01.token, keyAuthorization(c, http01.token));
      const [h, d] = await Promise.all([c.post(http01.url, {}), c.post(a!.of("dns-01").url, {})]);
      expect([h.status, d.status].sort(), `race ${i}`).toEqual([200, 400]);
      let final: Record<string, unknown> = {};
      await waitFor(`race ${i} validated`, async () => {
        final = (await c.post(a!.url, "")).json;
        return final.status !== "pending";
      });
      const states = (final.challenges as Challenge[]).map((ch) => ch.status);
      expect(
        states.filter((st) => st !== "pending"),
        `race ${i}`,
      ).toHaveLength(1);
      expect(final.status, `race ${i}`).toBe(states.includes("valid") ? "valid" : "invalid");
    }
  });
});

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
