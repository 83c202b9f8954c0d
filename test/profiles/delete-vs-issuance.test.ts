/**
 * A profile with valid certificates is never deleted without force, and no certificate of a
 * deleted profile is stored after the delete committed. Until stop 45 of 2026-12-06 an issuance
 * that read the profile before DeleteCertificateProfile and stored its certificate after it (or
 * while the delete counted) was answered OK, and the profile was gone with valid certificates
 * (an outside probe: 12 in one round). The issuance's store now key-share locks the profile's
 * row (Migration20261206153000CertificateProfileGuard), which the delete's FOR UPDATE conflicts
 * with. Deterministic: each case holds one side at a lock the test takes, waits until the other
 * side waits (pg_stat_activity), then lets go.
 */
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  call,
  countRows,
  createProfileRows,
  createRoot,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { waitFor } from "../support/wait";

/** certmint_ca_signs's advisory lock class ("CASG", Migration20261205300000CaSigningGuard). */
const CA_SIGNING_LOCK_CLASS = 1128354631;

describe("DeleteCertificateProfile racing IssueCertificate", () => {
  let h: TestCertmint;
  let rootId = "";
  let holder: Client;

  beforeAll(async () => {
    h = await startTestCertmint();
    rootId = (await createRoot(h, "root")).id;
    holder = new Client({ connectionString: h.db.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await h?.stop();
  });

  /** A call whose answer (or error) is kept, and whether it came yet. */
  const track = <T>(promise: Promise<T>) => {
    const state = { settled: false };
    const outcome = promise.then(
      (value) => {
        state.settled = true;
        return { ok: true as const, value };
      },
      (err: unknown) => {
        state.settled = true;
        return { ok: false as const, err };
      },
    );
    return { state, outcome };
  };
  /** Backends of this database waiting for a lock whose statement contains `text`. */
  const waiting = async (text: string, event?: string) => {
    const [w] = await h.db.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'
          and position($1 in query) > 0 and ($2::text is null or wait_event = $2)`,
      [text, event ?? null],
    );
    return Number(w!.n) > 0;
  };
  const issue = (profile: string, cn: string) =>
    track(call(h.certificates, "issueCertificate", attrRequest(profile, { cn, dns: [cn] })));
  const remove = (profile: string) =>
    track(
      call(h.profiles, "deleteCertificateProfile", {
        certificateProfile: profile,
        etag: "",
        force: false,
      }),
    );
  const certificatesOf = (profileId: string) =>
    countRows(h, "certificate", `profile_id = '${profileId}'`);
  const STORE = 'insert into "certificate_request"';
  const expectProfileGone = async (
    outcome: Promise<{ ok: true; value: unknown } | { ok: false; err: unknown }>,
  ) => {
    const answer = await outcome;
    if (answer.ok) throw new Error("the issuance was answered OK");
    const err = await rpcError(Promise.reject(answer.err));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.reason).toBe("CERTIFICATE_PROFILE_NOT_FOUND");
  };

  it("an issuance stored while a delete holds the profile waits for it, then is NOT_FOUND and stores nothing", async () => {
    const { profileId } = await createProfileRows(h, { caId: rootId, slug: "held-by-delete" });
    await holder.query("begin");
    try {
      // A delete in progress: the row is locked (as DeleteCertificateProfile's FOR UPDATE and
      // delete lock it) but still there for the issuance's read.
      await holder.query("delete from certificate_profile where id = $1", [profileId]);
      // Three: those whose stores queue behind the first go as one batched statement.
      const issued = ["a1", "a2", "a3"].map((n) => issue("held-by-delete", `${n}.example.com`));
      await waitFor(
        "an issuance's store to wait for the profile's row (or the issuances to end)",
        async () => issued.every((i) => i.state.settled) || (await waiting(STORE)),
      );
      await holder.query("commit");
      for (const i of issued) await expectProfileGone(i.outcome);
    } catch (err) {
      await holder.query("rollback");
      throw err;
    }
    expect(await certificatesOf(profileId)).toBe(0);
    expect(await countRows(h, "certificate_request", `profile_id = '${profileId}'`)).toBe(0);
  });

  it("a delete while an issuance's store waits inside its statement waits for it, then counts its certificate", async () => {
    const { profileId } = await createProfileRows(h, { caId: rootId, slug: "delete-first" });
    // The store is held at its CA's signing lock (a trigger of its insert). Until stop 50 of
    // 2026-12-06 it had not locked the profile by then, and the delete went first (the issuance
    // NOT_FOUND); since, the statement holds the profile and its policy from its start
    // (FOR SHARE, at the versions the call was decided on), so a delete or an edit waits for it.
    // A delete that commits before the statement starts is the first case above.
    await holder.query("select pg_advisory_lock($1::int4, hashtext($2::text))", [
      CA_SIGNING_LOCK_CLASS,
      rootId,
    ]);
    let issued: ReturnType<typeof issue>;
    let removed: ReturnType<typeof remove>;
    try {
      issued = issue("delete-first", "b.example.com");
      await waitFor(
        "the issuance's store to wait for the CA's signing lock (or the issuance to end)",
        async () => issued.state.settled || (await waiting(STORE, "advisory")),
      );
      removed = remove("delete-first");
      await waitFor(
        "the delete to wait for the profile's row (or to end)",
        async () => removed.state.settled || (await waiting('from "certificate_profile"')),
      );
    } finally {
      await holder.query("select pg_advisory_unlock($1::int4, hashtext($2::text))", [
        CA_SIGNING_LOCK_CLASS,
        rootId,
      ]);
    }
    expect((await issued.outcome).ok).toBe(true);
    const answer = await removed.outcome;
    if (answer.ok) throw new Error("the delete was answered OK");
    const err = await rpcError(Promise.reject(answer.err));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("PROFILE_HAS_CERTIFICATES");
    expect(await countRows(h, "certificate_profile", `id = '${profileId}'`)).toBe(1);
    expect(await certificatesOf(profileId)).toBe(1);
  });

  it("a delete while an issuance's certificate is stored but not committed waits, then counts it: PROFILE_HAS_CERTIFICATES", async () => {
    const { profileId } = await createProfileRows(h, { caId: rootId, slug: "store-first" });
    await holder.query("begin");
    let issued: ReturnType<typeof issue>;
    let removed: ReturnType<typeof remove>;
    try {
      // The store is held at its last step (the certificate_event row its AFTER trigger
      // inserts), with the certificate inserted and the profile's row key-share locked.
      await holder.query("lock table certificate_event in share mode");
      issued = issue("store-first", "c.example.com");
      await waitFor(
        "the issuance's store to wait for certificate_event (or the issuance to end)",
        async () => issued.state.settled || (await waiting(STORE, "relation")),
      );
      removed = remove("store-first");
      await waitFor(
        "the delete to wait for the profile's row (or to end)",
        async () => removed.state.settled || (await waiting('from "certificate_profile"')),
      );
    } finally {
      await holder.query("rollback");
    }
    const stored = await issued.outcome;
    expect(stored.ok).toBe(true);
    const answer = await removed.outcome;
    if (answer.ok) throw new Error("the delete was answered OK");
    const err = await rpcError(Promise.reject(answer.err));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.reason).toBe("PROFILE_HAS_CERTIFICATES");
    expect(err.metadata.valid_certificates).toBe("1");
    expect(await countRows(h, "certificate_profile", `id = '${profileId}'`)).toBe(1);
    expect(await certificatesOf(profileId)).toBe(1);
  });
});
