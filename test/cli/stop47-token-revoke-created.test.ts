/**
 * `certmint token revoke TOKEN --created` (since stop 47 of 2026-12-06): RevokeAccessToken with
 * revoke_created_tokens, printing the token and the tokens revoked with it; without --created,
 * the token alone, as before. Against a live server, the built CLI as a user runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  type CertmintClients,
  call,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { type CliSession, cliSession, ok } from "./cli";

describe("certmint token revoke --created", () => {
  let h: TestCertmint;
  let cli: CliSession;

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
  });
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
  });

  async function make(by: CertmintClients, slug: string, role: Role) {
    const res = await call(
      by.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({ accessToken: { slug, role } }),
    );
    return { id: res.accessToken!.id, clients: h.clientsAs(res.secret) };
  }

  const revokedAt = async (slug: string) =>
    (
      await h.db.query<{ revoked_at: Date | null }>(
        "select revoked_at from access_token where slug = $1",
        [slug],
      )
    )[0]!.revoked_at;

  it("without --created the token alone; with it the tokens it made, directly or not, listed after it", async () => {
    const lead = await make(h, "cli-lead", Role.ROLE_ADMIN);
    const mid = await make(lead.clients, "cli-mid", Role.ROLE_ADMIN);
    await make(mid.clients, "cli-leaf", Role.ROLE_AUDITOR);
    await make(lead.clients, "cli-side", Role.ROLE_AUDITOR);

    const alone = ok(await cli.run(["token", "revoke", "cli-mid"])).stdout;
    expect(alone).toMatch(/^state: +revoked$/m);
    expect(alone).not.toContain("revoked with it");
    expect(await revokedAt("cli-leaf")).toBeNull();

    const r = ok(await cli.run(["token", "revoke", "cli-lead", "--created"])).stdout;
    expect(r).toMatch(/^slug: +cli-lead$/m);
    expect(r).toMatch(/^state: +revoked$/m);
    expect(r).toContain("\nrevoked with it (2):\nSLUG ");
    // cli-mid was revoked before: not listed; what it made is, oldest first.
    expect(r).toMatch(/^cli-leaf +auditor +revoked /m);
    expect(r).toMatch(/^cli-side +auditor +revoked /m);
    expect(r.indexOf("cli-leaf")).toBeLessThan(r.indexOf("cli-side"));
    expect(r).not.toMatch(/^cli-mid /m);
    const at = await revokedAt("cli-lead");
    expect(at).not.toBeNull();
    expect(await revokedAt("cli-leaf")).toEqual(at);
    expect(await revokedAt("cli-side")).toEqual(at);
  });

  it("--output json: the whole response, the list there even when empty", async () => {
    const lead = await make(h, "json-lead", Role.ROLE_ADMIN);
    const child = await make(lead.clients, "json-child", Role.ROLE_AUDITOR);
    const out = await cli.json<{
      accessToken: { slug: string; state: string };
      revokedCreatedTokens: Array<{ id: string; slug: string; state: string }>;
    }>(["token", "revoke", "json-lead", "--created"]);
    expect(out.accessToken).toMatchObject({
      slug: "json-lead",
      state: "ACCESS_TOKEN_STATE_REVOKED",
    });
    expect(out.revokedCreatedTokens).toEqual([
      expect.objectContaining({
        id: child.id,
        slug: "json-child",
        state: "ACCESS_TOKEN_STATE_REVOKED",
      }),
    ]);
    const again = await cli.json<{ revokedCreatedTokens: unknown[] }>([
      "token",
      "revoke",
      "json-lead",
      "--created",
    ]);
    expect(again.revokedCreatedTokens).toEqual([]);
  });
});
