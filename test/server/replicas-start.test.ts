/**
 * Issue 11: two servers started at the same moment on an empty PostgreSQL database, one of
 * them crashed in the first migration ("already exists"). Start-up initialisation (migrations,
 * the key-encryption key's check value, the first admin token) now runs under a PostgreSQL
 * advisory lock (src/store/database.ts withStartupLock): replicas take turns.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { MIGRATIONS } from "../../src/store/migrations";
import { call, makeClients } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";

const REPLICAS = 3;

describe(`${REPLICAS} replicas started at once on an empty database`, () => {
  let db: TestDatabase;
  let servers: ServerProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Replicas share the database and the key-encryption key; each has its own data directory.
    const env = { DATABASE_URL: db.url, CERTMINT_KEK: randomBytes(32).toString("base64") };
    const started = await Promise.allSettled(
      Array.from({ length: REPLICAS }, () => startServerProcess(env)),
    );
    servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failures = started.flatMap((s) => (s.status === "rejected" ? [String(s.reason)] : []));
    expect(failures).toEqual([]);
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  it("all reach SERVING", async () => {
    expect(servers).toHaveLength(REPLICAS);
    for (const server of servers) expect(await checkHealth(server.address)).toBe("SERVING");
  });

  it("apply each migration once, with one replica migrating and the others finding it done", async () => {
    const rows = await db.query<{ name: string }>(
      "select name from mikro_orm_migrations order by id",
    );
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    const applied = servers.map((s) => {
      const line = s
        .output()
        .split("\n")
        .find((l) => l.includes('"msg":"database ready"'));
      return (JSON.parse(line!) as { applied: string[] }).applied.length;
    });
    expect(applied.sort()).toEqual([0, 0, MIGRATIONS.length]);
  });

  it("initialise once: one KEK check value, one first admin token, usable on every replica", async () => {
    expect(await db.query("select id from kek_check")).toHaveLength(1);
    expect(await db.query("select id from access_token where role = 'ADMIN'")).toHaveLength(1);
    const writers = servers.filter((s) => existsSync(join(s.dataDir, "admin-token")));
    expect(writers).toHaveLength(1);
    const token = writers[0]!.adminToken();
    for (const server of servers) {
      const c = makeClients(server.address, token);
      try {
        const res = await call(
          c.authorities,
          "listCertificateAuthorities",
          ListCertificateAuthoritiesRequest.fromPartial({}),
        );
        expect(res.certificateAuthorities).toEqual([]);
      } finally {
        for (const client of Object.values(c)) (client as Client).close();
      }
    }
  });
});
