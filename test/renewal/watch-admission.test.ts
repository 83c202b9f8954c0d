/**
 * A WatchCertificates stream's set-up (its checks and reads, and its first message when it
 * sends one at once) is one call of its token among the calls at work
 * (src/api/fair-admission.ts, CERTMINT_CALLS_IN_PROGRESS), as a unary call is; the open stream
 * then holds no place. One issuer opening and cancelling 140 watches a second, each open
 * some 8 round trips outside the places, raised another token's IssueCertificate p99 from 15 to
 * 412-492 ms (tenant probe, 2026-12-05). The one place is held by an issuance waiting on a table
 * lock, so what goes when is decided by the admission alone: the test waits for the server's own
 * counts of calls at work and waiting, never for a duration.
 */
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  KeyAlgorithm,
  Role,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";

const CURRENT = CertificateEventType.CERTIFICATE_EVENT_TYPE_CURRENT;
const QUEUED_PER_TOKEN = 1;

describe("WatchCertificates: a stream's set-up takes its turn among the calls at work", () => {
  let h: TestCertmint;
  let holder: CertmintClients;
  let watcher: CertmintClients;
  let other: CertmintClients;
  let certificateId: string;
  let blocker: Client;
  const watches: WatchStream[] = [];

  const counts = () => h.running.admission();
  const issue = (clients: CertmintClients, cn: string) =>
    call(
      clients.certificates,
      "issueCertificate",
      attrRequest("alpha", { cn, keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 }),
    );
  /** A unary read every role here may make (issuers are not granted GetCertificate). */
  const getCurrent = (clients: CertmintClients) =>
    call(clients.certificates, "getCurrentCertificate", { certificate: certificateId });
  const watch = (clients: CertmintClients, req: Partial<WatchCertificatesRequest>) => {
    const w = new WatchStream(clients, req);
    watches.push(w);
    return w;
  };
  const lineage = () => ({ scope: { $case: "certificateId" as const, value: certificateId } });
  /**
   * The one place taken by an issuance of `holder`, held on a lock (its insert waits for
   * SHARE) until the returned function commits it; resolves with that issuance's answer.
   */
  const occupy = async () => {
    await blocker.query("begin");
    await blocker.query("lock table certificate in share mode");
    const held = issue(holder, "held.example.com");
    await waitFor("the holder's issuance at work", () => counts().inProgress === 1);
    return async () => {
      await blocker.query("commit");
      await held;
    };
  };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CALLS_IN_PROGRESS: "1",
      CERTMINT_CALLS_QUEUED_PER_TOKEN: String(QUEUED_PER_TOKEN),
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "alpha", caId: root.id });
    holder = (await createToken(h, "holder", Role.ROLE_ISSUER, ["alpha"])).clients;
    watcher = (await createToken(h, "watcher", Role.ROLE_ISSUER, ["alpha"])).clients;
    other = (await createToken(h, "other", Role.ROLE_AUDITOR)).clients;
    // Each token's first call, so its credential is cached before the tests count calls.
    await issue(holder, "warm-holder.example.com");
    const watched = await issue(watcher, "watched.example.com");
    certificateId = watched.certificate!.certificateId;
    await getCurrent(other);
    blocker = new Client({ connectionString: h.db.url });
    await blocker.connect();
  }, 120_000);

  afterAll(async () => {
    for (const w of watches) w.cancel();
    await blocker?.end();
    await h?.stop();
  });

  it("waits for its turn before its first message; the open stream then holds no place", async () => {
    const release = await occupy();
    const w = watch(watcher, lineage());
    await waitFor("the watch waiting for its turn", () => counts().queued === 1);
    expect(counts().inProgress).toBe(1);
    expect(w.open).toBe(false);
    expect(w.events).toEqual([]);
    expect(w.error).toBeUndefined();

    await release();
    await waitFor("the watch's CURRENT", () => w.events.length > 0);
    expect(w.events[0]!.type).toBe(CURRENT);
    expect(w.events[0]!.certificate!.id).toBe(certificateId);
    // The CURRENT was written as the set-up's last step: its place was given back by then.
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });

    // A watch whose first message waits for an event holds no place once open either.
    const all = watch(watcher, {});
    await waitFor("the whole-scope watch open", () => all.open);
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });

    // With both streams open, another token's call gets the one place, and so does an
    // issuance (whose event both watches may see).
    expect((await getCurrent(other)).certificate!.id).toBe(certificateId);
    const issued = await issue(holder, "while-watching.example.com");
    expect(issued.certificate!.certificateId).toBeTruthy();
    expect(w.error).toBeUndefined();
    expect(all.error).toBeUndefined();
    w.cancel();
    all.cancel();
  });

  it("is refused past its token's queue as a unary call is; a waiting watch cancelled leaves the queue", async () => {
    const release = await occupy();
    const waiting = watch(watcher, lineage());
    await waitFor("the token's queue full", () => counts().queued === QUEUED_PER_TOKEN);

    const refusedWatch = watch(watcher, lineage());
    await waitFor("the watch refused", () => refusedWatch.error !== undefined);
    const unaryRefusal = await getCurrent(watcher).then(
      () => undefined,
      (err: ServiceError) => err,
    );
    expect(unaryRefusal).toBeDefined();

    const streamed = decodeFull(refusedWatch.error);
    expect(streamed).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      reason: "CALLS_QUEUED",
      metadata: { access_token: "watcher", queued: String(QUEUED_PER_TOKEN) },
    });
    expect(streamed.message).toContain("CERTMINT_CALLS_QUEUED_PER_TOKEN");
    // The same status and google.rpc details (ErrorInfo, RetryInfo) as the unary refusal.
    expect(streamed).toEqual(decodeFull(unaryRefusal));
    expect(statusDetails(refusedWatch.error)).toEqual(statusDetails(unaryRefusal));
    expect(refusedWatch.open).toBe(false);
    expect(refusedWatch.events).toEqual([]);

    // The waiting watch's client gives up: it leaves its token's queue, which has room again.
    waiting.cancel();
    await waitFor("the cancelled watch gone from the queue", () => counts().queued === 0);
    const queuedAgain = getCurrent(watcher);
    await waitFor("the token's next call waiting", () => counts().queued === 1);

    await release();
    expect((await queuedAgain).certificate!.id).toBe(certificateId);
    expect(waiting.events).toEqual([]);
    expect(waiting.error?.code).toBe(status.CANCELLED);
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });
  });
});

/** The google.rpc.Status a failed call carried (grpc-status-details-bin), decoded. */
function statusDetails(err: unknown): Status | undefined {
  const raw = (err as { metadata?: Metadata }).metadata?.get("grpc-status-details-bin")[0];
  return raw === undefined ? undefined : Status.decode(raw as Buffer);
}
