/**
 * Two of certmint's own listen variables on one port (an outside probe, F2) failed the start with
 * a raw EADDRINUSE, exit 1, after a first start had created the key-encryption key, the admin
 * token and the database: the check that binds each address closes it before the next. The
 * configuration check compares them with each other and names both.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { ROOT, START_LIMIT_MS, serverCommand } from "../support/server-process";

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ CERTMINT_ALLOW_PLAINTEXT: "true", ...env });
    return "";
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe("listen addresses on one port", () => {
  it.each([
    [
      { CERTMINT_LISTEN: "127.0.0.1:52201", CERTMINT_METRICS_LISTEN: "127.0.0.1:52201" },
      "CERTMINT_LISTEN=127.0.0.1:52201 and CERTMINT_METRICS_LISTEN=127.0.0.1:52201 take the same port: give each its own port",
    ],
    [
      {
        CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:52203",
        CERTMINT_METRICS_LISTEN: "127.0.0.1:52203",
      },
      "CERTMINT_PUBLICATION_LISTEN=127.0.0.1:52203 and CERTMINT_METRICS_LISTEN=127.0.0.1:52203 take the same port",
    ],
    [
      { CERTMINT_LISTEN: "0.0.0.0:8080", CERTMINT_PUBLICATION_LISTEN: "10.1.2.3:8080" },
      "CERTMINT_LISTEN=0.0.0.0:8080 and CERTMINT_PUBLICATION_LISTEN=10.1.2.3:8080",
    ],
    [
      { CERTMINT_LISTEN: "127.0.0.1:8080", CERTMINT_ACME_LISTEN: "[::]:8080" },
      "CERTMINT_LISTEN=127.0.0.1:8080 and CERTMINT_ACME_LISTEN=[::]:8080",
    ],
    [
      { CERTMINT_METRICS_LISTEN: "[::1]:9100", CERTMINT_ACME_LISTEN: "[0:0:0:0:0:0:0:1]:9100" },
      "CERTMINT_METRICS_LISTEN=[::1]:9100 and CERTMINT_ACME_LISTEN=[0:0:0:0:0:0:0:1]:9100",
    ],
    [
      { CERTMINT_LISTEN: "localhost:7000", CERTMINT_METRICS_LISTEN: "127.0.0.1:7000" },
      "CERTMINT_LISTEN=localhost:7000 and CERTMINT_METRICS_LISTEN=127.0.0.1:7000",
    ],
    [
      { CERTMINT_LISTEN: "0.0.0.0:7000", CERTMINT_METRICS_LISTEN: "prometheus.internal:7000" },
      "CERTMINT_LISTEN=0.0.0.0:7000 and CERTMINT_METRICS_LISTEN=prometheus.internal:7000",
    ],
  ])("%o is refused, naming both", (env, message) => {
    expect(problemsOf(env)).toContain(message);
  });

  it("three on one port: each pair is named", () => {
    const message = problemsOf({
      CERTMINT_LISTEN: "127.0.0.1:9000",
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:9000",
      CERTMINT_METRICS_LISTEN: "127.0.0.1:9000",
    });
    expect(message.match(/take the same port/g)).toHaveLength(3);
  });

  it.each<Record<string, string>>([
    { CERTMINT_LISTEN: "127.0.0.1:0", CERTMINT_METRICS_LISTEN: "127.0.0.1:0" },
    { CERTMINT_LISTEN: "127.0.0.1:8080", CERTMINT_METRICS_LISTEN: "127.0.0.1:8081" },
    { CERTMINT_LISTEN: "127.0.0.1:8080", CERTMINT_METRICS_LISTEN: "127.0.0.2:8080" },
    { CERTMINT_LISTEN: "10.0.0.1:8080", CERTMINT_PUBLICATION_LISTEN: "10.0.0.2:8080" },
    // 0.0.0.0 is IPv4 only: an IPv6 address on the same port is another socket.
    { CERTMINT_LISTEN: "0.0.0.0:8080", CERTMINT_PUBLICATION_LISTEN: "[::1]:8080" },
  ])("%o is accepted", (env) => {
    expect(problemsOf(env)).toBe("");
  });
});

describe("at start-up", () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-listen-clash-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 2 naming both variables, before the data directory, the key or the database exist", () => {
    const dataDir = join(dir, "data");
    const r = spawnSync(serverCommand().command, serverCommand().args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: "",
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_LISTEN: "127.0.0.1:52291",
        CERTMINT_METRICS_LISTEN: "127.0.0.1:52291",
      },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      "certmint: invalid configuration: CERTMINT_LISTEN=127.0.0.1:52291 and CERTMINT_METRICS_LISTEN=127.0.0.1:52291 take the same port: give each its own port",
    ]);
    expect(existsSync(dataDir)).toBe(false);
  });
});
