/**
 * A token that cancels its calls at once (RST_STREAM, 1 ms deadlines) against the admission of
 * calls to their work (src/api/fair-admission.ts, src/api/unary.ts): the audit record of a call
 * refused before its turn is work of its token, and waits for a place as the call would.
 * Counted by the server's own counts and PostgreSQL's lock waits, never by durations.
 */
import { type ClientUnaryCall, Metadata } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  attrRequest,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  KeyAlgorithm,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";

const IN_PROGRESS = 1;
const CANCELLED = 12;

describe("calls cancelled before their turn (CERTMINT_CALLS_IN_PROGRESS)", () => {
  let h: TestCertmint;
  let noisy: CertmintClients;
  let quiet: CertmintClients;
  let blocker: Client;

  const issue = (clients: CertmintClients, cn: string) => {
    let call: ClientUnaryCall | undefined;
    const answer = new Promise<number>((resolve) => {
      call = clients.certificates.issueCertificate(
        attrRequest("alpha", { cn, keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 }),
        new Metadata(),
        {},
        (err: { code: number } | null) => resolve(err ? err.code : 0),
      );
    });
    return { answer, cancel: () => call!.cancel() };
  };
  const counts = () => h.running.admission();
  /** Inserts of audit records waiting for the blocker's lock. */
  const waitingRecordInserts = async () =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'
             and query ilike 'insert into "audit_record"%'`,
        )
      )[0]!.n,
    );

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CALLS_IN_PROGRESS: String(IN_PROGRESS),
      CERTMINT_CALLS_QUEUED_PER_TOKEN: "100",
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "alpha", caId: root.id });
    noisy = (await createToken(h, "noisy", Role.ROLE_ISSUER, ["alpha"])).clients;
    quiet = (await createToken(h, "quiet", Role.ROLE_ISSUER, ["alpha"])).clients;
    // Each token's first call, so its credential is cached before the test counts calls.
    expect(await issue(noisy, "warm-noisy.example.com").answer).toBe(0);
    expect(await issue(quiet, "warm-quiet.example.com").answer).toBe(0);
    blocker = new Client({ connectionString: h.db.url });
    await blocker.connect();
  }, 120_000);

  afterAll(async () => {
    await blocker?.end();
    await h?.stop();
  });

  it("the refusals' audit records wait for their token's turn: none is written beside the calls at work", async () => {
    // Every issuance's store and every audit record wait for the blocker's locks.
    await blocker.query("begin");
    await blocker.query("lock table certificate in share mode");
    await blocker.query("lock table audit_record in share mode");
    const atWork = issue(quiet, "at-work.example.com");
    await waitFor("the quiet call at work", () => counts().inProgress === IN_PROGRESS);
    const cancelled = Array.from({ length: CANCELLED }, (_, i) =>
      issue(noisy, `c${i}.example.com`),
    );
    await waitFor("the noisy calls waiting", () => counts().queued === CANCELLED);
    for (const c of cancelled) c.cancel();
    // Sent after the cancels on the same connection: once it waits, every cancel was seen.
    const marker = issue(noisy, "marker.example.com");
    // Fixed: the N records and the marker wait for their turn. Before: the N records were
    // inserted at once, outside the places, and waited for the lock in PostgreSQL (as many as
    // the pool's 10 connections allow).
    await waitFor(
      "the cancelled calls' records waiting (for a turn, or for the lock)",
      async () =>
        counts().queued === CANCELLED + 1 || (await waitingRecordInserts()) >= CANCELLED / 2,
    );
    expect(await waitingRecordInserts()).toBe(0);
    expect(counts()).toEqual({ inProgress: IN_PROGRESS, queued: CANCELLED + 1 });
    // Every handler running is at work or waiting for its turn: none works beside them.
    expect(h.running.callsInFlight()).toBe(IN_PROGRESS + CANCELLED + 1);

    await blocker.query("commit");
    expect(await atWork.answer).toBe(0);
    expect(await marker.answer).toBe(0);
    await waitFor("every handler done", () => h.running.callsInFlight() === 0);
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });
    // Each cancelled call left its refusal's record, and nothing else.
    expect(
      await countRows(
        h,
        "audit_record",
        "actor_slug = 'noisy' and error_reason = 'CALL_CANCELLED' and status_code = 4",
      ),
    ).toBe(CANCELLED);
    expect(await countRows(h, "certificate", "common_name ~ '^c[0-9]+\\.example\\.com$'")).toBe(0);
  });
});
