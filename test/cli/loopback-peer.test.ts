/**
 * The data directory's admin token goes, in plaintext, only to a loopback server process of the
 * data directory's owner (or root, or this user): never to another local user who holds the
 * port while certmint is down. Until stop 40 of 2026-12-05 the CLI sent it to whatever listened
 * (an outside probe: a stand-in listener received it, and so did one started on the port of a
 * restarting server, from a `cert watch` reconnecting). The stand-in here runs as nobody and
 * records every authorization header it receives. runuser needs root; CI runs the tests as root.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";
import { ok, runCli } from "./cli";

const isRoot = process.geteuid?.() === 0;

/** A plaintext HTTP/2 listener that answers every gRPC call UNAVAILABLE, printing its headers. */
const STAND_IN = `
const http2 = require("node:http2");
const server = http2.createServer();
server.on("stream", (stream, headers) => {
  console.log("AUTHORIZATION " + JSON.stringify(headers.authorization ?? null));
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "14", "grpc-message": "stand-in" }));
  stream.end();
});
server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));
`;

describe.skipIf(!isRoot)("the local admin token and who listens on the port", () => {
  let h: TestCertmint;
  let base: string;
  let dataDir: string;
  let standIn: ChildProcess | undefined;
  let standInOut = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    base = mkdtempSync(join(tmpdir(), "certmint-loopback-peer-"));
    chmodSync(base, 0o755);
    dataDir = join(base, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, "admin-token"), `${h.adminToken}\n`, { mode: 0o600 });
    const script = join(base, "stand-in.js");
    writeFileSync(script, STAND_IN, { mode: 0o644 });
    // A process group of its own: runuser forks node, and a SIGKILL of runuser alone left the
    // stand-in running as nobody after the test (seen at stop 41: one per run).
    standIn = spawn("runuser", ["-u", "nobody", "--", process.execPath, script], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    standIn.stdout?.on("data", (d) => {
      standInOut += d;
    });
    await waitFor("the stand-in to listen", () => /PORT \d+/.test(standInOut));
  });
  afterAll(async () => {
    if (standIn?.pid !== undefined) {
      try {
        process.kill(-standIn.pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await h?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  const standInPort = () => /PORT (\d+)/.exec(standInOut)![1]!;

  it("sends it to certmint running as the data directory's owner", async () => {
    const r = ok(await runCli(["--server", h.address, "--data-dir", dataDir, "ca", "list"]));
    expect(r.stderr).toBe("");
  });

  it("refuses to send it to another user's process on the port, which receives nothing", async () => {
    const r = await runCli([
      "--server",
      `127.0.0.1:${standInPort()}`,
      "--data-dir",
      dataDir,
      "ca",
      "list",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`not sending the admin token of ${dataDir}`);
    expect(r.stderr).toContain("belongs to uid 65534");
    // The stand-in received no call with a token (it may have received none at all).
    expect(standInOut).not.toContain(h.adminToken);
    expect(standInOut).not.toMatch(/AUTHORIZATION "Bearer/);
  });

  it("an explicit token is the caller's choice and is sent (README: use TLS for those)", async () => {
    const tokenFile = join(base, "token");
    writeFileSync(tokenFile, "certmint_explicit-token-not-a-real-one\n", { mode: 0o600 });
    const r = await runCli([
      "--server",
      `127.0.0.1:${standInPort()}`,
      "--token-file",
      tokenFile,
      "ca",
      "list",
    ]);
    expect(r.code).toBe(1);
    await waitFor("the stand-in to log the call", () =>
      standInOut.includes("certmint_explicit-token-not-a-real-one"),
    );
  });
});
