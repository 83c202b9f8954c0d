/**
 * grpc.health.v1 Watch sends a status when it changes, per watched service (health.proto: "a
 * new message whenever the service's serving status changes"). Until stop 47 of 2026-12-06
 * every readiness change was written to every Watch: at shutdown a watch of certmint.liveness,
 * which stays SERVING, got SERVING, SERVING, then UNAVAILABLE (an outside probe, R, LOW-6).
 */
import { credentials, Server, ServerCredentials, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthReporter, LIVENESS_SERVICE } from "../../src/server/health";
import { HealthClient } from "../support/health-client";
import { unusedPort } from "../support/ports";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { startServerProcess } from "../support/server-process";
import { waitFor } from "../support/wait";

/** Watches of `services`: what each was sent, and how each ended. */
function watchAll(client: InstanceType<typeof HealthClient>, services: string[]) {
  return services.map((service) => {
    const w = { service, seen: [] as string[], ended: undefined as ServiceError | undefined };
    const stream = client.watch({ service });
    stream.on("data", (m) => w.seen.push(m.status));
    stream.on("error", (err: ServiceError) => {
      w.ended = err;
    });
    return w;
  });
}

const CERTIFICATES = "certmint.v1.CertificateService";

describe("HealthReporter: a Watch hears of changes only", () => {
  it("sends each watched service's status once per change, however often set() repeats it", async () => {
    const reporter = new HealthReporter();
    const server = new Server();
    reporter.addToServer(server);
    const port = await unusedPort();
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    const client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const [all, live, certs, unknown] = watchAll(client, [
        "",
        LIVENESS_SERVICE,
        CERTIFICATES,
        "nope",
      ]);
      await waitFor("every watch's first status", () =>
        [all, live, certs, unknown].every((w) => w!.seen.length === 1),
      );
      reporter.set("SERVING");
      reporter.set("SERVING"); // a repeat: no message
      await waitFor("SERVING on the readiness watches", () => all!.seen.includes("SERVING"));
      reporter.set("NOT_SERVING");
      reporter.set("NOT_SERVING");
      reporter.endWatches();
      await waitFor("every watch to end", () =>
        [all, live, certs, unknown].every((w) => w!.ended !== undefined),
      );
      expect(all!.seen).toEqual(["NOT_SERVING", "SERVING", "NOT_SERVING"]);
      expect(certs!.seen).toEqual(["NOT_SERVING", "SERVING", "NOT_SERVING"]);
      expect(live!.seen).toEqual(["SERVING"]);
      expect(unknown!.seen).toEqual(["SERVICE_UNKNOWN"]);
      for (const w of [all, live, certs, unknown])
        expect(w!.ended!.code, w!.service).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe("a stopping server's Health/Watch", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("liveness: SERVING once, then UNAVAILABLE; readiness: SERVING, NOT_SERVING, UNAVAILABLE", async () => {
    const proc = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: "300",
    });
    const client = new HealthClient(proc.address, credentials.createInsecure());
    try {
      const watches = watchAll(client, ["", LIVENESS_SERVICE]);
      await waitFor("SERVING on both", () => watches.every((w) => w.seen.includes("SERVING")));
      expect(await proc.stop()).toBe(0);
      await waitFor("both watches to end", () => watches.every((w) => w.ended !== undefined));
      const [all, live] = watches;
      expect(all!.seen).toEqual(["SERVING", "NOT_SERVING"]);
      expect(live!.seen).toEqual(["SERVING"]);
      expect(all!.ended!.code).toBe(status.UNAVAILABLE);
      expect(live!.ended!.code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});
