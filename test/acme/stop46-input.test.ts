/**
 * ACME input read strictly (stop 46 of 2026-12-06, an outside probe):
 * - newAccount's onlyReturnExisting and termsOfServiceAgreed are JSON booleans (RFC 8555 7.3):
 *   {"onlyReturnExisting": "yes"} was read as false and created an account; now malformed,
 *   and no account row is written.
 * - a contact with a control, format or separator character is invalidContact (RFC 6068,
 *   RFC 5322 have none): "mailto:\u001b[31ma@example.com" was stored and returned.
 * - a present but malformed nonce is badNonce saying so (RFC 8555 6.5, 6.5.2), not "the JWS has
 *   no nonce"; the value is never echoed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient, b64u, jwsSign, publicJwk } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";

let s: AcmeServer;
beforeAll(async () => {
  s = await startAcmeServer({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" });
});
afterAll(async () => {
  await s?.h.stop();
});

const client = () => new AcmeTestClient(s.directory(), s.tlsCaFile);
const accounts = async () =>
  Number((await s.h.db.query<{ n: string }>("select count(*) as n from acme_account"))[0]!.n);

describe("newAccount booleans (RFC 8555 7.3)", () => {
  it("refuses a non-boolean onlyReturnExisting or termsOfServiceAgreed as malformed, creating nothing", async () => {
    const before = await accounts();
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { onlyReturnExisting: "yes" },
        "onlyReturnExisting must be true or false (a JSON boolean, RFC 8555 7.3), not a string",
      ],
      [{ onlyReturnExisting: 1 }, "not a number"],
      [{ onlyReturnExisting: null }, "not null"],
      [{ termsOfServiceAgreed: "true" }, "termsOfServiceAgreed must be true or false"],
      [{ termsOfServiceAgreed: [true] }, "not an array"],
    ];
    for (const [payload, detail] of cases) {
      const c = client();
      await c.directory();
      const r = await c.post(c.dir.newAccount!, payload, { useJwk: true });
      expect([r.status, r.json.type], JSON.stringify(payload)).toEqual([400, `${ACME}malformed`]);
      expect(r.json.detail).toContain(detail);
    }
    expect(await accounts()).toBe(before);
  });

  it("onlyReturnExisting: true still finds or refuses; the booleans work as before", async () => {
    const c = client();
    await c.directory();
    const none = await c.post(c.dir.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    expect(none.json.type).toBe(`${ACME}accountDoesNotExist`);
    expect((await c.register()).status).toBe(201);
    const found = await c.post(c.dir.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    expect([found.status, found.headers.location]).toEqual([200, c.kid]);
    // An existing account's key sending "yes" is malformed too: the type is checked first.
    const yes = await c.post(c.dir.newAccount!, { onlyReturnExisting: "yes" }, { useJwk: true });
    expect(yes.json.type).toBe(`${ACME}malformed`);
  });
});

describe("account contacts (RFC 8555 7.3, RFC 6068)", () => {
  it("refuses control, format and separator characters as invalidContact, at create and update", async () => {
    const before = await accounts();
    const cases: Array<[string, string]> = [
      ["mailto:\u001b[31ma@example.com", "contact character 8 is U+001B"],
      ["mailto:a\u007f@example.com", "character 9 is U+007F"],
      ["mailto:a\u0085@example.com", "character 9 is U+0085"],
      ["mailto:a\u009b@example.com", "character 9 is U+009B"],
      ["mailto:moc.elpmaxe\u202e@a", "character 19 is U+202E"],
      ["mailto:a\u200b@example.com", "character 9 is U+200B"],
      ["mailto:a@example.com\u2028", "character 21 is U+2028"],
      ["mailto:a\u00a0@example.com", "character 9 is U+00A0"],
      ["mailto:a\ufeff@example.com", "character 9 is U+FEFF"],
      ["mailto:a\uffff@example.com", "character 9 is U+FFFF"],
    ];
    for (const [contact, detail] of cases) {
      const r = await client().register({ contact: [contact] });
      expect([r.status, r.json.type], JSON.stringify(contact)).toEqual([
        400,
        `${ACME}invalidContact`,
      ]);
      expect(r.json.detail).toContain(detail);
      expect(r.text).not.toContain("\u001b");
    }
    expect(await accounts()).toBe(before);
    // The update path (RFC 8555 7.3.2) uses the same rule; the stored contact is unchanged.
    const c = client();
    expect((await c.register({ contact: ["mailto:ok@example.com"] })).status).toBe(201);
    const upd = await c.post(c.kid!, { contact: ["mailto:\u001b]0;x\u0007@example.com"] });
    expect(upd.json.type).toBe(`${ACME}invalidContact`);
    const [row] = await s.h.db.query<{ contact: string[] }>(
      "select contact from acme_account where id = $1",
      [c.kid!.split("/").at(-1)],
    );
    expect(row!.contact).toEqual(["mailto:ok@example.com"]);
  });

  it("still accepts a plain mailto address, non-ASCII letters included (RFC 6531)", async () => {
    const r = await client().register({ contact: ["mailto:jürgen@example.com"] });
    expect(r.status).toBe(201);
  });
});

describe("nonce (RFC 8555 6.5)", () => {
  /** A newAccount JWS whose protected header carries `nonce` as given (absent when undefined). */
  async function withNonce(c: AcmeTestClient, nonce: unknown) {
    await c.directory();
    const url = c.dir.newAccount!;
    const header: Record<string, unknown> = { alg: "ES256", url, jwk: publicJwk(c.key.publicKey) };
    if (nonce !== undefined) header.nonce = nonce;
    const p = b64u(JSON.stringify(header));
    const payload = b64u(JSON.stringify({ termsOfServiceAgreed: true }));
    const sig = jwsSign("ES256", c.key.privateKey, `${p}.${payload}`);
    return c.http("POST", url, JSON.stringify({ protected: p, payload, signature: b64u(sig) }));
  }

  it("says which: absent, not a string, malformed, or never issued; all badNonce with a fresh nonce", async () => {
    const before = await accounts();
    const cases: Array<[unknown, string]> = [
      // The probe's: ESC + 5000 x "A", reported as "the JWS has no nonce" until stop 46.
      [`\u001b${"A".repeat(5000)}`, "the JWS nonce is malformed: 5001 characters, not base64url"],
      [undefined, "the JWS protected header has no nonce"],
      ["", "the JWS protected header has no nonce"],
      [12345, "the JWS nonce is a number, not a base64url string"],
      ["A".repeat(65), "the JWS nonce is malformed: 65 characters, longer than the 64"],
      ["bm90LWlzc3VlZA", "the nonce was used already, expired or never issued"],
    ];
    for (const [nonce, detail] of cases) {
      const r = await withNonce(client(), nonce);
      expect([r.status, r.json.type], String(nonce).slice(0, 20)).toEqual([400, `${ACME}badNonce`]);
      expect(r.json.detail).toContain(detail);
      expect(r.json.detail).not.toContain("AAAAAAAAAA");
      expect(r.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
    expect(await accounts()).toBe(before);
  });
});
