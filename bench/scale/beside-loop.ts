/**
 * GetCertificate calls one after another on a thread of its own, with a connection of its own:
 * the latency a caller beside the CRL calls sees from the server. Until 2026-12-05 this loop ran
 * on the benchmark's main thread, which also decodes each CRL answer (11 MB of DER and PEM at
 * 10^6 certificates): its "max" then counted the benchmark's own stall, not the server's.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { credentials } from "@grpc/grpc-js";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { bearer, call } from "../common/certmint";

interface BesideInput {
  address: string;
  adminToken: string;
  serials: string[];
}

export interface BesideLoop {
  /** Ends the loop after its call in flight; the latency of every call it made, ms. */
  stop(): Promise<number[]>;
}

/** Starts the loop on a worker thread (plaintext gRPC, as bench/scale's server listens). */
export async function startBesideLoop(input: BesideInput): Promise<BesideLoop> {
  // The thread loads this TypeScript file as the benchmark does (tsx).
  const worker = new Worker(__filename, { workerData: input, execArgv: ["--require", "tsx/cjs"] });
  let started!: () => void;
  let ended!: (ms: number[]) => void;
  let failed!: (err: Error) => void;
  const running = new Promise<void>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  const done = new Promise<number[]>((resolve, reject) => {
    ended = resolve;
    const failRunning = failed;
    failed = (err) => {
      failRunning(err);
      reject(err);
    };
  });
  done.catch(() => undefined); // reported by stop(), or by the start below
  worker.on("message", (msg: "running" | { ms?: number[]; error?: string }) => {
    if (msg === "running") started();
    else if (msg.error) failed(new Error(`beside loop: ${msg.error}`));
    else ended(msg.ms ?? []);
  });
  worker.on("error", (err) => failed(err));
  worker.on("exit", (code) => failed(new Error(`beside loop exited (${code})`)));
  // Started once its first call answered: the CRL calls are timed beside a running loop.
  await running;
  return {
    async stop() {
      worker.postMessage("stop");
      const ms = await done;
      await worker.terminate();
      return ms;
    },
  };
}

async function runLoop(input: BesideInput): Promise<void> {
  const port = parentPort!;
  const client = new CertificateServiceClient(input.address, credentials.createInsecure(), {
    interceptors: [bearer(input.adminToken)],
  });
  let running = true;
  port.on("message", (msg) => {
    if (msg === "stop") running = false;
  });
  const ms: number[] = [];
  try {
    for (let i = 0; running; i++) {
      const t0 = performance.now();
      await call(client, "getCertificate", {
        certificate: input.serials[i % input.serials.length]!,
      });
      ms.push(performance.now() - t0);
      if (i === 0) port.postMessage("running");
    }
    port.postMessage({ ms });
  } catch (err) {
    port.postMessage({ error: String((err as Error).message) });
  } finally {
    client.close();
  }
}

if (!isMainThread && (workerData as BesideInput | undefined)?.serials) {
  void runLoop(workerData as BesideInput);
}
