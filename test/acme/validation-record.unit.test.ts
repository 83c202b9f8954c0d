/**
 * Recording an ACME validation's outcome (src/acme/validation/run.ts): a database error while
 * recording is tried again, with the same record, so a passing fault does not leave the
 * challenge "processing" until its order expires while the client polls (a certbot renewal
 * once ran into its 90 s polling deadline on a busy machine); and it is never taken for a
 * failed validation. The validation itself is real: http-01 against a local server answering
 * the key authorization, or a wrong one.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AcmeContext } from "../../src/acme/context";
import { DEFAULT_HTTP01_LIMITS } from "../../src/acme/validation/http01";
import { runValidation } from "../../src/acme/validation/run";
import { ValidationSlots } from "../../src/acme/validation/slots";
import { parseNetworks, ValidationTargets } from "../../src/acme/validation/targets";
import type {
  AccountRow,
  AuthorizationRow,
  ChallengeResult,
  ChallengeRow,
} from "../../src/issuance/repositories";

const TOKEN = "tok-123";
const THUMBPRINT = "thumb-456";

describe("recording an ACME validation's outcome", () => {
  let server: Server;
  let answer = `${TOKEN}.${THUMBPRINT}`;
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.end(req.url === `/.well-known/acme-challenge/${TOKEN}` ? answer : "no");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** A context whose finishChallenge fails `failures` times, then records. */
  function contextFailing(failures: number) {
    const calls: ChallengeResult[] = [];
    const warnings: unknown[] = [];
    const logger = pino({ level: "silent" });
    logger.warn = ((obj: unknown) => warnings.push(obj)) as typeof logger.warn;
    const ctx = {
      store: {
        acme: {
          finishChallenge: async (_c: ChallengeRow, result: ChallengeResult) => {
            calls.push(result);
            if (calls.length <= failures) throw new Error("connection terminated unexpectedly");
          },
        },
      },
      deps: { now: () => new Date() },
      targets: new ValidationTargets(parseNetworks("127.0.0.0/8").list),
      http01: {
        ...DEFAULT_HTTP01_LIMITS,
        port: (server.address() as AddressInfo).port,
        timeoutMs: 5_000,
      },
      logger,
      validations: new Set(),
    } as unknown as AcmeContext;
    return { ctx, calls, warnings };
  }

  const challenge = {
    id: "c1",
    authorization_id: "a1",
    type: "http-01",
    token: TOKEN,
    status: "processing",
    validated_at: null,
    error: null,
  } as ChallengeRow;
  const authorization = {
    id: "a1",
    order_id: "o1",
    account_id: "acc1",
    identifier_type: "dns",
    identifier_value: "svc.acme.localhost",
    wildcard: false,
    status: "pending",
    expires_at: new Date(Date.now() + 3_600_000),
  } as AuthorizationRow;
  const account = { id: "acc1", key_thumbprint: THUMBPRINT } as AccountRow;
  /** A free place of its own for one validation (slots.ts). */
  const place = () => new ValidationSlots(1, 0, 1_000).reserve("acc1")!;

  it("tries a failed record again, with the same valid outcome, until it is stored", async () => {
    answer = `${TOKEN}.${THUMBPRINT}`;
    const { ctx, calls, warnings } = contextFailing(3);
    await runValidation(ctx, challenge, authorization, account, place(), [1, 1, 1, 1, 1]);
    expect(calls).toEqual([{ valid: true }, { valid: true }, { valid: true }, { valid: true }]);
    expect(warnings).toHaveLength(3);
  });

  it("records a failed validation as invalid, tried again the same way", async () => {
    answer = "something else";
    const { ctx, calls } = contextFailing(1);
    await runValidation(ctx, challenge, authorization, account, place(), [1, 1]);
    expect(calls).toHaveLength(2);
    for (const result of calls) {
      expect(result).toMatchObject({
        valid: false,
        error: { type: "urn:ietf:params:acme:error:incorrectResponse" },
      });
    }
  });

  it("gives up after the last delay, with the database's error (logged by the caller)", async () => {
    answer = `${TOKEN}.${THUMBPRINT}`;
    const { ctx, calls } = contextFailing(10);
    await expect(
      runValidation(ctx, challenge, authorization, account, place(), [1, 1]),
    ).rejects.toThrow("connection terminated unexpectedly");
    // Never recorded as a failed validation.
    expect(calls).toEqual([{ valid: true }, { valid: true }, { valid: true }]);
  });
});
