import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../acme/helpers";
import { type LiveAcme, startLiveAcme } from "../../probe51/acme/live-acme";
import { eachAtOnce, FleetClient } from "./fleet-client";

/**
 * Probe 53 (LOADACME), scenario 4: more challenges at once than CERTMINT_ACME_MAX_VALIDATIONS
 * (scaled down to 4, so one validation running and four queued per account, 16 queued in all), half of the targets slow
 * (answering after 40% of the validation timeout), from a controller with one account and five
 * lego-like clients with an account each, all at once. The README: a challenge POST past the
 * queue is accepted (processing) and started by a later poll once a place frees (until stop 53
 * it was refused 503 rateLimited for the client to post again); a queued validation waits at most
 * five validation timeouts. Every legitimate order must end valid, no challenge POST refused.
 */
const TIMEOUT_MS = 2500;
const SLOW_MS = 1000;

describe("challenge validation past CERTMINT_ACME_MAX_VALIDATIONS, slow targets among them", () => {
  let live: LiveAcme;
  let rootPem: string;

  beforeAll(async () => {
    live = await startLiveAcme({
      CERTMINT_ACME_MAX_VALIDATIONS: "4",
      CERTMINT_ACME_VALIDATION_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    const [root] = await live.db.query<{ certificate_pem: string }>(
      `select certificate_pem from certificate_authority where slug = 'root'`,
    );
    rootPem = root!.certificate_pem;
    // A slow target: half of the tokens (by their first character) answer after SLOW_MS.
    live.respond((path, res) => {
      const token = path.split("/").at(-1) ?? "";
      const auth = live.keyAuths.get(token);
      const answer = () => {
        if (auth === undefined) res.statusCode = 404;
        res.end(auth ?? "");
      };
      if (token.charCodeAt(0) % 2 === 0) setTimeout(answer, SLOW_MS);
      else answer();
    });
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("a controller's 30 orders and five clients' 6 each, at once: all valid", async () => {
    const clients = [live.client(), ...Array.from({ length: 5 }, () => live.client())];
    const fleet = clients.map((c) => new FleetClient(c, live.keyAuths));
    for (const f of fleet) await f.register();
    const work = fleet.flatMap((f, k) =>
      Array.from({ length: k === 0 ? 30 : 6 }, (_, i) => ({
        f,
        names: [k === 0 ? `v${i}.ctl.acme.localhost` : `v${i}.c${k}.fleet.acme.localhost`],
      })),
    );
    const results = await eachAtOnce(work, work.length, ({ f, names }) => f.certificate(names));
    const errors = results.flatMap((r) => ("error" in r ? [r.error] : []));
    const refusals = fleet.flatMap((f) => f.refusals);
    const challengeRefusals = refusals.filter((r) => r.url.includes("/chall/"));
    console.log(
      "challenge refusals",
      challengeRefusals.length,
      [...new Set(challengeRefusals.map((r) => `${r.status} ${r.detail}`))].slice(0, 5),
    );
    expect(errors, errors.slice(0, 5).join("\n")).toEqual([]);
    // Past the queue a challenge POST is accepted and waits for a poll: none refused.
    expect(challengeRefusals).toEqual([]);
    // Each refusal was one the protocol lets the client past, with Retry-After.
    for (const r of refusals) {
      if (r.status === 400) expect(r.type).toBe("urn:ietf:params:acme:error:badNonce");
      else expect(r.retryAfter, JSON.stringify(r)).toBeDefined();
    }
    results.forEach((r, i) => {
      const leaf = verifyBundle((r as { ok: { pem: string } }).ok.pem, rootPem);
      expect(leaf.subjectAltName).toBe(`DNS:${work[i]!.names[0]}`);
    });
    // No authorization ended invalid (a queued validation that waited too long would).
    const invalid = await live.db.query(
      `select identifier_value from acme_authorization where status <> 'valid'`,
    );
    expect(invalid).toEqual([]);
  });
});
