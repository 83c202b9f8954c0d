/**
 * Issue 10 item 6: refused calls are limited too.
 *  - Every authenticated call takes from its token's bucket before authorization and before
 *    any audit record: a flood of PERMISSION_DENIED calls gets RESOURCE_EXHAUSTED once the
 *    burst is spent, and only the calls that got through wrote audit records.
 *  - A well-formed but unknown token costs one database lookup, however often it is repeated
 *    (negative cache), until a token is created.
 *  - Failed authentication is limited per peer address: past its burst the caller gets
 *    RESOURCE_EXHAUSTED with RetryInfo, and made-up tokens are no longer looked up at all.
 *
 * Database lookups are counted with the ORM's query builder events (every query certmint's
 * authentication sends goes through it), on the in-process server.
 */
import { randomBytes } from "node:crypto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { CREDENTIAL_CACHE_MS } from "../../src/auth/authenticator";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  decodeError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";

/** Counts the SQL statements the server sends that read or write access_token. */
function countTokenQueries(h: TestCertmint): { readonly count: number } {
  const counter = { count: 0 };
  const knex = h.running.database.orm.em.getConnection().getKnex();
  knex.on("query", (q: { sql: string }) => {
    // Lookups only: the held-key sweep's update of access_token (dropping expired salts,
    // src/issuance/certificates/held-keys.ts) may run at any time.
    if (/^\s*select/i.test(q.sql) && /"access_token"/.test(q.sql)) counter.count += 1;
  });
  return counter;
}

/** The outcome of a call: "OK" or its status code name, with reason and RetryInfo delay. */
async function outcome(
  p: Promise<unknown>,
): Promise<{ code: string; reason?: string; retryMs?: number }> {
  try {
    await p;
    return { code: "OK" };
  } catch (err) {
    const d = decodeError(err);
    const raw = (err as ServiceError).metadata?.get("grpc-status-details-bin")[0];
    let retryMs: number | undefined;
    for (const detail of raw ? Status.decode(raw as Buffer).details : []) {
      if (detail.typeUrl.endsWith("google.rpc.RetryInfo")) {
        const delay = RetryInfo.decode(detail.value).retryDelay!;
        retryMs = Number(delay.seconds) * 1000 + delay.nanos / 1e6;
      }
    }
    return { code: status[d.code]!, reason: d.reason, retryMs };
  }
}

const tally = (outcomes: Array<{ code: string; reason?: string }>) =>
  outcomes.reduce<Record<string, number>>((acc, o) => {
    const key = o.reason ? `${o.code} ${o.reason}` : o.code;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});

const madeUpToken = () => `certmint_${randomBytes(32).toString("base64url")}`;

describe("the per-token limit comes before authorization (1 call/s, bursts of 5)", () => {
  let h: TestCertmint;
  let issuer: { id: string; clients: CertmintClients };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_RATE_LIMIT_PER_SECOND: "1",
      CERTMINT_RATE_LIMIT_BURST: "5",
    });
    // Rows straight into the database: the admin's own burst is small.
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    const res = await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "flooder", role: Role.ROLE_ISSUER, certificateProfiles: ["web"] },
      }),
    );
    issuer = { id: res.accessToken!.id, clients: h.clientsAs(res.secret) };
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("a flood of PERMISSION_DENIED calls is RESOURCE_EXHAUSTED past the burst, and writes an audit record only for the calls that got through", async () => {
    const calls = 200;
    const started = performance.now();
    const outcomes = [];
    for (let i = 0; i < calls; i++) {
      outcomes.push(
        await outcome(
          call(
            issuer.clients.authorities,
            "createRootCertificateAuthority",
            CreateRootCertificateAuthorityRequest.fromPartial({
              slug: `stolen-${i}`,
              subject: { commonName: "stolen" },
            }),
          ),
        ),
      );
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    const counts = tally(outcomes);
    const denied = counts["PERMISSION_DENIED ROLE_NOT_ALLOWED"] ?? 0;
    const limited = counts["RESOURCE_EXHAUSTED RATE_LIMITED"] ?? 0;
    expect(denied + limited).toBe(calls);
    // At most the burst plus what the bucket refilled while the flood ran (1 per second).
    expect(denied).toBeGreaterThanOrEqual(5);
    expect(denied).toBeLessThanOrEqual(5 + Math.ceil(elapsedSeconds));
    for (const o of outcomes.filter((x) => x.code === "RESOURCE_EXHAUSTED")) {
      expect(o.retryMs).toBeGreaterThanOrEqual(1000);
    }

    // One audit record per call that got past the limit, none for the limited ones; no CA.
    const records = await h.db.query<{ status_code: number; error_reason: string }>(
      "select status_code, error_reason from audit_record where actor_id = $1",
      [issuer.id],
    );
    expect(records).toHaveLength(denied);
    expect(new Set(records.map((r) => `${r.status_code} ${r.error_reason}`))).toEqual(
      new Set([`${status.PERMISSION_DENIED} ROLE_NOT_ALLOWED`]),
    );
    expect(
      await h.db.query("select 1 from certificate_authority where slug like 'stolen-%'"),
    ).toEqual([]);
  });
});

describe("unknown tokens are looked up once (negative cache)", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("50 calls with one made-up token cost one lookup; a created token clears the cache", async () => {
    const queries = countTokenQueries(h);
    const token = madeUpToken();
    const stranger = h.clientsAs(token);
    const list = () =>
      outcome(call(stranger.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" }));
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      expect(await list()).toEqual({ code: "UNAUTHENTICATED", reason: "TOKEN_UNKNOWN" });
    }
    // One lookup (one more per CREDENTIAL_CACHE_MS the loop took, on a very slow machine).
    expect(queries.count).toBeGreaterThanOrEqual(1);
    expect(queries.count).toBeLessThanOrEqual(
      1 + Math.floor((performance.now() - started) / CREDENTIAL_CACHE_MS),
    );
    const afterFirst = queries.count;

    // Another made-up token is another lookup.
    expect(
      await outcome(
        call(h.clientsAs(madeUpToken()).accessTokens, "listAccessTokens", {
          pageSize: 0,
          pageToken: "",
        }),
      ),
    ).toEqual({ code: "UNAUTHENTICATED", reason: "TOKEN_UNKNOWN" });
    expect(queries.count).toBe(afterFirst + 1);

    // Creating a token (it could be the one refused) clears the refusals: one lookup more.
    await call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "new", role: Role.ROLE_AUDITOR },
      }),
    );
    const afterCreate = queries.count;
    const again = performance.now();
    for (let i = 0; i < 5; i++) {
      expect(await list()).toEqual({ code: "UNAUTHENTICATED", reason: "TOKEN_UNKNOWN" });
    }
    expect(queries.count).toBeGreaterThanOrEqual(afterCreate + 1);
    expect(queries.count).toBeLessThanOrEqual(
      afterCreate + 1 + Math.floor((performance.now() - again) / CREDENTIAL_CACHE_MS),
    );
  });
});

describe("failed authentication is limited per peer address (1/s, bursts of 5)", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: "1",
      CERTMINT_AUTH_FAILURE_LIMIT_BURST: "5",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("a flood without credentials is RESOURCE_EXHAUSTED with RetryInfo past the burst; made-up tokens are then not looked up", async () => {
    const anonymous = h.clientsAs(undefined);
    const calls = 100;
    const started = performance.now();
    const outcomes = [];
    for (let i = 0; i < calls; i++) {
      outcomes.push(
        await outcome(
          call(anonymous.accessTokens, "listAccessTokens", { pageSize: 0, pageToken: "" }),
        ),
      );
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    const counts = tally(outcomes);
    const refused = counts["UNAUTHENTICATED CREDENTIALS_MISSING"] ?? 0;
    const limited = counts["RESOURCE_EXHAUSTED AUTHENTICATION_FAILURES_LIMITED"] ?? 0;
    expect(refused + limited).toBe(calls);
    expect(refused).toBeGreaterThanOrEqual(5);
    expect(refused).toBeLessThanOrEqual(5 + Math.ceil(elapsedSeconds));
    for (const o of outcomes.filter((x) => x.code === "RESOURCE_EXHAUSTED")) {
      expect(o.retryMs).toBeGreaterThanOrEqual(1000);
    }

    // While the address is over its limit, new made-up tokens cost no database lookup.
    const queries = countTokenQueries(h);
    const tokensStarted = performance.now();
    const tokensOutcomes = [];
    for (let i = 0; i < 20; i++) {
      tokensOutcomes.push(
        await outcome(
          call(h.clientsAs(madeUpToken()).accessTokens, "listAccessTokens", {
            pageSize: 0,
            pageToken: "",
          }),
        ),
      );
    }
    const tokenCounts = tally(tokensOutcomes);
    // The bucket refills at 1/s: a lookup now and then, never one per call.
    const lookedUp = tokenCounts["UNAUTHENTICATED TOKEN_UNKNOWN"] ?? 0;
    expect(
      lookedUp + (tokenCounts["RESOURCE_EXHAUSTED AUTHENTICATION_FAILURES_LIMITED"] ?? 0),
    ).toBe(20);
    expect(queries.count).toBe(lookedUp);
    expect(lookedUp).toBeLessThanOrEqual(1 + Math.ceil((performance.now() - tokensStarted) / 1000));
  });
});
