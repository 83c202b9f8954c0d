/**
 * What one issuance costs PostgreSQL, counted on the wire by the proxy bench/issue uses
 * (bench/issue/pg-counter.ts): an IssueCertificate without approval is two round trips (the
 * read of prior request, profile, policy and CA; the statement that stores request,
 * certificate and audit record) and one durable commit, with no transaction of its own (no
 * BEGIN/COMMIT); with a CSR, a lone call runs on the rows the last read left (held rows,
 * checked again by the store statement): one round trip; a renewal reads three times and commits once. The server's background tasks share the pool
 * and only ever add statements, so each figure is the fewest seen over a few calls (their
 * intervals are set long, so most calls see none). These are an issuer's calls (the hot path);
 * an admin's issuance costs the same, its token checked by the storing statement (since stop
 * 45 of 2026-12-06: a revoked admin stores nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PgCounter, startPgCounter } from "../../bench/issue/pg-counter";
import type { CertmintClients } from "../support/harness";
import { adminUrl } from "../support/postgres";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  csrRequest,
  ISSUED,
  issue,
  KeyAlgorithm,
  makeCsr,
  Role,
  renewRequest,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

const ATTEMPTS = 3;

describe("round trips and durable commits per issuance", () => {
  let counter: PgCounter;
  let h: TestCertmint;
  let issuer: CertmintClients;
  const tmp = new TempDir();
  const issueAs = (req: Parameters<typeof issue>[1]) =>
    call(issuer.certificates, "issueCertificate", req);

  beforeAll(async () => {
    counter = await startPgCounter(adminUrl());
    h = await startTestCertmint(
      {
        CERTMINT_DATABASE_PROBE_INTERVAL_MS: "60000",
        CERTMINT_RENEWAL_TICK_MS: "600000",
        CERTMINT_WATCH_POLL_MS: "60000",
      },
      { databasePort: Number(new URL(counter.url).port) },
    );
    const root = await createRoot(h, "root");
    const { profileId } = await createProfileRows(h, { caId: root.id, slug: "web" });
    issuer = (await createToken(h, "issuer", Role.ROLE_ISSUER, [profileId])).clients;
  });
  afterAll(async () => {
    await h?.stop();
    await counter?.close();
    tmp.remove();
  });

  /** The counts of the cheapest of ATTEMPTS calls: round trips, durable commits, by kind. */
  async function cheapest(run: (n: number) => Promise<void>) {
    let best: { roundTrips: number; durableCommits: number; kinds: string[] } | undefined;
    for (let n = 0; n < ATTEMPTS; n++) {
      counter.reset();
      await run(n);
      const c = counter.counts;
      const kinds = [...c.byKind].flatMap(([k, v]) => Array<string>(v).fill(k)).sort();
      if (!best || c.roundTrips + c.durableCommits < best.roundTrips + best.durableCommits) {
        best = { roundTrips: c.roundTrips, durableCommits: c.durableCommits, kinds };
      }
    }
    return best!;
  }

  const fresh = (id: string) =>
    attrRequest("web", {
      cn: `${id}.example.com`,
      dns: [`${id}.example.com`],
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      requestId: id,
    });

  it("IssueCertificate: two round trips and one durable commit, no transaction of its own", async () => {
    await issueAs(fresh("warm-up")); // the token and the prepared statements, once
    const costs = await cheapest(async (n) => {
      expect((await issueAs(fresh(`rt-${n}`))).status).toBe(ISSUED);
    });
    expect(costs).toEqual({ roundTrips: 2, durableCommits: 1, kinds: ["SELECT", "WITH"] });
  });

  it("an admin's IssueCertificate: the same, the admin's token checked by the storing statement", async () => {
    await issue(h, fresh("admin-warm-up"));
    const costs = await cheapest(async (n) => {
      expect((await issue(h, fresh(`admin-${n}`))).status).toBe(ISSUED);
    });
    expect(costs).toEqual({ roundTrips: 2, durableCommits: 1, kinds: ["SELECT", "WITH"] });
  });

  it("IssueCertificate with a CSR, one call at a time: one round trip and one durable commit (held rows)", async () => {
    const csrs = Array.from({ length: ATTEMPTS + 1 }, (_, n) =>
      makeCsr(tmp, `/CN=held-${n}.example.com`, [`DNS:held-${n}.example.com`]),
    );
    await issueAs(csrRequest("web", csrs[ATTEMPTS]!.csrPem, { requestId: "held-warm-up" }));
    const used = h.running.heldRowCounts()!.used;
    const costs = await cheapest(async (n) => {
      const res = await issueAs(csrRequest("web", csrs[n]!.csrPem, { requestId: `held-${n}` }));
      expect(res.status).toBe(ISSUED);
    });
    expect(costs).toEqual({ roundTrips: 1, durableCommits: 1, kinds: ["WITH"] });
    expect(h.running.heldRowCounts()!.used - used).toBe(ATTEMPTS);
  });

  it("RenewCertificate: four round trips and one durable commit, no transaction of its own", async () => {
    const olds = await Promise.all(
      Array.from({ length: ATTEMPTS }, async (_, n) => issueAs(fresh(`to-renew-${n}`))),
    );
    const costs = await cheapest(async (n) => {
      const res = await call(
        issuer.certificates,
        "renewCertificate",
        renewRequest({ certificateId: olds[n]!.certificate!.certificateId }),
      );
      expect(res.status).toBe(ISSUED);
    });
    // The certificate; its profile, policy, CA and prior request; the original request (how
    // its key was made); the store.
    expect(costs).toEqual({
      roundTrips: 4,
      durableCommits: 1,
      kinds: ["SELECT", "SELECT", "SELECT", "WITH"],
    });
  });
});
