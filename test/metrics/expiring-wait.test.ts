/**
 * A /metrics scrape does not wait for a certificate table that cannot be read: the
 * expiring-certificates query (certmint_certificates_expiring) runs one at a time, and a scrape
 * waits for it at most its budget, then answers with every other metric and the last counts it
 * has (src/server/metrics.ts). The table is made unreadable deterministically: another session
 * holds its ACCESS EXCLUSIVE lock, and the test reads the waiting query from pg_stat_activity.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { tableLockHolder } from "../support/table-lock";
import { waitFor } from "../support/wait";
import { parseExposition, sampleValue } from "./prometheus";

describe("the expiring-certificates metric while the certificate table is locked", () => {
  let h: TestCertmint;
  let holder: Awaited<ReturnType<typeof tableLockHolder>>;

  const scrape = async () =>
    parseExposition(
      await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text(),
    );
  /** The app's expiring-certificates queries waiting for the lock. */
  const waitingQueries = async () => {
    const [row] = await h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()
          and wait_event_type = 'Lock' and query like '%count(*) filter (where c."not_after"%'`,
    );
    return Number(row!.n);
  };

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_METRICS_LISTEN: "127.0.0.1:0", CERTMINT_RENEWAL_ENABLED: "false" },
      // Every scrape wants fresh counts, and waits 50 ms for them.
      { metricsExpiringRefreshMs: 0, metricsExpiringWaitMs: 50 },
    );
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "a.example.com", dns: ["a.example.com"], ttlSeconds: 86_400 }),
    );
    holder = await tableLockHolder(h, "certificate");
  });
  afterAll(async () => {
    await holder?.release().catch(() => undefined);
    await holder?.end();
    await h?.stop();
  });

  it("scrapes answer with the last counts and every other metric, and start no second query; fresh counts once the lock goes", async () => {
    // The first counts (a scrape on a slow machine may answer before its query does).
    await waitFor("the first counts", async () => {
      const before = await scrape();
      return (
        sampleValue(before, "certmint_certificates_expiring", { profile: "web", within: "7d" }) ===
        1
      );
    });
    await holder.lock();
    try {
      const during = await scrape();
      // The counts the last query gave, and the rest of the exposition.
      expect(
        sampleValue(during, "certmint_certificates_expiring", { profile: "web", within: "7d" }),
      ).toBe(1);
      expect(sampleValue(during, "certmint_calls", { state: "in_progress" })).toBeDefined();
      await waitFor(
        "the scrape's query to wait on the lock",
        async () => (await waitingQueries()) === 1,
      );
      for (let i = 0; i < 3; i++) await scrape();
      expect(await waitingQueries()).toBe(1);
    } finally {
      await holder.release();
    }
    await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "b.example.com", dns: ["b.example.com"], ttlSeconds: 86_400 }),
    );
    await waitFor("fresh counts", async () => {
      const after = await scrape();
      return (
        sampleValue(after, "certmint_certificates_expiring", { profile: "web", within: "7d" }) === 2
      );
    });
    expect(await waitingQueries()).toBe(0);
  });
});
