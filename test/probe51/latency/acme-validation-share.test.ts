/**
 * Probe 51 (LATENCY): ACME validations connect out at most CERTMINT_ACME_MAX_VALIDATIONS at once,
 * with four times as many queued (README "ACME", src/acme/validation/slots.ts: "The queue is FIFO
 * and bounded"), "whatever the accounts". Accounts are free to make (10 an hour per address), and
 * one account may have 1,000 authorizations at once: one caller that points its names at a host
 * that accepts and never answers takes every place and every queue place, and every other ACME
 * client's challenge is then refused (503 rateLimited) until the attacker's validations time
 * out, while the attacker posts new ones as places free. gRPC calls (fair admission) and key
 * generation are shared between tokens in turn; validations are not shared between accounts.
 */
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmeTestClient, publicJwk, thumbprint } from "../../acme/jws-client";
import { type LiveServer, startLiveServer } from "../../probe49/http/live-server";
import { unusedPort } from "../../support/ports";
import { waitFor } from "../../support/wait";

const CAP = 2;
/** slots.ts QUEUE_PER_PLACE queue places per running place. */
const PLACES = CAP + 4 * CAP;

describe("probe51 latency: one ACME account's validations against everyone else's", () => {
  let live: LiveServer;
  let target: Server;
  /** Connections of hung validations, released at the end. */
  const hung = new Set<Socket>();
  /** key authorizations of the well-behaved client's tokens: answered at once. */
  const answered = new Map<string, string>();
  let directory: string;

  beforeAll(async () => {
    const httpPort = await unusedPort();
    live = await startLiveServer({
      CERTMINT_ACME_HTTP01_PORT: String(httpPort),
      CERTMINT_ACME_MAX_VALIDATIONS: String(CAP),
      // The attacker's hung validations end when the test releases them, not by timeout.
      CERTMINT_ACME_VALIDATION_TIMEOUT_MS: "120000",
    });
    directory = `https://127.0.0.1:${live.acmePort}/acme/web-acme/directory`;
    target = createServer((req, res) => {
      const token = (req.url ?? "").split("/").at(-1) ?? "";
      const keyAuthorization = answered.get(token);
      if (keyAuthorization === undefined) {
        hung.add(req.socket); // the attacker's host: accepts, reads, never answers
        return;
      }
      res.end(keyAuthorization);
    });
    await new Promise<void>((r) => target.listen(httpPort, "127.0.0.1", r));
  }, 240_000);
  afterAll(async () => {
    for (const socket of hung) socket.destroy();
    target?.close();
    await live?.stop();
  });

  /** A new account's order for `names` and the http-01 challenge of each. */
  async function challengesOf(client: AcmeTestClient, names: string[]) {
    expect((await client.register()).status).toBe(201);
    const order = await client.newOrder(names);
    expect(order.status, JSON.stringify(order.json)).toBe(201);
    const challenges: Array<{ url: string; token: string }> = [];
    for (const authorization of order.json.authorizations as string[]) {
      const authz = await client.post(authorization, "");
      const http01 = (authz.json.challenges as Array<{ type: string; url: string; token: string }>)
        .filter((ch) => ch.type === "http-01")
        .at(0)!;
      challenges.push(http01);
    }
    return challenges;
  }

  it("an account whose hosts never answer takes at most its share of the places: another account's challenge is taken and validated", async () => {
    const attacker = new AcmeTestClient(directory, live.acmeCaFile);
    const hang = await challengesOf(
      attacker,
      Array.from({ length: PLACES }, (_, i) => `hang${i}.acme.localhost`),
    );
    const taken: number[] = [];
    for (const ch of hang) taken.push((await attacker.post(ch.url, {})).status);
    await waitFor("the attacker's validations to have connected", () => hung.size >= 1);

    const client = new AcmeTestClient(directory, live.acmeCaFile);
    const [mine] = await challengesOf(client, ["good.acme.localhost"]);
    answered.set(mine!.token, `${mine!.token}.${thumbprint(publicJwk(client.key.publicKey))}`);
    const posted = await client.post(mine!.url, {});
    expect(
      posted.status,
      `the attacker's ${PLACES} challenge POSTs were ${taken.join(",")}; the other account's: ${posted.status} ${JSON.stringify(posted.json)}`,
    ).toBe(200);
    // Validated while the attacker's hosts still hang (they are released only in afterAll).
    await waitFor("the other account's challenge to be valid", async () => {
      const [row] = await live.db.query<{ status: string }>(
        "select status from acme_challenge where id = $1",
        [mine!.url.split("/").at(-1)],
      );
      return row?.status === "valid";
    });
  }, 180_000);
});
