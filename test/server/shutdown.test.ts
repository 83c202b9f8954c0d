import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { bearer } from "../support/harness";
import { HealthClient } from "../support/health-client";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { waitFor } from "../support/wait";

describe("in-process server: request ids, error details and graceful shutdown", () => {
  let db: TestDatabase;
  let running: Awaited<ReturnType<typeof startCertmint>>;
  const logs: Array<Record<string, unknown>> = [];
  let adminToken = "";

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    const config = loadConfig({
      CERTMINT_LISTEN: "127.0.0.1:0",
      DATABASE_URL: db.url,
      // A data dir of its own: the first admin token is written there, not into the repo.
      CERTMINT_DATA_DIR: mkdtempSync(join(tmpdir(), "certmint-shutdown-")),
      CERTMINT_SHUTDOWN_GRACE_MS: "1500",
    });
    const logger = pino(
      { level: "info" },
      { write: (line: string) => logs.push(JSON.parse(line)) },
    );
    running = await startCertmint(config, logger);
    adminToken = readFileSync(config.adminTokenFile, "utf8").trim();
  });
  afterAll(async () => {
    await running?.shutdown();
    await db?.drop();
  });

  it("echoes a caller's x-request-id in the response and logs the call with it", async () => {
    const client = new CertificateServiceClient(
      `127.0.0.1:${running.port}`,
      credentials.createInsecure(),
      { interceptors: [bearer(adminToken)] },
    );
    const md = new Metadata();
    md.set("x-request-id", "test-req-42");
    const { err, header } = await new Promise<{ err: ServiceError; header?: Metadata }>(
      (resolve) => {
        let header: Metadata | undefined;
        const call = client.getCertificate({ certificate: "x" }, md, (err) =>
          resolve({ err: err as ServiceError, header }),
        );
        call.on("metadata", (m) => {
          header = m;
        });
      },
    );
    client.close();
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe("certificate must be a certificate id (UUID) or a hex serial number");
    // Trailers-only error response: the request id travels in the trailers.
    expect(header?.get("x-request-id") ?? err.metadata.get("x-request-id")).toEqual([
      "test-req-42",
    ]);
    const line = logs.find((l) => l.requestId === "test-req-42");
    expect(line).toMatchObject({
      msg: "call",
      method: "/certmint.v1.CertificateService/GetCertificate",
      code: "INVALID_ARGUMENT",
      // The token that made the call, by slug: never the token itself.
      actor: expect.stringMatching(/^bootstrap-admin-[0-9a-f]{8}$/),
    });
  });

  // Until 2026-12-05 an open Health/Watch held the stop until the grace period forced it, and
  // was then cut CANCELLED (an outside probe): it now ends UNAVAILABLE once NOT_SERVING is sent.
  it("reports NOT_SERVING to watchers when shutdown starts, then ends their watch UNAVAILABLE", async () => {
    const client = new HealthClient(`127.0.0.1:${running.port}`, credentials.createInsecure());
    // biome-ignore lint/suspicious/noExplicitAny: dynamic client
    const watch = (client as any).watch({ service: "" });
    const seen: string[] = [];
    let ended: number | undefined;
    const done = new Promise<void>((resolve) => {
      watch.on("data", (m: { status: string }) => {
        seen.push(m.status);
        if (m.status === "SERVING" && seen.length === 1) {
          void running.shutdown().then(() => resolve());
        }
      });
      watch.on("error", (err: { code: number }) => {
        ended = err.code;
      });
    });
    await done;
    await waitFor("the watch to end", () => ended !== undefined);
    client.close();
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    expect(ended).toBe(status.UNAVAILABLE);
    // The watch did not hold the stop: no call was left for the grace period to end.
    expect(
      logs.some((l) => l.msg === "grace period over: calls still in flight answered UNAVAILABLE"),
    ).toBe(false);
    expect(logs.at(-1)).toMatchObject({ msg: "stopped" });
  });
});
