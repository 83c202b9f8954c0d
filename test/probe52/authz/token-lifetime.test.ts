/**
 * Probe 52 (AUTHZ): can a token mint a token that outlives it? Only admin tokens create tokens
 * (the role table), and a short-lived admin token (a CI job's, an hour) is exactly the kind that
 * leaks from logs. If what it creates may live 3650 days, one leak of an hour's credential is an
 * admin credential for ten years, which only a `revoke_created_tokens` of the line ends, and only
 * once someone notices. A delegated credential should not outlive its delegator (Vault caps a
 * child token's TTL at its parent's; Kubernetes bound service-account tokens end with their
 * object): either refused or cut to the creator's expiry. On the compiled server.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest } from "../../../gen/ts/certmint/v1/access_token_service";
import { type LiveCertmint, Role, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { type CertmintClients, call, decodeError } from "../../support/harness";

const seconds = (s: number) => ({ seconds: String(s), nanos: 0 });
const ms = (t: { seconds: string | number; nanos: number } | Date | undefined) =>
  t instanceof Date ? t.getTime() : Number(t!.seconds) * 1000;

describe("probe52 authz: a token's creations do not outlive it", () => {
  let live: LiveCertmint;
  let shortAdmin: CertmintClients;
  let shortExpiry = 0;

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
    const made = await call(
      live.admin.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug: "ci-admin", role: Role.ROLE_ADMIN },
        ttl: seconds(3600),
      }),
    );
    shortExpiry = ms(made.accessToken!.expireTime as never);
    shortAdmin = live.clientsAs(made.secret);
  }, 240_000);

  afterAll(async () => {
    await live?.stop();
  });

  for (const [role, profiles] of [
    [Role.ROLE_ADMIN, []],
    [Role.ROLE_ISSUER, ["web"]],
  ] as const) {
    it(`an hour's admin token makes no ${Role[role]} token that lives past its own expiry`, async () => {
      const slug = `child-${Role[role].toLowerCase().replace("role_", "")}`;
      let childExpiry: number | undefined;
      let refusal: ReturnType<typeof decodeError> | undefined;
      try {
        const child = await call(
          shortAdmin.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug, role, certificateProfiles: [...profiles] },
            ttl: seconds(3650 * 86_400),
          }),
        );
        childExpiry = ms(child.accessToken!.expireTime as never);
      } catch (err) {
        refusal = decodeError(err);
      }
      if (refusal) {
        // Refused for its lifetime, not for anything else of the request, and nothing written.
        expect([status.INVALID_ARGUMENT, status.FAILED_PRECONDITION]).toContain(refusal.code);
        expect(refusal.message).toMatch(/ttl|expir/i);
        expect(await live.count("access_token", "slug = $1", [slug])).toBe(0);
      } else {
        // Cut to its creator's expiry at the latest (ISO strings: the wire has microseconds).
        expect(
          new Date(childExpiry!).toISOString() <= new Date(shortExpiry).toISOString(),
          `expires ${new Date(childExpiry!).toISOString()}, its creator ${new Date(shortExpiry).toISOString()}`,
        ).toBe(true);
      }
      const [row] = await live.db.query<{ expires_at: Date }>(
        "select expires_at from access_token where slug = $1",
        [slug],
      );
      if (row)
        expect(row.expires_at.toISOString() <= new Date(shortExpiry).toISOString()).toBe(true);
    });
  }
});
