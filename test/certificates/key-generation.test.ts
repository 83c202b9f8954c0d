/**
 * Server-generated RSA keys cannot be starved by another token (issue 10 item 4), through the
 * public API: token A's burst of RSA-4096 requests does not keep token B's RSA-2048 request
 * waiting behind the whole burst; A's requests beyond its queue are RESOURCE_EXHAUSTED with a
 * RetryInfo and write nothing; a cancelled call's key is never generated and nothing of it is
 * written. One worker, four waiting keys per token; generations are held until the test
 * releases them (test/support/gated-keygen.ts), so every step waits for a state.
 */
import { type ClientUnaryCall, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import type {
  IssueCertificateRequest,
  IssueCertificateResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { RetryInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { createProfileRows, createRoot } from "../support/fixtures";
import { gatedRsa, type HeldGeneration } from "../support/gated-keygen";
import {
  type CertmintClients,
  call,
  decodeError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { until } from "../support/wait";

const RSA_4096 = KeyAlgorithm.KEY_ALGORITHM_RSA_4096;
const RSA_2048 = KeyAlgorithm.KEY_ALGORITHM_RSA_2048;

const request = (name: string, keyAlgorithm: KeyAlgorithm, requestId: string) =>
  generatedKeyRequest("web", name, { keyAlgorithm, requestId });

/** IssueCertificate with an x-request-id; returns the call (to cancel it) and its outcome. */
function issue(
  clients: CertmintClients,
  req: IssueCertificateRequest,
): { call: ClientUnaryCall; result: Promise<IssueCertificateResponse> } {
  const metadata = new Metadata();
  metadata.set("x-request-id", req.requestId);
  let c!: ClientUnaryCall;
  const result = new Promise<IssueCertificateResponse>((resolve, reject) => {
    c = clients.certificates.issueCertificate(req, metadata, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
  return { call: c, result };
}

describe("RSA key generation is shared fairly between tokens (1 worker, 4 waiting per token)", () => {
  const gate = gatedRsa();
  let h: TestCertmint;
  let a: CertmintClients;
  let b: CertmintClients;
  let started: HeldGeneration[];

  const count = async (table: string, where: string, params: unknown[] = []) =>
    Number(
      (
        await h.db.query<{ n: string }>(`select count(*) as n from ${table} where ${where}`, params)
      )[0]!.n,
    );
  const stats = () => h.running.keyGenerationStats();

  beforeAll(async () => {
    h = await startTestCertmint(
      { CERTMINT_KEY_GENERATION_WORKERS: "1", CERTMINT_KEY_GENERATION_QUEUE_PER_TOKEN: "4" },
      { generateRsa: gate.generateRsa },
    );
    started = gate.started;
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    const issuer = async (slug: string) => {
      const res = await call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug, role: Role.ROLE_ISSUER, certificateProfiles: ["web"] },
        }),
      );
      return h.clientsAs(res.secret);
    };
    a = await issuer("issuer-a");
    b = await issuer("issuer-b");
  });
  afterAll(async () => {
    for (const g of started ?? []) g.release();
    await h?.stop();
  });

  it("A's burst of RSA-4096 does not keep B's RSA-2048 behind it; A beyond its queue is RESOURCE_EXHAUSTED with RetryInfo and writes nothing", async () => {
    const first = started.length;
    // A: one generating, four waiting.
    const burst = [1, 2, 3, 4, 5].map((i) =>
      issue(a, request(`a${i}.example.com`, RSA_4096, `a-${i}`)),
    );
    await until("A's burst in the pool", () => stats().running === 1 && stats().waiting === 4);

    // A's sixth: refused at once, with a retry delay, nothing written.
    const over = issue(a, request("a6.example.com", RSA_4096, "a-6"));
    const err = await over.result.then(
      () => expect.fail("the request over the queue bound succeeded"),
      (e: ServiceError) => e,
    );
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(decodeError(err).reason).toBe("KEY_GENERATION_QUEUE_FULL");
    const details = Status.decode(err.metadata.get("grpc-status-details-bin")[0] as Buffer);
    const retry = details.details.find((d) => d.typeUrl.endsWith("google.rpc.RetryInfo"));
    expect(retry).toBeDefined();
    expect(Number(RetryInfo.decode(retry!.value).retryDelay!.seconds)).toBeGreaterThanOrEqual(1);
    expect(await count("certificate_request", "request_id = 'a-6'")).toBe(0);
    expect(await count("certificate", "common_name = 'a6.example.com'")).toBe(0);

    // B asks once, behind A's four waiting keys.
    const single = issue(b, request("b1.example.com", RSA_2048, "b-1"));
    await until("B's request in the pool", () => stats().waiting === 5);

    // Release one generation at a time and note which call completes after each.
    const all = [...burst.map((c, i) => ({ who: `A${i + 1}`, ...c })), { who: "B", ...single }];
    const completed: string[] = [];
    for (const c of all) c.result.then(() => completed.push(c.who));
    for (let i = 0; i < 6; i++) {
      await until(`generation ${i + 1} to start`, () => started.length > first + i);
      started[first + i]!.release();
      await until(`call ${i + 1} to complete`, () => completed.length === i + 1);
    }
    // B's key came right after the one A had running, not after A's whole queue.
    expect(started.slice(first).map((g) => g.bits)).toEqual([4096, 2048, 4096, 4096, 4096, 4096]);
    expect(completed[1]).toBe("B");
    expect(completed.indexOf("B")).toBeLessThan(2);
    const issued = await single.result;
    expect(issued.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
  });

  it("a call cancelled while its key waits: the key is never generated and nothing is written", async () => {
    const first = started.length;
    const before = stats();
    // A holds the only worker.
    const holder = issue(a, request("holder.example.com", RSA_4096, "holder"));
    await until("A's generation to start", () => started.length === first + 1);
    // B's call waits for the worker, then B gives up.
    const gone = issue(b, request("cancelled.example.com", RSA_2048, "cancelled"));
    await until("B's key waiting", () => stats().waiting === 1);
    gone.call.cancel();
    expect(
      await gone.result.then(
        () => "succeeded",
        (e: ServiceError) => e.code,
      ),
    ).toBe(status.CANCELLED);
    await until("B's key to be dropped", () => stats().dropped === before.dropped + 1);
    expect(stats().waiting).toBe(0);

    started[first]!.release();
    await holder.result;
    await until("every handler to finish", () => h.running.callsInFlight() === 0);
    // Only A's key was generated; B's was never started.
    expect(started.slice(first).map((g) => g.bits)).toEqual([4096]);
    expect(stats().generated).toBe(before.generated + 1);
    // Nothing of B's call was written but the audit record of its refusal.
    expect(await count("certificate_request", "request_id = 'cancelled'")).toBe(0);
    expect(await count("certificate", "common_name = 'cancelled.example.com'")).toBe(0);
    const audit = await h.db.query<{ status_code: number }>(
      "select status_code from audit_record where request_id = 'cancelled'",
    );
    expect(audit.map((r) => r.status_code)).toEqual([status.DEADLINE_EXCEEDED]);
  });
});
