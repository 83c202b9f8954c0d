/**
 * Requests that never arrive whole (src/server/request-bytes.ts). grpc-js keeps a call's request
 * frames until the message is complete and only then runs the handler, which authenticates; a
 * client without any credential that declares messages of CERTMINT_MAX_MESSAGE_BYTES and sends
 * all but their last byte on 250 streams made the server hold 1 GiB per connection (2.3 GB of
 * RSS for two connections) until the 2026-12-04 fault review. The compiled server, as `make run`
 * starts it; its memory is read from /proc.
 */
import { readFileSync } from "node:fs";
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  checkHealth,
  logLines,
  type ServerProcess,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

const MIB = 1024 * 1024;
const MAX_MESSAGE = 4 * MIB;
const ISSUE = "/certmint.v1.CertificateService/IssueCertificate";

/** The server's resident memory now (VmRSS). */
function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

/** A raw HTTP/2 connection from its own loopback address (the per-address cap is not in play). */
function session(port: number, n: number): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`, {
    createConnection: () => netConnect({ host: "127.0.0.1", port, localAddress: `127.0.9.${n}` }),
  });
  s.on("error", () => undefined);
  return s;
}

/**
 * A call with a made-up token (checked once its message arrives) whose request declares
 * `MAX_MESSAGE` bytes and sends all but the last: grpc-js keeps its frames, waiting for the
 * rest. Settles when the server reset it, or when all of it was handed to the connection. (A
 * call with no credential at all is refused as its headers arrive past a few per address:
 * open-calls.ts, since stop 59.)
 */
function unfinishedRequest(s: ClientHttp2Session): {
  stream: ClientHttp2Stream;
  settled: Promise<void>;
} {
  const stream = s.request({
    ":method": "POST",
    ":path": ISSUE,
    "content-type": "application/grpc",
    te: "trailers",
    authorization: `Bearer certmint_${"A".repeat(43)}`,
  });
  stream.on("error", () => undefined);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(MAX_MESSAGE, 1);
  stream.write(prefix);
  const settled = new Promise<void>((resolve) => {
    stream.write(Buffer.alloc(MAX_MESSAGE - 1, 0x41), () => resolve());
    stream.once("close", () => resolve());
  });
  return { stream, settled };
}

describe("requests that never arrive whole", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let port: number;
  const sessions: ClientHttp2Session[] = [];

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_RENEWAL_ENABLED: "false",
    });
    port = Number(server.address.split(":").at(-1));
  });
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await server?.stop();
    await db?.drop();
  });

  it("one connection holds at most two requests of the largest size; the rest are reset", async () => {
    const pid = server.child.pid!;
    const before = rssBytes(pid);
    const s = session(port, 1);
    sessions.push(s);
    // 250 streams (CERTMINT_MAX_CONCURRENT_STREAMS) of 4 MiB less a byte: 1 GiB.
    const calls = Array.from({ length: 250 }, () => unfinishedRequest(s));
    const reset = () =>
      calls.filter((c) => c.stream.rstCode === constants.NGHTTP2_ENHANCE_YOUR_CALM).length;
    // Two requests of 4 MiB fit the connection's 8 MiB; every other one is reset.
    await waitFor(
      "the server to reset the requests past the connection's bytes",
      () => reset() >= 248,
    );
    await Promise.all(calls.map((c) => c.settled));
    expect(reset()).toBeGreaterThanOrEqual(248);
    // The connection's 8 MiB, and the process's 64 MiB at most, not the gigabyte sent.
    expect(rssBytes(pid) - before).toBeLessThan(256 * MIB);
    expect(await checkHealth(server.address)).toBe("SERVING");
    const warnings = logLines(server).filter((l) =>
      String(l.msg).startsWith("requests arriving on the gRPC port hold too many bytes"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ limit: "connection", perConnection: 8 * MIB });
    s.destroy();
  });

  it("connections together hold at most the process's 64 MiB; small requests still pass", async () => {
    const pid = server.child.pid!;
    const before = rssBytes(pid);
    // 32 connections with one request of 4 MiB each: 128 MiB, twice the process's budget.
    const conns = Array.from({ length: 32 }, (_, i) => session(port, 10 + i));
    sessions.push(...conns);
    const calls = conns.map((c) => unfinishedRequest(c));
    const reset = () =>
      calls.filter((c) => c.stream.rstCode === constants.NGHTTP2_ENHANCE_YOUR_CALM).length;
    // At most 16 of them (64 MiB) are held; the others are reset as they pass the budget.
    await waitFor("the server to reset the requests past its budget", () => reset() >= 16);
    await Promise.all(calls.map((c) => c.settled));
    expect(reset()).toBeGreaterThanOrEqual(16);
    expect(rssBytes(pid) - before).toBeLessThan(256 * MIB);
    // A small request on a connection of its own passes the full budget (health answers).
    expect(await checkHealth(server.address)).toBe("SERVING");
    for (const c of conns) c.destroy();
  });
});
