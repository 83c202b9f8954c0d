/**
 * Cloudflare cfssl (built by `make bench-tools`) as its certdb README sets it up: a PostgreSQL
 * database migrated with the goose migrations of its repository (certdb/pg/migrations, read
 * from the Go module cache the build filled: the certificates table and its metadata
 * columns), `cfssl serve -db-config` with {"driver": "postgres", "data_source": ...}, the
 * bench's P-256 intermediate as -ca/-ca-key, and a default signing profile for client
 * certificates. Clients call `POST /api/v1/cfssl/sign {"certificate_request"}`, over plain HTTP
 * or, with -tls-cert/-tls-key, TLS. cfssl checks no credential and no policy on this endpoint.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { freePort, type PostgresInstance } from "../common/postgres";
import { toolPath, toolVersion } from "../common/tools";
import type { Pki } from "./pki";

export interface Cfssl {
  pid: number;
  signUrl: string;
  stop(): Promise<void>;
}

/** The Up section of each goose migration of cfssl's PostgreSQL certdb, in order. */
function migrations(): string[] {
  const modcache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const dir = join(
    modcache,
    `github.com/cloudflare/cfssl@${toolVersion("cfssl")}`,
    "certdb/pg/migrations",
  );
  if (!existsSync(dir)) throw new Error(`${dir} is missing: run \`make bench-tools\``);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => {
      const sql = readFileSync(join(dir, f), "utf8");
      const up = sql.indexOf("-- +goose Up");
      const down = sql.indexOf("-- +goose Down");
      if (up < 0 || down < up) throw new Error(`${f}: no goose Up section`);
      return sql.slice(up, down);
    });
}

/** Creates and migrates `database` on the instance. */
export async function createCfsslDatabase(pg: PostgresInstance, database: string): Promise<void> {
  await pg.query(`create database "${database}"`);
  for (const up of migrations()) await pg.query(up, database);
}

function healthy(url: string, ca: Buffer | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (ca ? httpsGet(url, { ca }) : httpGet(url)).on("response", (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
  });
}

export async function startCfssl(opts: {
  dir: string;
  pki: Pki;
  pg: PostgresInstance;
  database: string;
  tls: boolean;
  cpu?: number;
}): Promise<Cfssl> {
  const port = await freePort();
  const config = join(opts.dir, "cfssl-config.json");
  writeFileSync(
    config,
    JSON.stringify({
      signing: { default: { usages: ["digital signature", "client auth"], expiry: "24h" } },
    }),
  );
  const dbConfig = join(opts.dir, "cfssl-db.json");
  writeFileSync(
    dbConfig,
    JSON.stringify({
      driver: "postgres",
      data_source: `${opts.pg.url(opts.database)}?sslmode=disable`,
    }),
  );
  const args = [
    "serve",
    "-address=127.0.0.1",
    `-port=${port}`,
    `-ca=${opts.pki.intermediateCert}`,
    `-ca-key=${opts.pki.intermediateKey}`,
    `-config=${config}`,
    `-db-config=${dbConfig}`,
    ...(opts.tls ? [`-tls-cert=${opts.pki.serverCert}`, `-tls-key=${opts.pki.serverKey}`] : []),
  ];
  const logFile = join(opts.dir, `cfssl-${opts.database}.log`);
  const fd = openSync(logFile, "w");
  const cfssl = toolPath("cfssl");
  const [cmd, argv] =
    opts.cpu === undefined ? [cfssl, args] : ["taskset", ["-c", String(opts.cpu), cfssl, ...args]];
  const child = spawn(cmd, argv, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  process.once("exit", () => child.kill("SIGKILL"));
  const base = `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const ca = opts.tls ? readFileSync(opts.pki.rootCert) : undefined;
  const deadline = Date.now() + 60_000;
  while (!(await healthy(`${base}/api/v1/cfssl/health`, ca))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`cfssl did not start:\n${readFileSync(logFile, "utf8")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    signUrl: `${base}/api/v1/cfssl/sign`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
