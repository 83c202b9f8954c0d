/**
 * GET /metrics (CERTMINT_METRICS_LISTEN): after real calls through the gRPC API, a scrape
 * parses as the Prometheus text format and its samples count what happened: calls by method
 * and code, issuances and renewals by profile, CA and key type, policy refusals by reason,
 * the RSA key-generation queue, the database pool, CRLs and expiring certificates.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatchCertificatesRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { loadConfig } from "../../src/config";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  DAY,
  issue,
  KeyAlgorithm,
  makeCsr,
  RevocationReason,
  renewRequest,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "../certificates/helpers";
import { gatedRsa } from "../support/gated-keygen";
import { waitFor } from "../support/wait";
import { type Exposition, parseExposition, sampleValue } from "./prometheus";

describe("Prometheus metrics", () => {
  let h: TestCertmint;
  let base = "";
  let revocable = "";
  const rsa = gatedRsa();

  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };

  beforeAll(async () => {
    h = await startTestCertmint(
      {
        CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
        CERTMINT_KEY_GENERATION_WORKERS: "1",
        CERTMINT_CSR_WORKERS: "1",
      },
      // Every scrape queries the expiring certificates afresh (default: at most once a minute)
      // and waits for the answer however slow the machine (default: 2 s, then the last counts).
      { generateRsa: rsa.generateRsa, metricsExpiringRefreshMs: 0, metricsExpiringWaitMs: 600_000 },
    );
    base = `http://127.0.0.1:${h.running.metricsPort}`;
    const root = await createRoot(h, "m-root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    for (const g of rsa.started) g.release();
    await h?.stop();
  });

  it("is off unless CERTMINT_METRICS_LISTEN names an address, and never on the gRPC port", () => {
    expect(loadConfig({}).metricsListen).toBeUndefined();
    expect(h.running.metricsPort).toBeGreaterThan(0);
    expect(h.running.metricsPort).not.toBe(h.running.port);
  });

  it("serves /metrics only, to GET and HEAD", async () => {
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${base}/metrics`, { method: "HEAD" })).status).toBe(200);
  });

  it("counts calls, issuances, renewals and refusals by their labels", async () => {
    const a = await issue(
      h,
      attrRequest("web", { cn: "a.example.com", dns: ["a.example.com"], ttlSeconds: 5 * DAY }),
    );
    const b = await issue(
      h,
      attrRequest("web", {
        cn: "b.example.com",
        dns: ["b.example.com"],
        ttlSeconds: 20 * DAY,
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
      }),
    );
    revocable = b.certificate!.certificateId;
    await call(
      h.certificates,
      "renewCertificate",
      renewRequest({ certificateId: a.certificate!.certificateId }),
    );
    const refused = await rpcError(
      issue(h, attrRequest("web", { cn: "x.evil.example.com", dns: ["x.evil.example.com"] })),
    );
    expect(refused.code).toBe(Code.INVALID_ARGUMENT);
    const anonymous = h.clientsAs(undefined);
    const unauthenticated = await rpcError(
      call(anonymous.certificates, "getCertificate", { certificate: a.certificate!.certificateId }),
    );
    expect(unauthenticated.code).toBe(status.UNAUTHENTICATED);

    const m = await scrape();
    const rpc = { service: "certmint.v1.CertificateService", method: "IssueCertificate" };
    expect(sampleValue(m, "certmint_grpc_requests_total", { ...rpc, code: "OK" })).toBe(2);
    expect(
      sampleValue(m, "certmint_grpc_requests_total", { ...rpc, code: "INVALID_ARGUMENT" }),
    ).toBe(1);
    expect(
      sampleValue(m, "certmint_grpc_requests_total", {
        service: "certmint.v1.CertificateService",
        method: "GetCertificate",
        code: "UNAUTHENTICATED",
      }),
    ).toBe(1);
    expect(
      sampleValue(m, "certmint_grpc_request_duration_seconds_count", { ...rpc, code: "OK" }),
    ).toBe(2);
    expect(
      sampleValue(m, "certmint_grpc_request_duration_seconds_bucket", {
        ...rpc,
        code: "OK",
        le: "+Inf",
      }),
    ).toBe(2);
    expect(m.types.get("certmint_grpc_request_duration_seconds")).toBe("histogram");

    const issued = (operation: string, key: string) =>
      sampleValue(m, "certmint_certificates_issued_total", {
        operation,
        profile: "web",
        ca: "m-root",
        key_algorithm: key,
      });
    expect(issued("issue", "EC_P256")).toBe(1);
    expect(issued("issue", "ED25519")).toBe(1);
    expect(issued("renew", "EC_P256")).toBe(1);
    expect(sampleValue(m, "certmint_policy_refusals_total", { reason: "SAN_DENIED" })).toBe(1);

    // a.example.com was renewed: its successor (5 days) and b (20 days) are in use.
    expect(sampleValue(m, "certmint_certificates_expiring", { profile: "web", within: "7d" })).toBe(
      1,
    );
    expect(
      sampleValue(m, "certmint_certificates_expiring", { profile: "web", within: "30d" }),
    ).toBe(2);
    const pool = ["in_use", "idle", "waiting"].map((state) =>
      sampleValue(m, "certmint_database_pool_connections", { state }),
    );
    for (const n of pool) expect(n).toBeGreaterThanOrEqual(0);
    expect(pool[0]! + pool[1]!).toBeGreaterThanOrEqual(1);
    expect(sampleValue(m, "certmint_build_info", { version: "0.1.0" })).toBe(1);
    expect(sampleValue(m, "process_cpu_seconds_total")).toBeGreaterThan(0);
  });

  it("reports each CA's latest CRL: its age, entries and size", async () => {
    await call(h.certificates, "revokeCertificate", {
      certificate: revocable,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: "m-root",
      encoding: 0,
      knownCrlNumber: "",
    });
    const m = await scrape();
    expect(sampleValue(m, "certmint_crl_entries", { ca: "m-root" })).toBe(1);
    expect(sampleValue(m, "certmint_crl_bytes", { ca: "m-root" })).toBe(crl.crlDer.length);
    const age = sampleValue(m, "certmint_crl_age_seconds", { ca: "m-root" })!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(sampleValue(m, "certmint_crl_next_update_timestamp_seconds", { ca: "m-root" })).toBe(
      crl.nextUpdate!.getTime() / 1000,
    );
  });

  it("shows RSA keys waiting for the key-generation thread, and how long they waited", async () => {
    const rsaRequest = (cn: string) =>
      attrRequest("web", { cn, dns: [cn], keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048 });
    const first = issue(h, rsaRequest("r1.example.com"));
    const second = issue(h, rsaRequest("r2.example.com"));
    // One worker: the first key is generated, the second waits behind it.
    await waitFor("one RSA key generating and one waiting", () => {
      const s = h.running.keyGenerationStats();
      return s.running === 1 && s.waiting === 1;
    });
    const during = await scrape();
    expect(sampleValue(during, "certmint_key_generation_running")).toBe(1);
    expect(sampleValue(during, "certmint_key_generation_queue_depth")).toBe(1);
    rsa.started[0]!.release();
    await waitFor("the second RSA key to start", () => rsa.started.length === 2);
    rsa.started[1]!.release();
    await Promise.all([first, second]);
    const after = await scrape();
    expect(sampleValue(after, "certmint_key_generation_queue_depth")).toBe(0);
    expect(sampleValue(after, "certmint_key_generation_wait_seconds_count", { bits: "2048" })).toBe(
      2,
    );
    expect(
      sampleValue(after, "certmint_certificates_issued_total", {
        operation: "issue",
        profile: "web",
        ca: "m-root",
        key_algorithm: "RSA_2048",
      }),
    ).toBe(2);
  });

  it("counts the CSRs checked on the CSR thread", async () => {
    const tmp = new TempDir();
    try {
      const { csrPem } = makeCsr(tmp, "/CN=csr.example.com", ["DNS:csr.example.com"]);
      await issue(h, csrRequest("web", csrPem));
    } finally {
      tmp.remove();
    }
    const m = await scrape();
    expect(sampleValue(m, "certmint_csr_signature_checks_total", { thread: "csr_worker" })).toBe(1);
    expect(sampleValue(m, "certmint_csr_signature_checks_total", { thread: "event_loop" })).toBe(0);
  });

  it("counts the lone issuances decided on held rows", async () => {
    const tmp = new TempDir();
    try {
      for (const name of ["held-1.example.com", "held-2.example.com"]) {
        const { csrPem } = makeCsr(tmp, `/CN=${name}`, [`DNS:${name}`]);
        await issue(h, csrRequest("web", csrPem));
      }
    } finally {
      tmp.remove();
    }
    const counts = h.running.heldRowCounts()!;
    // The first may have read (it follows other calls' reads); the second ran on held rows.
    expect(counts.used).toBeGreaterThanOrEqual(1);
    const m = await scrape();
    expect(sampleValue(m, "certmint_issuance_held_rows_total", { outcome: "used" })).toBe(
      counts.used,
    );
    expect(sampleValue(m, "certmint_issuance_held_rows_total", { outcome: "changed" })).toBe(
      counts.changed,
    );
  });

  it("counts the open WatchCertificates streams, and one fewer once its client cancels", async () => {
    const watches = () => sampleValue(m0, "certmint_watch_streams") ?? Number.NaN;
    let m0 = await scrape();
    const before = watches();
    expect(before).toBe(h.running.watchStreams());
    const stream = h.certificates.watchCertificates(WatchCertificatesRequest.fromPartial({}));
    stream.on("error", () => undefined); // CANCELLED, below
    await waitFor("the watch counted", async () => {
      m0 = await scrape();
      return watches() === before + 1;
    });
    stream.cancel();
    await waitFor("the watch no longer counted", async () => {
      m0 = await scrape();
      return watches() === before;
    });
  });
});
