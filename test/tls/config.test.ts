import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { chmodSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, isLoopbackHost, loadConfig } from "../../src/config";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  ROOT,
  START_TIMEOUT_MS,
  serverCommand,
  startServerProcess,
  withoutFileOverride,
} from "../support/server-process";
import { type Issued, makeCa, makeLeaf, tlsHealthCheck } from "./pki";

const REFUSAL =
  "certmint refuses plaintext on a non-loopback address; set CERTMINT_TLS_CERT_FILE/KEY_FILE, or CERTMINT_ALLOW_PLAINTEXT=true to accept the risk";

describe("TLS configuration", () => {
  it.each([
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "0:0:0:0:0:0:0:1",
    "::ffff:127.0.0.1",
    "localhost",
    "LOCALHOST",
  ])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.com", "localhost.example.com"])(
    "%s is not loopback",
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );

  it("defaults to plaintext on 127.0.0.1 (make run)", () => {
    const c = loadConfig({});
    expect(c.tls).toBeUndefined();
    expect(c.allowPlaintext).toBe(false);
  });

  it("plaintext on [::1] and localhost needs nothing", () => {
    expect(loadConfig({ CERTMINT_LISTEN: "[::1]:0" }).tls).toBeUndefined();
    expect(loadConfig({ CERTMINT_LISTEN: "localhost:0" }).tls).toBeUndefined();
  });

  it("reads the TLS files as absolute paths, with a 30 s reload interval by default", () => {
    const c = loadConfig(
      {
        CERTMINT_LISTEN: "0.0.0.0:50051",
        CERTMINT_TLS_CERT_FILE: "tls/cert.pem",
        CERTMINT_TLS_KEY_FILE: "/etc/certmint/key.pem",
        CERTMINT_TLS_CLIENT_CA_FILE: "tls/clients.pem",
        CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
      },
      "/srv/certmint",
    );
    expect(c.tls).toEqual({
      certFile: "/srv/certmint/tls/cert.pem",
      keyFile: "/etc/certmint/key.pem",
      clientCaFile: "/srv/certmint/tls/clients.pem",
      requireClientCert: true,
      reloadIntervalMs: 30_000,
    });
    expect(Object.isFrozen(c.tls)).toBe(true);
  });

  it.each([
    [{ CERTMINT_LISTEN: "0.0.0.0:50051" }, `CERTMINT_LISTEN=0.0.0.0:50051: ${REFUSAL}`],
    [{ CERTMINT_LISTEN: "[::]:50051" }, `CERTMINT_LISTEN=[::]:50051: ${REFUSAL}`],
    [{ CERTMINT_LISTEN: "certmint.internal:50051" }, REFUSAL],
    [
      { CERTMINT_TLS_CERT_FILE: "/c.pem" },
      "CERTMINT_TLS_CERT_FILE is set but CERTMINT_TLS_KEY_FILE is not: TLS needs both",
    ],
    [
      { CERTMINT_TLS_KEY_FILE: "/k.pem", CERTMINT_LISTEN: "0.0.0.0:1" },
      "CERTMINT_TLS_KEY_FILE is set but CERTMINT_TLS_CERT_FILE is not: TLS needs both",
    ],
    [
      {
        CERTMINT_TLS_CERT_FILE: "/c.pem",
        CERTMINT_TLS_KEY_FILE: "/k.pem",
        CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
      },
      "CERTMINT_TLS_REQUIRE_CLIENT_CERT=true needs CERTMINT_TLS_CLIENT_CA_FILE",
    ],
    [
      { CERTMINT_TLS_CLIENT_CA_FILE: "/ca.pem" },
      "CERTMINT_TLS_CLIENT_CA_FILE needs TLS: set CERTMINT_TLS_CERT_FILE and CERTMINT_TLS_KEY_FILE",
    ],
    [
      { CERTMINT_ALLOW_PLAINTEXT: "yes" },
      'CERTMINT_ALLOW_PLAINTEXT must be true or false (got "yes")',
    ],
    [
      { CERTMINT_TLS_RELOAD_INTERVAL_MS: "10" },
      "CERTMINT_TLS_RELOAD_INTERVAL_MS must be an integer from 100 to 3600000",
    ],
  ])("refuses %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("CERTMINT_ALLOW_PLAINTEXT=true accepts plaintext on a non-loopback address", () => {
    const c = loadConfig({ CERTMINT_LISTEN: "0.0.0.0:50051", CERTMINT_ALLOW_PLAINTEXT: "true" });
    expect(c.tls).toBeUndefined();
    expect(c.allowPlaintext).toBe(true);
  });
});

describe("TLS at start-up (src/main.ts)", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let server: Issued;
  let other: Issued;
  // One data directory (and so one key-encryption key) for every start on the one database.
  const dataDir = new TempDir();

  /** Starts the server; `unprivileged` takes root's power to read any file away from it. */
  const run = (env: Record<string, string>, { unprivileged = false } = {}) =>
    spawnSync(...withoutFileOverride(unprivileged, serverCommand()), {
      cwd: ROOT,
      env: {
        ...process.env,
        CERTMINT_LISTEN: "127.0.0.1:0",
        DATABASE_URL: db.url,
        CERTMINT_DATA_DIR: dataDir.path,
        ...env,
      },
      encoding: "utf8",
      timeout: START_TIMEOUT_MS,
    });
  const keyBody = (k: Issued) => k.keyPem.split("\n")[1]!;
  /** One line on stderr, the expected exit code, no stack trace, no key material. */
  const expectOneLine = (res: ReturnType<typeof run>, code: number, message: string) => {
    expect(res.status).toBe(code);
    const prefix = code === 2 ? "invalid configuration" : "start-up failed";
    expect(res.stderr).toMatch(new RegExp(`^certmint: ${prefix}: `));
    expect(res.stderr).toContain(message);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    for (const k of [server, other]) expect(res.stdout + res.stderr).not.toContain(keyBody(k));
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "startup CA");
    server = makeLeaf(dir, ca, "certmint.test", "server");
    other = makeLeaf(dir, ca, "other", "server");
  });
  afterAll(async () => {
    await db?.drop();
    dir.remove();
    dataDir.remove();
  });

  it("a non-loopback address without TLS exits 2 with the refusal", () => {
    expectOneLine(run({ CERTMINT_LISTEN: "0.0.0.0:0" }), 2, REFUSAL);
  });

  it("a certificate without a key exits 2", () => {
    expectOneLine(
      run({ CERTMINT_TLS_CERT_FILE: server.certFile }),
      2,
      "CERTMINT_TLS_CERT_FILE is set but CERTMINT_TLS_KEY_FILE is not: TLS needs both",
    );
  });

  it("requiring client certificates without a CA file exits 2", () => {
    expectOneLine(
      run({
        CERTMINT_TLS_CERT_FILE: server.certFile,
        CERTMINT_TLS_KEY_FILE: server.keyFile,
        CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
      }),
      2,
      "CERTMINT_TLS_REQUIRE_CLIENT_CERT=true needs CERTMINT_TLS_CLIENT_CA_FILE",
    );
  });

  it("a key that does not match the certificate exits 1 naming both files, not the key", () => {
    expectOneLine(
      run({ CERTMINT_TLS_CERT_FILE: server.certFile, CERTMINT_TLS_KEY_FILE: other.keyFile }),
      1,
      `CERTMINT_TLS_KEY_FILE (${other.keyFile}) does not match the certificate in CERTMINT_TLS_CERT_FILE (${server.certFile})`,
    );
  });

  it.each([
    [
      "a missing certificate file",
      "cert",
      "CERTMINT_TLS_CERT_FILE (/nonexistent/cert.pem) cannot be read (ENOENT)",
    ],
    ["a key file that is a certificate", "keyIsCert", "is not a PEM private key"],
    ["a client CA file without certificates", "caIsKey", "holds no PEM certificate"],
  ])("%s exits 1 with one clear line", (_what, variant, message) => {
    const env: Record<string, string> = {
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
    };
    if (variant === "cert") env.CERTMINT_TLS_CERT_FILE = "/nonexistent/cert.pem";
    if (variant === "keyIsCert") env.CERTMINT_TLS_KEY_FILE = server.certFile;
    if (variant === "caIsKey") env.CERTMINT_TLS_CLIENT_CA_FILE = server.keyFile;
    expectOneLine(run(env), 1, message);
  });

  // Also as root (CI runs as root): the server runs without the capabilities that let root
  // read any file, so the key's mode applies to it as to any service user.
  it("an unreadable key file exits 1", () => {
    const copy = dir.file("unreadable.key", server.keyPem);
    chmodSync(copy, 0o000);
    const res = run(
      { CERTMINT_TLS_CERT_FILE: server.certFile, CERTMINT_TLS_KEY_FILE: copy },
      { unprivileged: true },
    );
    expectOneLine(res, 1, `CERTMINT_TLS_KEY_FILE (${copy}) cannot be read (EACCES)`);
  });

  // Node's X509Certificate.subject is undefined for an empty name: start-up once failed on it.
  it("a SAN-only server certificate (empty subject) starts, serves TLS and is logged", async () => {
    const sanOnly = makeLeaf(dir, ca, "", "server");
    expect(new X509Certificate(sanOnly.certPem).subject).toBeUndefined();
    const proc = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir.path,
      CERTMINT_TLS_CERT_FILE: sanOnly.certFile,
      CERTMINT_TLS_KEY_FILE: sanOnly.keyFile,
    });
    try {
      const port = Number(proc.address.split(":").at(-1));
      expect(await tlsHealthCheck(port, ca.certPem)).toBe("SERVING");
      const enabled = proc
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === "TLS enabled");
      expect(JSON.stringify(enabled)).toContain(`"serial":"${sanOnly.serial}"`);
      expect(JSON.stringify(enabled)).toContain('"subject":"(empty)"');
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });

  it("a key that does not match a SAN-only certificate exits 1 with one clear line", () => {
    const sanOnly = makeLeaf(dir, ca, "", "server");
    expectOneLine(
      run({ CERTMINT_TLS_CERT_FILE: sanOnly.certFile, CERTMINT_TLS_KEY_FILE: other.keyFile }),
      1,
      "(subject (empty))",
    );
  });

  it("CERTMINT_ALLOW_PLAINTEXT=true starts on 0.0.0.0 and warns", async () => {
    const proc = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir.path,
      CERTMINT_LISTEN: "0.0.0.0:0",
      CERTMINT_ALLOW_PLAINTEXT: "true",
    });
    try {
      const port = proc.address.split(":").at(-1);
      expect(await checkHealth(`127.0.0.1:${port}`)).toBe("SERVING");
      const warning = proc
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.level === 40 && String(l.msg).startsWith("plaintext on a non-loopback"));
      expect(warning).toMatchObject({ host: "0.0.0.0" });
    } finally {
      await proc.stop();
    }
  });

  it("TLS on 0.0.0.0 starts, serves TLS and logs the certificate, never the key", async () => {
    const proc = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir.path,
      CERTMINT_LISTEN: "0.0.0.0:0",
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
    });
    try {
      const port = Number(proc.address.split(":").at(-1));
      expect(await tlsHealthCheck(port, ca.certPem)).toBe("SERVING");
      expect(proc.output()).toContain('"msg":"TLS enabled"');
      expect(proc.output()).toContain(`"serial":"${server.serial}"`);
      expect(proc.output()).not.toContain(keyBody(server));
      expect(proc.output()).not.toContain("plaintext");
    } finally {
      expect(await proc.stop()).toBe(0);
    }
  });
});
