/**
 * A list's rows count against its token's budget (src/api/fair-admission.ts ListRowBudget,
 * charged by src/api/unary.ts): each List* answer is charged the rows it carries, a list reserves
 * its page_size while it runs, and a list of a token whose budget is spent is refused before it
 * runs (RESOURCE_EXHAUSTED, LIST_ROWS_EXHAUSTED, RetryInfo, the setting named). Other calls of the
 * token, and other tokens' lists, are not. Until stop 44 of 2026-12-06 the limits counted calls
 * only: an auditor looping 1,000-row pages made everyone else 6-25 times slower (an outside probe,
 * C F10). A fake clock: states, not timings.
 */
import { EventEmitter } from "node:events";
import { Metadata, type ServerUnaryCall, type ServiceError } from "@grpc/grpc-js";
import pino from "pino";
import { describe, expect, it } from "vitest";
import {
  FairAdmission,
  LIST_ROWS_BURST_PER_TOKEN,
  LIST_ROWS_PER_TOKEN_PER_SECOND,
} from "../../src/api/fair-admission";
import { type HandlerDeps, unary } from "../../src/api/unary";
import type { CallSecurity } from "../../src/auth/access-control";
import { loadConfig } from "../../src/config";
import type { Actor } from "../../src/issuance/call";
import { type DecodedError, decodeError } from "../support/harness";

const LIST = "/certmint.v1.CertificateService/ListCertificates";
const GET = "/certmint.v1.CertificateService/GetCertificate";

const actor = (slug: string): Actor => ({
  id: `id-${slug}`,
  slug,
  role: "AUDITOR",
  profileIds: [],
});

/** Gate and clock; calls answer with `rows` certificates, or wait until let go. */
function setUp(limits: { listRowsPerSecond?: number; listRowsBurst?: number }) {
  let now = 0;
  const admission = new FairAdmission(
    { inProgress: 64, queuedPerToken: 100, ...limits },
    undefined,
    () => now,
  );
  const security = {
    authenticate: async (m: Metadata) => actor(String(m.get("token")[0])),
    admit: () => undefined,
    authorize: () => undefined,
    recordOutcome: async () => undefined,
    forgetCredential: () => undefined,
    tokenCreated: () => undefined,
    auditRecordCommitted: async () => false,
  } satisfies CallSecurity;
  const deps: HandlerDeps = {
    logger: pino({ level: "silent" }),
    readiness: { ready: true },
    security: () => security,
    admission,
  };
  let ran = 0;
  /** One call of `method` by `token`, answered with `answer()`'s rows. */
  const call = (
    method: string,
    token: string,
    request: { pageSize?: number },
    answer: () => Promise<number> | number = () => request.pageSize ?? 0,
  ): Promise<{ rows?: number; error?: DecodedError }> => {
    const handler = unary(
      method,
      async () => {
        ran++;
        const rows = await answer();
        return { certificates: Array(rows).fill({}), nextPageToken: "" };
      },
      deps,
    );
    const metadata = new Metadata();
    metadata.set("token", token);
    const fake = Object.assign(new EventEmitter(), {
      request,
      metadata,
      cancelled: false,
      getDeadline: () => Number.POSITIVE_INFINITY,
      getAuthContext: () => ({}),
      getPeer: () => "test",
    }) as unknown as ServerUnaryCall<unknown, unknown>;
    return new Promise((resolve) =>
      handler(fake, (err, res) =>
        resolve(
          err
            ? { error: decodeError(err as ServiceError) }
            : { rows: (res as { certificates: unknown[] }).certificates.length },
        ),
      ),
    );
  };
  return {
    admission,
    call,
    ran: () => ran,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("list rows against the token's budget", () => {
  it("refuses the list after the budget's rows, names the setting, and lets other calls and tokens through", async () => {
    const { call, ran, advance } = setUp({ listRowsPerSecond: 1000, listRowsBurst: 2500 });
    // Three full pages: 2,500 rows of burst, the third served past it (500 owed).
    for (let i = 0; i < 3; i++)
      expect(await call(LIST, "aud", { pageSize: 1000 })).toEqual({ rows: 1000 });
    const refused = await call(LIST, "aud", { pageSize: 1000 });
    expect(refused.error).toMatchObject({
      code: 8, // RESOURCE_EXHAUSTED
      reason: "LIST_ROWS_EXHAUSTED",
      retryDelaySeconds: 1,
    });
    expect(refused.error?.message).toContain("CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND");
    expect(refused.error?.message).toContain('access token "aud"');
    // Refused before it ran: the handler ran for the three pages only.
    expect(ran()).toBe(3);
    // A small page is refused as well: the budget is spent, whatever the page.
    expect((await call(LIST, "aud", { pageSize: 1 })).error?.reason).toBe("LIST_ROWS_EXHAUSTED");
    // The token's other calls are not lists: not counted, not refused.
    expect(await call(GET, "aud", {}, () => 0)).toEqual({ rows: 0 });
    // Another token has a budget of its own.
    expect(await call(LIST, "other", { pageSize: 1000 })).toEqual({ rows: 1000 });

    // 500 ms later the owed 500 rows are paid back, not yet one more.
    advance(500);
    expect((await call(LIST, "aud", { pageSize: 10 })).error?.reason).toBe("LIST_ROWS_EXHAUSTED");
    advance(10);
    expect(await call(LIST, "aud", { pageSize: 10 })).toEqual({ rows: 10 });
  });

  it("charges the rows served, not asked; lists running at once hold their page_size until done", async () => {
    const { call, admission, ran } = setUp({ listRowsPerSecond: 1000, listRowsBurst: 2500 });
    // Pages of up to 1,000 asked, 10 served: 10 rows each.
    for (let i = 0; i < 20; i++)
      expect(await call(LIST, "aud", { pageSize: 1000 }, () => 10)).toEqual({ rows: 10 });
    // 2,300 rows left. Three lists asking 1,000 each, held in their handlers: the fourth finds
    // the reserved rows gone, so lists sent together cannot each spend the same rows.
    const held: Array<() => void> = [];
    const hold = () => new Promise<number>((resolve) => held.push(() => resolve(0)));
    const running = [0, 1, 2].map(() => call(LIST, "aud", { pageSize: 1000 }, hold));
    await new Promise((r) => setImmediate(r));
    expect(held).toHaveLength(3);
    expect((await call(LIST, "aud", { pageSize: 1000 })).error?.reason).toBe("LIST_ROWS_EXHAUSTED");
    // They end having served nothing: their rows come back.
    for (const go of held) go();
    expect(await Promise.all(running)).toEqual([{ rows: 0 }, { rows: 0 }, { rows: 0 }]);
    expect(await call(LIST, "aud", { pageSize: 1000 })).toEqual({ rows: 1000 });
    // A list that fails is charged nothing either.
    const failing = await call(LIST, "aud", { pageSize: 1000 }, () => {
      throw new Error("boom");
    });
    expect(failing.error?.code).toBe(13);
    expect(await call(LIST, "aud", { pageSize: 300 })).toEqual({ rows: 300 });
    expect(ran()).toBe(26);
    expect(admission.listRows?.size).toBe(1);
  });

  it("a page_size of 0 reserves the default page; 0 turns the budget off", async () => {
    const { call } = setUp({ listRowsPerSecond: 1000, listRowsBurst: 60 });
    // page_size 0: 50 rows reserved, 60 served (more than asked is still charged).
    expect(await call(LIST, "aud", { pageSize: 0 }, () => 60)).toEqual({ rows: 60 });
    expect((await call(LIST, "aud", { pageSize: 0 })).error?.reason).toBe("LIST_ROWS_EXHAUSTED");
    const off = setUp({ listRowsPerSecond: 0 });
    for (let i = 0; i < 30; i++)
      expect((await off.call(LIST, "aud", { pageSize: 1000 })).rows).toBe(1000);
    expect(off.admission.listRows).toBeUndefined();
  });

  it("the settings: defaults, ranges, and a burst without a rate refused", () => {
    const defaults = loadConfig({});
    expect(defaults.connections.listRowsPerTokenPerSecond).toBe(LIST_ROWS_PER_TOKEN_PER_SECOND);
    expect(defaults.connections.listRowsBurstPerToken).toBe(LIST_ROWS_BURST_PER_TOKEN);
    const set = loadConfig({
      CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "500",
      CERTMINT_LIST_ROWS_BURST_PER_TOKEN: "1000",
      CERTMINT_WATCH_KEYS_PER_TOKEN_PER_SECOND: "5",
      CERTMINT_WATCH_KEYS_BURST_PER_TOKEN: "20",
    });
    expect(set.connections).toMatchObject({
      listRowsPerTokenPerSecond: 500,
      listRowsBurstPerToken: 1000,
    });
    expect(set.watch).toMatchObject({ keysPerTokenPerSecond: 5, keysBurstPerToken: 20 });
    expect(
      loadConfig({ CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "0" }).connections
        .listRowsPerTokenPerSecond,
    ).toBe(0);
    expect(() => loadConfig({ CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "-1" })).toThrow(
      /CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND must be an integer from 0/,
    );
    expect(() => loadConfig({ CERTMINT_LIST_ROWS_BURST_PER_TOKEN: "0" })).toThrow(
      /CERTMINT_LIST_ROWS_BURST_PER_TOKEN must be an integer from 1/,
    );
    expect(() => loadConfig({ CERTMINT_WATCH_KEYS_BURST_PER_TOKEN: "0" })).toThrow(
      /CERTMINT_WATCH_KEYS_BURST_PER_TOKEN must be an integer from 1/,
    );
    expect(() =>
      loadConfig({
        CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "0",
        CERTMINT_LIST_ROWS_BURST_PER_TOKEN: "5",
      }),
    ).toThrow(
      "CERTMINT_LIST_ROWS_BURST_PER_TOKEN is set but CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND=0",
    );
    expect(() =>
      loadConfig({
        CERTMINT_WATCH_KEYS_PER_TOKEN_PER_SECOND: "0",
        CERTMINT_WATCH_KEYS_BURST_PER_TOKEN: "5",
      }),
    ).toThrow(
      "CERTMINT_WATCH_KEYS_BURST_PER_TOKEN is set but CERTMINT_WATCH_KEYS_PER_TOKEN_PER_SECOND=0",
    );
  });
});
