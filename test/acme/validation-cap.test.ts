import { createServer, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait";
import { type AcmeServer, startAcmeServer } from "./helpers";
import { AcmeTestClient, publicJwk, thumbprint } from "./jws-client";

const CAP = 2;
/** validation/slots.ts QUEUE_PER_PLACE places per running one. */
const QUEUED = 4 * CAP;

/**
 * CERTMINT_ACME_MAX_VALIDATIONS (src/acme/validation/slots.ts): validations connect out at most
 * CAP at a time, process-wide, each account its share; more wait in a bounded queue, and past the
 * queue a challenge POST is accepted (processing) with no start, and started by a later poll of
 * its authorization once a place is free (until stop 53 of 2026-12-07 it was refused 503
 * rateLimited, which lego and certbot do not retry: an outside probe, LOADACME F2). The
 * targets hang (accept, read the request, never answer) until the test releases them, and
 * count on their side the connections they hold.
 */
describe("ACME validations in flight", () => {
  let s: AcmeServer;
  let target: Server;
  /** Connections the target accepted and has neither answered nor closed. */
  const open = new Set<Socket>();
  let maxOpen = 0;
  let accepted = 0;
  let hang = true;
  const keyAuthorizations = new Map<string, string>();

  beforeAll(async () => {
    s = await startAcmeServer({
      CERTMINT_ACME_MAX_VALIDATIONS: String(CAP),
      // Hung targets end only when the test releases them, never by the validation timeout.
      CERTMINT_ACME_VALIDATION_TIMEOUT_MS: "120000",
      CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0",
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
    target = createServer((req, res: ServerResponse) => {
      if (hang) return;
      // No longer counted before anything is sent: the validator cannot end (and free its
      // place) before it reads this answer, so `open` never undercounts what it holds.
      open.delete(req.socket);
      const token = (req.url ?? "").split("/").at(-1) ?? "";
      res.end(keyAuthorizations.get(token) ?? "");
    });
    target.on("connection", (socket: Socket) => {
      accepted++;
      open.add(socket);
      maxOpen = Math.max(maxOpen, open.size);
      socket.on("close", () => open.delete(socket));
    });
    await new Promise<void>((r) => target.listen(s.httpPort, "127.0.0.1", r));
  });
  afterAll(async () => {
    for (const socket of open) socket.destroy();
    target?.close();
    await s?.h.stop();
  });

  const challengeStatus = async (id: string) =>
    (
      await s.h.db.query<{ status: string }>(`select status from acme_challenge where id = $1`, [
        id,
      ])
    )[0]!.status;

  it("opens at most CERTMINT_ACME_MAX_VALIDATIONS connections; the rest queue, then wait unstarted, and complete once released", async () => {
    // Several accounts: the cap is the process's, not an account's. Five, since one account
    // runs at most a quarter of the places and queues a quarter of the queue (slots.ts).
    const clients = [0, 1, 2, 3, 4].map(() => new AcmeTestClient(s.directory(), s.tlsCaFile));
    for (const c of clients) expect((await c.register()).status).toBe(201);
    const challenges: Array<{ client: AcmeTestClient; url: string; id: string; authzUrl: string }> =
      [];
    for (let i = 0; i < CAP + QUEUED + 1; i++) {
      const client = clients[i % clients.length]!;
      const order = await client.newOrder([`hang${i}.acme.localhost`]);
      expect(order.status).toBe(201);
      const authz = await client.post((order.json.authorizations as string[])[0]!, "");
      const http01 = (authz.json.challenges as Array<{ type: string; url: string; token: string }>)
        .filter((ch) => ch.type === "http-01")
        .at(0)!;
      keyAuthorizations.set(
        http01.token,
        `${http01.token}.${thumbprint(publicJwk(client.key.publicKey))}`,
      );
      challenges.push({
        client,
        url: http01.url,
        id: http01.url.split("/").at(-1)!,
        authzUrl: (order.json.authorizations as string[])[0]!,
      });
    }
    const last = challenges.pop()!;
    for (const ch of challenges) {
      const started = await ch.client.post(ch.url, {});
      expect(started.status).toBe(200);
      expect(started.json.status).toBe("processing");
    }
    await waitFor("CAP validations connected, the others queued", () => {
      // Without the cap every started validation connects: fail at once rather than wait.
      expect(accepted).toBeLessThanOrEqual(CAP);
      const counts = s.h.running.acmeValidations();
      return accepted === CAP && counts?.running === CAP && counts.queued === QUEUED;
    });
    const metrics = await (
      await fetch(`http://127.0.0.1:${s.h.running.metricsPort}/metrics`)
    ).text();
    expect(metrics).toContain(`certmint_acme_validations{state="running"} ${CAP}`);
    expect(metrics).toContain(`certmint_acme_validations{state="queued"} ${QUEUED}`);

    // Every place and queue place taken: accepted (processing), not started (no connection,
    // no start time, nothing held in memory).
    const waiting = await last.client.post(last.url, {});
    expect(waiting.status, waiting.text).toBe(200);
    expect(waiting.json.status).toBe("processing");
    expect(Number(waiting.headers["retry-after"])).toBeGreaterThan(0);
    expect(await challengeStatus(last.id)).toBe("processing");
    const [row] = await s.h.db.query<{ started_at: Date | null }>(
      `select started_at from acme_challenge where id = $1`,
      [last.id],
    );
    expect(row!.started_at).toBeNull();
    expect(accepted).toBe(CAP);
    expect(s.h.running.acmeValidations()).toEqual({ running: CAP, queued: QUEUED });

    // The targets answer from now on; the hung connections are released (closed).
    hang = false;
    for (const socket of [...open]) {
      open.delete(socket);
      socket.destroy();
    }
    await waitFor("every started challenge to be decided", async () => {
      const rows = await s.h.db.query<{ n: string }>(
        `select count(*) as n from acme_challenge where id = any($1) and status = 'processing'`,
        [challenges.map((ch) => ch.id)],
      );
      return Number(rows[0]!.n) === 0;
    });
    const statuses: string[] = [];
    for (const ch of challenges) statuses.push(await challengeStatus(ch.id));
    // The two released mid-request fail (connection); the queued ones connected after them.
    expect(statuses.slice(0, CAP)).toEqual(Array(CAP).fill("invalid"));
    expect(statuses.slice(CAP)).toEqual(Array(QUEUED).fill("valid"));

    // Places free again: the client's next poll of the authorization starts it, and it is valid.
    expect(await challengeStatus(last.id)).toBe("processing");
    await waitFor("the waiting challenge, started by a poll, to be valid", async () => {
      const polled = await last.client.post(last.authzUrl, "");
      expect([200, 429], polled.text).toContain(polled.status);
      return (await challengeStatus(last.id)) === "valid";
    });
    expect(maxOpen).toBeLessThanOrEqual(CAP);
    expect(accepted).toBe(CAP + QUEUED + 1);
    expect(s.h.running.acmeValidations()).toEqual({ running: 0, queued: 0 });
  });
});
