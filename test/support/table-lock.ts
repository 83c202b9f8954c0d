/**
 * A statement that cannot finish, made deterministically for the tests of bounded reads
 * (store/bounded-read.ts): another session holds a table's ACCESS EXCLUSIVE lock (a lock wait
 * counts toward statement_timeout), and the test reads the app's waiting statements from
 * pg_stat_activity instead of waiting for a duration.
 */
import type { ServiceError } from "@grpc/grpc-js";
import { Client } from "pg";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import type { TestCertmint } from "./harness";

/** Another session that takes and releases `table`'s ACCESS EXCLUSIVE lock. */
export async function tableLockHolder(h: TestCertmint, table: string) {
  const session = new Client({ connectionString: h.db.url });
  await session.connect();
  return {
    async lock() {
      await session.query("begin");
      await session.query(`lock table ${table} in access exclusive mode`);
    },
    release: () => session.query("rollback"),
    /** statement_timeout of a fresh session: the server's default. */
    defaultTimeout: async () =>
      (await session.query<{ statement_timeout: string }>("show statement_timeout")).rows[0]!
        .statement_timeout,
    end: () => session.end(),
  };
}

/** The app's statements reading `table` that wait for a lock (pg_stat_activity). */
export function lockWaiters(
  h: TestCertmint,
  table: string,
): Promise<Array<{ pid: number; query: string }>> {
  return h.db.query<{ pid: number; query: string }>(
    `select pid, query from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid()
        and wait_event_type = 'Lock' and query like $1`,
    [`%from "${table}"%`],
  );
}

/** Whether a session of the test database waits on a lock for a statement like `pattern` (ILIKE). */
export async function waitsOnLock(h: TestCertmint, pattern: string): Promise<boolean> {
  const [w] = await h.db.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`,
    [pattern],
  );
  return Number(w!.n) > 0;
}

/** One value read on the app's only pooled connection (the tests' pools have one). */
export async function onAppConnection(h: TestCertmint, sql: string): Promise<string> {
  const [row] = await h.running.database.orm.em
    .fork()
    .getConnection()
    .execute<Array<{ v: string }>>(sql);
  return String(row!.v);
}

/** ErrorInfo.metadata of a failed call. */
export function errorInfoMetadata(err: unknown): Record<string, string> {
  const raw = (err as ServiceError).metadata.get("grpc-status-details-bin")[0] as Buffer;
  const info = Status.decode(raw).details.find((d) => d.typeUrl.endsWith("ErrorInfo"));
  return ErrorInfo.decode(info!.value).metadata;
}
