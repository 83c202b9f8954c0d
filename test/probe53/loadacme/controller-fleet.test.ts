import type { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../acme/helpers";
import { type LiveAcme, startLiveAcme } from "../../probe51/acme/live-acme";
import { akiOf, certIdOf, eachAtOnce, FleetClient, type Refusal } from "./fleet-client";

/**
 * Probe 53 (LOADACME), scenarios 1 and 3: a cert-manager-like controller (ONE account, ONE
 * client address, the server's default limits) orders its certificates all at once, polling
 * at the Retry-After the server gives (else every second) and retrying 429/503 after their
 * Retry-After and badNonce at once, as golang.org/x/crypto/acme does; then the whole fleet
 * renews at once (ARI renewal-info read for every certificate, a new order naming `replaces`).
 * Every order must end valid with a correct certificate, and every refusal on the way must be
 * one the client can get past: rateLimited or badNonce, a rateLimited always with Retry-After.
 */
const CERTS = 100;
/** Orders the controller keeps going at once (all of them: an Issuer's backlog after install). */
const AT_ONCE = CERTS;

const namesOf = (i: number) =>
  i % 4 === 0
    ? [`c${i}.ctl.acme.localhost`, `www.c${i}.ctl.acme.localhost`]
    : [`c${i}.ctl.acme.localhost`];

function expectOnlyRecoverable(refusals: Refusal[]): void {
  const other = refusals.filter(
    (r) =>
      !(
        (r.status === 400 && r.type === "urn:ietf:params:acme:error:badNonce") ||
        ((r.status === 429 || r.status === 503) &&
          (r.method === "HEAD" || r.type === "urn:ietf:params:acme:error:rateLimited"))
      ),
  );
  expect(other, JSON.stringify(other.slice(0, 5))).toEqual([]);
  const noRetryAfter = refusals.filter((r) => r.status !== 400 && r.retryAfter === undefined);
  expect(noRetryAfter, JSON.stringify(noRetryAfter.slice(0, 5))).toEqual([]);
}

function summary(refusals: Refusal[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of refusals) {
    const k = `${r.method} ${r.status} ${r.detail ?? r.type ?? ""}`.slice(0, 120);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe("a controller with one account orders and renews a fleet's certificates at once", () => {
  let live: LiveAcme;
  let rootPem: string;
  let client: FleetClient;
  const issued: Array<{ names: string[]; leaf: X509Certificate; pem: string }> = [];

  beforeAll(async () => {
    live = await startLiveAcme({ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "10" });
    const [root] = await live.db.query<{ certificate_pem: string }>(
      `select certificate_pem from certificate_authority where slug = 'root'`,
    );
    rootPem = root!.certificate_pem;
    client = new FleetClient(live.client(), live.keyAuths);
    await client.register();
  });
  afterAll(async () => {
    await live?.stop();
  });

  it(`${CERTS} certificates ordered at once all end valid and verify`, async () => {
    const results = await eachAtOnce(
      Array.from({ length: CERTS }, (_, i) => i),
      AT_ONCE,
      (i) => client.certificate(namesOf(i)),
    );
    const errors = results.flatMap((r) => ("error" in r ? [r.error] : []));
    console.log("issue refusals", summary(client.refusals));
    expect(errors, errors.slice(0, 5).join("\n")).toEqual([]);
    expectOnlyRecoverable(client.refusals);
    results.forEach((r, i) => {
      const { pem } = (r as { ok: { pem: string } }).ok;
      const leaf = verifyBundle(pem, rootPem);
      expect(leaf.subjectAltName).toBe(
        namesOf(i)
          .map((n) => `DNS:${n}`)
          .join(", "),
      );
      issued.push({ names: namesOf(i), leaf, pem });
    });
    const [{ n }] = (await live.db.query<{ n: string }>(
      `select count(distinct c.serial_number) as n from certificate c join certificate_profile p on p.id = c.profile_id where p.slug = 'web-acme'`,
    )) as [{ n: string }];
    expect(Number(n)).toBe(CERTS);
  });

  it("the whole fleet renews at once: renewal-info for each, then orders that replace", async () => {
    expect(issued).toHaveLength(CERTS);
    client.refusals.length = 0;
    const aki = akiOf(issued[0]!.pem);
    const renewed = await eachAtOnce(issued, AT_ONCE, async (cert) => {
      const certId = certIdOf(aki, cert.leaf.serialNumber);
      const info = await client.get(`${client.c.dir.renewalInfo}/${certId}`);
      if (info.status !== 200) throw new Error(`renewal-info: ${info.status} ${info.text}`);
      if (!(info.json.suggestedWindow as { start?: string })?.start)
        throw new Error(`renewal-info without a window: ${info.text}`);
      return { certId, ...(await client.certificate(cert.names, certId)) };
    });
    const errors = renewed.flatMap((r) => ("error" in r ? [r.error] : []));
    console.log("renewal refusals", summary(client.refusals));
    expect(errors, errors.slice(0, 5).join("\n")).toEqual([]);
    expectOnlyRecoverable(client.refusals);
    renewed.forEach((r, i) => {
      const { pem } = (r as { ok: { pem: string } }).ok;
      const leaf = verifyBundle(pem, rootPem);
      expect(leaf.subjectAltName).toBe(issued[i]!.leaf.subjectAltName);
      expect(leaf.serialNumber).not.toBe(issued[i]!.leaf.serialNumber);
    });
    const [{ n }] = (await live.db.query<{ n: string }>(
      `select count(*) as n from acme_order where replaces is not null and status = 'valid'`,
    )) as [{ n: string }];
    expect(Number(n)).toBe(CERTS);
  });
});
