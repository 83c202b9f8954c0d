/**
 * Commits that hang while the database answers are an outage (left alone since stop 36, done at
 * stop 42 of 2026-12-06): with `synchronous_standby_names` naming a standby that is not
 * connected, every COMMIT waits in `SyncRep` for a confirmation that never comes, while reads
 * and the health probe's `select` succeed. Health said SERVING throughout. Now the probe counts
 * certmint's sessions waiting that long for a standby (or for the WAL disk) and says
 * NOT_SERVING, naming the cause in the log; once the standby condition is gone the waiting
 * write completes (its certificate is stored and returned) and health is SERVING again.
 *
 * synchronous_standby_names is a setting of the whole PostgreSQL server, so this test runs its
 * own scratch instance (bench/common/postgres.ts) and never touches the shared test cluster.
 */

import { X509Certificate } from "node:crypto";
import type { Client, ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresInstance, startPostgres } from "../../bench/common/postgres";
import { CreateRootCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificateProfile } from "../../gen/ts/certmint/v1/certificate_profile_service";
import type { IssueCertificateResponse } from "../../gen/ts/certmint/v1/certificate_service";
import { createTlsServerPolicy } from "../support/fixtures";
import { type CertmintClients, call, makeClients } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import {
  checkHealth,
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { until } from "../support/wait";

describe("commits waiting for a synchronous standby that is gone", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  let pg: PostgresInstance;
  let server: ServerProcess;
  let c: CertmintClients;

  /** Names a standby nobody runs (or none), as an operator's ALTER SYSTEM would. */
  const requireStandby = async (on: boolean) => {
    await pg.query(
      on
        ? "alter system set synchronous_standby_names = 'standby_that_is_gone'"
        : "alter system reset synchronous_standby_names",
    );
    await pg.query("select pg_reload_conf()");
  };

  beforeAll(async () => {
    pg = await startPostgres({});
    await pg.query("create database certmint_stall");
    server = await startServerProcess({
      DATABASE_URL: pg.url("certmint_stall"),
      CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200",
    });
    c = makeClients(server.address, server.adminToken());
    await call(
      c.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "root",
        subject: { commonName: "Stall Root" },
      }),
    );
    await createTlsServerPolicy(c, "web-policy", 30 * 86_400);
    await call(c.profiles, "createCertificateProfile", {
      certificateProfile: CertificateProfile.fromPartial({
        slug: "web",
        certificatePolicy: "web-policy",
        issuer: { $case: "certificateAuthority", value: "root" },
      }),
    });
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    for (const client of Object.values(c ?? {})) (client as Client).close();
    if (pg) await requireStandby(false).catch(() => undefined);
    await server?.stop();
    pg?.stop();
  });

  it("health is NOT_SERVING while a commit waits, naming the standby; the write completes after", async () => {
    expect(await checkHealth(server.address)).toBe("SERVING");
    await requireStandby(true);

    // A write whose COMMIT now waits; its deadline is far beyond this test's waits.
    let settled: IssueCertificateResponse | ServiceError | undefined;
    const pending = call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("web", "stalled.example.com", { requestId: "stalled-1" }),
    ).then(
      (res) => {
        settled = res;
      },
      (err: ServiceError) => {
        settled = err;
      },
    );
    await until(
      "the commit to wait in SyncRep",
      async () =>
        (
          await pg.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where datname = 'certmint_stall' and wait_event = 'SyncRep'",
          )
        )[0]!.n > 0,
    );
    await until(
      "health NOT_SERVING",
      async () => (await checkHealth(server.address)) === "NOT_SERVING",
    );
    // Still waiting: the write neither failed nor completed while health said NOT_SERVING.
    expect(settled).toBeUndefined();
    // The line reaches the log file a moment after health changed (the server's stdout is
    // written off its event loop): waited for, not read at once (it failed under a busy CI run).
    const standbyWarning = () =>
      logLines(server).find(
        (l) =>
          l.msg === "database unreachable: health NOT_SERVING" &&
          String(l.cause).includes("synchronous standby"),
      );
    await until("the warning logged", async () => standbyWarning() !== undefined);
    expect(standbyWarning()?.cause).toMatch(/^1 commit\(s\) waiting for a synchronous standby/);

    await requireStandby(false);
    await pending;
    const issued = settled as IssueCertificateResponse;
    expect((settled as ServiceError).code).toBeUndefined();
    const cert = new X509Certificate(issued.certificate!.certificatePem);
    expect(cert.subjectAltName).toBe("DNS:stalled.example.com");
    await until("health SERVING", async () => (await checkHealth(server.address)) === "SERVING");
    const rows = await pg.query<{ serial: string }>(
      "select serial_number as serial from certificate where common_name = 'stalled.example.com'",
      "certmint_stall",
    );
    expect(rows).toHaveLength(1);
  });
});
