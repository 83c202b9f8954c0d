import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  lego,
  readState,
  requireLego,
  stateDir,
  trustForLego,
  verifyBundle,
} from "../../acme/helpers";
import { publicJwk, thumbprint } from "../../acme/jws-client";
import { csrDer, type LiveAcme, startLiveAcme } from "../../probe51/acme/live-acme";
import { FleetClient } from "./fleet-client";

/**
 * Probe 53 (LOADACME), scenario 6: the largest order the README allows (100 identifiers), at
 * the server's default limits, from lego (one process, its usual settings: it retries badNonce
 * only) and from a controller-like client that answers all 100 challenges at once.
 */
const NAMES = 100;

describe("orders of 100 identifiers at the default limits", () => {
  let live: LiveAcme;
  let rootPem: string;
  let legoPort = 0;

  beforeAll(async () => {
    requireLego();
    live = await startLiveAcme();
    trustForLego(live.caFile);
    const [root] = await live.db.query<{ certificate_pem: string }>(
      `select certificate_pem from certificate_authority where slug = 'root'`,
    );
    rootPem = root!.certificate_pem;
    // Key authorizations the test's clients set; any other token is lego's, from its server.
    live.respond((path, res) => {
      const auth = live.keyAuths.get(path.split("/").at(-1) ?? "");
      if (auth !== undefined) {
        res.end(auth);
        return;
      }
      // With the Host the validation sent: lego's http-01 server answers by it.
      const headers = { host: res.req.headers.host ?? "" };
      const req = request({ host: "127.0.0.1", port: legoPort, path, headers }, (r) => {
        res.statusCode = r.statusCode ?? 502;
        r.pipe(res);
      });
      req.on("error", () => {
        res.statusCode = 502;
        res.end();
      });
      req.end();
    });
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("lego obtains a certificate for 100 names in one run", async () => {
    legoPort = await freePort();
    const dir = stateDir();
    const base = [
      "-server",
      `https://127.0.0.1:${live.acmePort}/acme/web-acme/directory`,
      "-dir",
      dir,
    ];
    const names = Array.from({ length: NAMES }, (_, i) => `n${i}.big.acme.localhost`);
    const reg = await lego([...base, "register"]);
    expect(reg.code, reg.stderr).toBe(0);
    const got = await lego([
      ...base,
      "-domains",
      names.join(","),
      "-http-port",
      String(legoPort),
      "obtain",
    ]);
    expect(got.code, got.stderr.slice(0, 800)).toBe(0);
    const leaf = verifyBundle(readState(dir, "cert.pem"), rootPem);
    expect(leaf.subjectAltName?.split(", ").sort()).toEqual(names.map((n) => `DNS:${n}`).sort());
  });

  it("a client answering all 100 challenges at once gets its certificate", async () => {
    const f = new FleetClient(live.client(), live.keyAuths);
    await f.register();
    const names = Array.from({ length: NAMES }, (_, i) => `m${i}.big.acme.localhost`);
    const newOrder = await f.post(f.c.dir.newOrder!, {
      identifiers: names.map((value) => ({ type: "dns", value })),
    });
    expect(newOrder.status, newOrder.text).toBe(201);
    // FleetClient.certificate answers one authorization after another; here all at once.
    const authzUrls = newOrder.json.authorizations as string[];
    const thumb = thumbprint(publicJwk(f.c.key.publicKey));
    await Promise.all(
      authzUrls.map(async (u) => {
        const a = await f.post(u, "");
        const ch = (a.json.challenges as Array<{ type: string; url: string; token: string }>).find(
          (x) => x.type === "http-01",
        )!;
        live.keyAuths.set(ch.token, `${ch.token}.${thumb}`);
        const started = await f.post(ch.url, {});
        expect(started.status, started.text).toBe(200);
      }),
    );
    const orderUrl = newOrder.headers.location as string;
    const ready = await f.poll(orderUrl, ["ready", "invalid"]);
    expect(ready.json.status, ready.text).toBe("ready");
    const csr = csrDer(
      `/CN=${names[0]}`,
      names.map((n) => `DNS:${n}`),
    ).der;
    const fin = await f.post(newOrder.json.finalize as string, { csr: csr.toString("base64url") });
    expect(fin.status, fin.text).toBe(200);
    const done = await f.poll(orderUrl, ["valid", "invalid"]);
    expect(done.json.status, done.text).toBe("valid");
    const cert = await f.post(done.json.certificate as string, "");
    const leaf = verifyBundle(cert.text, rootPem);
    expect(leaf.subjectAltName?.split(", ").sort()).toEqual(names.map((n) => `DNS:${n}`).sort());
    for (const r of f.refusals) {
      if (r.status === 400) expect(r.type).toBe("urn:ietf:params:acme:error:badNonce");
      else expect(r.retryAfter, JSON.stringify(r)).toBeDefined();
    }
  });
});
