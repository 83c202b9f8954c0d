/**
 * grpc.health.v1 at shutdown (src/server/health.ts). Found by an outside probe (2026-12-05): one
 * open Health/Watch held a graceful stop for the whole grace period, and was then cut CANCELLED;
 * and a NOT_FOUND repeated a 200 KB service name into a trailer clients could not read.
 */
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthClient } from "../support/health-client";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { startServerProcess } from "../support/server-process";
import { waitFor } from "../support/wait";

describe("health watches and a stopping server", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("an open Health/Watch is sent NOT_SERVING and ended UNAVAILABLE; it does not hold the stop", async () => {
    // A grace period far longer than the test may take: a stop that waited for it would not
    // end inside the test's time, and the log would say the grace period was over.
    const proc = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_SHUTDOWN_GRACE_MS: "300000",
    });
    const client = new HealthClient(proc.address, credentials.createInsecure());
    try {
      const seen: string[] = [];
      let ended: ServiceError | undefined;
      const watch = client.watch({ service: "" });
      watch.on("data", (m) => seen.push(m.status));
      watch.on("error", (err: ServiceError) => {
        ended = err;
      });
      await waitFor("the first status", () => seen.includes("SERVING"));

      expect(await proc.stop()).toBe(0);
      await waitFor("the watch to end", () => ended !== undefined);
      expect(seen.at(-1)).toBe("NOT_SERVING");
      expect(ended!.code).toBe(status.UNAVAILABLE);
      expect(proc.output()).not.toContain("grace period over");
    } finally {
      client.close();
    }
  });

  it("a NOT_FOUND for an unknown service repeats at most 128 characters of its name; a name over 512 is INVALID_ARGUMENT", async () => {
    // A database of its own: the first test's server sealed CA keys with its data dir's KEK.
    const own = await createTestDatabase({ migrated: true });
    const proc = await startServerProcess({ DATABASE_URL: own.url });
    const client = new HealthClient(proc.address, credentials.createInsecure());
    const check = (service: string) =>
      new Promise<ServiceError>((resolve, reject) =>
        client.check({ service }, {}, (e) =>
          e ? resolve(e) : reject(new Error("expected an error")),
        ),
      );
    try {
      const err = await check("x".repeat(500));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.details.length).toBeLessThan(300);
      expect(err.details).toContain("health status unknown for service");
      // No service has a name that long (HEALTH_SERVICE_NAME_MAX, since stop 51 of 2026-12-07).
      const long = await check("x".repeat(200_000));
      expect(long.code).toBe(status.INVALID_ARGUMENT);
      expect(long.details.length).toBeLessThan(300);
    } finally {
      client.close();
      await proc.stop();
      await own.drop();
    }
  });
});
