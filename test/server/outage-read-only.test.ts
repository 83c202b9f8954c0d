/**
 * A read-only database is an outage (an outside probe, 2026-12-05): after a failover leaves
 * certmint on a hot standby, or an operator sets default_transaction_read_only for maintenance,
 * every write met SQLSTATE 25006 and was answered INTERNAL, with a stack trace per call in the
 * log, while health said SERVING (`select 1` succeeds on a standby). Writes now answer
 * UNAVAILABLE with RetryInfo and the condition in words, health turns NOT_SERVING, and both
 * recover by themselves once the database takes writes again.
 */
import { type ServiceError, status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, decodeError, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { adminUrl } from "../support/postgres";
import { checkHealth } from "../support/server-process";
import { until } from "../support/wait";

describe("the database turns read-only and back (probe every 200 ms)", () => {
  let h: TestCertmint;
  let admin: Client;

  /** Sets the test database's default, and ends its sessions so every new one takes it. */
  const readOnly = async (on: boolean) => {
    const db = h.db.name;
    await admin.query(
      on
        ? `alter database "${db}" set default_transaction_read_only = on`
        : `alter database "${db}" reset default_transaction_read_only`,
    );
    // Not the test's own session on that database (h.db), which asserts on rows.
    const [own] = await h.db.query<{ pid: number }>("select pg_backend_pid() as pid");
    await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> $2",
      [db, own!.pid],
    );
  };
  const issue = (name: string, requestId: string) =>
    call(
      h.certificates,
      "issueCertificate",
      generatedKeyRequest("web", name, {
        requestId,
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_UNSPECIFIED,
      }),
    );

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200" });
    admin = new Client({ connectionString: adminUrl() });
    await admin.connect();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    if (admin && h) await readOnly(false).catch(() => undefined);
    await admin?.end();
    await h?.stop();
  });

  it("writes answer UNAVAILABLE naming the condition, health is NOT_SERVING; both recover", async () => {
    await issue("before.example.com", "before-read-only");
    await readOnly(true);
    await until("health NOT_SERVING", async () => (await checkHealth(h.address)) === "NOT_SERVING");

    let refused: ServiceError | undefined;
    await until("a write refused as read-only", async () => {
      try {
        await issue("during.example.com", "during-read-only");
        return false;
      } catch (err) {
        refused = err as ServiceError;
        // Sessions ended by the test answer as an outage too, until the pool reconnects.
        return decodeError(refused).message.includes("read-only");
      }
    });
    expect(refused!.code).toBe(status.UNAVAILABLE);
    const decoded = decodeError(refused!);
    expect(decoded.reason).toBe("DATABASE_UNAVAILABLE");
    expect(decoded.message).toContain("the database is read-only");
    expect(h.logs.some((l) => l.msg === "unhandled error in handler")).toBe(false);
    expect(h.logs.some((l) => l.level === 50 && String(l.msg).includes("internal"))).toBe(false);

    await readOnly(false);
    await until("health SERVING", async () => (await checkHealth(h.address)) === "SERVING");
    await until("the retried write to succeed", async () => {
      try {
        await issue("during.example.com", "during-read-only");
        return true;
      } catch (err) {
        expect((err as ServiceError).code).toBe(status.UNAVAILABLE);
        return false;
      }
    });
    expect(
      await h.db.query("select id from certificate where common_name = 'during.example.com'"),
    ).toHaveLength(1);
  });
});
