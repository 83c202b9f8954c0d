/**
 * A --server (or $CERTMINT_SERVER) that can never be dialled is a usage error: one line, exit 2,
 * before any connection; until stop 40 of 2026-12-05 (an outside probe) `--server
 * 127.0.0.1:99999` was "UNAVAILABLE ... is it running?", exit 1. Addresses that can work still
 * reach the listener they name.
 */
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli";

describe("certmint --server: addresses that can never work", () => {
  let listener: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    // Accepts and hangs up: a call to it fails, but its arrival shows the CLI dialled.
    listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it.each([
    ["127.0.0.1:99999", "the port must be a number from 1 to 65535"],
    ["127.0.0.1:0", "the port must be a number from 1 to 65535"],
    ["127.0.0.1:", "the port must be a number from 1 to 65535"],
    ["localhost:http", "the port must be a number from 1 to 65535"],
    ["http://127.0.0.1:50051", "a URL or a path, not an address"],
    ["999.0.0.1", "not an IP address or host name"],
    ["my host:50051", "not an IP address or host name"],
    ["[not-v6]:50051", "not an IP address or host name"],
    ["", "not an IP address or host name"],
  ])("--server %j: exit 2, one line", async (address, why) => {
    const before = connections;
    const r = await runCli(["--server", address, "ca", "list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `certmint: --server "${address}": ${why}; give HOST:PORT, [IPv6]:PORT or a host alone (port 50051)\n`,
    );
    expect(r.stdout).toBe("");
    expect(connections).toBe(before);
  });

  it("$CERTMINT_SERVER is named when it is the one that cannot work", async () => {
    const r = await runCli(["ca", "list"], { env: { CERTMINT_SERVER: "127.0.0.1:70000" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^certmint: \$CERTMINT_SERVER "127\.0\.0\.1:70000": the port must/);
    expect(r.stderr.split("\n")).toHaveLength(2);
  });

  it("an address that can work is dialled: UNAVAILABLE from the listener, exit 1", async () => {
    for (const address of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const before = connections;
      const r = await runCli(["--server", address, "ca", "list"]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^certmint: UNAVAILABLE: /);
      expect(connections).toBeGreaterThan(before);
    }
  });
});
