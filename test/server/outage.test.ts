/**
 * A PostgreSQL outage is reported as an outage (issue 11): calls that need the database answer
 * UNAVAILABLE with a google.rpc.RetryInfo (never INTERNAL), health turns NOT_SERVING, and once
 * the database is back health is SERVING again and the same calls succeed, without a restart.
 * The server reaches PostgreSQL through a proxy the test cuts and restores
 * (test/support/fault-proxy.ts); the shared cluster keeps running.
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssueCertificateResponse } from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, decodeError, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { adminUrl } from "../support/postgres";
import { checkHealth } from "../support/server-process";
import { until } from "../support/wait";

/** The outcome of a call: its response, or the error it failed with. */
async function outcome<T>(p: Promise<T>): Promise<{ ok: T } | { err: ServiceError }> {
  try {
    return { ok: await p };
  } catch (err) {
    return { err: err as ServiceError };
  }
}

/** Seconds of the RetryInfo a failed call carried, if any. */
function retryDelaySeconds(err: ServiceError): number | undefined {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!raw) return undefined;
  const info = Status.decode(raw as Buffer).details.find((d) =>
    d.typeUrl.endsWith("google.rpc.RetryInfo"),
  );
  return info ? Number(RetryInfo.decode(info.value).retryDelay!.seconds) : undefined;
}

describe("PostgreSQL goes away and comes back (probe every 200 ms)", () => {
  let proxy: FaultProxy;
  let h: TestCertmint;

  const issue = (name: string, requestId: string) => {
    const metadata = new Metadata();
    metadata.set("x-request-id", requestId);
    return new Promise<IssueCertificateResponse>((resolve, reject) =>
      h.certificates.issueCertificate(
        // No key algorithm: the profile's default.
        generatedKeyRequest("web", name, {
          requestId,
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_UNSPECIFIED,
        }),
        metadata,
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    );
  };
  const health = () => checkHealth(h.address);

  beforeAll(async () => {
    const pg = new URL(adminUrl());
    proxy = await startFaultProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    h = await startTestCertmint(
      { CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200" },
      { databasePort: proxy.port },
    );
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    proxy?.pass();
    await h?.stop();
    await proxy?.close();
  });

  it("calls answer UNAVAILABLE with RetryInfo and health is NOT_SERVING; after the database returns, SERVING and the calls succeed", async () => {
    await issue("before.example.com", "before-outage");
    expect(await health()).toBe("SERVING");

    proxy.refuse();
    await until("health NOT_SERVING", async () => (await health()) === "NOT_SERVING");

    // A write and a read: both need the database, both say so, neither is INTERNAL.
    const write = await outcome(issue("during.example.com", "during-outage"));
    const read = await outcome(
      call(h.authorities, "getCertificateAuthority", { certificateAuthority: "root" }),
    );
    for (const o of [write, read]) {
      expect("err" in o).toBe(true);
      const err = (o as { err: ServiceError }).err;
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(decodeError(err).reason).toBe("DATABASE_UNAVAILABLE");
      expect(retryDelaySeconds(err)).toBeGreaterThanOrEqual(1);
      // Never the driver's message (it can quote SQL and its values).
      expect(err.details).not.toMatch(/select|insert|ECONN|terminated/i);
    }
    // The log names the cause, without a stack trace or "unhandled error".
    expect(
      h.logs.some((l) => l.msg === "database unavailable" && l.requestId === "during-outage"),
    ).toBe(true);
    expect(h.logs.some((l) => l.msg === "unhandled error in handler")).toBe(false);
    expect(h.logs.some((l) => l.msg === "database unreachable: health NOT_SERVING")).toBe(true);

    proxy.pass();
    await until("health SERVING", async () => (await health()) === "SERVING");
    // The call that met the outage succeeds when retried with its request_id.
    let issued: IssueCertificateResponse | undefined;
    await until("the retried call to succeed", async () => {
      const o = await outcome(issue("during.example.com", "during-outage"));
      if ("ok" in o) issued = o.ok;
      else expect(o.err.code).toBe(status.UNAVAILABLE);
      return "ok" in o;
    });
    expect(issued!.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
    expect(
      await h.db.query("select id from certificate where common_name = 'during.example.com'"),
    ).toHaveLength(1);
    const ca = await call(h.authorities, "getCertificateAuthority", {
      certificateAuthority: "root",
    });
    expect(ca.certificateAuthority?.slug).toBe("root");
  });
});
