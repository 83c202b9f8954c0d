/**
 * TLS to PostgreSQL from DATABASE_URL's sslmode (src/store/database-tls.ts). Until stop 41 of
 * 2026-12-06 only the LISTEN connections honoured it: the pool, which runs every statement,
 * connected in plaintext to an unverified server whatever the URL said, and health was SERVING
 * (an outside probe). Here the test cluster's own certificate (Debian's self-signed snakeoil,
 * with `ssl = on`) stands for a server the operator's trust store does not know.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { loadConfig } from "../../src/config";
import { createRoot } from "../certificates/helpers";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

describe("TLS to PostgreSQL", () => {
  let db: TestDatabase;
  let sslOn = false;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    const [row] = await db.query<{ ssl: string }>("show ssl");
    sslOn = row!.ssl === "on";
  });
  afterAll(async () => {
    await db?.drop();
  });

  const withMode = (mode: string) => {
    const url = new URL(db.url);
    url.searchParams.set("sslmode", mode);
    return url.toString();
  };

  it("sslmode=no-verify: every connection of the server to its database is TLS", async (ctx) => {
    // The test cluster is Debian's, with ssl = on; one without TLS cannot show this.
    if (!sslOn) ctx.skip();
    let h: TestCertmint | undefined;
    try {
      h = await startTestCertmint({ DATABASE_URL: withMode("no-verify") });
      // Pool connections at work: a CA created and listed.
      const root = await createRoot(h, "tls-root");
      const listed = await call(
        h.authorities,
        "listCertificateAuthorities",
        ListCertificateAuthoritiesRequest.fromPartial({ pageSize: 10 }),
      );
      expect(listed.certificateAuthorities.map((c) => c.id)).toContain(root.id);
      const [own] = await db.query<{ pid: number }>("select pg_backend_pid() as pid");
      const rows = await db.query<{ ssl: boolean }>(
        `select s.ssl from pg_stat_activity a join pg_stat_ssl s using (pid)
          where a.datname = current_database() and a.pid <> $1 and a.backend_type = 'client backend'`,
        [own!.pid],
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.ssl)).toBe(true);
      const ready = h.logs.find((l) => l.msg === "database ready");
      expect(ready?.tls).toBe(true);
    } finally {
      await h?.stop();
    }
  });

  it("sslmode=verify-full against a server the trust store does not know: the start fails", async (ctx) => {
    if (!sslOn) ctx.skip();
    await expect(startTestCertmint({ DATABASE_URL: withMode("verify-full") })).rejects.toThrow(
      /certificate/,
    );
  });

  it("an sslmode node-postgres does not know, or a certificate file it cannot read, is a configuration error", () => {
    expect(() => loadConfig({ DATABASE_URL: withMode("bogus") })).toThrow(
      /DATABASE_URL's sslmode must be one of disable, prefer, require, verify-ca, verify-full, no-verify/,
    );
    const url = new URL(db.url);
    url.searchParams.set("sslrootcert", "/nonexistent/root.pem");
    expect(() => loadConfig({ DATABASE_URL: url.toString() })).toThrow(
      /DATABASE_URL's sslrootcert \("\/nonexistent\/root.pem"\) cannot be read/,
    );
  });
});
