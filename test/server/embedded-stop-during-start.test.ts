/**
 * The embedded default's start and stop (an outside probe of stop 43 of 2026-12-06):
 *  - F4: Ctrl-C during a first start waited for the database to be created (defensible: an
 *    initdb cut short leaves a directory no start can use), then wrote the key-encryption key
 *    and the admin token and logged "serving" before it stopped. Now it says it waits for the
 *    database, stops once the database is whole, exit 0, with no secret written; the next start
 *    serves on that database and makes them.
 *  - F5: a second server on the same data directory logged "listening", then died with exit 1
 *    and a stack trace. Now it is refused before it binds a port: exit 2 and one line (README,
 *    "Start-up failures": only a change of configuration helps).
 * States, not durations: the interrupt is sent once the server says "listening", which it says
 * just before it starts creating the database (src/app.ts), on an empty data directory.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ListCertificateAuthoritiesRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { call, makeClients } from "../support/harness";
import {
  checkHealth,
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";

describe("the embedded database's start and stop", { timeout: 3 * START_LIMIT_MS }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-embedded-stop-start-"));
  const env = { DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir };
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("Ctrl-C during a first start: waits for the database, then exits 0 without making secrets or serving", async () => {
    const { command, args } = serverCommand();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let interrupted = false;
    const exited = new Promise<number | null>((resolve) => {
      const seen = (d: Buffer) => {
        out += d;
        if (!interrupted && out.includes('"msg":"listening"')) {
          interrupted = true;
          child.kill("SIGINT");
        }
      };
      child.stdout.on("data", seen);
      child.stderr.on("data", seen);
      child.on("close", resolve);
    });
    const code = await exited;
    expect(interrupted, out).toBe(true);
    expect(code, out).toBe(0);
    expect(out).toContain(
      '"msg":"stopping: waiting for the embedded database to finish being created"',
    );
    expect(out).toContain('"msg":"stopped before serving"');
    expect(out).not.toContain('"msg":"serving"');
    expect(out).not.toContain("generated a new key-encryption key");
    expect(out).not.toContain("created an admin access token");
    expect(existsSync(join(dataDir, "kek.key"))).toBe(false);
    expect(existsSync(join(dataDir, "admin-token"))).toBe(false);
    // The database was finished, and the lock released.
    expect(existsSync(join(dataDir, "pglite", "PG_VERSION"))).toBe(true);
    expect(existsSync(join(dataDir, "embedded.pid"))).toBe(false);
  });

  it("the next start serves on that database and makes the key and the admin token", async () => {
    server = await startServerProcess(env);
    expect(await checkHealth(server.address)).toBe("SERVING");
    const clients = makeClients(server.address, server.adminToken());
    try {
      const res = await call(
        clients.authorities,
        "listCertificateAuthorities",
        ListCertificateAuthoritiesRequest.fromPartial({}),
      );
      expect(res.certificateAuthorities).toEqual([]);
    } finally {
      for (const c of Object.values(clients)) c.close();
    }
    expect(existsSync(join(dataDir, "kek.key"))).toBe(true);
  });

  it("a second server on the data directory: refused before it listens, exit 2, one line", () => {
    const { command, args } = serverCommand();
    const second = spawnSync(command, args, {
      cwd: ROOT,
      env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    const pid = server!.child.pid;
    expect(second.status, second.stdout + second.stderr).toBe(2);
    expect(second.stderr).toBe(
      `certmint: start-up failed: the embedded database in this data directory is in use by another certmint (process ${pid}): stop it first, or give this one another CERTMINT_DATA_DIR or a DATABASE_URL (if no certmint runs, delete ${join(dataDir, "embedded.pid")})\n`,
    );
    expect(second.stdout).not.toContain('"msg":"listening"');
    expect(second.stdout + second.stderr).not.toMatch(/\n\s+at /);
  });
});
