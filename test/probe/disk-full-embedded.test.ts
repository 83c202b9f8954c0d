/**
 * A full disk under the embedded database (`make run`: no DATABASE_URL, PGlite in
 * CERTMINT_DATA_DIR), probed from outside on the compiled server: the data directory on a small
 * tmpfs, issuance under load, the disk filled to its last block, then freed.
 *
 * What must hold: while full, every issuance is answered at once UNAVAILABLE
 * (DATABASE_UNAVAILABLE, sqlstate 53100) saying the database's disk is full (it used to say only
 * "short of a resource", and the log only "cause 53100"), never INTERNAL or a hang; reads go on
 * (health stays SERVING: taking the only instance out of a load balancer would stop CRLs, OCSP
 * and lookups too, and nothing a restart could fix); the log says it once per 10 s, in words;
 * once space is freed issuance resumes without a restart; every request_id sent resolves on
 * replay to the certificate its call got; no request is left PENDING, no certificate lacks its
 * request; the server starts again on the same data directory; and a start while the disk is
 * full fails in one line saying so (it used to say only PGlite's "Aborted(). Build with
 * -sASSERTIONS for more info."), the data intact for the start once space is freed.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDatabase } from "../support/postgres";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";
import {
  asDeployment,
  fillButOnePage,
  fillDiskUnderLoad,
  mountSmallDisk,
  runToExit,
  type SmallDisk,
  setUpIssuance,
} from "./disk-full-support";
import { type Ledger, replayAll, unresolved } from "./outage-support";

// PGlite's first database takes some 40 MB (a 16 MB WAL segment among it): room for it and a
// little more, filled before the test issues.
const disk = mountSmallDisk("cm-full-embedded", "96m");
const skip = typeof disk === "string" ? disk : undefined;

describe.skipIf(skip !== undefined)(
  `an embedded server whose data disk fills ${skip ?? ""}`,
  {
    timeout: 4 * START_LIMIT_MS,
  },
  () => {
    const small = disk as SmallDisk;
    const dataDir = join(small?.dir ?? "/nonexistent", "data");
    const env = {
      DATABASE_URL: "",
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_LOG_LEVEL: "info",
      CERTMINT_DATABASE_PROBE_INTERVAL_MS: "200",
      CERTMINT_RENEWAL_ENABLED: "false",
    };
    let server: ServerProcess | undefined;
    let token: string;
    let profile: string;
    let ledger: Ledger;
    /** The request_ids answered with a certificate, and its id. */
    const okIds = () =>
      [...ledger.outcomes].flatMap(([id, o]) =>
        "ok" in o ? [[id, o.ok.certificate!.certificateId] as const] : [],
      );

    beforeAll(async () => {
      server = await startServerProcess(env);
      token = server.adminToken();
      profile = await setUpIssuance(server.address, token);
    }, START_LIMIT_MS + 60_000);
    afterAll(async () => {
      try {
        await server?.stop("SIGKILL");
      } finally {
        small?.remove();
      }
    });

    it("answers UNAVAILABLE naming the full disk while full, keeps reads, and resumes once space is freed", async () => {
      ledger = await fillDiskUnderLoad(
        server!,
        asDeployment(server!, token, profile),
        small,
        "disk",
      );
    });

    it("resolves every request_id sent to the certificate its call got, on replay", async () => {
      const d = asDeployment(server!, token, profile);
      const ended = await replayAll(d, ledger.sent);
      for (const [id, certificateId] of okIds()) {
        expect(ended.get(id), id).toBe(certificateId);
      }
    });

    it("starts again on the same data directory, its requests all ISSUED and none half-written", async () => {
      expect(await server!.stop()).toBe(0);
      server = await startServerProcess(env);
      const d = asDeployment(server, token, profile);
      const sample = okIds().slice(0, 10);
      const ended = await replayAll(
        d,
        sample.map(([id]) => id),
      );
      for (const [id, certificateId] of sample) expect(ended.get(id), id).toBe(certificateId);
      expect(await server.stop()).toBe(0);
      server = undefined;

      // The database's own files, read as they are (the server stopped).
      const pg = await PGlite.create(join(dataDir, "pglite"), { extensions: { pg_trgm } });
      try {
        const db = {
          query: async (sql: string, params?: unknown[]) => (await pg.query(sql, params)).rows,
        } as unknown as TestDatabase;
        expect(await unresolved(db, ledger.sent)).toEqual({ notIssued: [], duplicates: 0 });
        const orphans = await pg.query<{ n: number }>(
          `select count(*)::int as n from certificate c
           left join certificate_request r on r.id = c.certificate_request_id where r.id is null`,
        );
        expect(orphans.rows[0]!.n).toBe(0);
        const pending = await pg.query<{ n: number }>(
          "select count(*)::int as n from certificate_request where status = 'PENDING' or (status = 'ISSUED' and certificate_id is null)",
        );
        expect(pending.rows[0]!.n).toBe(0);
      } finally {
        await pg.close();
      }
      // Every call sent was answered (none lost in a hang).
      expect(ledger.sent.filter((id) => !ledger.outcomes.has(id))).toEqual([]);
    });

    it("refuses to start on the data directory while its disk is full, in one line naming it; starts once freed", async () => {
      // Not a block left: the lock file (embedded.pid, written first) cannot be written.
      small.fill();
      const none = runToExit(env);
      expect(none.code, none.stdout + none.stderr).toBe(1);
      expect(none.stderr.trim().split("\n")).toEqual([
        `certmint: start-up failed: cannot write ${join(dataDir, "embedded.pid")}: ENOSPC: no space left on device, write`,
      ]);
      expect(readdirSync(dataDir)).not.toContain("embedded.pid");
      // One block left, which the lock file takes: PGlite aborts opening the database.
      small.unfill();
      fillButOnePage(small);
      const one = runToExit(env);
      expect(one.code, one.stdout + one.stderr).toBe(1);
      const lines = one.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^certmint: start-up failed: the embedded database in \S+ cannot be opened: its disk is full/,
      );
      small.unfill();
      server = await startServerProcess(env);
      const sample = okIds().slice(0, 10);
      const ended = await replayAll(
        asDeployment(server, token, profile),
        sample.map(([id]) => id),
      );
      for (const [id, certificateId] of sample) expect(ended.get(id), id).toBe(certificateId);
      expect(await server.stop()).toBe(0);
      server = undefined;
    });
  },
);
