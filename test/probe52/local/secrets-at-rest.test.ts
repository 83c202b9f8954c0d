/**
 * Probe 52 (LOCAL): what someone who reads the PostgreSQL database (a dump, a backup, a replica,
 * a DBA) or the server's output can learn. README "CA keys at rest": CA keys and generated keys
 * are sealed under the key-encryption key, "a database dump holds no usable key"; "Access
 * tokens": certmint keeps no secret of a token; "ACME": an EAB key's HMAC key is derived from the
 * KEK, "certmint stores only the id". So after a lifecycle driven with the CLI (a CA, generated
 * keys returned once, kept sealed and held for an approval, an issuer token, an EAB key), a
 * whole `pg_dump` of the database, the audit trail and the server's log must hold none of those
 * secrets, in any encoding they could be stored in, nor a bearer secret a caller sent and was refused.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliSession, cliSession } from "../../cli/cli";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";

/** Each way a secret's bytes could sit in a row or a line: base64, base64url, hex (bytea). */
function spellings(bytes: Buffer): string[] {
  return [bytes.toString("base64"), bytes.toString("base64url"), bytes.toString("hex")];
}

/** The private scalar of an EC key (PEM): what any stored form of the key contains. */
function privateScalar(pem: string): Buffer {
  const jwk = createPrivateKey(pem).export({ format: "jwk" });
  return Buffer.from(jwk.d as string, "base64url");
}

describe("probe52 local: no secret in the database, the audit trail or the log", () => {
  let live: ServerOnDatabase;
  let cli: CliSession;
  /** name -> text that must appear nowhere. */
  const secrets = new Map<string, string[]>();

  beforeAll(async () => {
    live = await startOnFreshDatabase({}, "certmint_p52local");
    cli = cliSession(live.server.address, live.server.dataDir);
    const ok = async (args: string[]) => {
      const r = await cli.run(args);
      if (r.code !== 0) throw new Error(`${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      return r;
    };
    await ok(["ca", "create-root", "r1", "--cn", "Probe52 Local Root"]);
    const rules = ["--ca", "r1", "--preset", "tls-server", "--allow-dns", "**.example.com"];
    await ok(["profile", "create", "once", ...rules]);
    await ok(["profile", "create", "kept", ...rules, "--private-key-retention", "store-encrypted"]);
    await ok([
      "profile",
      "create",
      "held",
      ...rules,
      "--require-approval",
      "--allow-self-approval",
    ]);
    await ok(["profile", "create", "acme", ...rules, "--enrollment-method", "acme"]);

    await ok(["cert", "issue", "--profile", "once", "--dns", "once.example.com"]);
    await ok(["cert", "issue", "--profile", "kept", "--dns", "kept.example.com"]);
    const pending = await cli.json<{ certificateRequestId: string }>([
      "cert",
      "issue",
      "--profile",
      "held",
      "--dns",
      "held.example.com",
    ]);
    await ok(["request", "approve", pending.certificateRequestId]);
    // Written to REQUEST.key; certmint keeps it sealed for its replay window after this.
    await ok(["request", "status", pending.certificateRequestId]);
    await ok([
      "token",
      "create",
      "issuer1",
      "--role",
      "issuer",
      "--profile",
      "kept",
      "--ttl",
      "1d",
    ]);
    const eab = await cli.json<{ hmacKey: string; keyId: string }>(["profile", "acme-key", "acme"]);

    // A refused bearer secret (a typo of a real token, or one of another server): what the
    // caller sent is theirs, not certmint's to keep.
    const refused = `certmint_${randomBytes(32).toString("base64url")}`;
    const denied = await cli.run(["cert", "list"], { env: { CERTMINT_TOKEN: refused } });
    expect(denied.stderr).toContain("UNAUTHENTICATED");
    secrets.set("refused token", [refused, refused.replace(/^certmint_/, "")]);

    const read = (name: string) => readFileSync(join(cli.dir, name), "utf8");
    for (const [name, file] of [
      ["returned-once key", "once.example.com.key"],
      ["store-encrypted key", "kept.example.com.key"],
      ["key held for approval", `${pending.certificateRequestId}.key`],
    ] as const) {
      secrets.set(name, spellings(privateScalar(read(file))));
    }
    const issuer = read("issuer1.token").trim();
    const admin = live.server.adminToken();
    secrets.set("issuer token", [issuer, issuer.replace(/^certmint_/, "")]);
    secrets.set("admin token", [admin, admin.replace(/^certmint_/, "")]);
    secrets.set("EAB HMAC key", spellings(Buffer.from(eab.hmacKey, "base64url")));
    secrets.set("KEK", spellings(Buffer.from(live.kek, "base64")));
  }, 240_000);

  afterAll(async () => {
    cli?.remove();
    if (live) await stopOnDatabase([], live);
  });

  /** The names of the secrets `text` contains. */
  function found(text: string): string[] {
    return [...secrets].filter(([, forms]) => forms.some((f) => text.includes(f))).map(([n]) => n);
  }

  it("a whole pg_dump of the database holds no key, token, HMAC key or KEK", () => {
    const dump = execFileSync("pg_dump", ["--no-owner", live.db.url], {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
    });
    // The dump is real: it has the certificates the CLI made.
    expect(dump).toContain("kept.example.com");
    expect(found(dump)).toEqual([]);
  });

  it("the audit trail, as the admin lists it, holds none of them", async () => {
    const r = await cli.run(["audit", "list", "--limit", "1000", "--output", "json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("CreateAccessToken");
    expect(found(r.stdout)).toEqual([]);
  });

  it("the server's log holds none of them", () => {
    expect(live.server.output()).toContain('"msg":"serving"');
    expect(found(live.server.output())).toEqual([]);
  });
});
