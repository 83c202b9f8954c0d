/**
 * Outside probe, 2026-12-05: made-up tokens from an address a tenant shares (a NAT, an egress
 * proxy) emptied that address's failed-authentication bucket, and from then on every lookup
 * from it was refused unread, the tenant's valid credential included once its 5 s cache entry
 * expired. Anyone with no credential at all could lock a tenant out. A credential that has
 * authenticated is now still looked up; only unknown ones are refused unread. (A unit test with
 * the real FailureLimiter and a fake clock: the 5 s cache is passed by advancing the clock.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Authenticator, CREDENTIAL_CACHE_MS } from "../../src/auth/authenticator";
import { CaDirectory, NO_CLIENT_TRUST } from "../../src/auth/ca-directory";
import { FailureLimiter } from "../../src/auth/failure-limiter";
import { isCertmintError } from "../../src/errors";
import { hashTokenSecret, TOKEN_PREFIX } from "../../src/issuance/access-tokens/secret";
import type { Credential } from "../../src/issuance/repositories";

const token = (c: string) => `${TOKEN_PREFIX}${c.repeat(43)}`;
const headers = (secret: string) => ({
  get: (key: string) => (key === "authorization" ? [`Bearer ${secret}`] : []),
});
const tenant = token("a");
const newcomer = token("b");

const credential = (id: string, revokedAt: Date | null = null): Credential => ({
  id,
  slug: `token-${id}`,
  role: "ISSUER",
  profileIds: [],
  expiresAt: new Date(Date.now() + 3_600_000),
  revokedAt,
});

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return isCertmintError(err) ? err.reason : String(err);
  }
}

describe("a flood of made-up tokens from a shared address", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setUp(rows: Map<string, Credential>) {
    const lookups: string[] = [];
    const auth = new Authenticator(
      {
        tokens: {
          findBySecretHash: async (hash) => {
            const hex = Buffer.from(hash).toString("hex");
            lookups.push(hex);
            return rows.get(hex) ?? null;
          },
          findBindings: async () => [],
          find: async () => null,
        },
        certificates: {
          isRevoked: async () => false,
          findIssued: async () => null,
          findById: async () => null,
        },
      },
      () => new Date(),
      // 3 failures per address, refilled never within the test (its clock stands still).
      new FailureLimiter(1, 3, () => 0),
      new CaDirectory({ withCertificates: async () => [] }, NO_CLIENT_TRUST),
    );
    const from = (secret: string) =>
      outcome(auth.authenticate(headers(secret) as never, undefined, "ipv4:10.0.0.1:4000"));
    return { from, lookups };
  }

  it("does not lock out a credential that authenticated before; unknown ones stay refused unread", async () => {
    const hex = (secret: string) => hashTokenSecret(secret).toString("hex");
    const rows = new Map([
      [hex(tenant), credential("1")],
      [hex(newcomer), credential("2")],
    ]);
    const { from, lookups } = setUp(rows);
    expect(await from(tenant)).toBe("OK");

    // The flood: three lookups refused as unknown, then refused unread.
    const flood = [];
    for (let i = 0; i < 10; i++) flood.push(await from(token(String.fromCharCode(99 + i))));
    expect(flood.slice(0, 3)).toEqual(["TOKEN_UNKNOWN", "TOKEN_UNKNOWN", "TOKEN_UNKNOWN"]);
    expect(new Set(flood.slice(3))).toEqual(new Set(["AUTHENTICATION_FAILURES_LIMITED"]));
    expect(lookups).toHaveLength(1 + 3);

    // The tenant's cache entry expires; its next call is looked up and accepted.
    vi.advanceTimersByTime(CREDENTIAL_CACHE_MS + 1);
    expect(await from(tenant)).toBe("OK");
    expect(lookups).toHaveLength(5);
    expect(lookups.at(-1)).toBe(hex(tenant));

    // A valid token never seen here is still subject to the limit, as is any made-up one.
    expect(await from(newcomer)).toBe("AUTHENTICATION_FAILURES_LIMITED");
    expect(await from(token("z"))).toBe("AUTHENTICATION_FAILURES_LIMITED");
    expect(lookups).toHaveLength(5);
  });

  it("a credential known only while it was revoked gets no pass", async () => {
    const rows = new Map([[hashTokenSecret(tenant).toString("hex"), credential("1", new Date())]]);
    const { from, lookups } = setUp(rows);
    expect(await from(tenant)).toBe("TOKEN_REVOKED");
    for (let i = 0; i < 3; i++) await from(token(String(i)));
    vi.advanceTimersByTime(CREDENTIAL_CACHE_MS + 1);
    expect(await from(tenant)).toBe("AUTHENTICATION_FAILURES_LIMITED");
    expect(lookups).toHaveLength(1 + 2);
  });
});
