/**
 * Probe 51 (ACME): two compiled server processes on one database behind one ACME origin
 * (CERTMINT_ACME_BASE_URL, as behind a load balancer), each request sent to either: a nonce
 * one issued is spent at the other and never accepted twice (RFC 8555 6.5), and an account, its
 * order, challenge, finalize, certificate and deactivation hold across both.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcmeTestClient,
  b64u,
  type HttpResult,
  publicJwk,
  thumbprint,
} from "../../acme/jws-client";
import {
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  acmePortOf,
  challengeOf,
  csrDer,
  ERR,
  expectProblem,
  type LiveAcme,
  order,
  startLiveAcme,
} from "./live-acme";

const ORIGIN = "https://acme.probe51.test";

/** A client whose requests go to one replica's port; its URLs (and JWS urls) are ORIGIN's. */
class ReplicaClient extends AcmeTestClient {
  port = 0;
  override http(method: string, url: string, body?: string, type?: string): Promise<HttpResult> {
    return super.http(method, url.replace(ORIGIN, `https://127.0.0.1:${this.port}`), body, type);
  }
}

describe("probe 51: ACME across two server processes on one database", () => {
  let live: LiveAcme;
  let replica: ServerProcess;
  let ports: [number, number];
  beforeAll(async () => {
    const kek = randomBytes(32).toString("base64");
    live = await startLiveAcme({ CERTMINT_KEK: kek, CERTMINT_ACME_BASE_URL: ORIGIN });
    replica = await startServerProcess({ ...live.env, DATABASE_URL: live.db.url });
    ports = [live.acmePort, acmePortOf(replica)];
    expect(ports[1]).toBeGreaterThan(0);
  }, 3 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(replica?.output().slice(-4000));
    await replica?.stop();
    await live?.stop();
  });

  const clientOn = (port: number) => {
    const c = new ReplicaClient(`${ORIGIN}/acme/open-acme/directory`, live.caFile);
    c.port = port;
    return c;
  };
  const on = <T extends ReplicaClient>(c: T, i: 0 | 1): T => {
    c.port = ports[i];
    return c;
  };

  it("a nonce issued by one process is spent by the other, and refused when replayed at either", async () => {
    const c = clientOn(ports[0]);
    await c.directory();
    const nonceOfA = await c.nonce();
    const created = await on(c, 1).post(
      c.dir.newAccount!,
      { termsOfServiceAgreed: true },
      { useJwk: true, nonce: nonceOfA },
    );
    expect(created.status, created.text).toBe(201);
    c.kid = created.headers.location as string;
    for (const i of [0, 1] as const) {
      const replay = await on(c, i).post(
        c.dir.newOrder!,
        { identifiers: [{ type: "dns", value: "replay.probe.localhost" }] },
        { nonce: nonceOfA },
      );
      expectProblem(replay, "badNonce", 400);
    }
    // A nonce of B, spent at A, then replayed at B.
    const nonceOfB = await on(c, 1).nonce();
    const first = await on(c, 0).post(
      c.dir.newOrder!,
      { identifiers: [{ type: "dns", value: "b-nonce.probe.localhost" }] },
      { nonce: nonceOfB },
    );
    expect(first.status, first.text).toBe(201);
    const again = await on(c, 1).post(
      c.dir.newOrder!,
      { identifiers: [{ type: "dns", value: "b-nonce.probe.localhost" }] },
      { nonce: nonceOfB },
    );
    expectProblem(again, "badNonce", 400);
  });

  it("an order made at one process is validated, finalized and downloaded through the other; a deactivation at one holds at the other", async () => {
    const c = clientOn(ports[0]);
    await c.directory();
    expect((await c.register()).status).toBe(201);
    const o = await order(c, [{ type: "dns", value: "spread.probe.localhost" }]);
    const ch = await challengeOf(on(c, 1), o.authzUrls[0]!);
    live.keyAuths.set(ch.token, `${ch.token}.${thumbprint(publicJwk(c.key.publicKey))}`);
    expect((await on(c, 1).post(ch.url, {})).status).toBe(200);
    await waitFor(
      "the order to be ready",
      async () => (await on(c, 0).post(o.url, "")).json.status === "ready",
    );
    const csr = csrDer("/CN=spread.probe.localhost", ["DNS:spread.probe.localhost"]).der;
    expect((await on(c, 0).post(o.finalize, { csr: b64u(csr) })).status).toBe(200);
    let certUrl = "";
    await waitFor("the order to be valid", async () => {
      const s = await on(c, 1).post(o.url, "");
      certUrl = (s.json.certificate as string) ?? "";
      return s.json.status === "valid";
    });
    const pem = await on(c, 1).post(certUrl, "");
    expect(pem.status).toBe(200);
    expect(pem.text).toContain("BEGIN CERTIFICATE");
    expect((await on(c, 1).post(c.kid!, { status: "deactivated" })).json.status).toBe(
      "deactivated",
    );
    const after = await on(c, 0).post(c.dir.newOrder!, {
      identifiers: [{ type: "dns", value: "after.probe.localhost" }],
    });
    expect([after.status, after.json.type]).toEqual([401, `${ERR}unauthorized`]);
  });
});
