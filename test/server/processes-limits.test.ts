/**
 * With CERTMINT_PROCESSES=2 the limits on what one caller may consume or hold are the server's,
 * not each worker's (src/server/shared-limits-*.ts): a caller that spreads its calls over
 * several connections, which the supervisor hands to both workers, is refused at the configured
 * limit, not at twice it.
 *  - the per-token call rate (RATE_LIMITED): at most the burst, plus what refills meanwhile;
 *  - failed authentications per address (AUTHENTICATION_FAILURES_LIMITED): the same, exactly;
 *  - open watches per token (WATCH_STREAMS_EXHAUSTED): exactly the cap, and a closed watch's
 *    place comes back whichever worker held it.
 * Each burst is checked to have reached both workers (their call lines carry their pid).
 */
import { randomBytes } from "node:crypto";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AccessTokenServiceClient,
  CreateAccessTokenRequest,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import type { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { acmeSettings, createAcmeProfile } from "../acme/helpers";
import { AcmeTestClient } from "../acme/jws-client";
import { createRootAndProfile } from "../support/fixtures";
import { bearer, type CertmintClients, call, decodeError, makeClients } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { certificateClientOnOwnConnection, OWN_CONNECTION } from "../support/own-connection";
import { unusedPort } from "../support/ports";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";

const RATE = 1;
const BURST = 20;
const FAILURE_RATE = 1;
const FAILURE_BURST = 10;
const WATCHES = 3;
const NEW_ACME_ACCOUNTS = 3;
const CONNECTIONS = 6;
/**
 * What a worker may hold of one token's budget in its lease and not use (LEASE_CHUNK_MAX, or a
 * quarter of the burst shared among the workers: 20 / 8 = 2 here), per worker.
 */
const LEASE_CHUNK = Math.floor(BURST / (4 * 2));

describe("CERTMINT_PROCESSES=2: limits per caller hold for the whole server", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let acme: { port: number; caFile: string };
  const clients: Array<{ close(): void }> = [];

  /** Clients of `token` (undefined: made-up tokens, one per call), each on its own connection. */
  const connections = (token: string): CertificateServiceClient[] =>
    Array.from({ length: CONNECTIONS }, () => {
      const c = certificateClientOnOwnConnection(server.address, token);
      clients.push(c);
      return c;
    });

  const newAdminToken = async (slug: string): Promise<string> => {
    const admin = new AccessTokenServiceClient(server.address, credentials.createInsecure(), {
      ...OWN_CONNECTION,
      interceptors: [bearer(server.adminToken())],
    });
    try {
      const res = await call(
        admin,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role: Role.ROLE_ADMIN } }),
      );
      return res.secret;
    } finally {
      admin.close();
    }
  };

  /** Every call of `calls` at once, each on the next connection: their errors (null: OK). */
  const burst = async (
    on: CertificateServiceClient[],
    calls: number,
    tag: string,
  ): Promise<{ errors: Array<ServiceError | null>; seconds: number }> => {
    const started = performance.now();
    const errors = await Promise.all(
      Array.from({ length: calls }, (_, i) => {
        const client = on[i % on.length]!;
        const requestId = `${tag}-${i}`;
        const metadata = new Metadata();
        metadata.set("x-request-id", requestId);
        const request = generatedKeyRequest("web", `${requestId}.example.com`, { requestId });
        return new Promise<ServiceError | null>((resolve) =>
          client.issueCertificate(request, metadata, { deadline: Date.now() + 120_000 }, (err) =>
            resolve(err),
          ),
        );
      }),
    );
    return { errors, seconds: (performance.now() - started) / 1000 };
  };

  /** The pids of the workers whose call lines show request ids starting with `tag-`. */
  const workersOf = (tag: string): Set<number> =>
    new Set(
      logLines(server)
        .filter((l) => l.msg === "call" && String(l.requestId ?? "").startsWith(`${tag}-`))
        .map((l) => l.pid!),
    );

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    const settings = await acmeSettings();
    acme = { port: await unusedPort(), caFile: settings.tlsCaFile };
    server = await startServerProcess({
      ...settings.env,
      CERTMINT_ACME_LISTEN: `127.0.0.1:${acme.port}`,
      CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: String(NEW_ACME_ACCOUNTS),
      DATABASE_URL: db.url,
      CERTMINT_PROCESSES: "2",
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_RATE_LIMIT_PER_SECOND: String(RATE),
      CERTMINT_RATE_LIMIT_BURST: String(BURST),
      CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: String(FAILURE_RATE),
      CERTMINT_AUTH_FAILURE_LIMIT_BURST: String(FAILURE_BURST),
      CERTMINT_WATCH_STREAMS_PER_TOKEN: String(WATCHES),
    });
    await waitFor(
      "both workers to serve",
      () => server.output().includes('"msg":"all worker processes serving"'),
      START_LIMIT_MS,
    );
    await createRootAndProfile(server, db, server.adminToken(), { root: "root", profile: "web" });
    const admin = makeClients(server.address, server.adminToken());
    try {
      await createAcmeProfile(admin, "web-acme");
    } finally {
      for (const c of Object.values(admin)) c.close();
    }
  }, START_LIMIT_MS * 2);
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
    await db?.drop();
  });

  it("refuses a token's calls past its burst over all connections (RATE_LIMITED), not past twice it", async () => {
    const token = await newAdminToken("burst-caller");
    const { errors, seconds } = await burst(connections(token), 3 * BURST, "rate");
    const accepted = errors.filter((e) => e === null).length;
    const refused = errors.filter((e) => e !== null).map((e) => decodeError(e));
    for (const r of refused) {
      expect(r).toMatchObject({ code: status.RESOURCE_EXHAUSTED, reason: "RATE_LIMITED" });
      expect(r.message).toContain('access token "burst-caller" is over its rate limit');
    }
    // Both workers answered some of the calls: the budget was spread over them.
    expect(workersOf("rate").size).toBe(2);
    // The burst, and what refilled while the calls were made: never a burst per worker.
    expect(accepted).toBeLessThanOrEqual(BURST + Math.ceil(RATE * seconds));
    // Calls leased by a worker and not used there are the most that can be missing.
    expect(accepted).toBeGreaterThanOrEqual(BURST - 2 * LEASE_CHUNK);
  });

  it("opens at most the cap of one token's watches over all connections, and gives a closed one's place back", async () => {
    const token = await newAdminToken("watch-caller");
    const on = connections(token);
    const watches = on.map(
      (certificates) => new WatchStream({ certificates } as CertmintClients, {}),
    );
    try {
      await waitFor("each watch open or refused", () =>
        watches.every((w) => w.open || w.error !== undefined),
      );
      const open = watches.filter((w) => w.open);
      expect(open).toHaveLength(WATCHES);
      for (const w of watches.filter((w) => !w.open)) {
        expect(decodeError(w.error)).toMatchObject({
          code: status.RESOURCE_EXHAUSTED,
          reason: "WATCH_STREAMS_EXHAUSTED",
        });
      }
      // Closing every open watch gives their places back, whichever worker held them: the cap
      // opens again on each connection (the server notices a cancel on its own schedule).
      for (const w of open) w.cancel();
      const again: WatchStream[] = [];
      await waitFor("a full cap of watches to open again", async () => {
        const w = new WatchStream(
          { certificates: on[again.length % on.length]! } as CertmintClients,
          {},
        );
        await waitFor("this try open or refused", () => w.open || w.error !== undefined);
        if (w.open) again.push(w);
        return again.length === WATCHES;
      });
      const past = new WatchStream({ certificates: on[0]! } as CertmintClients, {});
      await waitFor("the next refused", () => past.open || past.error !== undefined);
      expect(decodeError(past.error).reason).toBe("WATCH_STREAMS_EXHAUSTED");
      for (const w of again) w.cancel();
    } finally {
      for (const w of watches) w.cancel();
    }
  });

  it("creates at most an address's new ACME accounts over all connections, not twice them", async () => {
    // One after another, every request on a new connection: the supervisor hands connections
    // to the workers in turn, so consecutive accounts are asked of alternate workers.
    const answers: number[] = [];
    for (let i = 0; i < 3 * NEW_ACME_ACCOUNTS; i++) {
      const client = new AcmeTestClient(
        `https://127.0.0.1:${acme.port}/acme/web-acme/directory`,
        acme.caFile,
      );
      client.agent = false;
      const r = await client.register();
      if (r.status === 429) expect(r.json.type).toBe("urn:ietf:params:acme:error:rateLimited");
      answers.push(r.status);
    }
    expect(answers.filter((s) => s !== 201 && s !== 429)).toEqual([]);
    // Each new account asks the supervisor (no lease): exactly the budget (refill: 3 an hour).
    expect(answers.filter((s) => s === 201)).toHaveLength(NEW_ACME_ACCOUNTS);
    const creators = logLines(server)
      .filter((l) => l.msg === "ACME account created")
      .map((l) => l.pid);
    expect(new Set(creators).size).toBe(2);
  });

  // Last: the flood leaves this address unable to look up new credentials until it refills.
  it("refuses an address's failed authentications past its burst over all connections, not past twice it", async () => {
    const on = Array.from({ length: CONNECTIONS }, () =>
      certificateClientOnOwnConnection(server.address, `certmint_${"A".repeat(43)}`),
    );
    clients.push(...on);
    const { errors, seconds } = await burst(on, 4 * FAILURE_BURST, "guess");
    const decoded = errors.map((e) => decodeError(e));
    const failed = decoded.filter((d) => d.code === status.UNAUTHENTICATED).length;
    const limited = decoded.filter((d) => d.code === status.RESOURCE_EXHAUSTED);
    expect(failed + limited.length).toBe(errors.length);
    for (const l of limited) expect(l.reason).toBe("AUTHENTICATION_FAILURES_LIMITED");
    expect(workersOf("guess").size).toBe(2);
    // Each failure asks the supervisor (no lease): the burst exactly, plus what refilled.
    expect(failed).toBeGreaterThanOrEqual(FAILURE_BURST);
    expect(failed).toBeLessThanOrEqual(FAILURE_BURST + Math.ceil(FAILURE_RATE * seconds));
  });
});
