/**
 * Probe 51 (ACME): http-01 validation as an attacker drives it (RFC 8555 8.3, 10.2), against the
 * compiled server allowed to validate at 127.0.0.1 only (CERTMINT_ACME_VALIDATION_NETWORKS).
 * The challenge target redirects to addresses outside that network however they are spelled,
 * to other ports and schemes, and answers slowly; a second listener at 127.0.0.2 (same port)
 * and one at another port of 127.0.0.1 answer the key authorization, so any connection to
 * them would make the challenge valid and is counted. test/acme covers a first hop outside
 * the network, a redirect loop and an oversized answer.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeTestClient, publicJwk, thumbprint } from "../../acme/jws-client";
import { unusedPort } from "../../support/ports";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  challengeOf,
  ERR,
  type LiveAcme,
  order,
  settledAuthorization,
  startLiveAcme,
} from "./live-acme";

describe("probe 51: ACME http-01 validation bounds", () => {
  let live: LiveAcme;
  let c: AcmeTestClient;
  const outside: Server[] = [];
  let hitsOutside = 0;
  let otherPort = 0;
  /** The key authorization any outside listener answers (of the challenge under test). */
  let keyAuth = "";

  beforeAll(async () => {
    live = await startLiveAcme({
      CERTMINT_ACME_VALIDATION_NETWORKS: "127.0.0.1/32",
      CERTMINT_ACME_VALIDATION_TIMEOUT_MS: "1500",
    });
    c = live.client("open-acme");
    expect((await c.register()).status).toBe(201);
    otherPort = await unusedPort();
    for (const [host, port] of [
      ["127.0.0.2", live.httpPort],
      ["127.0.0.1", otherPort],
    ] as const) {
      const s = createServer((_req, res) => {
        hitsOutside += 1;
        res.end(keyAuth);
      });
      await new Promise<void>((r) => s.listen(port, host, r));
      outside.push(s);
    }
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    for (const s of outside) await new Promise((r) => s.close(r));
    await live?.stop();
  });

  /** A new order for `name`, its http-01 challenge started; the authorization once settled. */
  const validate = async (name: string) => {
    const o = await order(c, [{ type: "dns", value: name }]);
    const ch = await challengeOf(c, o.authzUrls[0]!);
    keyAuth = `${ch.token}.${thumbprint(publicJwk(c.key.publicKey))}`;
    live.keyAuths.set(ch.token, keyAuth);
    expect((await c.post(ch.url, {})).status).toBe(200);
    const authz = await settledAuthorization(c, o.authzUrls[0]!);
    const error = (authz.json.challenges as Array<{ error?: { type: string; detail: string } }>)
      .map((x) => x.error)
      .find(Boolean);
    return { status: authz.json.status, error, order: o };
  };

  it("a redirect to an address outside the allowed networks is refused however it is spelled, and never connected to", async () => {
    const p = live.httpPort;
    const targets = [
      `http://127.0.0.2:${p}/x`,
      `http://2130706434:${p}/x`,
      `http://0x7f.0.0.2:${p}/x`,
      `http://127.2:${p}/x`,
      `http://[::ffff:127.0.0.2]:${p}/x`,
      `http://[::ffff:7f00:2]:${p}/x`,
      `http://user:pw@127.0.0.2:${p}/x`,
      `//127.0.0.2:${p}/x`,
      `http://[::1]:${p}/x`,
      `http://127.0.0.2.nip.invalid:${p}/x`,
    ];
    for (const [i, target] of targets.entries()) {
      live.respond((_path, res) => {
        res.writeHead(302, { location: target });
        res.end();
      });
      const r = await validate(`redirect${i}.probe.localhost`);
      expect(r.status, target).toBe("invalid");
      expect([`${ERR}connection`, `${ERR}dns`], `${target}: ${r.error?.detail}`).toContain(
        r.error?.type,
      );
    }
    expect(hitsOutside).toBe(0);
    live.respond(undefined);
  });

  it("a redirect to another port or scheme is refused and never connected to", async () => {
    for (const [i, target] of [
      `http://127.0.0.1:${otherPort}/x`,
      `https://127.0.0.1:${otherPort}/x`,
      `ftp://127.0.0.1:${live.httpPort}/x`,
      "file:///etc/passwd",
      `gopher://127.0.0.1:${otherPort}/x`,
      "http://127.0.0.1:0/x",
      `http://127.0.0.1:${live.httpPort + 65536}/x`,
    ].entries()) {
      live.respond((_path, res) => {
        res.writeHead(301, { location: target });
        res.end();
      });
      const r = await validate(`scheme${i}.probe.localhost`);
      expect(r.status, target).toBe("invalid");
      expect(r.error?.type, `${target}: ${r.error?.detail}`).toBe(`${ERR}connection`);
    }
    expect(hitsOutside).toBe(0);
    live.respond(undefined);
  });

  it("a redirect within the allowed network and port is followed, and the challenge validates", async () => {
    live.respond((path, res) => {
      if (path.startsWith("/.well-known/")) {
        res.writeHead(307, { location: `/moved${path}` });
        return res.end();
      }
      res.end(live.keyAuths.get(path.split("/").at(-1)!) ?? "");
    });
    const r = await validate("moved.probe.localhost");
    expect(r.status, r.error?.detail).toBe("valid");
    live.respond(undefined);
  });

  it("a target that sends its headers and then its body slowly, or never answers, fails within the timeout (connection)", async () => {
    const held: Array<import("node:http").ServerResponse> = [];
    for (const [name, behave] of [
      [
        "drip.probe.localhost",
        (_p: string, res: import("node:http").ServerResponse) => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("x");
          held.push(res);
        },
      ],
      [
        "silent.probe.localhost",
        (_p: string, res: import("node:http").ServerResponse) => {
          held.push(res);
        },
      ],
    ] as const) {
      live.respond(behave);
      const r = await validate(name);
      expect(r.status, name).toBe("invalid");
      expect(r.error?.type, `${name}: ${r.error?.detail}`).toBe(`${ERR}connection`);
      expect(r.error?.detail).toContain("timed out");
    }
    for (const res of held) res.destroy();
    live.respond(undefined);
  });

  it("an answer that is not 200 or carries the key authorization after other text is refused (unauthorized, incorrectResponse)", async () => {
    for (const [i, [status, body, type]] of (
      [
        [404, "KEYAUTH", "unauthorized"],
        [500, "KEYAUTH", "unauthorized"],
        [200, "prefix KEYAUTH", "incorrectResponse"],
        [200, "KEYAUTH.extra", "incorrectResponse"],
        [200, "", "incorrectResponse"],
      ] as const
    ).entries()) {
      live.respond((path, res) => {
        res.statusCode = status;
        res.end(body.replace("KEYAUTH", live.keyAuths.get(path.split("/").at(-1)!) ?? ""));
      });
      const r = await validate(`answer${i}.probe.localhost`);
      expect(r.status, `${status} ${body}`).toBe("invalid");
      expect(r.error?.type, `${status} ${body}: ${r.error?.detail}`).toBe(`${ERR}${type}`);
    }
    live.respond(undefined);
  });
});
