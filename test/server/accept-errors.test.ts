/**
 * A failed accept (EMFILE once libuv's spare descriptor is gone, ENFILE, ENOMEM) reaches a
 * listening server as an "error" event; with no listener that event is an uncaught exception and
 * the process ends. grpc-js drops its own listener once bound, and the HTTP ports' start-up
 * listener only caught the first one (src/server/connection-limits.ts, surviveAcceptErrors).
 */
import { Server as NetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { unusedPort } from "../support/ports";

const acceptFailure = () =>
  Object.assign(new Error("accept EMFILE"), { code: "EMFILE", syscall: "accept" });

/** Every server of this process listening on a port now (the test's own certmint ports). */
function listeningServers(): NetServer[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is NetServer => h instanceof NetServer && h.listening);
}

describe("a failed accept on a listening port", () => {
  let h: TestCertmint;
  let publicationPort: number;

  beforeAll(async () => {
    publicationPort = await unusedPort();
    h = await startTestCertmint({ CERTMINT_PUBLICATION_LISTEN: `127.0.0.1:${publicationPort}` });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("is logged once a minute at most, and every port goes on serving", async () => {
    const servers = listeningServers();
    const ports = servers.map((s) => (s.address() as { port: number }).port);
    // The gRPC port (an http2 server) and the publication port, at least.
    expect(ports).toEqual(expect.arrayContaining([h.running.port, publicationPort]));
    for (const server of servers) {
      // Without a listener of certmint's, this throws: the uncaught exception that ends the process.
      expect(() => server.emit("error", acceptFailure())).not.toThrow();
      expect(() => server.emit("error", acceptFailure())).not.toThrow();
    }
    const warnings = h.logs.filter(
      (l) => l.msg === "could not accept a connection: the port goes on serving",
    );
    // One per port, not one per failure.
    expect(warnings.length).toBe(servers.length);
    expect(warnings[0]).toMatchObject({ cause: "EMFILE", level: 40 });
    expect(String(warnings[0]!.condition)).toMatch(/file-descriptor limit/);

    await call(h.authorities, "listCertificateAuthorities", {
      pageSize: 1,
      pageToken: "",
      status: 0,
    });
    const res = await fetch(`http://127.0.0.1:${publicationPort}/ca/unknown.crt`);
    expect(res.status).toBe(404);
  });
});
