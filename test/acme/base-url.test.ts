import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";
const BASE = "https://acme.example.test:8443";

/**
 * CERTMINT_ACME_BASE_URL: every ACME URL is built from it, whatever Host a client sends (until
 * 2026-12-05 they all followed the request's Host: a shared cache or a proxy passing Host
 * through handed other clients URLs of a host an attacker named).
 */
describe("ACME URLs under CERTMINT_ACME_BASE_URL", () => {
  let s: AcmeServer;

  beforeAll(async () => {
    s = await startAcmeServer({ CERTMINT_ACME_BASE_URL: `${BASE}/` });
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  /** The listener's real address for a URL under BASE (the test cannot resolve BASE's host). */
  const real = (url: string) => url.replace(BASE, new URL(s.directory()).origin);

  it("hands out URLs of the base URL only, whatever the Host header", async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    const listed = (await c.directory()) as Record<string, unknown>;
    const prefix = `${BASE}/acme/web-acme/`;
    for (const key of ["newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"]) {
      expect(listed[key], key).toMatch(new RegExp(`^${prefix.replace(/[.]/g, "\\.")}`));
    }
    const forged = await new Promise<Record<string, string>>((resolve, reject) => {
      const req = request(
        s.directory(),
        {
          ca: readFileSync(s.tlsCaFile),
          servername: "localhost",
          headers: { host: "evil.example:666" },
        },
        (res: IncomingMessage) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () => resolve(JSON.parse(body)));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(forged.newAccount).toBe(`${prefix}new-account`);
    expect(JSON.stringify(forged)).not.toContain("evil.example");
  });

  it("checks a JWS url against the base URL: the listener's own address is not this request's URL", async () => {
    const c = new AcmeTestClient(s.directory(), s.tlsCaFile);
    await c.directory();
    const newAccount = c.dir.newAccount!;
    const nonce = async () =>
      (await c.http("HEAD", real(c.dir.newNonce!))).headers["replay-nonce"] as string;
    // Signed for the base URL, sent to the listener's address: the URL of this request.
    const ok = await c.http(
      "POST",
      real(newAccount),
      await c.jws(
        newAccount,
        { termsOfServiceAgreed: true },
        { useJwk: true, nonce: await nonce() },
      ),
    );
    expect(ok.status, ok.text).toBe(201);
    expect(ok.headers.location).toMatch(
      new RegExp(`^${BASE.replace(/[.]/g, "\\.")}/acme/web-acme/account/`),
    );
    // Signed for the address the client connected to: not a URL of this server.
    const other = await c.http(
      "POST",
      real(newAccount),
      await c.jws(
        real(newAccount),
        { termsOfServiceAgreed: true },
        { useJwk: true, nonce: await nonce() },
      ),
    );
    expect([other.status, other.json.type]).toEqual([401, `${ACME}unauthorized`]);
  });
});
