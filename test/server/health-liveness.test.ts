/**
 * Liveness and readiness (src/server/health.ts). "" and certmint's services are readiness:
 * NOT_SERVING until migrations ran and while PostgreSQL does not answer. "certmint.liveness" is
 * SERVING for as long as the process answers: a liveness probe on "" restarted replicas in the
 * middle of a long migration, or during a database outage, into a crash loop (an outside probe,
 * stop 41 of 2026-12-06). The reporter is served here by a bare grpc-js server, as app.ts serves
 * it, and driven through the states a start, an outage and a recovery set.
 */
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthReporter, LIVENESS_SERVICE } from "../../src/server/health";
import { HealthClient } from "../support/health-client";

describe("liveness beside readiness", () => {
  const reporter = new HealthReporter();
  const server = new Server();
  let client: InstanceType<typeof HealthClient>;

  beforeAll(async () => {
    reporter.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  afterAll(() => {
    client?.close();
    server.forceShutdown();
  });

  const check = (service: string) =>
    new Promise<string>((resolve, reject) =>
      client.check({ service }, {}, (err, res) => (err ? reject(err) : resolve(res.status))),
    );

  it("is SERVING while readiness is NOT_SERVING (starting, migrating, database down)", async () => {
    expect(await check("")).toBe("NOT_SERVING");
    expect(await check("certmint.v1.CertificateService")).toBe("NOT_SERVING");
    expect(await check(LIVENESS_SERVICE)).toBe("SERVING");
    reporter.set("SERVING");
    expect(await check("")).toBe("SERVING");
    expect(await check(LIVENESS_SERVICE)).toBe("SERVING");
    reporter.set("NOT_SERVING");
    expect(await check("")).toBe("NOT_SERVING");
    expect(await check(LIVENESS_SERVICE)).toBe("SERVING");
  });
});
