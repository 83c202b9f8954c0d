import type { ServerResponse } from "node:http";
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
import { challengeOf, type LiveAcme, order, startLiveAcme } from "../../probe51/acme/live-acme";
import { waitFor } from "../../support/wait";

/**
 * Probe 53 (LOADACME), scenario 4 with a real client: while the validation queue is full
 * (CERTMINT_ACME_MAX_VALIDATIONS scaled down to 1: one running, four queued, one per account;
 * at the default of 100 it takes 500 validations at once, a fleet's renewal storm whose
 * targets are slow), lego's challenge POST was answered `rateLimited` 503 with Retry-After, for
 * the client to post again. lego (v5.6.0) retries `badNonce` only (acme/api/api.go
 * retrievablePost), so its run ended with the error. Since stop 53 of 2026-12-07 the challenge
 * is accepted (processing) and started by lego's next poll once a place frees: lego gets its
 * certificate.
 */
describe("lego while the validation queue is full", () => {
  let live: LiveAcme;
  let rootPem: string;
  let legoPort = 0;
  /** Answers the test holds (the slow targets of other accounts) until it lets them go. */
  const held: Array<() => void> = [];

  beforeAll(async () => {
    requireLego();
    live = await startLiveAcme({
      CERTMINT_ACME_MAX_VALIDATIONS: "1",
      CERTMINT_ACME_VALIDATION_TIMEOUT_MS: "60000",
    });
    trustForLego(live.caFile);
    const [root] = await live.db.query<{ certificate_pem: string }>(
      `select certificate_pem from certificate_authority where slug = 'root'`,
    );
    rootPem = root!.certificate_pem;
    live.respond((path, res: ServerResponse) => {
      const auth = live.keyAuths.get(path.split("/").at(-1) ?? "");
      if (auth !== undefined) {
        held.push(() => res.end(auth));
        return;
      }
      // lego's own token: from its http-01 server, which answers only a request whose Host is
      // the name being validated.
      const req = request(
        {
          host: "127.0.0.1",
          port: legoPort,
          path,
          headers: { host: "fleet-member.acme.localhost" },
        },
        (r) => {
          res.statusCode = r.statusCode ?? 502;
          r.pipe(res);
        },
      );
      req.on("error", () => {
        res.statusCode = 502;
        res.end();
      });
      req.end();
    });
  });
  afterAll(async () => {
    for (const release of held.splice(0)) release();
    await live?.stop();
  });

  it("lego's challenge POST while every validation place is taken: accepted, started by a later poll, and lego gets its certificate", async () => {
    // Five accounts each start one challenge whose target answers only when the test lets it:
    // one runs, four wait in the queue (one place each), so the queue is full.
    const fillers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const c = live.client();
        await c.register();
        const o = await order(c, [{ type: "dns", value: `slow${i}.acme.localhost` }]);
        const ch = await challengeOf(c, o.authzUrls[0]!);
        live.keyAuths.set(ch.token, `${ch.token}.${thumbprint(publicJwk(c.key.publicKey))}`);
        const started = await c.post(ch.url, {});
        expect(started.status, started.text).toBe(200);
        return { c, o };
      }),
    );
    await waitFor("the running validation to reach its target", () => held.length >= 1);

    legoPort = await freePort();
    const dir = stateDir();
    const base = ["-server", `https://127.0.0.1:${live.acmePort}/acme/web-acme/directory`];
    const reg = await lego([...base, "-dir", dir, "register"]);
    expect(reg.code, reg.stderr).toBe(0);
    const run = lego([
      ...base,
      "-dir",
      dir,
      "-domains",
      "fleet-member.acme.localhost",
      "-http-port",
      String(legoPort),
      "obtain",
    ]);
    // lego's challenge is accepted while the queue is full: processing, not started (no start
    // time). Then the slow targets answer, places free, and lego's next poll starts it.
    await waitFor("lego's challenge accepted, waiting for a place", async () => {
      const rows = await live.db.query<{ n: string }>(
        `select count(*) as n from acme_challenge where status = 'processing' and started_at is null`,
      );
      return Number(rows[0]!.n) === 1;
    });
    const releaser = setInterval(() => {
      for (const release of held.splice(0)) release();
    }, 50);
    let got: Awaited<typeof run>;
    try {
      got = await run;
      for (const { c, o } of fillers) {
        await waitFor("a queued legitimate order to be ready", async () => {
          const s = (await c.post(o.url, "")).json.status;
          if (s === "invalid") throw new Error("a queued validation ended invalid");
          return s === "ready";
        });
      }
    } finally {
      clearInterval(releaser);
    }
    expect(got!.stderr).not.toContain("urn:ietf:params:acme:error:rateLimited");
    expect(got!.code, got!.stderr).toBe(0);
    verifyBundle(readState(dir, "cert.pem"), rootPem);
  });
});
