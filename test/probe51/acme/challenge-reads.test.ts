/**
 * Probe 51 (ACME): POST-as-GET reads of a challenge (RFC 8555 7.5.1) against the per-account
 * reads' budget that bounds reads of orders, authorizations, certificates and orders lists
 * (test/acme/read-rate.test.ts: one account reading from many addresses, each far inside its
 * own budget). Here the reads are of a challenge URL, each address reusing the Replay-Nonce it
 * was given (one request per read), so only the account's budget can refuse them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmeTestClient, type HttpResult } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { challengeOf, ERR, type LiveAcme, order, startLiveAcme } from "./live-acme";

/** The account rate: 1 a second, bursts of 2; reads 10 a second, bursts of 20 (acme/index.ts). */
const RATE = { perSecond: 1, burst: 2 };
const READ_BURST = 10 * RATE.burst;
const READ_PER_SECOND = 10 * RATE.perSecond;
const ADDRESSES = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
const MAX_ROUNDS = 15;

describe("probe 51: ACME challenge reads and the account's reads' budget", () => {
  let live: LiveAcme;
  beforeAll(async () => {
    live = await startLiveAcme({
      CERTMINT_ACME_RATE_LIMIT_PER_SECOND: String(RATE.perSecond),
      CERTMINT_ACME_RATE_LIMIT_BURST: String(RATE.burst),
    });
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  /** One account reading `which` of its order from every address, round after round. */
  const readsFromEveryAddress = async (which: "authorization" | "challenge") => {
    const home = live.client("web-acme");
    expect((await home.register()).status).toBe(201);
    const o = await order(home, [{ type: "dns", value: `polled-${which}.acme.localhost` }]);
    const url =
      which === "challenge" ? (await challengeOf(home, o.authzUrls[0]!)).url : o.authzUrls[0]!;
    const from = await Promise.all(
      ADDRESSES.map(async (address) => {
        const c = new AcmeTestClient(home.directoryUrl, live.caFile, home.kind, home.key);
        c.kid = home.kid;
        c.dir = home.dir;
        c.localAddress = address;
        c.agent = false;
        return { c, nonce: await c.nonce() };
      }),
    );
    const read = async (f: (typeof from)[number]) => {
      const r = await f.c.post(url, "", { nonce: f.nonce });
      f.nonce = r.headers["replay-nonce"] as string;
      return r;
    };
    const started = performance.now();
    const answers: HttpResult[] = [];
    const bound = () =>
      READ_BURST + Math.ceil((READ_PER_SECOND * (performance.now() - started)) / 1000) + 1;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      answers.push(...(await Promise.all(from.map(read))));
      const served = answers.filter((a) => a.status === 200).length;
      if (answers.some((a) => a.status !== 200) || served > bound()) break;
    }
    const served = answers.filter((a) => a.status === 200);
    for (const r of answers.filter((a) => a.status !== 200)) {
      expect([r.status, r.json.type], r.text).toEqual([429, `${ERR}rateLimited`]);
    }
    // At most the reads' burst plus what refilled meanwhile.
    expect(served.length).toBeLessThanOrEqual(bound());
  };

  it("reading an authorization from many addresses is bounded by the account's reads' budget", () =>
    readsFromEveryAddress("authorization"));

  it("reading a challenge from many addresses is bounded by the account's reads' budget too", () =>
    readsFromEveryAddress("challenge"));
});
