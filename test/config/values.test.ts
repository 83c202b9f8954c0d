/**
 * Values the configuration check let through (an outside probe, F3 and F4): a CERTMINT_KEK with
 * stray characters (Node's base64 decoder skips them) failed only after the embedded database
 * was created, exit 1; a user:password in CERTMINT_PUBLIC_BASE_URL would be written into every
 * certificate; a burst set for a limit whose rate is 0 (off) was taken without a word.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { ROOT, START_LIMIT_MS, serverCommand } from "../support/server-process";

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return "";
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

const KEK_PROBLEM =
  "CERTMINT_KEK must be the base64 of exactly 32 random bytes: 44 characters of A-Z a-z 0-9 + / ending in '=' (openssl rand -base64 32)";

describe("CERTMINT_KEK is checked as the key loader reads it", () => {
  const key = randomBytes(32).toString("base64");

  it.each([
    ["stray characters inside", `${key.slice(0, 20)}*!*${key.slice(20)}`],
    ["a space inside", `${key.slice(0, 20)} ${key.slice(20)}`],
    ["base64url characters", key.replace(/.{3}/, "-_A")],
    ["no padding", key.slice(0, 43)],
    ["33 bytes", randomBytes(33).toString("base64")],
    ["31 bytes", randomBytes(31).toString("base64")],
    ["whitespace only", "   "],
  ])("%s is refused, never echoed", (_, value) => {
    const message = problemsOf({ CERTMINT_KEK: value });
    expect(message).toBe(KEK_PROBLEM);
    expect(message).not.toContain(value.trim().slice(0, 12) || "\u0000");
  });

  it("a key the loader takes is accepted, surrounding whitespace included", () => {
    expect(loadConfig({ CERTMINT_KEK: key }).kek).toEqual({ base64: key });
    expect(problemsOf({ CERTMINT_KEK: ` ${key}\n` })).toBe("");
  });
});

describe("URLs written into certificates", () => {
  it.each([
    ["CERTMINT_PUBLIC_BASE_URL", "http://user:pw-s3cret@pki.example.internal/"],
    ["CERTMINT_PUBLIC_BASE_URL", "https://user@pki.example.internal"],
    ["CERTMINT_PUBLIC_BASE_URL", "https://:pw-s3cret@pki.example.internal"],
    ["CERTMINT_OCSP_URL", "http://ocsp:pw-s3cret@ocsp.example.internal/ocsp"],
  ])("%s with user info is refused, the password not echoed", (name, value) => {
    const message = problemsOf({ [name]: value });
    expect(message).toBe(
      `${name} must not hold a user name or password (user:password@): it is written into every certificate issued, where anyone can read it`,
    );
    expect(message).not.toContain("s3cret");
  });

  it("an unparseable URL with a password, and CERTMINT_ACME_BASE_URL with one, are refused without echoing it", () => {
    const bad = problemsOf({ CERTMINT_PUBLIC_BASE_URL: "http://user:pw-s3cret@" });
    expect(bad).toContain("CERTMINT_PUBLIC_BASE_URL must be an http(s) URL");
    expect(bad).not.toContain("s3cret");
    const acme = problemsOf({
      CERTMINT_ACME_LISTEN: "127.0.0.1:0",
      CERTMINT_ACME_BASE_URL: "https://user:pw-s3cret@acme.example.com",
    });
    expect(acme).toContain("CERTMINT_ACME_BASE_URL must be an origin without a path");
    expect(acme).not.toContain("s3cret");
  });

  it("URLs without user info are kept (an @ in the path is no user info)", () => {
    const c = loadConfig({
      CERTMINT_PUBLIC_BASE_URL: "http://pki.example.internal/pki/",
      CERTMINT_OCSP_URL: "http://ocsp.example.internal/a@b",
    });
    expect(c.publicBaseUrl).toBe("http://pki.example.internal/pki");
    expect(c.ocspUrl).toBe("http://ocsp.example.internal/a@b");
  });
});

describe("a burst for a limit that is off", () => {
  it.each([
    ["CERTMINT_RATE_LIMIT_PER_SECOND", "CERTMINT_RATE_LIMIT_BURST", {}],
    ["CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND", "CERTMINT_AUTH_FAILURE_LIMIT_BURST", {}],
    ["CERTMINT_REFUSAL_LIMIT_PER_SECOND", "CERTMINT_REFUSAL_LIMIT_BURST", {}],
    [
      "CERTMINT_ACME_RATE_LIMIT_PER_SECOND",
      "CERTMINT_ACME_RATE_LIMIT_BURST",
      { CERTMINT_ACME_LISTEN: "127.0.0.1:0" },
    ],
  ])("%s=0 with %s is refused", (rate, burst, extra) => {
    expect(problemsOf({ ...extra, [rate]: "0", [burst]: "5" })).toBe(
      `${burst} is set but ${rate}=0 turns that limit off: set a rate, or unset ${burst}`,
    );
    // Either alone, or a rate above 0 with its burst, is fine.
    expect(problemsOf({ ...extra, [rate]: "0" })).toBe("");
    expect(problemsOf({ ...extra, [burst]: "5" })).toBe("");
    expect(problemsOf({ ...extra, [rate]: "2", [burst]: "5" })).toBe("");
  });
});

describe("at start-up", () => {
  const dir = mkdtempSync(join(tmpdir(), "certmint-values-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a CERTMINT_KEK with stray characters exits 2 before the embedded database is created, never echoed", () => {
    const key = randomBytes(32).toString("base64");
    const stray = `${key.slice(0, 20)}*!*${key.slice(20)}`;
    const dataDir = join(dir, "data");
    const r = spawnSync(serverCommand().command, serverCommand().args, {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: "",
        CERTMINT_LISTEN: "127.0.0.1:0",
        CERTMINT_DATA_DIR: dataDir,
        CERTMINT_KEK: stray,
      },
      encoding: "utf8",
      timeout: START_LIMIT_MS,
    });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `certmint: invalid configuration: ${KEK_PROBLEM}`,
    ]);
    expect(r.stdout + r.stderr).not.toContain(key.slice(0, 20));
    expect(existsSync(dataDir)).toBe(false);
  });
});
