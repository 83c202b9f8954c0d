import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { bearer } from "../support/harness";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

/**
 * A log collector that stops reading (journald behind a full disk, a container runtime, a
 * `| less` left open) must not stop the CA, nor grow its memory without end. pino's stdout
 * buffer had no bound; it now holds CERTMINT_LOG_BUFFER_BYTES and counts what it drops
 * (src/server/logger.ts). Each call below logs one access line of ~300 bytes: 3,000 calls are
 * ~1 MB, several times what the kernel buffers between the two processes.
 */
const CALLS = 3000;
const ID = "stalled-log-reader";
const LAST_ID = `${ID}-last`;

async function callWhileNobodyReads(server: ServerProcess): Promise<Record<number, number>> {
  // Nothing reads the server's stdout from here on: the socket's buffers fill, then the
  // server's writes to it cannot complete.
  server.child.stdout!.pause();
  const client = new CertificateServiceClient(server.address, credentials.createInsecure(), {
    interceptors: [bearer(server.adminToken())],
  });
  const codes: Record<number, number> = {};
  try {
    for (let i = 0; i < CALLS; i += 50) {
      const batch = Array.from({ length: Math.min(50, CALLS - i) }, (_, j) => {
        const md = new Metadata();
        md.set("x-request-id", i + j === CALLS - 1 ? LAST_ID : `${ID}-${i + j}`);
        return new Promise<number>((resolve) =>
          client.getCertificate(
            { certificate: "01" },
            md,
            // A bound for a stalled server (what this guards against), not a performance figure.
            { deadline: Date.now() + 60_000 },
            (err) => resolve((err as ServiceError | null)?.code ?? status.OK),
          ),
        );
      });
      for (const code of await Promise.all(batch)) codes[code] = (codes[code] ?? 0) + 1;
    }
    // Health too answers while the reader sleeps.
    expect(await checkHealth(server.address)).toBe("SERVING");
  } finally {
    client.close();
  }
  return codes;
}

/** Distinct access lines of this test's calls that reached stdout, in either format. */
const keptLines = (server: ServerProcess) =>
  new Set(server.output().match(new RegExp(`requestId(":"|=)${ID}-[a-z0-9]+`, "g")) ?? []).size;

/** The last dropped-lines warning: its level and total, read from a JSON or a readable line. */
function lastDropWarning(server: ServerProcess): { warn: boolean; droppedLinesTotal: number } {
  const line = server
    .output()
    .split("\n")
    .filter((l) => l.includes("log lines dropped"))
    .at(-1)!;
  if (line.startsWith("{")) {
    const record = JSON.parse(line) as { level: number; droppedLinesTotal: number };
    return { warn: record.level === 40, droppedLinesTotal: record.droppedLinesTotal };
  }
  return {
    warn: / WARN /.test(line),
    droppedLinesTotal: Number(/droppedLinesTotal=(\d+)/.exec(line)?.[1]),
  };
}

describe("a log reader that stops reading, within the log buffer", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({ DATABASE_URL: db.url, CERTMINT_LOG_FORMAT: "json" });
  }, START_LIMIT_MS);
  afterAll(async () => {
    server?.child.stdout?.resume();
    await server?.stop();
    await db?.drop();
  });

  it("leaves calls and health answering, and every line arrives once it reads again", async () => {
    expect(await callWhileNobodyReads(server)).toEqual({ [status.NOT_FOUND]: CALLS });
    server.child.stdout!.resume();
    await waitFor("the last call's access line on stdout", () =>
      server.output().includes(`"requestId":"${LAST_ID}"`),
    );
    // ~1 MB is well within the default 8 MiB: nothing was dropped.
    expect(keptLines(server)).toBe(CALLS);
    expect(server.output()).not.toContain("log lines dropped");
  }, 300_000);
});

describe.each(["json", "pretty"])(
  "a log reader that stops reading, beyond the log buffer (%s lines)",
  (format) => {
    let db: TestDatabase;
    let server: ServerProcess;
    const bufferBytes = 64 * 1024;

    beforeAll(async () => {
      db = await createTestDatabase({ migrated: true });
      server = await startServerProcess({
        DATABASE_URL: db.url,
        CERTMINT_LOG_FORMAT: format,
        CERTMINT_LOG_BUFFER_BYTES: String(bufferBytes),
      });
    }, START_LIMIT_MS);
    afterAll(async () => {
      server?.child.stdout?.resume();
      await server?.stop();
      await db?.drop();
    });

    it("drops the lines beyond the bound, and says how many once it reads again", async () => {
      expect(await callWhileNobodyReads(server)).toEqual({ [status.NOT_FOUND]: CALLS });
      server.child.stdout!.resume();
      // Every call's line is either on stdout or counted by a warning. A warning can get into
      // the buffer while the reader still sleeps (it is shorter than an access line), with the
      // drops so far; the next ones, every 5 s, count the rest.
      await waitFor("warnings that count every line not on stdout", () =>
        server.output().includes("log lines dropped")
          ? keptLines(server) + lastDropWarning(server).droppedLinesTotal >= CALLS
          : false,
      );
      const warning = lastDropWarning(server);
      expect(warning.warn).toBe(true);
      const kept = keptLines(server);
      // Some lines were held (the kernel's buffers and 64 KiB), the rest dropped (the warnings
      // may count a few other lines of the server's too).
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(CALLS);
      expect(warning.droppedLinesTotal).toBeLessThan(CALLS);
      // It keeps answering after the stall.
      expect(await checkHealth(server.address)).toBe("SERVING");
    }, 300_000);
  },
);

describe("a server stopped while its log reader sleeps", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({ DATABASE_URL: db.url, CERTMINT_LOG_FORMAT: "json" });
  }, START_LIMIT_MS);
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill("SIGKILL");
    server?.child.stdout?.resume();
    await server?.stop();
    await db?.drop();
  });

  it("exits, dropping the lines nobody read, instead of waiting for the reader for good", async () => {
    // ~1 MB of lines: the kernel's buffers are full, the rest waits in the server's.
    expect(await callWhileNobodyReads(server)).toEqual({ [status.NOT_FOUND]: CALLS });
    // Before 2026-12-03 pino's exit handler wrote the buffered lines synchronously, and that
    // write blocked as long as nobody read: the stopped server never exited.
    let exitCode: number | null | undefined;
    server.child.once("exit", (code) => {
      exitCode = code;
    });
    server.child.kill("SIGTERM");
    await waitFor("the server to exit with its log reader asleep", () => exitCode !== undefined);
    expect(exitCode).toBe(0);
  }, 300_000);
});
