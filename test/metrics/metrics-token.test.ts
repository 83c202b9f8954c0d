/**
 * CERTMINT_METRICS_TOKEN_FILE: /metrics names every profile and CA with their volumes, and a
 * loopback listener is reachable by every user of the host (an outside probe of stop 44 of
 * 2026-12-06 read them as another local user). With a token file, a scrape without the token,
 * or with another, is 401 with a Bearer challenge (RFC 6750 3); a token file certmint cannot
 * trust (readable by others, not a regular file, no token in it) stops the start with exit 2,
 * in one process and as the supervisor of CERTMINT_PROCESSES.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { ROOT, START_LIMIT_MS } from "../support/server-process";

const dir = mkdtempSync(join(tmpdir(), "certmint-metrics-token-"));
const token = randomBytes(32).toString("hex");
const file = (name: string, content: string, mode = 0o600) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
};

describe("the bearer token of /metrics", { timeout: 2 * START_LIMIT_MS }, () => {
  let h: TestCertmint;
  let url = "";
  let db: TestDatabase;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
      // Group-readable, as for a Prometheus in the file's group.
      CERTMINT_METRICS_TOKEN_FILE: file("token", `${token}\n`, 0o640),
    });
    url = `http://127.0.0.1:${h.running.metricsPort}/metrics`;
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await h?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 401 with a Bearer challenge without the token or with another, the metrics with it", async () => {
    for (const authorization of [
      undefined,
      `Bearer ${token.slice(0, -1)}x`,
      `Basic ${Buffer.from(`x:${token}`).toString("base64")}`,
      `Bearer ${token} extra`,
      token,
    ]) {
      const res = await fetch(url, authorization ? { headers: { authorization } } : {});
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="certmint metrics"');
      const body = await res.text();
      expect(body).toContain("CERTMINT_METRICS_TOKEN_FILE");
      expect(body).not.toContain("certmint_");
    }
    for (const scheme of ["Bearer", "bearer"]) {
      const res = await fetch(url, { headers: { authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("certmint_grpc_requests_total");
    }
  });

  it("refuses a token file without a metrics listener (invalid configuration)", () => {
    expect(() =>
      loadConfig({ DATABASE_URL: "postgresql://x@127.0.0.1/x", CERTMINT_METRICS_TOKEN_FILE: "/t" }),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ DATABASE_URL: "postgresql://x@127.0.0.1/x", CERTMINT_METRICS_TOKEN_FILE: "/t" }),
    ).toThrow(
      "CERTMINT_METRICS_TOKEN_FILE is set but CERTMINT_METRICS_LISTEN is not: there is no /metrics for the token to protect",
    );
  });

  const fifo = join(dir, "fifo");
  it.each([
    [
      "readable by others",
      () => file("shared", token, 0o644),
      "(mode 0644): make it 0640 (its group the one Prometheus runs in) or 0600",
    ],
    [
      "writable by its group",
      () => file("group-writable", token, 0o660),
      "is writable by its group or open to others (mode 0660)",
    ],
    [
      "a FIFO",
      () => {
        spawnSync("mkfifo", ["-m", "600", fifo]);
        return fifo;
      },
      "is not a regular file",
    ],
    ["a short token", () => file("short", "abc"), "does not hold a token"],
    ["two tokens", () => file("two", `${token} ${token}`), "does not hold a token"],
    ["missing", () => join(dir, "none"), "cannot be read (ENOENT)"],
  ])("stops the start (exit 2) on a token file %s, one process or a supervisor", (_, make, why) => {
    const path = make();
    for (const processes of ["1", "2"]) {
      const dataDir = join(mkdtempSync(join(dir, "data-")), "data");
      const r = spawnSync(process.execPath, ["dist/src/main.js"], {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          CERTMINT_DATA_DIR: dataDir,
          CERTMINT_LISTEN: "127.0.0.1:0",
          CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
          CERTMINT_METRICS_TOKEN_FILE: path,
          CERTMINT_PROCESSES: processes,
        },
        encoding: "utf8",
        timeout: START_LIMIT_MS,
      });
      expect([r.status, processes], r.stderr).toEqual([2, processes]);
      expect(r.stderr + r.stdout).toContain(`CERTMINT_METRICS_TOKEN_FILE=${path} `);
      expect(r.stderr + r.stdout).toContain(why);
      expect(r.stderr + r.stdout).not.toContain("    at ");
      // Refused with the settings: nothing bound, nothing created (an outside probe of stop 44).
      expect(r.stdout).not.toContain('"msg":"listening"');
      expect(existsSync(dataDir)).toBe(false);
    }
  });
});
