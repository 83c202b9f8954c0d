/**
 * One access token's flood of calls against another token's lone call, on a real server and
 * PostgreSQL (src/api/fair-admission.ts). The calls at work are held on a table lock, so which
 * call goes when is decided by the admission alone, not by the machine's speed: the test waits
 * for the server's own counts of calls at work and waiting, never for a duration.
 */
import { X509Certificate } from "node:crypto";
import { Metadata, status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import { RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  attrRequest,
  countRows,
  createProfileRows,
  createRoot,
  createToken,
  decodeFull,
  KeyAlgorithm,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";
import { parseExposition, sampleValue } from "../metrics/prometheus";
import { gatedRsa } from "../support/gated-keygen";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";

const IN_PROGRESS = 2;
const QUEUED_PER_TOKEN = 12;

describe("calls admitted to their work by access token in turn (CERTMINT_CALLS_IN_PROGRESS)", () => {
  let h: TestCertmint;
  let noisy: CertmintClients;
  let quiet: CertmintClients;
  let blocker: Client;

  const gate = gatedRsa();
  const issue = (
    clients: CertmintClients,
    cn: string,
    deadline?: Date,
    keyAlgorithm = KeyAlgorithm.KEY_ALGORITHM_EC_P256,
  ) =>
    new Promise<{ certificatePem: string }>((resolve, reject) => {
      clients.certificates.issueCertificate(
        attrRequest("alpha", { cn, keyAlgorithm }),
        new Metadata(),
        deadline ? { deadline } : {},
        (err: Error | null, res?: { certificate?: { certificatePem: string } }) =>
          err ? reject(err) : resolve({ certificatePem: res!.certificate!.certificatePem }),
      );
    });
  const counts = () => h.running.admission();
  /** Holds every issuance's store (an insert waits for SHARE) until `release`. */
  const hold = async () => {
    await blocker.query("begin");
    await blocker.query("lock table certificate in share mode");
  };
  const release = () => blocker.query("commit");

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_CALLS_IN_PROGRESS: String(IN_PROGRESS),
        CERTMINT_CALLS_QUEUED_PER_TOKEN: String(QUEUED_PER_TOKEN),
        CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
        CERTMINT_KEY_GENERATION_WORKERS: "1",
      },
      { generateRsa: gate.generateRsa },
    );
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "alpha", caId: root.id });
    noisy = (await createToken(h, "noisy", Role.ROLE_ISSUER, ["alpha"])).clients;
    quiet = (await createToken(h, "quiet", Role.ROLE_ISSUER, ["alpha"])).clients;
    // Each token's first call, so its credential is cached before the tests count calls.
    await issue(noisy, "warm-noisy.example.com");
    await issue(quiet, "warm-quiet.example.com");
    blocker = new Client({ connectionString: h.db.url });
    await blocker.connect();
  }, 120_000);

  afterAll(async () => {
    await blocker?.end();
    await h?.stop();
  });

  it("another token's call goes in the next turn, ahead of a flood queued before it", async () => {
    await hold();
    const done: string[] = [];
    const track = (name: string, p: Promise<{ certificatePem: string }>) =>
      p.then((res) => {
        done.push(name);
        return res;
      });
    const calls: Array<Promise<{ certificatePem: string }>> = [];
    for (let i = 0; i < IN_PROGRESS; i++)
      calls.push(track(`noisy-${i}`, issue(noisy, `n${i}.example.com`)));
    await waitFor("the first calls at work", () => counts().inProgress === IN_PROGRESS);
    for (let i = IN_PROGRESS; i < IN_PROGRESS + 10; i++)
      calls.push(track(`noisy-${i}`, issue(noisy, `n${i}.example.com`)));
    await waitFor("the flood waiting", () => counts().queued === 10);
    calls.push(track("quiet", issue(quiet, "q.example.com")));
    await waitFor("the quiet call waiting", () => counts().queued === 11);
    expect(done).toEqual([]);
    await release();
    const answers = await Promise.all(calls);
    // Served first come, first served, the quiet call would finish last (13th): it went in
    // the first two places freed after the two calls at work.
    expect(done.indexOf("quiet")).toBeLessThan(IN_PROGRESS + 2);
    expect(done).toHaveLength(13);
    for (const a of answers) {
      expect(new X509Certificate(a.certificatePem).subject).toMatch(/CN=(n\d+|q)\.example\.com/);
    }
    expect(await countRows(h, "certificate", "common_name ~ '^(n[0-9]+|q)\\.example\\.com$'")).toBe(
      13,
    );
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });
  });

  it("a token's calls past its queue are refused at once; a call given up while waiting leaves no row", async () => {
    await hold();
    const calls: Array<Promise<unknown>> = [];
    for (let i = 0; i < IN_PROGRESS; i++) calls.push(issue(noisy, `f${i}.example.com`));
    await waitFor("the first calls at work", () => counts().inProgress === IN_PROGRESS);
    for (let i = IN_PROGRESS; i < IN_PROGRESS + QUEUED_PER_TOKEN; i++)
      calls.push(issue(noisy, `f${i}.example.com`));
    await waitFor("the token's queue full", () => counts().queued === QUEUED_PER_TOKEN);

    const requestsBefore = await countRows(h, "certificate_request");
    const raw = await issue(noisy, "over.example.com").then(
      () => undefined,
      (err: unknown) => err,
    );
    const refused = decodeFull(raw);
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.reason).toBe("CALLS_QUEUED");
    expect(refused.message).toContain("CERTMINT_CALLS_QUEUED_PER_TOKEN");
    expect(refused.metadata).toMatchObject({
      access_token: "noisy",
      queued: String(QUEUED_PER_TOKEN),
    });
    expect(retryDelayOf(raw)).toBe("1");

    // Another token still waits for its turn; one of its calls gives up while waiting.
    const waiting = issue(quiet, "waits.example.com");
    await waitFor("the other token's call waiting", () => counts().queued === QUEUED_PER_TOKEN + 1);
    const givenUp = rpcError(issue(quiet, "gives-up.example.com", new Date(Date.now() + 300)));
    expect((await givenUp).code).toBe(status.DEADLINE_EXCEEDED);
    // Its call left the queue; the audit record of its refusal waits for its token's turn
    // (src/api/unary.ts), as the call's work would.
    await waitFor(
      "the given-up call's record waiting",
      () => counts().queued === QUEUED_PER_TOKEN + 2,
    );

    const metrics = parseExposition(
      await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text(),
    );
    expect(sampleValue(metrics, "certmint_calls_queued_refused_total")).toBe(1);
    expect(sampleValue(metrics, "certmint_calls", { state: "queued" })).toBe(QUEUED_PER_TOKEN + 2);
    expect(sampleValue(metrics, "certmint_calls", { state: "in_progress" })).toBe(IN_PROGRESS);

    await release();
    await Promise.all([...calls, waiting]);
    expect(await countRows(h, "certificate", "common_name ~ '^f[0-9]+\\.example\\.com$'")).toBe(
      IN_PROGRESS + QUEUED_PER_TOKEN,
    );
    expect(await countRows(h, "certificate", "common_name = 'waits.example.com'")).toBe(1);
    for (const cn of ["over.example.com", "gives-up.example.com"]) {
      expect(await countRows(h, "certificate", `common_name = '${cn}'`)).toBe(0);
    }
    // The refused and the given-up call wrote no request either.
    expect(await countRows(h, "certificate_request")).toBe(
      requestsBefore + IN_PROGRESS + QUEUED_PER_TOKEN + 1,
    );
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });
  });

  it("calls waiting for an RSA key hold no place: a CSR-sized call goes meanwhile", async () => {
    const rsa = KeyAlgorithm.KEY_ALGORITHM_RSA_2048;
    const keyed = Array.from({ length: IN_PROGRESS + 1 }, (_, i) =>
      issue(noisy, `rsa${i}.example.com`, undefined, rsa),
    );
    // One generation runs (one worker), the others wait at the key generator: none of the
    // three holds a place among the calls at work.
    await waitFor(
      "the RSA calls waiting for their keys outside",
      () => gate.started.length === 1 && counts().inProgress === 0 && counts().queued === 0,
    );
    const other = await issue(quiet, "meanwhile.example.com");
    expect(new X509Certificate(other.certificatePem).subject).toBe("CN=meanwhile.example.com");
    expect(gate.started).toHaveLength(1);
    for (let released = 0; released < keyed.length; released++) {
      await waitFor("the next RSA generation", () => gate.started.length > released);
      gate.started[released]!.release();
    }
    for (const answer of await Promise.all(keyed)) {
      const cert = new X509Certificate(answer.certificatePem);
      expect(cert.publicKey.asymmetricKeyType).toBe("rsa");
    }
    expect(counts()).toEqual({ inProgress: 0, queued: 0 });
  });
});

/** The RetryInfo delay (seconds) of a gRPC error's google.rpc.Status details. */
function retryDelayOf(err: unknown): string | undefined {
  const raw = (err as { metadata?: { get(k: string): unknown[] } }).metadata?.get(
    "grpc-status-details-bin",
  )[0];
  if (!raw) return undefined;
  const detail = Status.decode(raw as Buffer).details.find((d) => d.typeUrl.endsWith(".RetryInfo"));
  return detail && RetryInfo.decode(detail.value).retryDelay?.seconds;
}
