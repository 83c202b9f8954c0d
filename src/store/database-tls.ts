import type { ConnectionOptions } from "node:tls";
import { parse } from "pg-connection-string";

/**
 * The TLS settings of a DATABASE_URL, as node-postgres reads them (pg-connection-string): its
 * `sslmode` (`disable`: plaintext; `prefer`, `require`, `verify-ca`, `verify-full`: TLS with the
 * server's certificate verified against Node's trust store, or `sslrootcert`, and its name;
 * `no-verify`: TLS without verification) and `sslrootcert`, `sslcert`, `sslkey`. false or
 * undefined: plaintext.
 *
 * Every connection to PostgreSQL gets them. Until stop 41 of 2026-12-06 only the LISTEN
 * connections did (they are given the URL itself): the pool, which runs every statement, was
 * given MikroORM's reading of the URL, which keeps host, port, user, password and database, so
 * with `?sslmode=verify-full` every statement went in plaintext to an unverified server (an
 * outside probe).
 */
export function databaseTls(databaseUrl: string): boolean | ConnectionOptions | undefined {
  // The same reading as node-postgres's own for a connection string (the LISTEN connections).
  const ssl = parse(databaseUrl).ssl;
  return typeof ssl === "string" ? {} : (ssl as boolean | ConnectionOptions | undefined);
}

/** Whether the pool's connections use TLS (pg_stat_ssl of one of them); logged at start-up. */
export async function poolUsesTls(orm: {
  em: { getConnection(): { execute(sql: string): Promise<unknown> } };
}): Promise<boolean> {
  const rows = (await orm.em
    .getConnection()
    .execute("select ssl from pg_stat_ssl where pid = pg_backend_pid()")) as Array<{
    ssl: boolean;
  }>;
  return rows[0]?.ssl === true;
}
