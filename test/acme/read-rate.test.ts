/**
 * POST-as-GET reads of an account's resources (RFC 8555 6.3: polling an order, an authorization,
 * downloading a certificate, the orders list) have a budget per account, ten times the account
 * rate (acme/index.ts readLimiter). Until 2026-12-04 only the per-address rate bounded them, so
 * one account polling from many addresses had no bound of its own. Here one account's key reads
 * its order from 12 addresses at once, each address far inside its own budget: the account is
 * refused (rateLimited, Retry-After) past its reads' budget, while another account reading from
 * the same addresses is served.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient, type HttpResult } from "./jws-client";

const ACME = "urn:ietf:params:acme:error:";
/** The account rate here: 1 a second, bursts of 10; so reads 10 a second, bursts of 100. */
const RATE = { perSecond: 1, burst: 10 };
const READ_BURST = 10 * RATE.burst;
const READ_PER_SECOND = 10 * RATE.perSecond;
const ADDRESSES = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
/** At least this many rounds (past the read burst at any speed), at most MAX_ROUNDS. */
const MIN_ROUNDS = 10;
const MAX_ROUNDS = 150;

describe("ACME POST-as-GET reads per account", () => {
  let s: AcmeServer;

  beforeAll(async () => {
    s = await startAcmeServer({
      CERTMINT_ACME_RATE_LIMIT_PER_SECOND: String(RATE.perSecond),
      CERTMINT_ACME_RATE_LIMIT_BURST: String(RATE.burst),
    });
  });
  afterAll(async () => {
    await s?.h.stop();
  });

  /** An account with one order; its key's clients from each address, on new connections. */
  async function accountWithOrder(name: string) {
    const home = new AcmeTestClient(s.directory(), s.tlsCaFile);
    expect((await home.register()).status).toBe(201);
    const order = await home.newOrder([`${name}.acme.localhost`]);
    expect(order.status, order.text).toBe(201);
    const orderUrl = order.headers.location as string;
    const from = ADDRESSES.map((address) => {
      const c = new AcmeTestClient(s.directory(), s.tlsCaFile, home.kind, home.key);
      c.kid = home.kid;
      c.dir = home.dir;
      c.localAddress = address;
      c.agent = false;
      return c;
    });
    return { orderUrl, from };
  }

  it("refuses an account past its reads' budget from any number of addresses, and only that account", async () => {
    const poller = await accountWithOrder("poller");
    const other = await accountWithOrder("other");

    const started = performance.now();
    const answers: HttpResult[] = [];
    // Rounds until the account is refused: on a fast machine within a few rounds, on a starved
    // one (a round taking about as long as the budget takes to refill 12 reads) later; the
    // bound below holds either way. Each address sends at most 2 requests a round (a read and
    // its nonce), far inside its own budget (100 at once, 10 a second): every refusal is the
    // account's.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      answers.push(...(await Promise.all(poller.from.map((c) => c.post(poller.orderUrl, "")))));
      if (round + 1 >= MIN_ROUNDS && answers.some((a) => a.status !== 200)) break;
    }
    const elapsedSeconds = (performance.now() - started) / 1000;

    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect([r.status, r.json.type], r.text).toEqual([429, `${ACME}rateLimited`]);
      expect(Number(r.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    expect(served.length).toBeGreaterThanOrEqual(READ_BURST - 1);
    expect(served.length).toBeLessThanOrEqual(
      READ_BURST + Math.ceil(READ_PER_SECOND * elapsedSeconds) + 1,
    );
    for (const a of served) expect(a.json.status).toBe("pending");

    // Another account, from the same addresses: served.
    const theirs = await Promise.all(other.from.map((c) => c.post(other.orderUrl, "")));
    expect(theirs.map((a) => a.status)).toEqual(ADDRESSES.map(() => 200));
  });
});
