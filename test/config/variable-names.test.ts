/**
 * Misspelt variable names are refused, not ignored (an outside probe, F1): CERTMINT_LISTN
 * served on the default address, CERTMINT_TLS_REQUIRE_CLIENT_CERTS left mTLS optional, and
 * DATABASE_URI for DATABASE_URL started a new, empty embedded PKI. The CLI's own variables and
 * those the tests and scripts set must keep working in the server's environment.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, DATABASE_URL_NEAR_MISSES, ENV, loadConfig } from "../../src/config";
import { ROOT, START_LIMIT_MS, serverCommand } from "../support/server-process";

/** The message of the ConfigError loadConfig throws for env ("" when it accepts it). */
function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env, "/srv/certmint");
    return "";
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe("CERTMINT_* names certmint does not know", () => {
  it.each([
    ["CERTMINT_LISTN", "CERTMINT_LISTEN"],
    ["CERTMINT_TLS_REQUIRE_CLIENT_CERTS", "CERTMINT_TLS_REQUIRE_CLIENT_CERT"],
    ["CERTMINT_KEK_FIEL", "CERTMINT_KEK_FILE"],
    ["CERTMINT_RATE_LIMIT_PER_SEC", "CERTMINT_RATE_LIMIT_PER_SECOND"],
    ["CERTMINT_METRIC_LISTEN", "CERTMINT_METRICS_LISTEN"],
    ["certmint_listen", "CERTMINT_LISTEN"],
    ["CERTMINT_DATABASE_URL", "DATABASE_URL"],
    ["CERTMINT_TOKN", "CERTMINT_TOKEN"],
  ])("%s is refused, naming %s, without echoing its value", (name, closest) => {
    const message = problemsOf({ [name]: "s3cret-value" });
    expect(message).toBe(`${name} is not a certmint setting; did you mean ${closest}?`);
    expect(message).not.toContain("s3cret");
  });

  it("every unknown name is named, each once, in one message", () => {
    const message = problemsOf({
      CERTMINT_LISTN: "x",
      CERTMINT_KEK_FIEL: "",
      CERTMINT_LISTEN: "y",
    });
    expect(message).toContain("CERTMINT_KEK_FIEL is not a certmint setting");
    expect(message).toContain("CERTMINT_LISTN is not a certmint setting");
    expect(message).toContain("CERTMINT_LISTEN must be host:port");
    expect(message.split("\n")).toHaveLength(1);
  });

  it("every server setting, the CLI's variables and the test suite's and scripts' are accepted", () => {
    const env: Record<string, string> = {
      CERTMINT_SERVER: "127.0.0.1:50051",
      CERTMINT_TOKEN: "cm_secret",
      CERTMINT_DEBUG: "1",
      CERTMINT_DATA_DIR: "/srv/certmint/data",
      CERTMINT_TEST_LOG_DIR: "/tmp/logs",
      CERTMINT_TEST_RUN: "abcd",
      CERTMINT_MEASURE_PORT: "50199",
      CERTMINT_MEASURE_REV: "HEAD",
    };
    expect(problemsOf(env)).toBe("");
    for (const name of Object.values(ENV)) {
      expect(problemsOf({ [name]: "" }), name).not.toContain("is not a certmint setting");
    }
  });

  /**
   * Every CERTMINT_ name the CLI reads, and that the tests, scripts, benchmarks, Makefile, CI and
   * packaging set or mention, is one the server accepts in its environment. Left out: names
   * ending in "_" (a family: CERTMINT_TLS_*), CERTMINT_SERVICES (a constant in src/api) and
   * CERTMINT_CLI_VERSION (a build-time constant), and this directory and test/config.test.ts,
   * which hold misspelt names on purpose.
   */
  it("every CERTMINT_ name used in src/cli, test, scripts, bench, Makefile, .ci, packaging and examples is known", () => {
    const roots = [
      "src/cli",
      "test",
      "scripts",
      "bench",
      "Makefile",
      ".ci",
      "packaging",
      "examples",
    ];
    const skip = new Set(["test/config", "test/config.test.ts"]);
    const names = new Map<string, string>();
    const visit = (path: string) => {
      const rel = relative(ROOT, path);
      if (skip.has(rel) || !existsSync(path)) return;
      if (statSync(path).isDirectory()) {
        for (const entry of readdirSync(path)) {
          if (entry !== "node_modules" && !entry.startsWith(".tmp")) visit(join(path, entry));
        }
        return;
      }
      if (statSync(path).size > 2_000_000) return;
      for (const [name] of readFileSync(path, "latin1").matchAll(/\bCERTMINT_[A-Z0-9_]+/g)) {
        if (!name.endsWith("_") && !names.has(name)) names.set(name, rel);
      }
    };
    for (const root of roots) visit(join(ROOT, root));
    expect(names.get("CERTMINT_SERVER")).toBeDefined();
    expect(names.get("CERTMINT_TEST_RUN")).toBeDefined();
    const refused = [...names]
      .filter(([name]) => name !== "CERTMINT_SERVICES" && name !== "CERTMINT_CLI_VERSION")
      .filter(([name]) => problemsOf({ [name]: "" }).includes(`${name} is not a certmint setting`))
      .map(([name, file]) => `${name} (${file})`);
    expect(refused).toEqual([]);
  });
});

describe("a near miss of DATABASE_URL without DATABASE_URL", () => {
  it.each([...DATABASE_URL_NEAR_MISSES, "database_url"])(
    "%s is refused, and its value (a password) not echoed",
    (name) => {
      const message = problemsOf({ [name]: "postgresql://u:hunter2@db/certmint" });
      expect(message).toBe(
        `${name} is set but certmint reads DATABASE_URL; without it certmint would start a new, empty embedded database: rename it to DATABASE_URL, or unset ${name} to use the embedded database`,
      );
      expect(message).not.toContain("hunter2");
    },
  );

  it("is let be when DATABASE_URL is set too; an empty DATABASE_URL does not count", () => {
    expect(
      problemsOf({ DATABASE_URI: "x", DATABASE_URL: "postgresql://u:p@db:5432/certmint" }),
    ).toBe("");
    expect(problemsOf({ DATABASE_URI: "x", DATABASE_URL: "" })).toContain(
      "DATABASE_URI is set but certmint reads DATABASE_URL",
    );
  });

  it("TEST_DATABASE_URL (the tests') and other names are not near misses", () => {
    expect(problemsOf({ TEST_DATABASE_URL: "postgresql://u:p@db/t", DATABASE: "x" })).toBe("");
  });
});

describe("at start-up", () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-names-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (env: Record<string, string>) => {
    const dataDir = join(dir, `data-${Math.random().toString(36).slice(2)}`);
    const r = spawnSync(serverCommand().command, serverCommand().args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: "",
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_DATA_DIR: dataDir,
        ...env,
      },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    return { ...r, dataDir };
  };

  it.each([
    [
      { CERTMINT_LISTN: "127.0.0.1:0" },
      "CERTMINT_LISTN is not a certmint setting; did you mean CERTMINT_LISTEN?",
    ],
    [
      { CERTMINT_TLS_REQUIRE_CLIENT_CERTS: "true" },
      "CERTMINT_TLS_REQUIRE_CLIENT_CERTS is not a certmint setting; did you mean CERTMINT_TLS_REQUIRE_CLIENT_CERT?",
    ],
    [
      { DATABASE_URI: "postgresql://certmint:hunter2@127.0.0.1:5432/certmint" },
      "DATABASE_URI is set but certmint reads DATABASE_URL;",
    ],
  ])("%o exits 2 with one line, before anything is created", (env, message) => {
    const r = run(env);
    expect(r.status, r.stdout + r.stderr).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`certmint: invalid configuration: ${message}`);
    expect(r.stdout + r.stderr).not.toContain("hunter2");
    expect(existsSync(r.dataDir)).toBe(false);
  });

  it("the CLI's variables in the server's environment are no reason to refuse it", () => {
    // An invalid setting of certmint's own makes it stop at the same check, without serving:
    // only that setting is named.
    const r = run({
      CERTMINT_SERVER: "127.0.0.1:1",
      CERTMINT_TOKEN: "cm_not-a-real-token",
      CERTMINT_DEBUG: "1",
      CERTMINT_LOG_LEVEL: "loud",
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'certmint: invalid configuration: CERTMINT_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    );
  });
});
