/**
 * Closed-loop load: each client is a loop of unary IssueCertificate calls on its own HTTP/2
 * connection (grpc-js would otherwise share one connection between channels to the same
 * address), issuing the next call as soon as the previous one answers. A row stops at its call
 * budget or its time budget, whichever comes first.
 */
import { type ChannelOptions, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  CertificateServiceClient,
  type IssueCertificateRequest,
  type IssueCertificateResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { bearer } from "../../test/support/harness";

const CHANNEL_OPTIONS: ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };

export type MakeRequest = (client: number, n: number) => IssueCertificateRequest;

export interface LoopSpec {
  clients: number;
  make: MakeRequest;
  /** Total calls over all clients. */
  maxCalls: number;
}

export interface LoopResult {
  calls: number;
  errors: number;
  firstError?: string;
  /** Latency of every successful call, ms. */
  latencies: number[];
  /** From the first call sent to the last answer, ms. */
  elapsedMs: number;
}

function issueOnce(
  client: CertificateServiceClient,
  req: IssueCertificateRequest,
): Promise<IssueCertificateResponse> {
  return new Promise((resolve, reject) => {
    client.issueCertificate(req, new Metadata(), { deadline: Date.now() + 60_000 }, (err, res) =>
      err ? reject(err as ServiceError) : resolve(res),
    );
  });
}

/**
 * Runs `spec.clients` loops until `stop()` returns true or the call budget is spent. Several
 * specs may run at once (the interference row); each gets its own result.
 */
/** Where the load goes, and the access token it sends (an issuer token for the profile). */
export interface Target {
  address: string;
  token: string;
}

export async function runLoops(
  target: Target,
  spec: LoopSpec,
  stop: () => boolean,
): Promise<LoopResult> {
  const result: LoopResult = { calls: 0, errors: 0, latencies: [], elapsedMs: 0 };
  const clients = Array.from(
    { length: spec.clients },
    () =>
      new CertificateServiceClient(target.address, credentials.createInsecure(), {
        ...CHANNEL_OPTIONS,
        interceptors: [bearer(target.token)],
      }),
  );
  // Connect every channel before the clock starts.
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve, reject) =>
          c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
        ),
    ),
  );
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client, ci) => {
      for (let n = 0; issued < spec.maxCalls && !stop(); n++) {
        issued++;
        const t0 = performance.now();
        try {
          const res = await issueOnce(client, spec.make(ci, n));
          if (!res.certificate?.certificatePem) throw new Error(`status ${res.status}`);
          result.latencies.push(performance.now() - t0);
        } catch (err) {
          result.errors++;
          result.firstError ??= err instanceof Error ? err.message : String(err);
        }
        result.calls++;
      }
    }),
  );
  result.elapsedMs = performance.now() - start;
  for (const c of clients) c.close();
  return result;
}

/** The p-th percentile (0-100) of the values, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
