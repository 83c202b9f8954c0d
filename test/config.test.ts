import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config";
import { ROOT, START_TIMEOUT_MS, serverCommand } from "./support/server-process";

describe("loadConfig", () => {
  it("defaults to 127.0.0.1:50051, the embedded database and ./data", () => {
    const c = loadConfig({}, "/srv/certmint");
    expect(c.listen).toEqual({ host: "127.0.0.1", port: 50051 });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe("/srv/certmint/data");
    expect(c.logLevel).toBe("info");
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("accepts IPv6 listen addresses and a PostgreSQL URL", () => {
    const c = loadConfig({
      CERTMINT_LISTEN: "[::1]:6000",
      DATABASE_URL: "postgresql://u:p@db:5432/certmint",
    });
    expect(c.listen).toEqual({ host: "::1", port: 6000 });
    expect(c.databaseUrl).toBe("postgresql://u:p@db:5432/certmint");
  });

  it.each([
    [{ CERTMINT_LISTEN: "127.0.0.1:70000" }, "CERTMINT_LISTEN port must be 0-65535 (got 70000)"],
    [
      { CERTMINT_LISTEN: "localhost" },
      'CERTMINT_LISTEN must be host:port, e.g. 127.0.0.1:50051 (got "localhost")',
    ],
    [{ DATABASE_URL: "not a url" }, "DATABASE_URL is not a valid URL"],
    [{ DATABASE_URL: "mysql://u:p@h/db" }, "DATABASE_URL must start with postgresql://"],
    [{ DATABASE_URL: "postgresql://u:p@h" }, "DATABASE_URL must name a host and a database"],
    [{ CERTMINT_LOG_LEVEL: "loud" }, "CERTMINT_LOG_LEVEL must be one of"],
    [
      { CERTMINT_SHUTDOWN_GRACE_MS: "-5" },
      "CERTMINT_SHUTDOWN_GRACE_MS must be an integer from 0 to 600000",
    ],
    [
      { CERTMINT_RATE_LIMIT_PER_SECOND: "fast" },
      "CERTMINT_RATE_LIMIT_PER_SECOND must be an integer",
    ],
    [{ CERTMINT_RATE_LIMIT_BURST: "0" }, "CERTMINT_RATE_LIMIT_BURST must be an integer from 1"],
    [
      { CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: "-1" },
      "CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND must be an integer from 0 to 1000000",
    ],
    [
      { CERTMINT_AUTH_FAILURE_LIMIT_BURST: "0" },
      "CERTMINT_AUTH_FAILURE_LIMIT_BURST must be an integer from 1",
    ],
    [
      { CERTMINT_MAX_MESSAGE_BYTES: "100" },
      "CERTMINT_MAX_MESSAGE_BYTES must be an integer from 65536",
    ],
    [
      { CERTMINT_PUBLICATION_LISTEN: "8080" },
      'CERTMINT_PUBLICATION_LISTEN must be host:port, e.g. 127.0.0.1:50051 (got "8080")',
    ],
    [{ CERTMINT_CRL_CACHE_SECONDS: "-1" }, "CERTMINT_CRL_CACHE_SECONDS must be an integer from 0"],
    [
      {
        CERTMINT_ACME_LISTEN: "127.0.0.1:8443",
        CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "-1",
      },
      'CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR must be an integer from 0 to 1000000 (got "-1")',
    ],
  ])("refuses %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    [{}, 10],
    [{ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "3" }, 3],
    [{ CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: "0" }, 0],
  ])("ACME new accounts per address per hour with %o: %d", (env, perHour) => {
    const acme = loadConfig({ CERTMINT_ACME_LISTEN: "127.0.0.1:8443", ...env }).acme!;
    expect(acme.newAccountsPerAddressPerHour).toBe(perHour);
  });

  it("security and publication defaults: 1000 calls/s per token (burst 2000), 10 failed authentications/s per address (burst 100), 4 MiB messages, no HTTP publication, admin token in the data dir", () => {
    const c = loadConfig({}, "/srv/certmint");
    expect(c.rateLimit).toEqual({ perSecond: 1000, burst: 2000 });
    expect(c.authFailureLimit).toEqual({ perSecond: 10, burst: 100 });
    expect(c.maxMessageBytes).toBe(4 * 1024 * 1024);
    expect(c.publicationListen).toBeUndefined();
    expect(c.crlCacheSeconds).toBe(60);
    expect(c.adminTokenFile).toBe("/srv/certmint/data/admin-token");
    const off = loadConfig({
      CERTMINT_RATE_LIMIT_PER_SECOND: "0",
      CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: "0",
      CERTMINT_PUBLICATION_LISTEN: "0.0.0.0:8080",
    });
    expect(off.rateLimit.perSecond).toBe(0);
    expect(off.authFailureLimit).toEqual({ perSecond: 0, burst: 100 });
    expect(
      loadConfig({
        CERTMINT_AUTH_FAILURE_LIMIT_PER_SECOND: "2",
        CERTMINT_AUTH_FAILURE_LIMIT_BURST: "7",
      }).authFailureLimit,
    ).toEqual({ perSecond: 2, burst: 7 });
    expect(off.publicationListen).toEqual({ host: "0.0.0.0", port: 8080 });
  });

  it("connection limits, key generation and the database probe: defaults and settings", () => {
    const c = loadConfig({});
    expect(c.connections).toEqual({
      handshakeTimeoutMs: 10_000,
      idleTimeoutMs: 300_000,
      maxAgeMs: 1_800_000,
      maxAgeGraceMs: 30_000,
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 20_000,
      maxConnections: 1000,
      maxConcurrentStreams: 250,
      maxOpenCalls: 10_000,
      unreadAnswerBytesPerConnection: 32 * 1024 * 1024,
      unreadAnswerBytesPerToken: 64 * 1024 * 1024,
      unreadAnswerBytes: 256 * 1024 * 1024,
      callsInProgress: 64,
      callsQueuedPerToken: 1000,
      listRowsPerTokenPerSecond: 2000,
      listRowsBurstPerToken: 10_000,
    });
    expect(c.keyGeneration).toEqual({
      workers: Math.max(1, availableParallelism() - 1),
      queuePerToken: 8,
    });
    expect(c.databaseProbeIntervalMs).toBe(1000);
    const set = loadConfig({
      CERTMINT_HANDSHAKE_TIMEOUT_MS: "2000",
      CERTMINT_CONNECTION_IDLE_TIMEOUT_MS: "60000",
      CERTMINT_CONNECTION_MAX_AGE_MS: "600000",
      CERTMINT_CONNECTION_MAX_AGE_GRACE_MS: "0",
      CERTMINT_KEEPALIVE_TIME_MS: "30000",
      CERTMINT_KEEPALIVE_TIMEOUT_MS: "5000",
      CERTMINT_MAX_CONNECTIONS: "50",
      CERTMINT_MAX_CONNECTIONS_PER_ADDRESS: "40",
      CERTMINT_MAX_CONCURRENT_STREAMS: "16",
      CERTMINT_MAX_OPEN_CALLS: "400",
      CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION: "1048576",
      CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN: "2097152",
      CERTMINT_UNREAD_ANSWER_BYTES: "8388608",
      CERTMINT_CALLS_IN_PROGRESS: "16",
      CERTMINT_CALLS_QUEUED_PER_TOKEN: "50",
      CERTMINT_KEY_GENERATION_WORKERS: "3",
      CERTMINT_KEY_GENERATION_QUEUE_PER_TOKEN: "2",
      CERTMINT_DATABASE_PROBE_INTERVAL_MS: "250",
    });
    expect(set.connections).toEqual({
      handshakeTimeoutMs: 2000,
      idleTimeoutMs: 60_000,
      maxAgeMs: 600_000,
      maxAgeGraceMs: 0,
      keepaliveTimeMs: 30_000,
      keepaliveTimeoutMs: 5000,
      maxConnections: 50,
      maxConnectionsPerAddress: 40,
      maxConcurrentStreams: 16,
      maxOpenCalls: 400,
      unreadAnswerBytesPerConnection: 1_048_576,
      unreadAnswerBytesPerToken: 2_097_152,
      unreadAnswerBytes: 8_388_608,
      callsInProgress: 16,
      callsQueuedPerToken: 50,
      listRowsPerTokenPerSecond: 2000,
      listRowsBurstPerToken: 10_000,
    });
    expect(set.keyGeneration).toEqual({ workers: 3, queuePerToken: 2 });
    expect(set.databaseProbeIntervalMs).toBe(250);
    expect(c.csrWorkers).toBe(0);
    expect(c.logBufferBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({ CERTMINT_LOG_BUFFER_BYTES: "65536" }).logBufferBytes).toBe(65_536);
    expect(loadConfig({ CERTMINT_CSR_WORKERS: "0" }).csrWorkers).toBe(0);
    expect(loadConfig({ CERTMINT_CSR_WORKERS: "3" }).csrWorkers).toBe(3);
    expect(() => loadConfig({ CERTMINT_CSR_WORKERS: "-1" })).toThrow(/CERTMINT_CSR_WORKERS/);
    expect(Object.isFrozen(set.connections)).toBe(true);
  });

  it.each([
    ["CERTMINT_HANDSHAKE_TIMEOUT_MS", "0", "from 50 to 600000"],
    ["CERTMINT_CONNECTION_IDLE_TIMEOUT_MS", "soon", "from 50 to 86400000"],
    ["CERTMINT_CONNECTION_MAX_AGE_MS", "10", "from 50 to 86400000"],
    ["CERTMINT_CONNECTION_MAX_AGE_GRACE_MS", "-1", "from 0 to 3600000"],
    ["CERTMINT_KEEPALIVE_TIME_MS", "1.5", "from 50 to 86400000"],
    ["CERTMINT_KEEPALIVE_TIMEOUT_MS", "0", "from 50 to 3600000"],
    ["CERTMINT_MAX_CONNECTIONS", "0", "from 1 to 1000000"],
    ["CERTMINT_MAX_CONNECTIONS_PER_ADDRESS", "0", "from 1 to 1000000"],
    ["CERTMINT_MAX_CONCURRENT_STREAMS", "0", "from 1 to 1000000"],
    ["CERTMINT_MAX_OPEN_CALLS", "3", "from 4 to 10000000"],
    ["CERTMINT_UNREAD_ANSWER_BYTES_PER_CONNECTION", "65535", "from 65536 to 68719476736"],
    ["CERTMINT_CALLS_IN_PROGRESS", "0", "from 1 to 100000"],
    ["CERTMINT_CALLS_QUEUED_PER_TOKEN", "0", "from 1 to 1000000"],
    ["CERTMINT_UNREAD_ANSWER_BYTES_PER_TOKEN", "68719476737", "from 65536 to 68719476736"],
    ["CERTMINT_UNREAD_ANSWER_BYTES", "1e9", "from 65536 to 68719476736"],
    ["CERTMINT_KEY_GENERATION_WORKERS", "0", "from 1 to 256"],
    ["CERTMINT_KEY_GENERATION_QUEUE_PER_TOKEN", "0", "from 1 to 10000"],
    ["CERTMINT_DATABASE_PROBE_INTERVAL_MS", "10", "from 50 to 60000"],
    ["CERTMINT_RENEWAL_TICK_MS", "0", "from 10 to 600000"],
    ["CERTMINT_RENEWAL_PER_SECOND", "0", "from 1 to 100000"],
    ["CERTMINT_RENEWAL_LEASE_SECONDS", "0", "from 1 to 86400"],
    ["CERTMINT_RENEWAL_KEY_HOLD_SECONDS", "5", "from 60 to 2592000"],
    ["CERTMINT_WATCH_KEEPALIVE_MS", "1", "from 100 to 3600000"],
    ["CERTMINT_WATCH_RETENTION_SECONDS", "1", "from 60 to 31536000"],
    ["CERTMINT_LOG_BUFFER_BYTES", "4096", "from 16384 to 1073741824"],
    ["CERTMINT_LIST_QUERY_TIMEOUT_MS", "-1", "from 0 to 600000"],
    ["CERTMINT_LIST_QUERY_TIMEOUT_MS", "600001", "from 0 to 600000"],
    ["CERTMINT_LIST_QUERIES_PER_TOKEN", "-1", "from 0 to 1000"],
    ["CERTMINT_LIST_QUERIES_PER_TOKEN", "1001", "from 0 to 1000"],
  ])("refuses %s=%s", (name, value, range) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      `${name} must be an integer ${range} (got "${value}")`,
    );
  });

  it.each([
    [{}, 3000],
    [{ CERTMINT_LIST_QUERY_TIMEOUT_MS: "250" }, 250],
    [{ CERTMINT_LIST_QUERY_TIMEOUT_MS: "0" }, 0],
  ])("the list query timeout with %o: %i ms (0: off)", (env, ms) => {
    expect(loadConfig(env).listQueryTimeoutMs).toBe(ms);
  });

  it.each([
    [{}, 2],
    [{ CERTMINT_LIST_QUERIES_PER_TOKEN: "1" }, 1],
    [{ CERTMINT_LIST_QUERIES_PER_TOKEN: "0" }, 0],
  ])("list queries per token with %o: %i (0: no cap)", (env, n) => {
    expect(loadConfig(env).listQueriesPerToken).toBe(n);
  });

  it.each([
    [{}, 1000],
    [{ CERTMINT_PENDING_APPROVALS_PER_TOKEN: "5" }, 5],
    [{ CERTMINT_PENDING_APPROVALS_PER_TOKEN: "0" }, 0],
  ])("requests waiting for approval per token with %o: %i (0: no cap)", (env, n) => {
    expect(loadConfig(env).pendingApprovalsPerToken).toBe(n);
  });

  it("refuses a watch cap of 0 and a negative approvals cap", () => {
    expect(() => loadConfig({ CERTMINT_WATCH_STREAMS_PER_TOKEN: "0" })).toThrow(
      /CERTMINT_WATCH_STREAMS_PER_TOKEN/,
    );
    expect(() => loadConfig({ CERTMINT_PENDING_APPROVALS_PER_TOKEN: "-1" })).toThrow(
      /CERTMINT_PENDING_APPROVALS_PER_TOKEN/,
    );
  });

  it("server-driven renewal and watches: defaults, settings, and a retry ceiling below the first retry refused", () => {
    const defaults = loadConfig({});
    expect(defaults.renewal).toEqual({
      enabled: true,
      tickMs: 1000,
      perSecond: 20,
      leaseSeconds: 300,
      retrySeconds: 60,
      retryMaxSeconds: 3600,
      keyHoldSeconds: 86_400,
    });
    expect(defaults.watch).toEqual({
      keepaliveMs: 30_000,
      pollMs: 250,
      retentionSeconds: 604_800,
      streamsPerToken: 100,
      keysPerTokenPerSecond: 50,
      keysBurstPerToken: 500,
    });
    expect(loadConfig({ DATABASE_URL: "postgresql://h:5432/db" }).watch.pollMs).toBe(1000);
    expect(loadConfig({ CERTMINT_RENEWAL_ENABLED: "false" }).renewal.enabled).toBe(false);
    expect(() =>
      loadConfig({
        CERTMINT_RENEWAL_RETRY_SECONDS: "600",
        CERTMINT_RENEWAL_RETRY_MAX_SECONDS: "60",
      }),
    ).toThrow("CERTMINT_RENEWAL_RETRY_MAX_SECONDS must be at least CERTMINT_RENEWAL_RETRY_SECONDS");
    expect(() => loadConfig({ CERTMINT_RENEWAL_ENABLED: "yes" })).toThrow(
      'CERTMINT_RENEWAL_ENABLED must be true or false (got "yes")',
    );
  });

  it("reports every problem at once", () => {
    expect(() => loadConfig({ CERTMINT_LISTEN: "x", DATABASE_URL: "nope" })).toThrow(
      /CERTMINT_LISTEN .*; DATABASE_URL /,
    );
  });

  it("never echoes a malformed DATABASE_URL (it may hold a password)", () => {
    expect(() => loadConfig({ DATABASE_URL: "postgresql://u:s3cret@" })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: "postgresql://u:s3cret@" });
    } catch (e) {
      expect((e as Error).message).not.toContain("s3cret");
    }
  });
});

describe("bad configuration at start-up", () => {
  const run = (env: Record<string, string>) =>
    spawnSync(serverCommand().command, serverCommand().args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
      timeout: START_TIMEOUT_MS,
    });

  it.each([
    [{ DATABASE_URL: "postgres//broken" }, "DATABASE_URL is not a valid URL"],
    [{ CERTMINT_LISTEN: "127.0.0.1:99999" }, "CERTMINT_LISTEN port must be 0-65535 (got 99999)"],
    // Both failed at the first connection, exit 1, until an outside probe (stop 52).
    [
      { DATABASE_URL: "postgresql://u:S3cret%ZZ@127.0.0.1:1/db" },
      "DATABASE_URL's password is not percent-encoded correctly: write a literal % as %25",
    ],
    [
      { DATABASE_URL: "postgresql://u@127.0.0.1:1/db?password=S3cret" },
      "DATABASE_URL carries the password as a query parameter",
    ],
  ])("%o exits 2 with one clear line and no stack trace", (env, message) => {
    const res = run(env);
    expect(res.status).toBe(2);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr).toContain(`certmint: invalid configuration: ${message}`);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.stderr).not.toContain("S3cret");
    expect(res.stdout).toBe("");
  });

  it("an unreachable database exits 1 with one line naming the failure, not the password", () => {
    const res = run({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: "postgresql://certmint:hunter2@127.0.0.1:1/certmint",
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^certmint: start-up failed: .*ECONNREFUSED.*\n$/);
    // Where it looked, and what to check (the driver's words named no database: a probe, 2026-12-05).
    expect(res.stderr).toContain('cannot reach PostgreSQL at 127.0.0.1:1 (database "certmint")');
    expect(res.stderr).toContain("check that it runs and accepts connections from here");
    expect(res.stderr + res.stdout).not.toContain("hunter2");
  });
});
