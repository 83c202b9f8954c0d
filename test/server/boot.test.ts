import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/store/migrations";
import { call, expectRpcError, makeClients } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

const SERVICES = [
  "",
  "certmint.v1.CertificateService",
  "certmint.v1.CertificateAuthorityService",
  "certmint.v1.CertificatePolicyService",
  "certmint.v1.CertificateProfileService",
];

/** Parses the server's JSON log lines. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// A first start creates the PGlite database; the restart test starts the server again.
describe("server on the embedded database (PGlite)", { timeout: 2 * START_LIMIT_MS }, () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({ DATABASE_URL: "" });
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("answers health SERVING for the server and every certmint service", async () => {
    for (const service of SERVICES) {
      expect(await checkHealth(server.address, service)).toBe("SERVING");
    }
  });

  it("keeps its data in the data directory, so a restart applies no migration again", async () => {
    const first = logLines(server.output()).find((l) => l.msg === "database ready");
    expect(first).toMatchObject({ embedded: true, applied: MIGRATIONS.map((m) => m.name) });
    expect(existsSync(join(server.dataDir, "pglite"))).toBe(true);

    expect(await server.stop()).toBe(0);
    const lines = logLines(server.output());
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));

    server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: server.dataDir });
    const second = logLines(server.output()).find((l) => l.msg === "database ready");
    expect(second).toMatchObject({ embedded: true, applied: [] });
    expect(await checkHealth(server.address)).toBe("SERVING");
  });
});

describe("server on PostgreSQL (DATABASE_URL)", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("migrates the database and answers health SERVING", async () => {
    expect(await checkHealth(server.address)).toBe("SERVING");
    const rows = await db.query<{ name: string }>("select name from mikro_orm_migrations");
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
    const ready = logLines(server.output()).find((l) => l.msg === "database ready");
    expect(ready).toMatchObject({ embedded: false });
  });

  it("logs one JSON line per call with method, status code, duration and request id; health checks not at info", async () => {
    await checkHealth(server.address);
    const clients = makeClients(server.address, undefined);
    await expectRpcError(
      call(clients.certificates, "getRequestStatus", { certificateRequestId: randomUUID() }),
    );
    clients.certificates.close();
    const callLines = () => logLines(server.output()).filter((l) => l.msg === "call");
    await waitFor("the call's log line", () =>
      callLines().some((l) => l.method === "/certmint.v1.CertificateService/GetRequestStatus"),
    );
    const calls = callLines();
    expect(calls.filter((l) => l.method === "/grpc.health.v1.Health/Check")).toEqual([]);
    const line = calls.find((l) => l.method === "/certmint.v1.CertificateService/GetRequestStatus");
    expect(line).toMatchObject({ code: "UNAUTHENTICATED", level: 30 });
    expect(typeof line?.durationMs).toBe("number");
    expect(line?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("never logs the database password", () => {
    const url = new URL(db.url);
    expect(server.output()).not.toContain(`${url.username}:${url.password}@`);
    expect(server.output()).not.toContain(db.url);
  });

  // Regression test for a bug once in src/main.ts: SIGHUP's default action killed the server.
  it("keeps serving after SIGHUP, and says it ignored it", async () => {
    server.child.kill("SIGHUP");
    await waitFor("the SIGHUP log line", () =>
      logLines(server.output()).some((l) => l.signal === "SIGHUP"),
    );
    expect(server.child.exitCode).toBeNull();
    expect(await checkHealth(server.address)).toBe("SERVING");
    expect(logLines(server.output()).map((l) => l.msg)).not.toContain("shutting down");
  });

  it("exits 0 on SIGINT after a graceful stop", async () => {
    expect(await server.stop("SIGINT")).toBe(0);
    const msgs = logLines(server.output()).map((l) => l.msg);
    expect(msgs.indexOf("stopped")).toBeGreaterThan(msgs.indexOf("shutting down"));
    expect(msgs).toContain("shutting down");
  });
});

describe("a SIGTERM during start-up", { timeout: START_LIMIT_MS }, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("stops gracefully where start-up may end, never by the signal's default action, and never serves", async () => {
    const child = spawn(process.execPath, ["dist/src/main.js"], {
      cwd: ROOT,
      env: {
        ...process.env,
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_DATA_DIR: mkdtempSync(join(tmpdir(), "certmint-data-")),
        DATABASE_URL: db.url,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stderr.on("data", (d) => {
      out += d;
    });
    const closed = new Promise<[number | null, string | null]>((resolve) =>
      child.on("close", (code, signal) => resolve([code, signal])),
    );
    // The gRPC port is bound before the database is opened: signal at that moment, once.
    let signalled = false;
    child.stdout.on("data", (d) => {
      out += d;
      if (!signalled && out.includes('"msg":"listening"')) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    expect(await closed).toEqual([0, null]);
    const msgs = logLines(out).map((l) => l.msg);
    // Until stop 43 of 2026-12-06 start-up went on to "serving" (and wrote the admin token)
    // before it stopped; now it ends once the database is open (src/app.ts StartOptions.stop).
    expect(msgs).toEqual(expect.arrayContaining(["shutting down", "stopped before serving"]));
    expect(msgs).not.toContain("serving");
    expect(msgs.indexOf("stopped before serving")).toBeGreaterThan(msgs.indexOf("shutting down"));
  });
});
