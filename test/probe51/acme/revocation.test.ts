/**
 * Probe 51 (ACME): revokeCert (RFC 8555 7.6) against the compiled server: reason codes a client
 * may not give, who may revoke (the holding account, the certificate's key; not an unrelated
 * key, an account without authorizations, nor the certificate's key at another profile), and
 * a second revocation. Each refusal leaves the certificate unrevoked in PostgreSQL.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmeTestClient, b64u } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  csrDer,
  ERR,
  expectProblem,
  issued,
  type LiveAcme,
  readyOrder,
  startLiveAcme,
} from "./live-acme";

describe("probe 51: ACME revokeCert", () => {
  let live: LiveAcme;
  let owner: AcmeTestClient;
  beforeAll(async () => {
    live = await startLiveAcme();
    owner = live.client("open-acme");
    expect((await owner.register()).status).toBe(201);
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  /** A certificate issued to `owner` for `name`, with its key as a signer for the test client. */
  const certificate = async (name: string) => {
    const o = await readyOrder(live, owner, [{ type: "dns", value: name }]);
    const csr = csrDer(`/CN=${name}`, [`DNS:${name}`]);
    const { leaf } = await issued(owner, o, csr.der);
    const privateKey = createPrivateKey(csr.keyPem);
    return {
      der: leaf.raw,
      serial: leaf.serialNumber,
      signer: { kind: "ES256" as const, privateKey, publicKey: createPublicKey(privateKey) },
    };
  };
  const revocation = async (serialHex: string) =>
    (
      await live.db.query<{ revoked_at: Date | null; revocation_reason: string | null }>(
        "select revoked_at, revocation_reason from certificate where lower(serial_number) = lower($1)",
        [serialHex],
      )
    )[0]!;
  /** A client of `profile` whose requests are signed with the certificate's key (jwk). */
  const asCertificateKey = (cert: Awaited<ReturnType<typeof certificate>>, profile = "open-acme") =>
    new AcmeTestClient(live.client(profile).directoryUrl, live.caFile, "ES256", cert.signer);

  it("reason codes outside 0, 1, 3, 4, 5, 9, or not integers, are badRevocationReason and revoke nothing", async () => {
    const cert = await certificate("reasons.probe.localhost");
    const byKey = asCertificateKey(cert);
    await byKey.directory();
    for (const reason of [2, 6, 7, 8, 10, 11, -1, 1.5, 65536, "1", null, true, [1], { code: 1 }]) {
      for (const [who, c, opts] of [
        ["the certificate's key", byKey, { useJwk: true }],
        ["the holding account", owner, {}],
      ] as const) {
        const r = await c.post(c.dir.revokeCert!, { certificate: b64u(cert.der), reason }, opts);
        expect(
          [r.status, r.json.type],
          `${who}, reason ${JSON.stringify(reason)}: ${r.text}`,
        ).toEqual([400, `${ERR}badRevocationReason`]);
      }
    }
    expect((await revocation(cert.serial)).revoked_at).toBeNull();
  });

  it("an unrelated key, an account without authorizations, or the certificate's key at another profile revoke nothing", async () => {
    const cert = await certificate("foreign.probe.localhost");
    const stranger = new AcmeTestClient(
      live.client("open-acme").directoryUrl,
      live.caFile,
      "ES256",
      generateKeyPairSync("ec", { namedCurve: "P-256" }),
    );
    await stranger.directory();
    const byStrangerKey = await stranger.post(
      stranger.dir.revokeCert!,
      { certificate: b64u(cert.der) },
      { useJwk: true },
    );
    expectProblem(byStrangerKey, "unauthorized", 403);
    expect((await stranger.register()).status).toBe(201);
    const byStrangerAccount = await stranger.post(stranger.dir.revokeCert!, {
      certificate: b64u(cert.der),
      reason: 1,
    });
    expectProblem(byStrangerAccount, "unauthorized", 403);
    // The holding account signing with its key as a jwk: a jwk request must carry the
    // certificate's own key (RFC 8555 7.6).
    const ownerJwk = await owner.post(
      owner.dir.revokeCert!,
      { certificate: b64u(cert.der) },
      { useJwk: true },
    );
    expect(ownerJwk.status, ownerJwk.text).toBeGreaterThanOrEqual(400);
    expect(ownerJwk.status).toBeLessThan(500);
    // The certificate's key at web-acme, a profile the certificate was not issued on.
    const elsewhere = asCertificateKey(cert, "web-acme");
    await elsewhere.directory();
    const other = await elsewhere.post(
      elsewhere.dir.revokeCert!,
      { certificate: b64u(cert.der) },
      { useJwk: true },
    );
    expect(other.status, other.text).toBe(404);
    expect((await revocation(cert.serial)).revoked_at).toBeNull();
  });

  it("the certificate's key revokes with keyCompromise; a second revocation is alreadyRevoked and changes nothing", async () => {
    const cert = await certificate("compromised.probe.localhost");
    const byKey = asCertificateKey(cert);
    await byKey.directory();
    const r = await byKey.post(
      byKey.dir.revokeCert!,
      { certificate: b64u(cert.der), reason: 1 },
      { useJwk: true },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.headers["replay-nonce"]).toMatch(/^[A-Za-z0-9_-]+$/);
    const first = await revocation(cert.serial);
    expect(first.revocation_reason).toBe("KEY_COMPROMISE");
    for (const [c, opts] of [
      [byKey, { useJwk: true }],
      [owner, {}],
    ] as const) {
      const again = await c.post(
        c.dir.revokeCert!,
        { certificate: b64u(cert.der), reason: 4 },
        opts,
      );
      expectProblem(again, "alreadyRevoked", 400);
    }
    expect(await revocation(cert.serial)).toEqual(first);
  });

  it("a certificate with bytes appended, or its PEM, is not a certificate to revoke", async () => {
    const cert = await certificate("appended.probe.localhost");
    for (const certificateField of [
      b64u(Buffer.concat([cert.der, Buffer.from([0, 0])])),
      b64u(
        `-----BEGIN CERTIFICATE-----\n${cert.der.toString("base64")}\n-----END CERTIFICATE-----\n`,
      ),
      cert.der.toString("base64"),
    ]) {
      const r = await owner.post(owner.dir.revokeCert!, { certificate: certificateField });
      expect(r.status, r.text).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    expect((await revocation(cert.serial)).revoked_at).toBeNull();
  });
});
