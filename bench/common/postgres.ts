/**
 * A PostgreSQL instance of its own for one benchmark run: `initdb` into a temporary directory,
 * started on a free port on 127.0.0.1 under `taskset` (so its postmaster and every backend run
 * on the server's core), durable (fsync, synchronous_commit and full_page_writes on: each
 * commit waits for its WAL flush), and removed afterwards. Its CPU is the postmaster's process
 * tree, so other clusters on the machine (the shared test cluster) do not count.
 *
 * The binaries come from BENCH_PG_BIN (default /usr/lib/postgresql/15/bin, the Debian package).
 * PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { childrenOf, treeCpuSeconds } from "./proc";

const BIN = process.env.BENCH_PG_BIN ?? "/usr/lib/postgresql/15/bin";
export const PG_USER = "certmint";
const PG_PASSWORD = "certmint";

export interface PostgresInstance {
  port: number;
  /** postgresql:// URL of `database` on this instance, as the superuser certmint. */
  url(database: string): string;
  /** Runs one statement on `database` (default postgres) on a short-lived connection. */
  query<T = Record<string, unknown>>(sql: string, database?: string): Promise<T[]>;
  postmasterPid: number;
  /** CPU seconds of the postmaster and every backend, reaped ones included. */
  cpuSeconds(): number;
  /** Moves the postmaster and every backend to `cpus` ("0", "0,1"); new backends follow. */
  setAffinity(cpus: string): void;
  /** Fast shutdown, then the directory is removed. Safe to call twice. */
  stop(): void;
}

/** A TCP port nobody listens on now (the instance binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
}

function run(cmd: string, args: string[], cpu?: number): void {
  const [c, a] = asPostgresUser(cmd, args);
  const [bin, argv] = cpu === undefined ? [c, a] : ["taskset", ["-c", String(cpu), c, ...a]];
  const r = spawnSync(bin, argv, { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`${[bin, ...argv].join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
}

/**
 * Starts the instance (pinned to `cpu`, if given). `settings` go into postgresql.conf after the defaults
 * here (e.g. max_wal_size for a bulk load).
 */
export async function startPostgres(opts: {
  /** Pin it to this core (default: no pinning, as a test's scratch instance). */
  cpu?: number;
  settings?: Record<string, string>;
}): Promise<PostgresInstance> {
  if (!existsSync(join(BIN, "initdb"))) {
    throw new Error(`no PostgreSQL binaries in ${BIN}: install postgresql-15 or set BENCH_PG_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), "certmint-bench-pg-"));
  const data = join(dir, "data");
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, `${PG_PASSWORD}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(data, "postmaster.pid"))) {
      try {
        run(join(BIN, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
      } catch (err) {
        console.error(String(err));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  try {
    run(join(BIN, "initdb"), [
      "-D",
      data,
      "-U",
      PG_USER,
      `--pwfile=${pwfile}`,
      "--auth=scram-sha-256",
      "-E",
      "UTF8",
      "--no-sync", // a scratch cluster: its creation need not survive a power cut
    ]);
    const port = await freePort();
    const conf: Record<string, string> = {
      listen_addresses: "'127.0.0.1'",
      port: String(port),
      unix_socket_directories: `'${dir}'`,
      // Durable commits, as in production (these are PostgreSQL's defaults, written out).
      fsync: "on",
      synchronous_commit: "on",
      full_page_writes: "on",
      max_connections: "300",
      ...opts.settings,
    };
    writeFileSync(
      join(data, "postgresql.conf"),
      `${readFileSync(join(data, "postgresql.conf"), "utf8")}\n# certmint bench\n${Object.entries(
        conf,
      )
        .map(([k, v]) => `${k} = ${v}`)
        .join("\n")}\n`,
    );
    run(
      join(BIN, "pg_ctl"),
      ["-D", data, "-l", join(dir, "postgres.log"), "-w", "-t", "60", "start"],
      opts.cpu,
    );
    const postmasterPid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    const url = (database: string) =>
      `postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${port}/${database}`;
    return {
      port,
      url,
      postmasterPid,
      async query<T>(sql: string, database = "postgres") {
        const c = new Client({ connectionString: url(database) });
        await c.connect();
        try {
          return (await c.query(sql)).rows as T[];
        } finally {
          await c.end();
        }
      },
      cpuSeconds: () => treeCpuSeconds(postmasterPid),
      setAffinity(cpus: string) {
        for (const pid of [postmasterPid, ...childrenOf(postmasterPid)]) {
          spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
        }
      },
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}
