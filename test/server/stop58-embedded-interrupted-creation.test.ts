/**
 * A first start killed while it creates the embedded database is made again by the next start
 * (an outside probe of stop 58, 2026-12-07: a SIGKILL during the first start left pglite/ with
 * global/pg_control and no PG_VERSION, which every later start refused as a damaged database to
 * restore from a backup that could not exist). The database is made in pglite.creating and
 * moved into pglite/ once whole, PG_VERSION last (src/store/embedded-postgres.ts
 * createDatabase): checked with a real SIGKILL during initdb, and with the states a kill leaves
 * at each step of the move, built from a real database's files.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkHealth,
  ROOT,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

const STAGING = "pglite.creating";

describe("an embedded database whose creation was interrupted", {
  timeout: 4 * START_LIMIT_MS,
}, () => {
  const root = mkdtempSync(join(tmpdir(), "certmint-embedded-interrupted-"));
  const original = join(root, "original");
  let adminToken = "";

  beforeAll(async () => {
    const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: original });
    adminToken = server.adminToken();
    expect(await server.stop()).toBe(0);
    // A clean stop leaves no staging directory.
    expect(existsSync(join(original, STAGING))).toBe(false);
    expect(existsSync(join(original, "pglite", "PG_VERSION"))).toBe(true);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** Starts a server on `dataDir`, checks that it serves, and stops it. */
  async function servesOn(dataDir: string) {
    const server = await startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir });
    try {
      expect(await checkHealth(server.address)).toBe("SERVING");
      return server.adminToken();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }

  it("killed (SIGKILL) during initdb: the next start creates it and serves", async () => {
    const dataDir = join(root, "killed");
    const { command, args } = serverCommand();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: "",
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_LISTEN: "127.0.0.1:0",
      },
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // initdb takes seconds on its thread; the staging directory is made before it starts.
    await waitFor("the database's creation to start", async () =>
      existsSync(join(dataDir, STAGING)),
    );
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(join(dataDir, "pglite", "PG_VERSION"))).toBe(false);
    await servesOn(dataDir);
    expect(existsSync(join(dataDir, "pglite", "PG_VERSION"))).toBe(true);
    expect(existsSync(join(dataDir, STAGING))).toBe(false);
  });

  it("killed while its files moved in (some moved, PG_VERSION not): made again", async () => {
    const dataDir = join(root, "half-moved");
    mkdirSync(join(dataDir, "pglite"), { recursive: true, mode: 0o700 });
    cpSync(join(original, "pglite"), join(dataDir, STAGING), { recursive: true });
    rmSync(join(dataDir, STAGING, "PG_VERSION"));
    // What a kill in the move leaves: global/ (with pg_control) moved, the rest not.
    cpSync(join(original, "pglite", "global"), join(dataDir, "pglite", "global"), {
      recursive: true,
    });
    rmSync(join(dataDir, STAGING, "global"), { recursive: true });
    const token = await servesOn(dataDir);
    // A new database: the first start never finished, and this one made its admin token.
    expect(token).not.toBe("");
    expect(existsSync(join(dataDir, STAGING))).toBe(false);
  });

  it("killed after PG_VERSION moved in: the database is kept, the staging directory removed", async () => {
    const dataDir = join(root, "moved");
    cpSync(original, dataDir, { recursive: true });
    rmSync(join(dataDir, "embedded.pid"), { force: true });
    mkdirSync(join(dataDir, STAGING), { mode: 0o700 });
    expect(await servesOn(dataDir)).toBe(adminToken);
    expect(existsSync(join(dataDir, STAGING))).toBe(false);
  });

  // chown needs root; CI runs as root, and the server then runs without root's power over
  // files (setpriv, server-process.ts withoutFileOverride), as a service user would.
  it.skipIf(process.getuid?.() !== 0)(
    "a file the server cannot open (left by another user): refused, naming it, not a WebAssembly abort",
    async () => {
      const dataDir = join(root, "foreign");
      cpSync(original, dataDir, { recursive: true });
      rmSync(join(dataDir, "embedded.pid"), { force: true });
      const control = join(dataDir, "pglite", "global", "pg_control");
      chownSync(control, 65534, 65534);
      chmodSync(control, 0o600);
      const err = await startServerProcess(
        { DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir },
        { unprivileged: true },
      ).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      const message = (err as Error).message;
      expect(message).toContain(`cannot read and write ${control} (owned by uid 65534`);
      expect(message).toContain("chown -R");
      expect(message).not.toContain("Aborted()");
    },
  );

  it("without a staging directory, a database that lost PG_VERSION is still refused", async () => {
    const dataDir = join(root, "lost-version");
    cpSync(original, dataDir, { recursive: true });
    rmSync(join(dataDir, "embedded.pid"), { force: true });
    rmSync(join(dataDir, "pglite", "PG_VERSION"));
    await expect(
      startServerProcess({ DATABASE_URL: "", CERTMINT_DATA_DIR: dataDir }),
    ).rejects.toThrow(/is damaged/);
    expect(readdirSync(join(dataDir, "pglite"))).toContain("global");
  });
});
