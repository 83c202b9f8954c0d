/**
 * Several processes on one database, through the CLI: two replicas (same DATABASE_URL and KEK)
 * and a supervisor with CERTMINT_PROCESSES=2 (README "Lost answers, replays and replicas",
 * "Several processes per machine").
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliSession, cliSession, ok, runCli } from "../../cli/cli";
import { opensslOk, TempDir } from "../../support/openssl";
import { adminUrl, createTestDatabase, type TestDatabase } from "../../support/postgres";
import { isAlive, type ServerProcess, startServerProcess } from "../../support/server-process";
import { waitFor } from "./live";

/** The port a server process publishes CRLs and OCSP on (CERTMINT_PUBLICATION_LISTEN, port 0). */
function publicationPort(server: ServerProcess): number {
  const m = /"port":(\d+)[^\n]*"msg":"publishing CRLs/.exec(server.output());
  if (!m) throw new Error(`no publication port in the log:\n${server.output()}`);
  return Number(m[1]);
}

describe("probe49 CLI: two replicas on one database", () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let onA: CliSession;
  let onB: CliSession;
  const tmp = new TempDir();

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    const env = {
      DATABASE_URL: db.url,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_SHUTDOWN_GRACE_MS: "2000",
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
      // An hour: only the propagation of a revocation can turn B's cached `good` over.
      CERTMINT_OCSP_CACHE_SECONDS: "3600",
    };
    a = await startServerProcess(env);
    b = await startServerProcess(env);
    // B writes no admin token (A made the first); both sessions use A's.
    onA = cliSession(a.address, a.dataDir);
    onB = cliSession(b.address, a.dataDir);
    ok(await onA.run(["ca", "create-root", "rep-root", "--cn", "Replica Root"]));
    ok(
      await onA.run([
        ...["profile", "create", "web", "--ca", "rep-root", "--preset", "tls-server"],
        ...["--allow-dns", "**.example.com"],
      ]),
    );
  });
  afterAll(async () => {
    onA?.remove();
    onB?.remove();
    tmp.remove();
    await b?.stop();
    await a?.stop();
    await db?.drop();
  });

  it("a token revoked through A is refused by B", async () => {
    const made = await onA.json<{ accessToken: { id: string } }>([
      ...["token", "create", "rep-reader", "--role", "auditor", "--secret-out", "rep-reader.token"],
    ]);
    const tokenFile = join(onA.dir, "rep-reader.token");
    const asReader = (address: string) =>
      runCli(["--server", address, "--token-file", tokenFile, "ca", "list"], { cwd: onA.dir });
    ok(await asReader(b.address));
    ok(await onA.run(["token", "revoke", made.accessToken.id]));
    const refused = await waitFor("B to refuse the revoked token", async () => {
      const r = await asReader(b.address);
      return r.code === 0 ? undefined : r;
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^certmint: UNAUTHENTICATED: /);
  });

  it("a --request-id replayed on the other replica returns the same certificate and key", async () => {
    const issue = (cli: CliSession, prefix: string) =>
      cli.run([
        ...["cert", "issue", "--profile", "web", "--dns", "replay.example.com"],
        ...["--request-id", "probe49-replay-1", "--cert-out", `${prefix}.crt`],
        ...["--key-out", `${prefix}.key`, "--chain-out", `${prefix}.chain.pem`],
      ]);
    ok(await issue(onA, "first"));
    ok(await issue(onB, "second"));
    const serial = (dir: string, name: string) =>
      new X509Certificate(readFileSync(join(dir, name))).serialNumber;
    expect(serial(onB.dir, "second.crt")).toBe(serial(onA.dir, "first.crt"));
    expect(readFileSync(join(onB.dir, "second.key"), "utf8")).toBe(
      readFileSync(join(onA.dir, "first.key"), "utf8"),
    );
  });

  it("a revocation through A turns B's cached OCSP `good` into `revoked` (README: within a second)", async () => {
    ok(await onA.run(["cert", "issue", "--profile", "web", "--dns", "ocsp.example.com"]));
    const leaf = join(onA.dir, "ocsp.example.com.crt");
    const issuer = join(onA.dir, "rep-root.pem");
    writeFileSync(issuer, ok(await onA.run(["ca", "get", "rep-root", "-o", "pem"])).stdout);
    const url = `http://127.0.0.1:${publicationPort(b)}/ocsp`;
    const ocspOnB = () =>
      opensslOk(["ocsp", "-issuer", issuer, "-cert", leaf, "-url", url, "-no_nonce", "-noverify"]);
    expect(ocspOnB()).toMatch(/: good/);
    ok(await onA.run(["cert", "revoke", new X509Certificate(readFileSync(leaf)).serialNumber]));
    const answer = await waitFor(
      "B's OCSP to say revoked",
      () => (/: revoked/.test(ocspOnB()) ? true : undefined),
      30_000,
    );
    expect(answer).toBe(true);
  });

  it("a certificate revoked through A is on B's CRL", async () => {
    ok(await onA.run(["cert", "issue", "--profile", "web", "--dns", "gone.example.com"]));
    const cert = new X509Certificate(readFileSync(join(onA.dir, "gone.example.com.crt")));
    ok(await onA.run(["cert", "revoke", cert.serialNumber, "--reason", "superseded"]));
    const crl = ok(await onB.run(["ca", "crl", "rep-root", "-o", "pem"])).stdout;
    const text = opensslOk(["crl", "-noout", "-text"], crl);
    expect(text.replace(/[^0-9A-F\n]/gi, "").toUpperCase()).toContain(
      cert.serialNumber.replace(/^0+/, "").toUpperCase(),
    );
  });
});

describe("probe49: CERTMINT_PROCESSES=2 whose database is dropped, then SIGTERM", () => {
  it("the supervisor and both workers exit, and close (what the harness's stop() waits for) comes after every worker is gone", async () => {
    const db = await createTestDatabase({ migrated: true });
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_PROCESSES: "2",
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_SHUTDOWN_GRACE_MS: "2000",
    });
    try {
      const pids = await waitFor("two workers", () => {
        const m = /"pids":\[(\d+),(\d+)\],"msg":"all worker processes serving"/.exec(
          server.output(),
        );
        return m ? [Number(m[1]), Number(m[2])] : undefined;
      });
      expect(pids.every(isAlive)).toBe(true);

      // A token revoked through one worker is refused by both (each CLI run is a new
      // connection, and the supervisor hands connections to the workers in turn).
      const cli = cliSession(server.address, server.dataDir);
      try {
        const made = await cli.json<{ accessToken: { id: string } }>([
          ...["token", "create", "w-reader", "--role", "auditor", "--secret-out", "w.token"],
        ]);
        const asReader = () =>
          runCli(["--server", server.address, "--token-file", "w.token", "ca", "list"], {
            cwd: cli.dir,
          });
        for (let i = 0; i < 4; i++) ok(await asReader());
        ok(await cli.run(["token", "revoke", made.accessToken.id]));
        await waitFor("the revoked token to be refused", async () =>
          (await asReader()).code === 1 ? true : undefined,
        );
        for (let i = 0; i < 4; i++) {
          const r = await asReader();
          expect(r.code, r.stderr).toBe(1);
          expect(r.stderr).toMatch(/^certmint: UNAUTHENTICATED: /);
        }
      } finally {
        cli.remove();
      }
      // drop(): ends the test's own connection, then DROP DATABASE ... WITH (FORCE).
      await db.drop();
      const admin = new Client({ connectionString: adminUrl() });
      await admin.connect();
      try {
        await waitFor("the database to be gone", async () => {
          const left = await admin.query("select 1 from pg_database where datname = $1", [db.name]);
          return left.rowCount === 0 ? true : undefined;
        });
      } finally {
        await admin.end();
      }
      // A state the workers reach once they noticed (the pool's next use): the log says so.
      await waitFor("a worker to notice the dropped database", () =>
        /does not exist|database unavailable|NOT_SERVING/.test(server.output()) ? true : undefined,
      );
      const code = await server.stop("SIGTERM");
      expect(code).toBe(0);
      // stop() resolved on "close": stdout/stderr, which the workers share, are closed.
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    }
  });
});
