/**
 * What the CLI says when it cannot reach certmint (an outside probe of stop 43 of 2026-12-06,
 * F7): grpc-js ends a failed connection's message with "Resolution note: " and an empty note,
 * which was printed as is; and a host name that does not resolve got the hint for a server that
 * may not run ("is it running (make run)? ... --ca-file"). The hint for a server that answered
 * "starting or stopping" is in test/server/start-up-states.test.ts (it needs a server held in
 * start-up).
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { runCli } from "./cli";

/** A port nothing listens on: one the kernel just handed out and was given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("connection failures", () => {
  it("nothing listening: the message without an empty resolution note, and the 'is it running' hint", async () => {
    const server = `127.0.0.1:${await closedPort()}`;
    const r = await runCli(["--server", server, "ca", "list"], {
      env: { CERTMINT_TOKEN: "unused" },
    });
    expect(r.code).toBe(1);
    const [first] = r.stderr.split("\n");
    expect(first).toMatch(/^certmint: UNAVAILABLE: No connection established\..*ECONNREFUSED/);
    expect(first).not.toContain("Resolution note");
    expect(r.stderr).toContain(`hint: could not talk to certmint at ${server} over plaintext`);
  });

  it("a host name that does not resolve: a hint that says so", async () => {
    // .invalid never resolves (RFC 2606).
    const server = "no-such-host.invalid:50999";
    const r = await runCli(["--server", server, "--insecure", "ca", "list"], {
      env: { CERTMINT_TOKEN: "unused" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: UNAVAILABLE: Name resolution failed/);
    expect(r.stderr).toContain(`hint: the host name of ${server} does not resolve`);
    expect(r.stderr).not.toContain("is it running");
    expect(r.stderr).not.toMatch(/Resolution note: *\n/);
  });
});
