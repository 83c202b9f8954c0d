/**
 * The CLI's ACME operator commands (stop 48 of 2026-12-06): `profile acme-keys`,
 * `profile revoke-acme-key`, `profile acme-accounts`, `profile revoke-acme-account`, the built
 * CLI against a live server with lego as the ACME client. What they print is checked against
 * the rows in PostgreSQL, and a revoked key or account is checked by lego being refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateProfile } from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  type AcmeServer,
  lastLine,
  lego,
  legoOk,
  requireLego,
  startAcmeServer,
  stateDir,
  trustForLego,
} from "../acme/helpers";
import { call } from "../support/harness";
import { type CliSession, cliSession, ok } from "./cli";

const UNAUTHORIZED = "urn:ietf:params:acme:error:unauthorized";

describe("certmint profile acme-keys / revoke-acme-key / acme-accounts / revoke-acme-account", () => {
  let s: AcmeServer;
  let cli: CliSession;

  beforeAll(async () => {
    requireLego();
    s = await startAcmeServer();
    trustForLego(s.tlsCaFile);
    await call(s.h.profiles, "updateCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web-acme",
        acme: { requireExternalAccountBinding: true },
      }),
      updateMask: ["acme.require_external_account_binding"],
    });
    cli = cliSession(s.h.address, s.h.dataDir);
  });
  afterAll(async () => {
    cli?.remove();
    await s?.h.stop();
  });

  const base = (dir: string) => ["-server", s.directory(), "-dir", dir];
  const newKey = () =>
    cli.json<{ keyId: string; hmacKey: string }>(["profile", "acme-key", "web-acme"]);
  /** lego registers an account with the key; returns the account's id and lego's state dir. */
  async function register(key: { keyId: string; hmacKey: string }) {
    const dir = stateDir();
    const url = lastLine(
      await legoOk([...base(dir), "-eab-kid", key.keyId, "-eab-hmac", key.hmacKey, "register"]),
    );
    return { id: url.split("/").at(-1)!, dir };
  }
  const accountStatus = async (id: string) =>
    (
      await s.h.db.query<{ status: string }>("select status from acme_account where id = $1", [id])
    )[0]?.status;

  it("lists keys and accounts as the rows are, and never prints an HMAC key", async () => {
    const bound = await newKey();
    const spare = await newKey();
    const account = await register(bound);

    const table = ok(await cli.run(["profile", "acme-keys", "web-acme"])).stdout;
    expect(table).toMatch(/^KEY ID +STATE +CREATED +ACCOUNT +CREATOR/m);
    expect(table).toMatch(new RegExp(`^${bound.keyId} +bound .* ${account.id} `, "m"));
    expect(table).toMatch(new RegExp(`^${spare.keyId} +unbound `, "m"));
    for (const k of [bound, spare]) expect(table).not.toContain(k.hmacKey);

    const keys = await cli.json<{
      acmeExternalAccountKeys: Array<{ keyId: string; acmeAccountId?: string }>;
    }>(["profile", "acme-keys", "web-acme"]);
    const rows = await s.h.db.query<{ key_id: string; account_id: string | null }>(
      "select key_id, account_id from acme_eab_key order by created_at, id",
    );
    expect(keys.acmeExternalAccountKeys.map((k) => [k.keyId, k.acmeAccountId ?? null])).toEqual(
      rows.map((r) => [r.key_id, r.account_id]),
    );

    const accounts = ok(await cli.run(["profile", "acme-accounts", "web-acme"])).stdout;
    expect(accounts).toMatch(new RegExp(`^${account.id} +valid .* ${bound.keyId}`, "m"));
  });

  it("revoke-acme-key on a bound key revokes its account too; lego is refused afterwards", async () => {
    const key = await newKey();
    const account = await register(key);
    const out = ok(await cli.run(["profile", "revoke-acme-key", key.keyId])).stdout;
    expect(out).toMatch(/^state: +revoked$/m);
    expect(out).toContain("revoked with it:");
    expect(out).toMatch(new RegExp(`^id: +${account.id}$`, "m"));
    expect(out).toMatch(/^status: +revoked$/m);
    expect(await accountStatus(account.id)).toBe("revoked");
    // lego's account is refused: a new order's JWS names a revoked account.
    const r = await lego([
      ...base(account.dir),
      "-domains",
      "www.acme.localhost",
      "-http-port",
      String(s.httpPort),
      "obtain",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(UNAUTHORIZED);
  });

  it("revoke-acme-key on an unbound key: it opens no account afterwards", async () => {
    const key = await newKey();
    const out = ok(await cli.run(["profile", "revoke-acme-key", key.keyId])).stdout;
    expect(out).toMatch(/^state: +revoked$/m);
    expect(out).not.toContain("revoked with it");
    const before = await s.h.db.query("select id from acme_account");
    const r = await lego([
      ...base(stateDir()),
      "-eab-kid",
      key.keyId,
      "-eab-hmac",
      key.hmacKey,
      "register",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(UNAUTHORIZED);
    expect(await s.h.db.query("select id from acme_account")).toHaveLength(before.length);
  });

  it("revoke-acme-account ends the account, its key stays bound; an unknown id is NOT_FOUND", async () => {
    const key = await newKey();
    const account = await register(key);
    const out = ok(await cli.run(["profile", "revoke-acme-account", account.id])).stdout;
    expect(out).toMatch(/^status: +revoked$/m);
    expect(await accountStatus(account.id)).toBe("revoked");
    const json = await cli.json<{ status: string }>(["profile", "revoke-acme-account", account.id]);
    expect(json.status).toBe("ACME_ACCOUNT_STATUS_REVOKED");

    const unknown = await cli.run([
      "profile",
      "revoke-acme-account",
      "01939a3e-0000-7000-8000-000000000000",
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/NOT_FOUND|not found/i);
  });
});
