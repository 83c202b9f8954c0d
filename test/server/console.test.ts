/**
 * The console a person sees: on a terminal (stdout a TTY, made here with util-linux `script`)
 * certmint writes readable lines, not JSON, and once it serves a short banner with the gRPC
 * address, the database (never its password) and the admin token's file; health checks are
 * not logged at info. A bad CERTMINT_LOG_FORMAT is refused like any setting.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { checkHealth, ROOT, START_LIMIT_MS, serverCommand } from "../support/server-process";
import { waitFor } from "../support/wait";

describe("console on a terminal", () => {
  let db: TestDatabase;
  let out = "";
  let child: ReturnType<typeof spawn> | undefined;
  let exited: Promise<unknown> | undefined;
  const dataDir = join(mkdtempSync(join(tmpdir(), "certmint-console-")), "data");

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    const { command, args } = serverCommand();
    // `script` runs the server with a pseudo-terminal as its stdout (-e: its exit code).
    child = spawn("script", ["-qfec", [command, ...args].join(" "), "/dev/null"], {
      cwd: ROOT,
      env: {
        ...process.env,
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_DATA_DIR: dataDir,
        DATABASE_URL: db.url,
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: stopped as a whole below.
      detached: true,
    });
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (out += d));
    exited = new Promise((resolve) => child!.once("close", resolve));
    await waitFor("the start-up banner", () => out.includes("is serving"), START_LIMIT_MS);
    await waitFor("the banner's last line", () => /next: npx certmint/.test(out));
  });
  afterAll(async () => {
    if (child?.pid) process.kill(-child.pid, "SIGTERM");
    await exited;
    await db?.drop();
  });

  /** Output lines without colour codes. */
  const lines = () =>
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing ANSI colours is the point
    out.replace(/\x1b\[[0-9;]*m/g, "").split(/\r?\n/);

  it("writes readable lines, not JSON", () => {
    const text = lines();
    expect(
      text.some((l) =>
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening address=127\.0\.0\.1:\d+$/.test(l),
      ),
    ).toBe(true);
    for (const l of text.filter((x) => x.trim() !== "")) expect(l.startsWith("{")).toBe(false);
  });

  it("prints a banner: where it listens, the database without its password, the admin token file", () => {
    const text = lines().join("\n");
    const url = new URL(db.url);
    const address = /gRPC\s+(127\.0\.0\.1:\d+) \(plaintext\)/.exec(text)?.[1];
    expect(address).toBeDefined();
    expect(text).toMatch(
      new RegExp(`database\\s+PostgreSQL 127\\.0\\.0\\.1:${url.port}${url.pathname}\\n`),
    );
    expect(text).toContain(`admin token  ${join(dataDir, "admin-token")} (created now`);
    expect(text).not.toContain(`${url.username}:${url.password}@`);
  });

  it("does not log health checks at info", async () => {
    const address = /gRPC\s+(127\.0\.0\.1:\d+)/.exec(lines().join("\n"))![1]!;
    expect(await checkHealth(address)).toBe("SERVING");
    expect(await checkHealth(address)).toBe("SERVING");
    expect(lines().filter((l) => l.includes("grpc.health.v1.Health"))).toEqual([]);
  });

  it("refuses an unknown CERTMINT_LOG_FORMAT", () => {
    expect(() => loadConfig({ CERTMINT_LOG_FORMAT: "xml" })).toThrow(ConfigError);
    expect(loadConfig({}).logFormat).toBe("auto");
  });
});
