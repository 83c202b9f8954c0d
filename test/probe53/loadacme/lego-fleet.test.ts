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
import { type LiveAcme, startLiveAcme } from "../../probe51/acme/live-acme";
import { call } from "../../support/harness";

/**
 * Probe 53 (LOADACME): a fleet of lego processes behind one address (a NAT, a CI runner, one
 * host with many services) each getting its certificate at the same time, with lego's usual
 * behaviour: it retries `badNonce` only, so any other error (a 429 or a 503 `rateLimited`
 * included) ends its run. The fleet uses External Account Binding, which the README says
 * bypasses the per-address account-creation limit (accounts bound with a key are limited by
 * the keys an admin makes). Every run must succeed and every certificate must verify.
 */
const FLEET = 24;

describe("a fleet of lego processes behind one address", () => {
  let live: LiveAcme;
  let rootPem: string;
  const legoPorts: number[] = [];

  beforeAll(async () => {
    requireLego();
    // The server's defaults (CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR included).
    live = await startLiveAcme({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "10" });
    trustForLego(live.caFile);
    const [root] = await live.db.query<{ certificate_pem: string }>(
      `select certificate_pem from certificate_authority where slug = 'root'`,
    );
    rootPem = root!.certificate_pem;
    // The validation connects to the one http-01 port; each lego serves its own token on its own
    // port, so the test's responder forwards by the Host the validation sent (svc<i>...).
    live.respond((path, res) => {
      const host = res.req.headers.host ?? "";
      const i = Number(/svc(\d+)\./.exec(host)?.[1]);
      const port = legoPorts[i];
      if (port === undefined) {
        res.statusCode = 404;
        res.end();
        return;
      }
      void fetchFrom(port, path, host).then((body) => {
        if (body === undefined) res.statusCode = 404;
        res.end(body ?? "");
      });
    });
  });
  afterAll(async () => {
    await live?.stop();
  });

  function fetchFrom(port: number, path: string, host: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const req = request({ host: "127.0.0.1", port, path, headers: { host } }, (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve(res.statusCode === 200 ? body : undefined));
      });
      req.on("error", () => resolve(undefined));
      req.end();
    });
  }

  it(`${FLEET} lego runs at once, each with its own EAB-bound account, all get their certificate`, async () => {
    const runs = await Promise.all(
      Array.from({ length: FLEET }, async (_, i) => {
        const key = await call(live.admin.profiles, "createAcmeExternalAccountKey", {
          certificateProfile: "web-acme",
        });
        const port = await freePort();
        legoPorts[i] = port;
        return { i, dir: stateDir(), key, port };
      }),
    );
    const base = (dir: string) => [
      "-server",
      `https://127.0.0.1:${live.acmePort}/acme/web-acme/directory`,
      "-dir",
      dir,
    ];
    const results = await Promise.all(
      runs.map(async ({ i, dir, key, port }) => {
        const reg = await lego([...base(dir), "-eab-kid", key.keyId, "register"], {
          LEGO_EAB_HMAC: key.hmacKey,
        });
        if (reg.code !== 0) return { i, step: "register", stderr: reg.stderr.trim() };
        const obtain = (httpPort: number) =>
          lego([
            ...base(dir),
            "-domains",
            `svc${i}.fleet.acme.localhost,www.svc${i}.fleet.acme.localhost`,
            "-http-port",
            String(httpPort),
            "obtain",
          ]);
        let got = await obtain(port);
        // The free port the test chose for lego's own http-01 server can be taken by another
        // test file's process before lego binds it (seen in CI beside 580 other files): that is
        // the test's race, not certmint's answer, so lego runs again on another port.
        for (let retry = 0; retry < 3 && /address already in use/.test(got.stderr); retry++) {
          legoPorts[i] = await freePort();
          got = await obtain(legoPorts[i]!);
        }
        if (got.code !== 0) return { i, step: "obtain", stderr: got.stderr.trim() };
        return { i, dir };
      }),
    );
    const failed = results.filter((r) => "stderr" in r);
    // A legitimate fleet's runs end with no error lego cannot handle by itself.
    expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
    for (const r of results) {
      const leaf = verifyBundle(readState((r as { dir: string }).dir, "cert.pem"), rootPem);
      expect(leaf.subjectAltName).toBe(
        `DNS:svc${r.i}.fleet.acme.localhost, DNS:www.svc${r.i}.fleet.acme.localhost`,
      );
    }
    const [{ n }] = (await live.db.query<{ n: string }>(
      `select count(*) as n from certificate c join certificate_profile p on p.id = c.profile_id where p.slug = 'web-acme'`,
    )) as [{ n: string }];
    expect(Number(n)).toBe(FLEET);
  });

  it("without EAB, the accounts past the per-address limit are refused rateLimited with Retry-After (documented), nothing else", async () => {
    const base = (dir: string) => [
      "-server",
      `https://127.0.0.1:${live.acmePort}/acme/open-acme/directory`,
      "-dir",
      dir,
    ];
    const regs = await Promise.all(
      Array.from({ length: 14 }, () => lego([...base(stateDir()), "register"])),
    );
    const refused = regs.filter((r) => r.code !== 0);
    // Ten at once per address (the default), then one every six minutes: the rest are told
    // rateLimited, which is the documented answer.
    expect(regs.length - refused.length).toBe(10);
    for (const r of refused) expect(r.stderr).toContain("urn:ietf:params:acme:error:rateLimited");
  });
});
