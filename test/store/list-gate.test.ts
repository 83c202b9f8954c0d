/**
 * One access token's wide list queries no longer hold every pooled connection
 * (CERTMINT_LIST_QUERIES_PER_TOKEN, src/issuance/common/list-gate.ts). On a real server with a
 * pool of 3 connections: a token sends 3 ListCertificates whose queries cannot finish (another
 * session holds the certificate table's ACCESS EXCLUSIVE lock), and another caller's call, which
 * needs a connection but not that table, is served while they wait. The same scenario without
 * the cap shows the premise: the 3 lists hold the 3 connections and the other call waits for
 * one. The test waits for states (lock waiters, the gate's and the pool's counts), never for a
 * duration.
 */
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import { ListCertificateProfilesRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { ListCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  createToken,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { type CertmintClients, call } from "../support/harness";
import { tableLockHolder } from "../support/table-lock";
import { waitFor } from "../support/wait";

const LISTS = 3;

async function startServer(listQueriesPerToken: string) {
  const h = await startTestCertmint(
    {
      CERTMINT_LIST_QUERIES_PER_TOKEN: listQueriesPerToken,
      CERTMINT_DATABASE_POOL_SIZE: String(LISTS),
      CERTMINT_DATABASE_IDLE_TIMEOUT_MS: "3600000",
      // Only the lock bounds the lists here: no timeout fires on a slow machine.
      CERTMINT_LIST_QUERY_TIMEOUT_MS: "0",
      // The renewer reads the certificate table: it would wait behind the lock too.
      CERTMINT_RENEWAL_ENABLED: "false",
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    },
    // The scrape's expiring-certificates query reads the locked table: it runs once, before the
    // lock (below), and its counts are reused for the rest of the test.
    { metricsExpiringRefreshMs: 3_600_000 },
  );
  const root = await createRoot(h, "root");
  await createProfileRows(h, { caId: root.id, slug: "web" });
  await call(
    h.certificates,
    "issueCertificate",
    attrRequest("web", { cn: "lab.example.com", dns: ["lab.example.com"] }),
  );
  const lister = (await createToken(h, "lister", Role.ROLE_AUDITOR)).clients;
  // The lister's credential is read (and cached) before the lock, as in a running service.
  await list(lister);
  await scrape(h);
  return { h, lister, holder: await tableLockHolder(h, "certificate") };
}

const list = (clients: CertmintClients) =>
  new Promise<number>((resolve, reject) =>
    clients.certificates.listCertificates(
      ListCertificatesRequest.fromPartial({}),
      new Metadata(),
      (err, res) => (err ? reject(err) : resolve(res!.certificates.length)),
    ),
  );

/** The app's statements waiting for a lock (the lists: nothing else reads the locked table). */
async function lockWaiters(h: TestCertmint): Promise<number> {
  const [row] = await h.db.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
  );
  return Number(row!.n);
}

/** A call of the admin's that needs a pooled connection but not the locked table. */
const listProfiles = (h: TestCertmint) =>
  call(h.profiles, "listCertificateProfiles", ListCertificateProfilesRequest.fromPartial({}));

async function scrape(h: TestCertmint) {
  return parseExposition(
    await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text(),
  );
}

describe("CERTMINT_LIST_QUERIES_PER_TOKEN=2 on a pool of 3", () => {
  let h: TestCertmint;
  let lister: CertmintClients;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    ({ h, lister, holder } = await startServer("2"));
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("the token's third list waits for its own place, and another caller's call is served meanwhile", async () => {
    await holder.lock();
    let lists: Array<Promise<number>> = [];
    try {
      lists = Array.from({ length: LISTS }, () => list(lister));
      await waitFor("two lists on the lock and one waiting for its place", async () => {
        const gate = h.running.listQueries();
        return (await lockWaiters(h)) === 2 && gate.running === 2 && gate.waiting === 1;
      });
      const metrics = await scrape(h);
      expect(sampleValue(metrics, "certmint_list_queries", { state: "running" })).toBe(2);
      expect(sampleValue(metrics, "certmint_list_queries", { state: "waiting" })).toBe(1);
      // Served while the lock is held and the lists wait: a connection was left for it.
      const profiles = await listProfiles(h);
      expect(profiles.certificateProfiles.map((p) => p.slug)).toEqual(["web"]);
      expect(await lockWaiters(h)).toBe(2);
    } finally {
      await holder.release();
    }
    expect(await Promise.all(lists)).toEqual([1, 1, 1]);
    expect(h.running.listQueries()).toEqual({ running: 0, waiting: 0 });
  });
});

describe("without the cap (CERTMINT_LIST_QUERIES_PER_TOKEN=0), the premise", () => {
  let h: TestCertmint;
  let lister: CertmintClients;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    ({ h, lister, holder } = await startServer("0"));
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("one token's lists hold every connection, and another caller's call waits for one", async () => {
    await holder.lock();
    let lists: Array<Promise<number>> = [];
    let profiles: Promise<unknown> | undefined;
    let served = false;
    try {
      lists = Array.from({ length: LISTS }, () => list(lister));
      await waitFor("the three lists on the lock", async () => {
        return (await lockWaiters(h)) === LISTS;
      });
      profiles = listProfiles(h).then(() => {
        served = true;
      });
      await waitFor("the other call to wait for a pooled connection", async () => {
        const metrics = await scrape(h);
        return (
          sampleValue(metrics, "certmint_database_pool_connections", { state: "waiting" }) === 1
        );
      });
      expect(served).toBe(false);
    } finally {
      await holder.release();
    }
    await profiles;
    expect(served).toBe(true);
    expect(await Promise.all(lists)).toEqual([1, 1, 1]);
  });
});
