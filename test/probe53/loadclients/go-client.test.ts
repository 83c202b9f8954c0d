/**
 * LOADCLIENTS probe (stop 53): a Go service (grpc-go, its usual options) against the compiled
 * server over TLS at a realistic volume: 1,500 reads one after another on one ClientConn, 1,500
 * more 64 at once, gzip requests, deadlines of 1 s to 40 days, 90 watches cancelled together,
 * 21 s idle with a 10 s keepalive (PermitWithoutStream), and a watch that resumes with its
 * cursor while the server recycles connections every 3 s. No call may fail, no connection may be
 * closed by a limit against attackers (stop 52's idle-PING limit closed this very client after
 * ~100 calls, grpc-go's BDP pings, until it was fixed). And a busy Go service whose reads time
 * out while the database stalls.
 */
import { spawn } from "node:child_process";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGo, liveLoadSuite, removeBuild, runJson, volumeAndRollover } from "./live-load";

let program = "";
beforeAll(() => {
  program = buildGo();
}, 240_000);
afterAll(() => removeBuild(program));

// The Go program also counts grpc-go's own error lines about a GOAWAY (too_many_pings).
volumeAndRollover("grpc-go", "ldgo", async (mode, env) => {
  const out = runJson(program, [mode], env);
  expect(out.goaway_log_lines).toEqual([]);
  return out;
});

describe("grpc-go while the database stalls: a busy service's reads run into their deadlines", () => {
  const server = liveLoadSuite("ldgostall");

  // 200 reads at once, each with a 200 ms deadline, 10 rounds: grpc-go cancels each at its
  // deadline (RST_STREAM CANCEL), some 1,000 a second. They are a client's timeouts, not an
  // attack: each must end DEADLINE_EXCEEDED. Node's HTTP/2 layer (nghttp2) ends a session past
  // 1,000 cancels at over 33 a second whatever they are, so the connection cannot be kept; since
  // stop 53 certmint tells it to go first (GOAWAY naming its last call), its calls in flight
  // finish, and grpc-go sends the next ones on a new connection.
  it("2,000 reads that time out while a lock holds the certificate table: all DEADLINE_EXCEEDED, none UNAVAILABLE, and the warning names timeouts as a cause", async () => {
    const s = server();
    const child = spawn(program, ["timeouts"], {
      env: { ...process.env, ...s.env(), LOAD_WORKERS: "200", LOAD_CALLS_EACH: "10" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        if (stderr.includes("connected")) resolve();
      });
      child.on("close", () => reject(new Error(`the program ended first: ${stderr}`)));
    });
    const db = new Client({ connectionString: s.live.db.url });
    await db.connect();
    try {
      await db.query("begin");
      await db.query("lock table certificate in access exclusive mode");
      expect(await exited).toBe(0);
    } finally {
      await db.query("rollback");
      await db.end();
    }
    const out = JSON.parse(stdout) as Record<string, unknown>;
    // Until stop 53: ~160 ended UNAVAILABLE "received prior goaway: code: ENHANCE_YOUR_CALM":
    // certmint's rapid-reset limit (900 resets, 33 a second) destroyed the session with its calls
    // in flight and logged "HTTP/2 rapid reset", and the interceptor of a call on the destroyed
    // session logged the error "this @grpc/grpc-js exposes no HTTP/2 stream to interceptors".
    expect(out.codes).toEqual({ DEADLINE_EXCEEDED: 2000 });
    expect(out.connections).toBeGreaterThanOrEqual(1);
    for (const warning of s.limitWarnings()) {
      expect(warning).toMatch(/or a client whose calls time out or are cancelled en masse/);
    }
    expect(s.errorLines()).toEqual([]);
  }, 120_000);
});
