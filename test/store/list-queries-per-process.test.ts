/**
 * The list queries of every token together (CERTMINT_LIST_QUERIES, src/issuance/common/list-gate.ts).
 * With the per-token cap alone, auditors of many tokens listing full pages at once held a page
 * each in memory, and 64 of them took a server whose heap was bounded at 160 MB out of memory
 * (bench/memory/probe.ts). Here, on a real server with CERTMINT_LIST_QUERIES=2, three tokens
 * each send a list whose query cannot finish (another session holds the certificate table's
 * ACCESS EXCLUSIVE lock): two run, the third waits for a place of the process, outside the calls
 * at work; once the lock goes, all three are answered. Waits for states (lock waiters, the
 * gate's counts), never for durations.
 */
import { Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateView,
  ListCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  createProfileRows,
  createRoot,
  createToken,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { type CertmintClients, call } from "../support/harness";
import { tableLockHolder } from "../support/table-lock";
import { waitFor } from "../support/wait";

const list = (clients: CertmintClients) =>
  new Promise<number>((resolve, reject) =>
    clients.certificates.listCertificates(
      ListCertificatesRequest.fromPartial({
        pageSize: 1000,
        view: CertificateView.CERTIFICATE_VIEW_FULL,
      }),
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

describe("CERTMINT_LIST_QUERIES=2: the lists of three tokens", () => {
  let h: TestCertmint;
  let listers: CertmintClients[];
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_LIST_QUERIES: "2",
      CERTMINT_LIST_QUERIES_PER_TOKEN: "2",
      // Only the lock bounds the lists here: no timeout fires on a slow machine.
      CERTMINT_LIST_QUERY_TIMEOUT_MS: "0",
      // The renewer reads the certificate table: it would wait behind the lock too.
      CERTMINT_RENEWAL_ENABLED: "false",
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "lab.example.com", dns: ["lab.example.com"] }),
    );
    listers = [];
    for (const slug of ["auditor-a", "auditor-b", "auditor-c"]) {
      const clients = (await createToken(h, slug, Role.ROLE_AUDITOR)).clients;
      // Each credential is read (and cached) before the lock, as in a running service.
      await list(clients);
      listers.push(clients);
    }
    holder = await tableLockHolder(h, "certificate");
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("run two at a time: the third token's waits for a place of the process, then is answered", async () => {
    await holder.lock();
    let lists: Array<Promise<number>> = [];
    try {
      lists = listers.map((clients) => list(clients));
      await waitFor("two lists on the lock and one waiting for the process's place", async () => {
        const gate = h.running.listQueries();
        const onLock = await lockWaiters(h);
        // Without the cap all three reach the lock: fail then rather than wait.
        expect(onLock).toBeLessThanOrEqual(2);
        return gate.running === 2 && gate.waiting === 1 && onLock === 2;
      });
      expect(await lockWaiters(h)).toBe(2);
    } finally {
      await holder.release();
    }
    expect(await Promise.all(lists)).toEqual([1, 1, 1]);
    expect(h.running.listQueries()).toEqual({ running: 0, waiting: 0 });
  });
});
