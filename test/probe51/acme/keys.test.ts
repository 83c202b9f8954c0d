/**
 * Probe 51 (ACME): keys an account or a finalize may bring (RFC 8555 6.2, 11.1; CA/B BR 6.1.6),
 * against the compiled server: an RSA key whose public exponent is 1 (its "signature" is the
 * padded digest itself, so anyone who knows the modulus signs for it), an EC point off its
 * curve, and a CSR whose key is an ACME account key of another profile.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmeTestClient, b64u } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { csrDer, ERR, expectProblem, type LiveAcme, readyOrder, startLiveAcme } from "./live-acme";

/** An RSA-2048 key pair whose public exponent is 1 (and so its private exponent 1). */
function exponentOneKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  const j = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    format: "jwk",
  });
  const privateKey = createPrivateKey({
    format: "jwk",
    key: { kty: "RSA", n: j.n!, e: "AQ", d: "AQ", p: j.p!, q: j.q!, dp: "AQ", dq: "AQ", qi: j.qi! },
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

describe("probe 51: ACME account and certificate keys", () => {
  let live: LiveAcme;
  beforeAll(async () => {
    live = await startLiveAcme();
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  const count = async (sql: string) => Number((await live.db.query<{ n: string }>(sql))[0]!.n);

  it("an RSA account key with public exponent 1 is badPublicKey, and opens no account", async () => {
    const before = await count("select count(*) as n from acme_account");
    const c = new AcmeTestClient(
      live.client("web-acme").directoryUrl,
      live.caFile,
      "RS256",
      exponentOneKey(),
    );
    const r = await c.register();
    expectProblem(r, "badPublicKey", 400);
    expect(await count("select count(*) as n from acme_account")).toBe(before);
  });

  it("an EC account key whose point is not on its curve is badPublicKey", async () => {
    const c = live.client("web-acme");
    await c.directory();
    const jwk = {
      kty: "EC",
      crv: "P-256",
      x: b64u(Buffer.alloc(32, 1)),
      y: b64u(Buffer.alloc(32, 2)),
    };
    const header = b64u(
      JSON.stringify({ alg: "ES256", nonce: await c.nonce(), url: c.dir.newAccount, jwk }),
    );
    const payload = b64u(JSON.stringify({ termsOfServiceAgreed: true }));
    const r = await c.http(
      "POST",
      c.dir.newAccount!,
      JSON.stringify({ protected: header, payload, signature: b64u(Buffer.alloc(64, 3)) }),
    );
    expectProblem(r, "badPublicKey", 400);
  });

  it("a CSR whose RSA key has public exponent 1 is refused at finalize (CA/B BR 6.1.6), and the order stays ready", async () => {
    const c = live.client("web-acme");
    expect((await c.register()).status).toBe(201);
    const o = await readyOrder(live, c, [{ type: "dns", value: "exponent.acme.localhost" }]);
    const certificates = () => count("select count(*) as n from certificate");
    const before = await certificates();
    const csr = csrDer("/CN=exponent.acme.localhost", ["DNS:exponent.acme.localhost"], {
      key: exponentOneKey().privateKey,
    }).der;
    const r = await c.post(o.finalize, { csr: b64u(csr) });
    expect(r.status, r.text).toBe(400);
    expect([`${ERR}badCSR`, `${ERR}badPublicKey`]).toContain(r.json.type);
    expect(await certificates()).toBe(before);
    expect((await c.post(o.url, "")).json.status).toBe("ready");
  });

  it("a CSR whose key is an ACME account key of another profile is badCSR (RFC 8555 11.1)", async () => {
    const elsewhere = live.client("open-acme");
    expect((await elsewhere.register()).status).toBe(201);
    const c = live.client("web-acme");
    expect((await c.register()).status).toBe(201);
    const o = await readyOrder(live, c, [{ type: "dns", value: "crossprofile.acme.localhost" }]);
    const csr = csrDer("/CN=crossprofile.acme.localhost", ["DNS:crossprofile.acme.localhost"], {
      key: elsewhere.key.privateKey,
    }).der;
    const r = await c.post(o.finalize, { csr: b64u(csr) });
    expectProblem(r, "badCSR", 400);
    expect((await c.post(o.url, "")).json.status).toBe("ready");
  });
});
