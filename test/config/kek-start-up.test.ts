/**
 * A wrong or missing key-encryption key is a failure only a change of configuration fixes: exit
 * 2, one line on stderr, no stack (an outside probe, F9: it exited 1, and a service manager
 * restarting on failure retried it forever). And /metrics on an address others can reach is
 * warned about at start (F11): it has no authentication.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricsExposureWarning } from "../../src/config";
import { CertmintError } from "../../src/errors";
import { StartUpFailure, startUpFailureOf } from "../../src/start-up-failure";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  logLines,
  ROOT,
  START_LIMIT_MS,
  serverCommand,
  startServerProcess,
} from "../support/server-process";

describe("startUpFailureOf: key-encryption key errors", () => {
  const kekError = (reason: string, message: string) =>
    new CertmintError("failed_precondition", reason, message);

  it.each([
    [
      "KEK_MISMATCH",
      "the key-encryption key does not match the one this database's CA keys were sealed with",
    ],
    [
      "KEK_UNAVAILABLE",
      "cannot load the key-encryption key: the KEK file /x/kek.key does not exist",
    ],
    [
      "KEK_UNAVAILABLE",
      "cannot load the key-encryption key: the KEK file /x/kek.key cannot be read (EACCES)",
    ],
    [
      "KEK_UNAVAILABLE",
      "cannot load the key-encryption key: the base64 KEK must be 32 bytes in base64 (44 characters ending in '='), got 47 characters",
    ],
  ])("%s (%s) exits 2, embedded database or not", (reason, message) => {
    for (const databaseUrl of [undefined, "postgresql://u:p@db:5432/certmint"]) {
      const failure = startUpFailureOf(kekError(reason, message), databaseUrl);
      expect(failure).toBeInstanceOf(StartUpFailure);
      expect(failure).toMatchObject({ message, exitCode: 2, code: reason });
    }
  });

  it("a key file that could not be written for want of room exits 1 (a later start may succeed)", () => {
    const message =
      "cannot load the key-encryption key: the KEK file /x/kek.key cannot be created (ENOSPC: no space left on device)";
    expect(startUpFailureOf(kekError("KEK_UNAVAILABLE", message), undefined)).toMatchObject({
      message,
      exitCode: 1,
      code: "KEK_UNAVAILABLE",
    });
  });

  it("other errors pass through as before", () => {
    const other = kekError("CA_NOT_FOUND", "no such CA");
    expect(startUpFailureOf(other, undefined)).toBe(other);
  });
});

describe("metricsExposureWarning", () => {
  it.each([
    ["0.0.0.0", 9100, "CERTMINT_METRICS_LISTEN=0.0.0.0:9100"],
    ["::", 9100, "CERTMINT_METRICS_LISTEN=[::]:9100"],
    ["203.0.113.7", 9100, "CERTMINT_METRICS_LISTEN=203.0.113.7:9100"],
    ["prometheus.internal", 0, "CERTMINT_METRICS_LISTEN=prometheus.internal:0"],
  ])("%s is warned about", (host, port, shown) => {
    expect(metricsExposureWarning({ metricsListen: { host, port } })).toBe(
      `${shown} is not a loopback address: /metrics has no authentication and names profiles and CAs; make sure only Prometheus can reach it (a firewall, or a loopback or private address), and set CERTMINT_METRICS_TOKEN_FILE`,
    );
    // With a token: the token itself crosses the network in plain HTTP.
    expect(
      metricsExposureWarning({ metricsListen: { host, port }, metricsTokenFile: "/etc/t" }),
    ).toBe(
      `${shown} is not a loopback address: /metrics is plain HTTP, so the bearer token of CERTMINT_METRICS_TOKEN_FILE crosses the network readable; make sure only Prometheus can reach it (a firewall, or a loopback or private address)`,
    );
  });

  it.each(["127.0.0.1", "127.0.0.2", "::1", "localhost"])("%s is not", (host) => {
    expect(metricsExposureWarning({ metricsListen: { host, port: 9100 } })).toBeUndefined();
  });

  it("nor metrics that are off", () => {
    expect(metricsExposureWarning({})).toBeUndefined();
  });
});

describe("on PostgreSQL, after a first start sealed a check value with one key", () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), "certmint-kek-exit-"));
  const key = randomBytes(32).toString("base64");
  const base = () => ({
    DATABASE_URL: db.url,
    CERTMINT_DATA_DIR: join(dir, "data"),
    CERTMINT_LOG_FORMAT: "json",
  });

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a first start with metrics on 0.0.0.0 and the CLI's variables set serves, and warns about /metrics", async () => {
    const server = await startServerProcess({
      ...base(),
      CERTMINT_KEK: key,
      CERTMINT_METRICS_LISTEN: "0.0.0.0:0",
      CERTMINT_SERVER: "127.0.0.1:1",
      CERTMINT_TOKEN: "cm_not-a-token",
      CERTMINT_DEBUG: "1",
    });
    try {
      const warned = logLines(server).filter(
        (l) =>
          l.level === 40 &&
          typeof l.msg === "string" &&
          l.msg.startsWith("CERTMINT_METRICS_LISTEN=0.0.0.0:0 is not a loopback address"),
      );
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ host: "0.0.0.0" });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  const run = (env: Record<string, string>) =>
    spawnSync(serverCommand().command, serverCommand().args, {
      cwd: ROOT,
      env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...base(), ...env },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });

  const expectExit2 = (r: ReturnType<typeof run>, message: RegExp, code: string) => {
    expect(r.status, r.stdout + r.stderr).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const fatal = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "start-up failed" && l.code === code);
    expect(fatal, r.stdout).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ exitCode: 2 });
    expect(JSON.stringify(fatal[0])).not.toContain("    at ");
  };

  it("another key exits 2 with one line (KEK_MISMATCH), never echoing either key", () => {
    const other = randomBytes(32).toString("base64");
    const r = run({ CERTMINT_KEK: other });
    expectExit2(
      r,
      /^certmint: start-up failed: the key-encryption key does not match the one this database's CA keys were sealed with/,
      "KEK_MISMATCH",
    );
    expect(r.stdout + r.stderr).not.toContain(other);
    expect(r.stdout + r.stderr).not.toContain(key);
  });

  it("a KEK file that does not exist exits 2 with one line (KEK_UNAVAILABLE)", () => {
    const missing = join(dir, "missing.key");
    const r = run({ CERTMINT_KEK_FILE: missing });
    expectExit2(
      r,
      new RegExp(
        `^certmint: start-up failed: cannot load the key-encryption key, and this database holds CA keys sealed with one: the KEK file ${missing} does not exist$`,
      ),
      "KEK_UNAVAILABLE",
    );
  });

  it("with CERTMINT_PROCESSES=2 the supervisor passes the worker's exit 2 through", () => {
    const r = run({ CERTMINT_KEK: randomBytes(32).toString("base64"), CERTMINT_PROCESSES: "2" });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(
      "certmint: start-up failed: the key-encryption key does not match the one",
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
